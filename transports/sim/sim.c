// SPDX-License-Identifier: MIT
/* sim.c - deterministic in-process transport (see sim.h). */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sim_msg {
	struct sim_msg *next;
	uint64_t due; /* step at which it may be delivered */
	bool down;    /* not a message: its source crashed or closed us */
	size_t len;
	uint8_t buf[];
};

/* FIFO of one ordered pair; listed in world->active while not empty. */
struct sim_pair {
	struct sim_msg *head, *tail;
	uint32_t active_idx;
};

struct sim_ep {
	struct gvm_transport base;
	struct sim_world *world;
	bool open;
	bool crashed;
};

struct sim_world {
	struct sim_params p;
	struct sim_pair *pairs; /* nodes * nodes, [src * nodes + dst] */
	uint32_t *active;       /* indices of non-empty pairs */
	uint32_t nactive;
	uint32_t *ready;        /* scratch: active pairs whose head is due */
	struct sim_ep **eps;
	uint64_t rng[4];
	uint64_t now;
	uint64_t inflight;
	bool timing;
	uint64_t send_ns;
};

static inline struct sim_ep *to_sim_ep(struct gvm_transport *t)
{
	return (struct sim_ep *)t;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rand(struct sim_world *w)
{
	uint64_t *s = w->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

uint64_t sim_rand_below(struct sim_world *w, uint64_t bound)
{
	/* Lemire's multiply-shift: no modulo bias worth noting at our sizes. */
	return (uint64_t)(((unsigned __int128)sim_rand(w) * bound) >> 64);
}

static void seed_rng(struct sim_world *w, uint64_t seed)
{
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		w->rng[i] = z ^ (z >> 31);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sim_world_create(const struct sim_params *p, struct sim_world **out)
{
	struct sim_world *w;
	uint64_t npairs = (uint64_t)p->nodes * p->nodes;

	if (p->nodes == 0 || p->nodes > GVM_MAX_NODES)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->p = *p;
	w->pairs = calloc(npairs, sizeof(*w->pairs));
	w->active = calloc(npairs, sizeof(*w->active));
	w->ready = calloc(npairs, sizeof(*w->ready));
	w->eps = calloc(p->nodes, sizeof(*w->eps));
	if (!w->pairs || !w->active || !w->ready || !w->eps) {
		sim_world_destroy(w);
		return -ENOMEM;
	}
	seed_rng(w, p->seed);
	*out = w;
	return 0;
}

void sim_world_destroy(struct sim_world *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; w->pairs && i < w->nactive; i++) {
		struct sim_pair *q = &w->pairs[w->active[i]];

		while (q->head) {
			struct sim_msg *m = q->head;

			q->head = m->next;
			free(m);
		}
	}
	for (uint32_t i = 0; w->eps && i < w->p.nodes; i++)
		free(w->eps[i]);
	free(w->pairs);
	free(w->active);
	free(w->ready);
	free(w->eps);
	free(w);
}

static int sim_open(const struct gvm_transport_params *p,
		    struct gvm_transport **out)
{
	struct sim_world *w = p->ctx;
	struct sim_ep *ep;

	if (!w || p->nodes != w->p.nodes || w->eps[p->self])
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	gvm_transport_init_base(&ep->base, p);
	ep->base.caps = GVM_CAP_ORDERED | GVM_CAP_PEER_DOWN;
	ep->base.max_msg = UINT32_MAX;
	ep->world = w;
	ep->open = true;
	w->eps[p->self] = ep;
	*out = &ep->base;
	return 0;
}

int sim_endpoint_open(struct sim_world *w, gvm_node_id self, gvm_recv_fn recv,
		      void *recv_arg, struct gvm_transport **out)
{
	struct gvm_transport_params p = {
		.self = self,
		.nodes = w->p.nodes,
		.recv = recv,
		.recv_arg = recv_arg,
		.ctx = w,
	};

	return gvm_transport_open(&sim_ops, &p, out);
}

/* Endpoints are freed with their world; to its peers a close is a crash. */
static void sim_close(struct gvm_transport *t)
{
	sim_world_crash(to_sim_ep(t)->world, t->self);
	to_sim_ep(t)->open = false;
}

/* Append m to the FIFO of src -> dst. */
static void enqueue(struct sim_world *w, gvm_node_id src, gvm_node_id dst,
		    struct sim_msg *m)
{
	struct sim_pair *q = &w->pairs[(size_t)src * w->p.nodes + dst];

	m->next = NULL;
	m->due = w->now + (w->p.max_delay ?
			   sim_rand_below(w, w->p.max_delay + 1) : 0);
	if (q->tail) {
		if (m->due < q->tail->due)
			m->due = q->tail->due; /* never overtake within a pair */
		q->tail->next = m;
	} else {
		q->head = m;
		q->active_idx = w->nactive;
		w->active[w->nactive++] = (uint32_t)(q - w->pairs);
	}
	q->tail = m;
	w->inflight++;
}

static bool crashed(const struct sim_world *w, gvm_node_id id)
{
	return w->eps[id] && w->eps[id]->crashed;
}

static int sim_send(struct gvm_transport *t, gvm_node_id dst,
		    const struct gvm_iov *iov, unsigned int iovcnt)
{
	struct sim_world *w = to_sim_ep(t)->world;
	uint64_t t0 = w->timing ? now_ns() : 0;
	struct sim_msg *m;
	size_t len = 0, off = 0;

	if (dst >= w->p.nodes || dst == t->self)
		return -EINVAL;
	for (unsigned int i = 0; i < iovcnt; i++)
		len += iov[i].len;
	m = calloc(1, sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(m->buf + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	m->len = len;
	if (w->p.observe)
		w->p.observe(w->p.observe_arg, t->self, dst, m->buf, len, SIM_SENT);
	if (crashed(w, dst) || crashed(w, t->self)) {
		if (w->p.observe)
			w->p.observe(w->p.observe_arg, t->self, dst, m->buf, len,
				     SIM_DROPPED);
		free(m);
		return 0;
	}
	enqueue(w, t->self, dst, m);
	if (w->timing)
		w->send_ns += now_ns() - t0;
	return 0;
}

/* Remove every message queued for dst (it crashed). */
static void drop_to(struct sim_world *w, gvm_node_id dst)
{
	for (uint32_t i = 0; i < w->nactive;) {
		uint32_t idx = w->active[i];
		struct sim_pair *q = &w->pairs[idx];

		if (idx % w->p.nodes != dst) {
			i++;
			continue;
		}
		while (q->head) {
			struct sim_msg *m = q->head;

			q->head = m->next;
			w->inflight--;
			if (w->p.observe && !m->down)
				w->p.observe(w->p.observe_arg, idx / w->p.nodes, dst,
					     m->buf, m->len, SIM_DROPPED);
			free(m);
		}
		q->tail = NULL;
		w->active[i] = w->active[--w->nactive];
		w->pairs[w->active[i]].active_idx = i;
	}
}

void sim_world_crash(struct sim_world *w, gvm_node_id node)
{
	if (node >= w->p.nodes || !w->eps[node] || w->eps[node]->crashed)
		return;
	w->eps[node]->crashed = true;
	drop_to(w, node);
	for (gvm_node_id j = 0; j < w->p.nodes; j++) {
		struct sim_msg *m;

		if (j == node || crashed(w, j))
			continue;
		m = calloc(1, sizeof(*m));
		if (!m)
			abort();
		m->down = true;
		enqueue(w, node, j, m);
	}
}

/* As over TCP, the peer sees the connection close after what we sent it. */
static int sim_close_peer(struct gvm_transport *t, gvm_node_id peer, int reason)
{
	struct sim_world *w = to_sim_ep(t)->world;
	struct sim_msg *m;

	(void)reason;
	if (peer >= w->p.nodes || peer == t->self)
		return -EINVAL;
	if (crashed(w, peer) || crashed(w, t->self))
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->down = true;
	enqueue(w, t->self, peer, m);
	return 0;
}

/*
 * The sim delivers only from sim_world_step(): progress has nothing to do,
 * and there is no time to wait in but the world's.
 */
static int sim_progress(struct gvm_transport *t)
{
	(void)t;
	return 0;
}

static int sim_arm(struct gvm_transport *t)
{
	(void)t;
	return 0;
}

static int sim_wait(struct gvm_transport *t, int64_t timeout_ns)
{
	(void)t, (void)timeout_ns;
	return 0;
}

static void sim_kick(struct gvm_transport *t)
{
	(void)t;
}

int sim_world_step(struct sim_world *w)
{
	uint32_t nready = 0, idx, src, dst;
	uint64_t min_due = UINT64_MAX;
	struct sim_pair *q;
	struct sim_msg *m;
	struct sim_ep *ep;

	if (!w->nactive)
		return 0;
	for (uint32_t i = 0; i < w->nactive; i++) {
		uint64_t due = w->pairs[w->active[i]].head->due;

		if (due <= w->now)
			w->ready[nready++] = w->active[i];
		if (due < min_due)
			min_due = due;
	}
	if (!nready) {
		w->now = min_due;
		return sim_world_step(w);
	}
	idx = w->ready[sim_rand_below(w, nready)];
	q = &w->pairs[idx];
	m = q->head;
	q->head = m->next;
	if (!q->head) {
		uint32_t last = w->active[--w->nactive];

		q->tail = NULL;
		w->active[q->active_idx] = last;
		w->pairs[last].active_idx = q->active_idx;
	}
	w->inflight--;
	w->now++;
	src = idx / w->p.nodes;
	dst = idx % w->p.nodes;
	ep = w->eps[dst];
	if (m->down) {
		if (ep && ep->open && ep->base.peer_down)
			ep->base.peer_down(ep->base.peer_down_arg, src, -ECONNRESET);
	} else {
		if (w->p.observe)
			w->p.observe(w->p.observe_arg, src, dst, m->buf, m->len,
				     SIM_DELIVERED);
		if (ep && ep->open)
			ep->base.recv(ep->base.recv_arg, src, m->buf, m->len);
	}
	free(m);
	return 1;
}

uint64_t sim_world_inflight(const struct sim_world *w)
{
	return w->inflight;
}

uint64_t sim_world_send_ns(const struct sim_world *w)
{
	return w->send_ns;
}

void sim_world_set_timing(struct sim_world *w, bool on)
{
	w->timing = on;
}

const struct gvm_transport_ops sim_ops = {
	.size = sizeof(struct gvm_transport_ops),
	.abi_version = GVM_TRANSPORT_ABI_VERSION,
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.close_peer = sim_close_peer,
	.send = sim_send,
	.progress = sim_progress,
	.arm = sim_arm,
	.wait = sim_wait,
	.kick = sim_kick,
};

GVM_TRANSPORT_REGISTER(sim, sim_ops)
