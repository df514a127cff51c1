/* SPDX-License-Identifier: MIT */
/*
 * gvm/dsm.h - the IVY engine: one node of a page-coherent shared memory.
 *
 * A node owns a page space of npages pages of (1 << page_shift) bytes and
 * keeps it coherent with the other nodes of its cluster: single writer or
 * many readers per page, sequentially consistent. It reaches the network only
 * through a struct gvm_transport and learns of local accesses only through
 * acquire/release, so the same engine serves the mapped-region front end,
 * the kernel module and the simulator.
 *
 * Threading: every entry point takes the node's lock; callbacks (frontend
 * ops, policy hooks, waiter completions) run with it held and must not call
 * back into the engine.
 */
#ifndef GVM_DSM_H
#define GVM_DSM_H

#include <gvm/policy.h>
#include <gvm/transport.h>
#include <gvm/types.h>

struct gvm_node;

/*
 * Told before the engine gives up or narrows the local right to a page, so a
 * front end can unmap or write-protect its mapping first. When the callback
 * returns, no local access may use the old right any more.
 *
 * The engine's frame holds a page's contents. A front end whose mapping is
 * not the frame itself (userfaultfd copies frames in) gets the frame as
 * writeback whenever the mapping may hold newer data (the page was
 * MODIFIED): it copies its view there before unmapping. writeback is NULL
 * when the frame is already current.
 */
struct gvm_frontend_ops {
	/* The local copy becomes INVALID (or ownership leaves with it). */
	void (*invalidate)(void *arg, gvm_page_t page, void *writeback);
	/* A MODIFIED page becomes SHARED: write-protect it. */
	void (*downgrade)(void *arg, gvm_page_t page, void *writeback);
	/*
	 * Optional: a page fetched ahead (readahead) arrived with no local
	 * access waiting for it; map frame with the rights state allows now,
	 * or leave it to the next fault.
	 */
	void (*fill)(void *arg, gvm_page_t page, const void *frame,
		     enum gvm_page_state state);
	/*
	 * Optional: the memory to hold page's contents, for a front end whose
	 * mapping is the frame (a memfd mapped twice: the application's view
	 * and this one). It must read as zeroes until the engine writes it,
	 * and stay valid while the node lives; the engine never frees it. Set
	 * it, and writeback is never needed: stores reach the frame.
	 */
	void *(*frame)(void *arg, gvm_page_t page);
};

struct gvm_config {
	uint64_t cluster_id;
	gvm_node_id self;
	uint32_t nodes;      /* 1..GVM_MAX_NODES */
	uint32_t page_shift; /* GVM_PAGE_SHIFT_MIN..MAX */
	uint64_t npages;
	enum gvm_manager manager;
	const struct gvm_frontend_ops *frontend; /* may be NULL */
	void *frontend_arg;
	const struct gvm_policy_ops *policy; /* NULL: gvm_policy_never */
	const char *policy_options;          /* its "key=value,..." or NULL */
	/*
	 * Memory every node of the cluster maps (the same bytes), where
	 * promoted pages live: a transport's window_map (GVM_CAP_SHARED_WINDOW)
	 * or NULL for none. Every node must pass the same length. Node i
	 * places the pages it promotes in the i-th of nodes equal shares of
	 * window_len / page size slots.
	 */
	void *window;
	uint64_t window_len;
};

/*
 * Create a node. The transport's recv callback must lead to gvm_node_recv()
 * with the node as argument (gvm_node_recv is a gvm_recv_fn). Returns 0, or
 * -EINVAL for a bad configuration, -ENOMEM.
 */
int gvm_node_create(const struct gvm_config *cfg, struct gvm_transport *tp,
		    struct gvm_node **out);
/* Destroy a node; no access may be pinned and no acquire may be waiting. */
void gvm_node_destroy(struct gvm_node *n);

/*
 * Handle one message from src (a gvm_recv_fn for transports). Returns 0, or
 * -EPROTO after refusing a malformed or out-of-protocol message; the engine
 * has then logged the reason and asked the transport to close src.
 */
int gvm_node_recv(void *node, gvm_node_id src, const void *msg, size_t len);

/*
 * A transport reports a lost peer (a gvm_peer_down_fn). The node stops
 * listening to it and tells the other nodes; as owner it drops the peer from
 * copysets and forgets its requests; as manager it resolves the pages the
 * peer owned or was receiving; as requester it fails faults that cannot
 * complete any more (-EHOSTDOWN) and asks after reads that may have died
 * with it. See core/PROTOCOL.md, "Lost peers".
 */
void gvm_node_peer_down(void *node, gvm_node_id peer, int reason);

/* The hello a node with this configuration sends in handshakes. */
void gvm_config_hello(const struct gvm_config *cfg, struct gvm_hello *out);

/* The home of page: its first owner, and its manager under FIXED. */
gvm_node_id gvm_page_home(const struct gvm_node *n, gvm_page_t page);

/*
 * Asynchronous acquire, for event-driven callers (simulator, fault handlers
 * that must not sleep). The caller fills page, access and done.
 *
 * done() runs after the engine's lock is dropped, in whichever thread
 * drives the engine then, with result 0 (the access is legal; frame and
 * state describe the local copy) or -errno. It may call the engine. On
 * success it returns true to keep the page pinned (the caller then calls
 * gvm_release), or false to have it unpinned on return: a front end that
 * maps the frame right there saves a thread hop.
 */
struct gvm_waiter {
	gvm_page_t page;
	enum gvm_access access;
	bool (*done)(struct gvm_waiter *w, int result);
	/*
	 * Set before done(w, 0), and when gvm_acquire_async returns 0: the
	 * local copy, and the state to map it with (a page owned on a
	 * migratory guess shows as SHARED to a read, so its first write comes
	 * back as a fault that confirms the guess).
	 */
	void *frame;
	enum gvm_page_state state;
	/* Set before done(w, -EHOSTDOWN): the node the page went with. */
	gvm_node_id lost_with;
	/* Engine private. */
	struct gvm_waiter *next;
	int result;
};

/*
 * Returns 0 if the access is legal now (the page is pinned: call
 * gvm_release; done is not called), -EINPROGRESS if done() will be called
 * later, -EINVAL for a bad page or access, -EHOSTDOWN if the page was lost.
 */
int gvm_acquire_async(struct gvm_node *n, struct gvm_waiter *w);

/*
 * Blocking acquire: returns 0 with *frame pointing to the local copy once
 * the access is legal; the page stays pinned (no invalidation, downgrade or
 * transfer takes effect) until gvm_release. Some other thread must drive the
 * transport's progress. Returns -EINVAL for a bad page or access,
 * -EHOSTDOWN if the page was lost, -EINTR (kernel only) if the waiting
 * task is being killed.
 */
int gvm_acquire(struct gvm_node *n, gvm_page_t page, enum gvm_access access,
		void **frame);
/*
 * Wait until every live node of the cluster has called gvm_barrier (node 0
 * collects and releases; it dials every node first, so one that never came
 * up is reported down by the transport rather than waited for). Returns 0,
 * -EHOSTDOWN if node 0 is gone, or -EINTR (kernel only) if the waiting task
 * is being killed. Some other thread must drive the transport's progress.
 */
int gvm_barrier(struct gvm_node *n);

/*
 * Local frame of a pinned page: for a PROMOTED page, its slot in the shared
 * window.
 */
void *gvm_page_frame(struct gvm_node *n, gvm_page_t page);
/* Unpin; deferred invalidations and remote requests proceed. */
void gvm_release(struct gvm_node *n, gvm_page_t page);

/*
 * The engine's clock: policies see now_ns in their hooks, and at each tick
 * the node asks its policy about the promoted pages it owns (demotion).
 * Front ends call it every few milliseconds with a monotonic time (the
 * simulator with its virtual time, so runs replay exactly).
 */
void gvm_node_tick(struct gvm_node *n, uint64_t now_ns);

#define GVM_LAT_BUCKETS 40

struct gvm_stats {
	uint64_t faults_read;    /* read faults that needed the network */
	uint64_t faults_write;   /* write faults that needed ownership */
	uint64_t faults_upgrade; /* owner write faults on a shared page */
	uint64_t hits;           /* acquires granted without a fault */
	uint64_t faults_failed;  /* acquires failed: page lost with a node */
	uint64_t msgs_sent;
	uint64_t msgs_recv;
	uint64_t bytes_sent;
	uint64_t bytes_recv;
	uint64_t payloads_sent;
	uint64_t payloads_skipped; /* grants that reused the requester's copy */
	uint64_t inv_sent;
	uint64_t inv_recv;
	uint64_t inv_deferred;     /* invalidations delayed by a pin */
	uint64_t stale_grants;     /* read grants overtaken by an invalidation */
	uint64_t forwards;         /* requests passed on (manager or hint) */
	uint64_t queued;           /* requests that waited at a busy owner */
	uint64_t max_hops;
	uint64_t protocol_errors;
	uint64_t promotions;       /* pages this node moved into the window */
	uint64_t demotions;        /* ... and back under IVY */
	uint64_t window_full;      /* promotions refused: our share was full */
	/* Fault latency: bucket i counts faults of [2^i, 2^(i+1)) ns. */
	uint64_t fault_lat_log2[GVM_LAT_BUCKETS];
	uint64_t migratory_reads; /* read faults that asked for ownership */
	uint64_t migratory_wrong; /* ... whose page went before a local write */
	uint64_t readahead;       /* pages asked for ahead of an access */
};

void gvm_node_stats(struct gvm_node *n, struct gvm_stats *out);

/*
 * Where the time of each fault goes, from the engine's clock (monotonic:
 * the records of nodes on one host compare directly). A FAULT record is a
 * fault of this node that needed the network: started, request sent
 * (queued: it leaves once the engine's lock is dropped), grant in (its
 * handler began), done (the frame filled and the waiters granted; they are
 * told once the lock is dropped). A SERVE record is a request this node,
 * as owner, answered: in (its handler began) and served (the grant queued).
 */
enum gvm_trace_kind {
	GVM_TRACE_FAULT = 1,
	GVM_TRACE_SERVE = 2,
};

struct gvm_trace_record {
	gvm_page_t page;
	uint8_t kind;   /* enum gvm_trace_kind */
	uint8_t access; /* enum gvm_access */
	gvm_node_id peer; /* FAULT: who granted; SERVE: the requester */
	uint64_t t[4];  /* FAULT: start, sent, in, done; SERVE: in, served, 0, 0 */
};

/*
 * Record into buf[0..cap) from now on, oldest first, wrapping; *count
 * counts records written (count % cap is the next slot). buf NULL stops.
 * The buffer is written under the engine's lock: read it once the node is
 * quiet (after a barrier).
 */
void gvm_node_trace(struct gvm_node *n, struct gvm_trace_record *buf,
		    uint32_t cap, uint64_t *count);

/* A node's view of one page, for tools and invariant checkers. */
struct gvm_page_info {
	enum gvm_page_state state;
	bool owner;
	bool busy;          /* a transaction of this node is in flight */
	uint64_t version;   /* of the local copy; meaningful unless INVALID */
	uint32_t pins;
	bool lost;          /* this node knows the page is gone */
	gvm_node_id lost_with; /* the node whose loss failed the last fault */
	uint32_t copyset_weight;
	uint32_t slot;      /* PROMOTED: its index in the shared window */
	const void *frame;  /* NULL if never filled; PROMOTED: the slot */
};

/*
 * Fill *info for page. If copyset is not NULL it receives the owner's
 * copyset as a wire bitmap (gvm_node_copyset_bytes() long).
 */
int gvm_page_inspect(struct gvm_node *n, gvm_page_t page,
		     struct gvm_page_info *info, uint8_t *copyset);
uint32_t gvm_node_copyset_bytes(const struct gvm_node *n);

const char *gvm_manager_name(enum gvm_manager m);
/* Parse "fixed", "dynamic" or "central"; returns 0 or -EINVAL. */
int gvm_manager_parse(const char *s, enum gvm_manager *out);

#endif /* GVM_DSM_H */
