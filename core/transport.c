// SPDX-License-Identifier: MIT
/*
 * transport.c - completing a backend's ops table and opening an endpoint.
 * The engine calls every op unconditionally; ops a backend does not offer
 * are these stubs.
 */
#include <gvm/transport.h>

#include "os/gvm_os.h"

static int no_close_peer(struct gvm_transport *t, gvm_node_id peer, int reason)
{
	(void)t, (void)peer, (void)reason;
	return -EOPNOTSUPP;
}

static int no_connect(struct gvm_transport *t, gvm_node_id peer)
{
	(void)t, (void)peer;
	return -EOPNOTSUPP;
}

static int no_mem_deregister(struct gvm_transport *t, struct gvm_mr *mr)
{
	(void)t, (void)mr;
	return -EOPNOTSUPP;
}

static int no_mem_register(struct gvm_transport *t, void *addr, size_t len,
			   struct gvm_mr *mr)
{
	(void)t, (void)addr, (void)len, (void)mr;
	return -EOPNOTSUPP;
}

static int no_rma_read(struct gvm_transport *t, gvm_node_id peer, void *local,
		       size_t len, uint64_t raddr, uint64_t rkey)
{
	(void)t, (void)peer, (void)local, (void)len, (void)raddr, (void)rkey;
	return -EOPNOTSUPP;
}

static int no_rma_write(struct gvm_transport *t, gvm_node_id peer,
			const void *local, size_t len, uint64_t raddr,
			uint64_t rkey)
{
	(void)t, (void)peer, (void)local, (void)len, (void)raddr, (void)rkey;
	return -EOPNOTSUPP;
}

static int no_wait_fd(struct gvm_transport *t)
{
	(void)t;
	return -EOPNOTSUPP;
}

static int no_window_map(struct gvm_transport *t, void **base, size_t *len)
{
	(void)t, (void)base, (void)len;
	return -EOPNOTSUPP;
}

/* Keep sorted, like the optional part of struct gvm_transport_ops. */
static const struct gvm_transport_ops dummy_ops = {
	.size = sizeof(struct gvm_transport_ops),
	.abi_version = GVM_TRANSPORT_ABI_VERSION,
	.close_peer = no_close_peer,
	.connect = no_connect,
	.mem_deregister = no_mem_deregister,
	.mem_register = no_mem_register,
	.rma_read = no_rma_read,
	.rma_write = no_rma_write,
	.wait_fd = no_wait_fd,
	.window_map = no_window_map,
};

#define FILL(op)                                                              \
	do {                                                                  \
		if (src->op)                                                  \
			dst->op = src->op;                                    \
	} while (0)

int gvm_transport_ops_fill(struct gvm_transport_ops *dst,
			   const struct gvm_transport_ops *src)
{
	if (src->abi_version != GVM_TRANSPORT_ABI_VERSION ||
	    src->size != sizeof(*src))
		return -EINVAL;
	if (!src->name || !src->open || !src->close || !src->send ||
	    !src->progress || !src->arm || !src->wait || !src->kick)
		return -EINVAL;
	*dst = dummy_ops;
	dst->name = src->name;
	dst->open = src->open;
	dst->close = src->close;
	dst->send = src->send;
	dst->progress = src->progress;
	dst->arm = src->arm;
	dst->wait = src->wait;
	dst->kick = src->kick;
	FILL(close_peer);
	FILL(connect);
	FILL(mem_deregister);
	FILL(mem_register);
	FILL(rma_read);
	FILL(rma_write);
	FILL(wait_fd);
	FILL(window_map);
	return 0;
}

void gvm_transport_init_base(struct gvm_transport *t,
			     const struct gvm_transport_params *p)
{
	t->self = p->self;
	t->nodes = p->nodes;
	t->recv = p->recv;
	t->recv_arg = p->recv_arg;
	t->peer_down = p->peer_down;
	t->peer_down_arg = p->peer_down_arg;
}

int gvm_transport_open(const struct gvm_transport_ops *ops,
		       const struct gvm_transport_params *p,
		       struct gvm_transport **out)
{
	struct gvm_transport_ops full;
	int err;

	if (!p || !p->recv || p->nodes == 0 || p->self >= p->nodes)
		return -EINVAL;
	err = gvm_transport_ops_fill(&full, ops);
	if (err)
		return err;
	err = full.open(p, out);
	if (err)
		return err;
	(*out)->ops = full;
	return 0;
}

int gvm_tp_poll(struct gvm_transport *t, int64_t timeout_ns, uint64_t spin_ns,
		uint64_t yield_ns)
{
	uint64_t start, now, end;
	int n = gvm_tp_progress(t);

	/* A busy-polling caller's round: no clock to read (20 ns of a 70 ns
	 * shared-memory hop). */
	if (n || !timeout_ns)
		return n;
	start = now = gvm_os_now_ns();
	end = timeout_ns < 0 ? ~(uint64_t)0 : start + (uint64_t)timeout_ns;
	for (uint32_t i = 1;; i++) {
		n = gvm_tp_progress(t);
		if (n || now >= end)
			return n;
		if (!(i & 15) || now - start >= spin_ns)
			now = gvm_os_now_ns();
		if (now - start < spin_ns) {
			gvm_os_cpu_relax();
			continue;
		}
		if (now - start < spin_ns + yield_ns) {
			gvm_os_yield();
			now = gvm_os_now_ns();
			continue;
		}
		n = t->ops.arm(t);
		if (n == -EAGAIN)
			continue;
		if (n)
			return n;
		n = t->ops.wait(t, timeout_ns < 0 ? -1 : (int64_t)(end - now));
		if (n < 0)
			return n;
		now = gvm_os_now_ns();
	}
}
