/* SPDX-License-Identifier: MIT */
/*
 * gvm/policy.h - hooks through which a policy plugin watches the engine and
 * decides which pages to promote into the shared window.
 *
 * The engine calls every hook with its lock held, from fault and message
 * handling paths: hooks must be cheap and must not call back into the engine.
 * Missing hooks are skipped. Time comes from the engine (the last
 * gvm_node_tick), never from a clock of the policy's own, so a simulated
 * run replays exactly.
 *
 * Verdicts: PROMOTE asks for the page to move into the transport's shared
 * window (GVM_CAP_SHARED_WINDOW). It is carried out when this node owns the
 * page and it is idle, possibly much later; a node that never owns the page
 * cannot promote it. DEMOTE (from check_promoted) brings a promoted page
 * that this node owns back under IVY. See core/PROTOCOL.md, "Promotion".
 */
#ifndef GVM_POLICY_H
#define GVM_POLICY_H

#include <gvm/types.h>

#define GVM_POLICY_ABI_VERSION 3u

enum gvm_verdict {
	GVM_VERDICT_NONE = 0,
	GVM_VERDICT_PROMOTE = 1, /* move the page into the shared window */
	GVM_VERDICT_DEMOTE = 2,  /* bring a promoted page back under IVY */
};

struct gvm_policy_params {
	gvm_node_id self;
	uint32_t nodes;
	uint64_t npages;
	/* "key=value,key=value" from the user (may be NULL): each policy
	 * documents its keys and refuses ones it does not know. */
	const char *options;
};

struct gvm_policy_ops {
	size_t size;          /* sizeof(struct gvm_policy_ops) at build time */
	uint32_t abi_version; /* GVM_POLICY_ABI_VERSION */
	const char *name;

	/*
	 * Instance state: create returns 0 and sets *state (may stay NULL),
	 * or -EINVAL for options it cannot parse (after logging which),
	 * -ENOMEM.
	 */
	int (*create)(void **state, const struct gvm_policy_params *p);
	void (*destroy)(void *state);

	/* A local access needed the network (access: enum gvm_access). */
	enum gvm_verdict (*on_fault)(void *state, gvm_page_t page,
				     enum gvm_access access, uint64_t now_ns);
	/* Ownership of page moved from one node to another, seen locally. */
	enum gvm_verdict (*on_transfer)(void *state, gvm_page_t page,
					gvm_node_id from, gvm_node_id to,
					uint64_t now_ns);
	/* The local copy of page was invalidated by node by. */
	enum gvm_verdict (*on_invalidate)(void *state, gvm_page_t page,
					  gvm_node_id by, uint64_t now_ns);
	/* page entered (promoted true) or left the shared window here. */
	void (*on_promoted)(void *state, gvm_page_t page, bool promoted,
			    uint64_t now_ns);
	/*
	 * At each tick, for every promoted page this node owns: DEMOTE to
	 * bring it back under IVY. Accesses to a promoted page never reach
	 * the engine, so a policy judges them by time alone (a lease).
	 */
	enum gvm_verdict (*check_promoted)(void *state, gvm_page_t page,
					   uint64_t now_ns);
	/*
	 * Readahead: a local access to page needed the network; return how
	 * many of the pages after it to fetch ahead with the same access
	 * (0: none). The engine asks at once, one request each, for those
	 * that are not valid here and not in transfer, and hands each to the
	 * front end as it comes (gvm_frontend_ops.fill).
	 */
	uint32_t (*readahead)(void *state, gvm_page_t page, enum gvm_access access,
			      uint64_t now_ns);
};

/* Built-in policies (core/policy/). */
extern const struct gvm_policy_ops gvm_policy_never;
extern const struct gvm_policy_ops gvm_policy_always_after;
extern const struct gvm_policy_ops gvm_policy_hotpage;
extern const struct gvm_policy_ops gvm_policy_readahead;

/*
 * A built-in policy by name: "never", "always-after", "hotpage" or
 * "readahead"; NULL if there is none.
 */
const struct gvm_policy_ops *gvm_policy_find(const char *name);

#endif /* GVM_POLICY_H */
