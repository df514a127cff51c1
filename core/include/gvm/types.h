/* SPDX-License-Identifier: MIT */
/*
 * gvm/types.h - vocabulary shared by the engine, transports, policies and
 * front ends. Fixed-width types only: the same header is compiled into the
 * kernel module.
 */
#ifndef GVM_TYPES_H
#define GVM_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

/* Node ids are dense, 0..nodes-1. */
typedef uint32_t gvm_node_id;
#define GVM_NODE_NONE ((gvm_node_id)0xffffffffu)
#define GVM_MAX_NODES 65535u

/* Page numbers index the engine's page space, 0..npages-1. */
typedef uint64_t gvm_page_t;

/* Page size is 1 << page_shift. 64 B pages are allowed for simulation. */
#define GVM_PAGE_SHIFT_MIN 6u
#define GVM_PAGE_SHIFT_MAX 21u
#define GVM_PAGE_SHIFT_DEFAULT 12u

enum gvm_access {
	GVM_ACCESS_READ = 1,
	GVM_ACCESS_WRITE = 2,
};

/* Where a requester looks for a page's owner (Li & Hudak 1989). */
enum gvm_manager {
	GVM_MANAGER_FIXED = 1,   /* page p is managed by node hash(p) % nodes */
	GVM_MANAGER_DYNAMIC = 2, /* probable-owner hints, no manager */
	GVM_MANAGER_CENTRAL = 3, /* node 0 manages every page */
};

/* Local access right of one node to one page. */
enum gvm_page_state {
	GVM_PAGE_INVALID = 0,
	GVM_PAGE_SHARED = 1,   /* read-only copy */
	GVM_PAGE_MODIFIED = 2, /* the only copy, writable */
	GVM_PAGE_PROMOTED = 3, /* lives in a shared window; reserved for policies */
};

#endif /* GVM_TYPES_H */
