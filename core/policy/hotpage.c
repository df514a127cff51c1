// SPDX-License-Identifier: MIT
/*
 * hotpage.c - promote pages that ping-pong between nodes into the shared
 * window, and demote them when their lease runs out.
 *
 * Heat is the number of coherence events a page caused here (faults that
 * needed the network, ownership transfers, invalidations), halved every
 * window_ms: a decaying count, so a burst long ago does not add up with one
 * now. A page whose heat reaches threshold is promoted, at most rate times
 * per second on this node.
 *
 * Accesses to a promoted page are plain loads and stores the engine never
 * sees, so coldness cannot be measured; a promoted page holds a lease
 * instead. When it runs out the page is demoted, and if it was hot after
 * all it soon comes back: a page promoted again within one lease of its
 * demotion gets twice the lease (up to 64 times), a page that stayed cold
 * starts over. Options (all integers):
 *
 *   threshold=8   events within the decaying window that make a page hot
 *   window_ms=10  half-life of the event count
 *   rate=200      promotions per second, at most (this node)
 *   lease_ms=200  first lease of a promoted page
 */
#include <gvm/policy.h>

#include "os/gvm_os.h"
#include "policy_options.h"

#define MS 1000000ull
#define MAX_LEASE_SHIFT 6

struct hp_page {
	uint16_t heat;
	uint8_t lease_shift;
	bool promoted;
	uint32_t epoch;    /* window index of the last decay */
	uint64_t since_ns; /* promoted at, or demoted at (0: never) */
};

struct hotpage {
	uint32_t threshold;
	uint64_t window_ns, gap_ns, lease_ns;
	uint64_t last_verdict_ns;
	bool verdict_given;
	struct hp_page *pages;
};

static int hp_create(void **state, const struct gvm_policy_params *p)
{
	struct gvm_policy_option opts[] = {
		{"threshold", 8, 1, 0xffff},
		{"window_ms", 10, 1, 3600000},
		{"rate", 200, 1, 1000000000},
		{"lease_ms", 200, 1, 3600000},
	};
	struct hotpage *h;
	int err = gvm_policy_options_parse("hotpage", p->options, opts, 4);

	if (err)
		return err;
	h = gvm_os_zalloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->threshold = (uint32_t)opts[0].value;
	h->window_ns = opts[1].value * MS;
	h->gap_ns = 1000000000ull / opts[2].value;
	h->lease_ns = opts[3].value * MS;
	h->pages = gvm_os_zalloc(p->npages * sizeof(*h->pages));
	if (!h->pages) {
		gvm_os_free(h);
		return -ENOMEM;
	}
	*state = h;
	return 0;
}

static void hp_destroy(void *state)
{
	struct hotpage *h = state;

	gvm_os_free(h->pages);
	gvm_os_free(h);
}

static enum gvm_verdict hp_event(struct hotpage *h, gvm_page_t page,
				 uint64_t now)
{
	struct hp_page *pg = &h->pages[page];
	uint32_t epoch = (uint32_t)(now / h->window_ns);
	uint32_t halvings = epoch - pg->epoch;

	pg->heat = halvings >= 16 ? 0 : (uint16_t)(pg->heat >> halvings);
	pg->epoch = epoch;
	if (pg->heat < 0xffff)
		pg->heat++;
	if (pg->promoted || pg->heat < h->threshold)
		return GVM_VERDICT_NONE;
	if (h->verdict_given && now - h->last_verdict_ns < h->gap_ns)
		return GVM_VERDICT_NONE; /* rate limit: it stays hot, ask later */
	h->verdict_given = true;
	h->last_verdict_ns = now;
	return GVM_VERDICT_PROMOTE;
}

static enum gvm_verdict hp_fault(void *state, gvm_page_t page,
				 enum gvm_access access, uint64_t now_ns)
{
	(void)access;
	return hp_event(state, page, now_ns);
}

static enum gvm_verdict hp_transfer(void *state, gvm_page_t page,
				    gvm_node_id from, gvm_node_id to,
				    uint64_t now_ns)
{
	(void)from, (void)to;
	return hp_event(state, page, now_ns);
}

static enum gvm_verdict hp_invalidate(void *state, gvm_page_t page,
				      gvm_node_id by, uint64_t now_ns)
{
	(void)by;
	return hp_event(state, page, now_ns);
}

static uint64_t lease_of(const struct hotpage *h, const struct hp_page *pg)
{
	return h->lease_ns << pg->lease_shift;
}

static void hp_promoted(void *state, gvm_page_t page, bool promoted,
			uint64_t now_ns)
{
	struct hotpage *h = state;
	struct hp_page *pg = &h->pages[page];

	if (promoted) {
		/* Back soon after a demotion: the lease was too short. */
		if (pg->since_ns && now_ns - pg->since_ns < lease_of(h, pg)) {
			if (pg->lease_shift < MAX_LEASE_SHIFT)
				pg->lease_shift++;
		} else {
			pg->lease_shift = 0;
		}
	}
	pg->promoted = promoted;
	pg->heat = 0;
	pg->since_ns = now_ns ? now_ns : 1;
}

static enum gvm_verdict hp_check(void *state, gvm_page_t page, uint64_t now_ns)
{
	struct hotpage *h = state;
	struct hp_page *pg = &h->pages[page];

	return now_ns - pg->since_ns >= lease_of(h, pg) ? GVM_VERDICT_DEMOTE :
							  GVM_VERDICT_NONE;
}

const struct gvm_policy_ops gvm_policy_hotpage = {
	.size = sizeof(struct gvm_policy_ops),
	.abi_version = GVM_POLICY_ABI_VERSION,
	.name = "hotpage",
	.create = hp_create,
	.destroy = hp_destroy,
	.on_fault = hp_fault,
	.on_transfer = hp_transfer,
	.on_invalidate = hp_invalidate,
	.on_promoted = hp_promoted,
	.check_promoted = hp_check,
};
