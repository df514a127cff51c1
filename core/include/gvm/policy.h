/* SPDX-License-Identifier: MIT */
/*
 * gvm/policy.h - hooks through which a policy plugin watches the engine.
 *
 * The engine calls every hook with its lock held, from fault and message
 * handling paths: hooks must be cheap and must not call back into the engine.
 * A hook returns a verdict; the engine acts on verdicts it supports and
 * ignores the rest (promotion needs a transport with GVM_CAP_SHARED_WINDOW).
 * Missing hooks are skipped.
 */
#ifndef GVM_POLICY_H
#define GVM_POLICY_H

#include <gvm/types.h>

#define GVM_POLICY_ABI_VERSION 1u

enum gvm_verdict {
	GVM_VERDICT_NONE = 0,
	GVM_VERDICT_PROMOTE = 1, /* move the page into the shared window */
	GVM_VERDICT_DEMOTE = 2,  /* bring a promoted page back under IVY */
};

struct gvm_policy_ops {
	size_t size;          /* sizeof(struct gvm_policy_ops) at build time */
	uint32_t abi_version; /* GVM_POLICY_ABI_VERSION */
	const char *name;

	/* Instance state: create returns it (or NULL with no state). */
	int (*create)(void **state, uint32_t nodes, uint64_t npages);
	void (*destroy)(void *state);

	/* A local access needed the network (access: enum gvm_access). */
	enum gvm_verdict (*on_fault)(void *state, gvm_page_t page,
				     enum gvm_access access);
	/* Ownership of page moved from one node to another, seen locally. */
	enum gvm_verdict (*on_transfer)(void *state, gvm_page_t page,
					gvm_node_id from, gvm_node_id to);
	/* The local copy of page was invalidated by node by. */
	enum gvm_verdict (*on_invalidate)(void *state, gvm_page_t page,
					  gvm_node_id by);
	/* Periodic, now in ns; a place to decay counters. */
	void (*tick)(void *state, uint64_t now_ns);
};

/* The built-in policy that never promotes anything. */
extern const struct gvm_policy_ops gvm_policy_noop;

#endif /* GVM_POLICY_H */
