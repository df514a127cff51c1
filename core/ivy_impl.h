/* SPDX-License-Identifier: MIT */
/*
 * ivy_impl.h - the engine's own state, shared by its modules: ivy.c (pages,
 * owners, requesters, local access) and manager.c (the manager role).
 */
#ifndef GVM_IVY_IMPL_H
#define GVM_IVY_IMPL_H

#include <gvm/dsm.h>

#include "os/gvm_os.h"
#include "wire.h"

enum gvm_txn {
	TXN_NONE = 0,
	TXN_READ,         /* REQ(READ) out, waiting for GRANT_READ */
	TXN_WRITE,        /* REQ(WRITE) out, waiting for GRANT_WRITE */
	TXN_INVALIDATING, /* owner, collecting ACKs before becoming MODIFIED,
			     PROMOTED (promoting) or MODIFIED again (demoting) */
};

/* A request waiting at an owner or a manager (or a manager's probe). */
struct gvm_req {
	struct gvm_req *next;
	gvm_node_id requester;
	uint8_t access;
	bool have_copy;
	bool probe;         /* at a manager: a PROBE, not a request */
	uint16_t hops;
	uint32_t req_id;
	uint64_t have_version;
	uint64_t tag;
	uint64_t in_ns; /* when it reached us (tracing only) */
};

struct gvm_page {
	void *frame;
	uint64_t version;  /* of the contents of frame */
	uint64_t inv_mark; /* highest version invalidated here */
	uint64_t *copyset; /* owner: readers besides us; allocated once */
	struct gvm_req *queue, *queue_tail;
	struct gvm_waiter *waiters, *waiters_tail;
	gvm_node_id hint;  /* DYNAMIC: probable owner ... */
	uint64_t hint_tag; /* ... known to own the page at this version */
	gvm_node_id deferred_inv_from; /* an INV held back by a pin */
	uint64_t deferred_inv_version;
	uint32_t acks_pending;
	uint32_t pins;
	uint8_t state; /* enum gvm_page_state */
	uint8_t txn;   /* enum gvm_txn */
	bool owner;
	bool has_deferred_inv;
	bool lost;     /* its owner or manager is gone: faults fail */
	bool want_promote; /* the policy asked; done once we own it, idle */
	/* Migratory pages (read here, then written here): a read fault asks
	 * for ownership, and the grant is shown to readers as SHARED until a
	 * local write confirms the guess (core/PROTOCOL.md, "Migratory"). */
	bool read_copy;    /* our copy came from our own read fault */
	bool migratory;    /* read faults here ask for ownership */
	bool guessed;      /* we own it because of that guess ... */
	bool written;      /* ... and a local write has confirmed it */
	bool ahead;        /* our transaction fetches it ahead (readahead) */
	bool promoting;    /* owner: PROMOTED once the readers have acked */
	bool demoting;     /* owner: back under IVY once every node acked */
	bool asked_after_inv; /* our request left after the latest INV here */
	uint32_t slot;     /* PROMOTED (or promoting): its window slot */
	uint32_t closed_at_promotion; /* peers closed when it was promoted */
	gvm_node_id lost_with; /* the node whose loss failed the last fault */
	uint32_t req_id; /* of our latest request for it */
	uint64_t fault_start_ns;
	uint64_t sent_ns, grant_in_ns; /* tracing: this fault's request, grant */
	gvm_node_id granted_by;
};

/* A page this node manages (FIXED, CENTRAL). */
struct gvm_mgr_page {
	gvm_node_id owner;   /* settled owner */
	gvm_node_id pending; /* a routed writer that has not confirmed */
	gvm_node_id asked;   /* after a death: who we asked (RECLAIM) */
	gvm_node_id lost_with;
	bool lost;
	struct gvm_req *queue, *queue_tail; /* waiting for pending/asked */
};

/*
 * A message to a peer, queued under the lock and sent once it is dropped
 * (ivy.c, "Sending"). The payload is not copied: it is a page frame.
 */
struct gvm_outmsg {
	struct gvm_outmsg *next;
	const void *payload;
	gvm_node_id dst;
	uint32_t len;
	uint8_t buf[];
};

/* Messages a node sends to itself (it manages or owns what it asks for). */
struct gvm_selfmsg {
	struct gvm_selfmsg *next;
	size_t len;
	uint8_t buf[];
};

struct gvm_node {
	struct gvm_config cfg;
	struct gvm_wire_geom geom;
	struct gvm_transport *tp;
	gvm_os_mutex_t lock;
	gvm_os_cond_t cond; /* blocking acquirers */
	struct gvm_page *pages;
	struct gvm_mgr_page *mgr; /* FIXED/CENTRAL, pages this node manages */
	uint64_t *closed_peers;
	uint8_t *txbuf;         /* header + body + copyset of one message */
	uint8_t *cs_wire;       /* a copyset in wire form */
	struct gvm_selfmsg *self_head, *self_tail;
	bool draining;
	/* Work for after the lock: messages to send, waiters to tell, and
	 * the one thread doing it (flush_and_unlock). */
	struct gvm_outmsg *out_head, *out_tail, *out_free;
	struct gvm_waiter *told_head, *told_tail;
	bool flushing;
	/* A message could not be queued for want of memory: the node leaves
	 * (ivy.c, leave_for_memory) before the lock is next dropped. */
	bool out_of_memory, left_for_memory;
	uint32_t share_used; /* our share's slots holding a page (the tick's scan) */
	void *policy_state;
	const struct gvm_policy_ops *policy;
	uint64_t now_ns; /* of the last gvm_node_tick */
	/* Shared window: slots pages; node i promotes into slots
	 * [i * share, (i + 1) * share). slot_page[s] is page + 1, 0 (free)
	 * or SLOT_RETIRED. */
	uint8_t *window;
	uint32_t slots, share;
	uint64_t *slot_page;
	struct gvm_stats stats;
	struct gvm_trace_record *trace; /* gvm_node_trace; NULL: off */
	uint32_t trace_cap;
	uint64_t *trace_count;
	/* Barriers: epochs this node has entered and seen released; node 0
	 * notes who arrived at the current and at the next epoch (bitmaps). */
	uint64_t barrier_entered, barrier_released;
	uint64_t *barrier_arrived[2];
};

static inline uint32_t nnodes(const struct gvm_node *n)
{
	return n->cfg.nodes;
}

static inline bool peer_closed(const struct gvm_node *n, gvm_node_id peer)
{
	return (n->closed_peers[peer / 64] >> (peer % 64)) & 1;
}

/* ivy.c, for manager.c */
void gvm_send_simple(struct gvm_node *n, gvm_node_id dst, uint8_t type,
		     gvm_page_t p, uint64_t version, gvm_node_id node);
void gvm_send_req(struct gvm_node *n, gvm_node_id dst, gvm_page_t p,
		  const struct gvm_req *r, uint16_t flags);
int gvm_peer_error(struct gvm_node *n, gvm_node_id peer, gvm_page_t p,
		   const char *why);

/* manager.c */
int gvm_mgr_init(struct gvm_node *n);
void gvm_mgr_fini(struct gvm_node *n);
int gvm_mgr_request(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		    const struct gvm_req *r);
int gvm_mgr_owned(struct gvm_node *n, gvm_node_id src, gvm_page_t p);
int gvm_mgr_lost(struct gvm_node *n, gvm_node_id src, gvm_page_t p);
int gvm_mgr_kept(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		 gvm_node_id requester);
int gvm_mgr_probe(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		  uint32_t req_id);
void gvm_mgr_peer_down(struct gvm_node *n, gvm_node_id peer, bool left);

#endif /* GVM_IVY_IMPL_H */
