// SPDX-License-Identifier: MIT
/*
 * builtin.c - the simple built-in policies and the lookup by name.
 *
 *   never          watches nothing, promotes nothing (the default). Every
 *                  hook is left out, so the engine skips them at no cost.
 *   always-after   promotes a page once it has seen n=N coherence events
 *                  (faults, transfers, invalidations; default 4) and never
 *                  demotes: an upper bound for what promotion can give.
 */
#include <gvm/policy.h>

#include "os/gvm_os.h"
#include "policy_options.h"

const struct gvm_policy_ops gvm_policy_never = {
	.size = sizeof(struct gvm_policy_ops),
	.abi_version = GVM_POLICY_ABI_VERSION,
	.name = "never",
};

struct always_after {
	uint32_t n;
	uint64_t npages;
	uint32_t *events; /* per page, saturating */
};

static int aa_create(void **state, const struct gvm_policy_params *p)
{
	struct gvm_policy_option opts[] = {{"n", 4, 1, 1u << 30}};
	struct always_after *a;
	int err = gvm_policy_options_parse("always-after", p->options, opts, 1);

	if (err)
		return err;
	a = gvm_os_zalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->n = (uint32_t)opts[0].value;
	a->npages = p->npages;
	a->events = gvm_os_zalloc(p->npages * sizeof(*a->events));
	if (!a->events) {
		gvm_os_free(a);
		return -ENOMEM;
	}
	*state = a;
	return 0;
}

static void aa_destroy(void *state)
{
	struct always_after *a = state;

	gvm_os_free(a->events);
	gvm_os_free(a);
}

static enum gvm_verdict aa_event(struct always_after *a, gvm_page_t page)
{
	if (a->events[page] < a->n)
		a->events[page]++;
	return a->events[page] >= a->n ? GVM_VERDICT_PROMOTE : GVM_VERDICT_NONE;
}

static enum gvm_verdict aa_fault(void *state, gvm_page_t page,
				 enum gvm_access access, uint64_t now_ns)
{
	(void)access, (void)now_ns;
	return aa_event(state, page);
}

static enum gvm_verdict aa_transfer(void *state, gvm_page_t page,
				    gvm_node_id from, gvm_node_id to,
				    uint64_t now_ns)
{
	(void)from, (void)to, (void)now_ns;
	return aa_event(state, page);
}

static enum gvm_verdict aa_invalidate(void *state, gvm_page_t page,
				      gvm_node_id by, uint64_t now_ns)
{
	(void)by, (void)now_ns;
	return aa_event(state, page);
}

const struct gvm_policy_ops gvm_policy_always_after = {
	.size = sizeof(struct gvm_policy_ops),
	.abi_version = GVM_POLICY_ABI_VERSION,
	.name = "always-after",
	.create = aa_create,
	.destroy = aa_destroy,
	.on_fault = aa_fault,
	.on_transfer = aa_transfer,
	.on_invalidate = aa_invalidate,
};

static bool same_name(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return !*a && !*b;
}

const struct gvm_policy_ops *gvm_policy_find(const char *name)
{
	static const struct gvm_policy_ops *const builtin[] = {
		&gvm_policy_never, &gvm_policy_always_after, &gvm_policy_hotpage,
		&gvm_policy_readahead,
	};

	for (uint32_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (same_name(builtin[i]->name, name))
			return builtin[i];
	return NULL;
}

/* ==== Options ==== */

/* Match key against s up to '=' or the end; returns the value's start. */
static const char *match_key(const char *s, const char *key)
{
	while (*key && *s == *key) {
		s++;
		key++;
	}
	return !*key && *s == '=' ? s + 1 : NULL;
}

int gvm_policy_options_parse(const char *policy, const char *s,
			     struct gvm_policy_option *opts, uint32_t nopts)
{
	while (s && *s) {
		const char *v = NULL, *start = s;
		uint32_t i;
		uint64_t val = 0;

		for (i = 0; i < nopts && !v; i++)
			v = match_key(s, opts[i].key);
		if (!v) {
			gvm_log_err("policy %s: unknown option at \"%s\"", policy, start);
			return -EINVAL;
		}
		i--;
		if (*v < '0' || *v > '9')
			goto bad;
		for (s = v; *s >= '0' && *s <= '9'; s++) {
			if (val > (opts[i].max - (uint64_t)(*s - '0')) / 10)
				goto bad;
			val = val * 10 + (uint64_t)(*s - '0');
		}
		if (*s && *s != ',')
			goto bad;
		if (val < opts[i].min)
			goto bad;
		opts[i].value = val;
		if (*s == ',')
			s++;
		continue;
bad:
		gvm_log_err("policy %s: option %s takes a number from %llu to %llu (at \"%s\")",
			    policy, opts[i].key, (unsigned long long)opts[i].min,
			    (unsigned long long)opts[i].max, start);
		return -EINVAL;
	}
	return 0;
}
