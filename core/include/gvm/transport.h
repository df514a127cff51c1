/* SPDX-License-Identifier: MIT */
/*
 * gvm/transport.h - the contract between the engine and a network backend.
 *
 * The engine reaches the network only through struct gvm_transport_ops.
 * Two-sided, per-peer ordered messaging is mandatory; everything else is
 * optional and advertised by GVM_CAP_* bits. The engine branches on bits,
 * never on a backend's name.
 *
 * A backend embeds struct gvm_transport first in its own endpoint struct and
 * ends its source file with its ops table and GVM_TRANSPORT_REGISTER().
 * Optional ops it leaves NULL are filled by gvm_transport_ops_fill() from a
 * table of stubs returning -EOPNOTSUPP, so callers never test for NULL.
 */
#ifndef GVM_TRANSPORT_H
#define GVM_TRANSPORT_H

#include <gvm/types.h>

#define GVM_TRANSPORT_ABI_VERSION 3u

/* Capability bits. */
#define GVM_CAP_ORDERED       (1ull << 0) /* FIFO per ordered peer pair */
#define GVM_CAP_RMA           (1ull << 1) /* rma_read / rma_write work */
#define GVM_CAP_SHARED_WINDOW (1ull << 2) /* window_map gives shared memory */
#define GVM_CAP_KERNEL_OK     (1ull << 3) /* usable from the kernel module */
#define GVM_CAP_PEER_DOWN     (1ull << 4) /* reports lost peers (peer_down) */

struct gvm_iov {
	const void *base;
	size_t len;
};

struct gvm_transport;
struct gvm_auth;

/*
 * What two nodes must agree on before they exchange a single message. Every
 * connection-oriented backend sends its own in a handshake and refuses a
 * peer whose hello does not match (gvm_hello_compare).
 */
struct gvm_hello {
	uint32_t proto;      /* engine wire protocol version */
	uint64_t cluster_id;
	uint32_t nodes;
	uint32_t node;       /* the sender's id */
	uint32_t page_shift;
	uint32_t manager;    /* enum gvm_manager */
};

#define GVM_HELLO_LEN 32u

/* Encode h into out[GVM_HELLO_LEN]. */
void gvm_hello_encode(const struct gvm_hello *h, void *out);
/*
 * Decode a hello; returns 0, or -EPROTO with a static reason in *why (bad
 * magic, wrong length).
 */
int gvm_hello_decode(const void *buf, size_t len, struct gvm_hello *h,
		     const char **why);
/*
 * Returns 0 if a node described by local may talk to one described by
 * remote. Otherwise -EPROTO, with the first differing field's name and both
 * values, for a message naming them ("page size: 4096 here, 8192 there").
 */
int gvm_hello_compare(const struct gvm_hello *local,
		      const struct gvm_hello *remote, const char **field,
		      uint64_t *ours, uint64_t *theirs);

/*
 * Delivery of one complete message, called by the backend from progress().
 * The buffer is only valid during the call. A negative return means the
 * message was refused as malformed or out of protocol; the engine has
 * already asked the backend to close that peer.
 */
typedef int (*gvm_recv_fn)(void *arg, gvm_node_id src, const void *msg,
			   size_t len);

/*
 * A peer is gone (closed, crashed, silent past the heartbeat timeout, or cut
 * off for a protocol error). Called from progress(), never with a lock of
 * the caller's held, at most once per peer.
 */
typedef void (*gvm_peer_down_fn)(void *arg, gvm_node_id peer, int reason);

struct gvm_transport_params {
	gvm_node_id self;
	uint32_t nodes;
	const char *uri; /* backend specific address or options, may be NULL */
	void *ctx;       /* backend specific object (sim: its world), or NULL */
	const struct gvm_hello *hello; /* our hello; NULL: no handshake check */
	/*
	 * The cluster key (gvm/auth.h) a connection-oriented backend runs its
	 * handshake with; NULL: no secret, and then gvm_auth_unsecured()
	 * decides whether the node may run (insecure_ok: GVM_INSECURE=1).
	 */
	const struct gvm_auth *auth;
	bool insecure_ok;
	gvm_recv_fn recv;
	void *recv_arg;
	gvm_peer_down_fn peer_down; /* may be NULL */
	void *peer_down_arg;
};

/* A remotely accessible memory region (RMA-capable backends). */
struct gvm_mr {
	void *addr;
	size_t len;
	uint64_t rkey;
};

struct gvm_transport_ops {
	size_t size;          /* sizeof(struct gvm_transport_ops) at build time */
	uint32_t abi_version; /* GVM_TRANSPORT_ABI_VERSION */
	const char *name;

	/* Mandatory. */
	int (*open)(const struct gvm_transport_params *p,
		    struct gvm_transport **out);
	void (*close)(struct gvm_transport *t);
	/*
	 * Queue one message made of iov[0..iovcnt). Returns 0 once the bytes
	 * are the backend's responsibility; never blocks. iov[0] (the engine's
	 * header) is valid during the call only: copy it or send it inline.
	 * The page behind a later iov stays unchanged until the peer has
	 * received the message, so a backend may send it without copying.
	 * A backend may bound what it holds for a peer that does not read
	 * (tcp: 64 MiB); past the bound send returns -ENOBUFS and the peer is
	 * reported down.
	 */
	int (*send)(struct gvm_transport *t, gvm_node_id dst,
		    const struct gvm_iov *iov, unsigned int iovcnt);
	/*
	 * Progress, arm, wait: how a thread drives the backend (the model of
	 * UCX's progress/arm/efd and libfabric's fi_trywait). progress()
	 * never blocks: it delivers what has arrived, flushes what waits to
	 * be sent and runs housekeeping that is due (heartbeats, silence
	 * checks); it returns > 0 if it delivered anything, else 0. A thread
	 * that found nothing for long enough (how long it polls first is the
	 * caller's choice: gvm_tp_poll) calls arm(): 0 means the wait object
	 * is armed and the caller must now call wait(); -EAGAIN means
	 * something is pending (call progress() again). wait() sleeps until
	 * a message may have arrived, kick() is called, timeout_ns passes
	 * (<0: no limit) or the backend's own housekeeping is due, whichever
	 * is first; it may deliver what woke it (and returns as progress
	 * does). kick() may be called from any thread: a wait() whose arm()
	 * came before the kick returns at once. One thread at a time drives
	 * a backend (progress, arm, wait); any thread may send.
	 */
	int (*progress)(struct gvm_transport *t);
	int (*arm)(struct gvm_transport *t);
	int (*wait)(struct gvm_transport *t, int64_t timeout_ns);
	void (*kick)(struct gvm_transport *t);

	/* Optional; keep sorted. Missing ones return -EOPNOTSUPP. */
	int (*close_peer)(struct gvm_transport *t, gvm_node_id peer, int reason);
	int (*connect)(struct gvm_transport *t, gvm_node_id peer);
	int (*mem_deregister)(struct gvm_transport *t, struct gvm_mr *mr);
	int (*mem_register)(struct gvm_transport *t, void *addr, size_t len,
			    struct gvm_mr *mr);
	int (*rma_read)(struct gvm_transport *t, gvm_node_id peer, void *local,
			size_t len, uint64_t raddr, uint64_t rkey);
	int (*rma_write)(struct gvm_transport *t, gvm_node_id peer,
			 const void *local, size_t len, uint64_t raddr,
			 uint64_t rkey);
	/*
	 * An fd that polls readable whenever wait() would return, so a caller
	 * can sleep on it together with its own fds (poll it only after a
	 * successful arm(), then call wait(t, 0)). -EOPNOTSUPP for a backend
	 * whose wait object is not an fd (a futex in shared memory).
	 */
	int (*wait_fd)(struct gvm_transport *t);
	int (*window_map)(struct gvm_transport *t, void **base, size_t *len);
};

struct gvm_transport {
	struct gvm_transport_ops ops; /* complete copy: no NULL entries */
	uint64_t caps;                /* GVM_CAP_* */
	uint32_t max_msg;             /* largest message, header included */
	uint32_t inline_size;         /* bytes sent inline, 0 if no such notion */
	gvm_node_id self;
	uint32_t nodes;
	gvm_recv_fn recv;
	void *recv_arg;
	gvm_peer_down_fn peer_down;
	void *peer_down_arg;
};

/*
 * Complete a backend's ops table into dst: copies the non-NULL ops of src
 * over stubs that return -EOPNOTSUPP. Returns 0, or -EINVAL when src is
 * from an incompatible ABI or lacks a mandatory op.
 */
int gvm_transport_ops_fill(struct gvm_transport_ops *dst,
			   const struct gvm_transport_ops *src);

/*
 * Open an endpoint of the backend described by ops. Returns 0 and sets *out,
 * or -errno (-EINVAL for bad parameters or ops, the backend's own errors).
 */
int gvm_transport_open(const struct gvm_transport_ops *ops,
		       const struct gvm_transport_params *p,
		       struct gvm_transport **out);

/* Helpers for backends: fill the common fields of a new endpoint. */
void gvm_transport_init_base(struct gvm_transport *t,
			     const struct gvm_transport_params *p);

/*
 * For a backend's liveness pass (heartbeats, silence checks): true if this
 * pass comes over half a timeout after the previous one. Then this node was
 * the silent one (stopped, starved of CPU, a paused VM), and its peers get
 * a fresh window rather than the blame: blaming them would end every
 * connection at once. *last holds the previous pass (0: none) and becomes
 * now.
 */
static inline bool gvm_liveness_pass_late(uint64_t *last, uint64_t now,
					  uint64_t timeout_ns)
{
	bool late = *last && now - *last > timeout_ns / 2;

	*last = now;
	return late;
}

static inline int gvm_tp_send(struct gvm_transport *t, gvm_node_id dst,
			      const struct gvm_iov *iov, unsigned int iovcnt)
{
	return t->ops.send(t, dst, iov, iovcnt);
}

static inline int gvm_tp_progress(struct gvm_transport *t)
{
	return t->ops.progress(t);
}

/*
 * Drive t until something is delivered or timeout_ns passes (0: one
 * non-blocking round; <0: no limit): progress() in a busy loop for spin_ns,
 * then with a yield of the CPU between rounds for yield_ns, then arm() and
 * wait(). Returns the messages delivered (0 at the timeout) or -errno. For
 * callers that own a backend alone (tools, tests); the cluster drives its
 * backend through core/user/progress.c.
 */
int gvm_tp_poll(struct gvm_transport *t, int64_t timeout_ns, uint64_t spin_ns,
		uint64_t yield_ns);

static inline int gvm_tp_close_peer(struct gvm_transport *t, gvm_node_id peer,
				    int reason)
{
	return t->ops.close_peer(t, peer, reason);
}

static inline void gvm_tp_close(struct gvm_transport *t)
{
	t->ops.close(t);
}

#ifndef __KERNEL__
/*
 * Registration, so tools and tests can pick a backend by name. A backend's
 * source file ends with GVM_TRANSPORT_REGISTER(name, ops_table).
 */
struct gvm_transport_entry {
	const struct gvm_transport_ops *ops;
	struct gvm_transport_entry *next;
};

void gvm_transport_register(struct gvm_transport_entry *e);
/* Returns the ops of the backend called name, or NULL. */
const struct gvm_transport_ops *gvm_transport_find(const char *name);
/* Iterate: pass NULL first, then the previous result. */
const struct gvm_transport_entry *
gvm_transport_next(const struct gvm_transport_entry *prev);

#define GVM_TRANSPORT_REGISTER(name, ops)                                     \
	static struct gvm_transport_entry gvm_transport_entry_##name = {      \
		&(ops), NULL};                                                \
	__attribute__((constructor)) static void                              \
	gvm_transport_register_##name(void)                                   \
	{                                                                     \
		gvm_transport_register(&gvm_transport_entry_##name);          \
	}
#endif

#endif /* GVM_TRANSPORT_H */
