// SPDX-License-Identifier: MIT
/*
 * readahead.c - the readahead policy: misses on consecutive pages fetch
 * the pages after them ahead, so a scan (or a matrix being filled in) pays
 * about one round trip per window instead of one per page.
 *
 * A fault counts as sequential when it lands just past the last one and
 * the window fetched after it (the pages in between were hits, or faults
 * on pages in transfer, which the engine does not report again). The
 * window doubles on each sequential fault up to max and collapses to 0 on
 * any other, so random access fetches nothing ahead. Ascending scans only;
 * one stream per node. Options: max=N pages (default 16, 1..256).
 */
#include <gvm/policy.h>

#include "os/gvm_os.h"
#include "policy_options.h"

struct readahead {
	gvm_page_t last;
	bool seen;
	uint32_t window, max;
};

static int ra_create(void **state, const struct gvm_policy_params *p)
{
	struct gvm_policy_option opts[] = {{"max", 16, 1, 256}};
	struct readahead *ra;
	int err = gvm_policy_options_parse("readahead", p->options, opts, 1);

	if (err)
		return err;
	ra = gvm_os_zalloc(sizeof(*ra));
	if (!ra)
		return -ENOMEM;
	ra->max = (uint32_t)opts[0].value;
	*state = ra;
	return 0;
}

static void ra_destroy(void *state)
{
	gvm_os_free(state);
}

static uint32_t ra_readahead(void *state, gvm_page_t page, enum gvm_access access,
			     uint64_t now_ns)
{
	struct readahead *ra = state;
	bool sequential = ra->seen && page > ra->last &&
			  page <= ra->last + ra->window + 1;

	(void)access, (void)now_ns;
	if (!sequential)
		ra->window = 0;
	else if (ra->window < ra->max)
		ra->window = ra->window ? 2 * ra->window : 1;
	if (ra->window > ra->max)
		ra->window = ra->max;
	ra->last = page;
	ra->seen = true;
	return ra->window;
}

const struct gvm_policy_ops gvm_policy_readahead = {
	.size = sizeof(struct gvm_policy_ops),
	.abi_version = GVM_POLICY_ABI_VERSION,
	.name = "readahead",
	.create = ra_create,
	.destroy = ra_destroy,
	.readahead = ra_readahead,
};
