// SPDX-License-Identifier: MIT
/*
 * poller_uring.c - the TCP backend's sockets waited on with io_uring:
 * a multishot POLL_ADD per socket for input, a one-shot POLL_ADD for output
 * while a send queue waits. Built when liburing is found.
 *
 * Completions can outlive the socket they were for (a cancelled poll still
 * completes), so user_data names a slot and its generation, never a
 * pointer: a completion for a slot reused or released since is ignored.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "poller.h"

#define RING_ENTRIES 256
#define UD_OUT 1ull
#define UD_REMOVE (~0ull)

struct slot {
	int fd;
	void *tag;
	uint32_t gen;
	bool active;
	bool out_armed;
};

struct uring_poller {
	struct tcp_poller base;
	struct io_uring ring;
	pthread_mutex_t lock; /* submissions and the slot table */
	struct slot *slots;
	uint32_t nslots;
};

static inline struct uring_poller *to_uring(struct tcp_poller *p)
{
	return (struct uring_poller *)p;
}

static uint64_t user_data(uint32_t idx, uint32_t gen, bool out)
{
	return (uint64_t)idx << 33 | (uint64_t)gen << 1 | (out ? UD_OUT : 0);
}

/* Lock held. */
static struct io_uring_sqe *get_sqe(struct uring_poller *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) { /* submission queue full: hand it to the kernel first */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static int arm(struct uring_poller *u, uint32_t idx, bool out)
{
	struct slot *s = &u->slots[idx];
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	if (out) {
		io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
		s->out_armed = true;
	} else {
		io_uring_prep_poll_multishot(sqe, s->fd, POLLIN | POLLRDHUP);
	}
	io_uring_sqe_set_data64(sqe, user_data(idx, s->gen, out));
	return io_uring_submit(&u->ring) < 0 ? -EIO : 0;
}

static int find(struct uring_poller *u, void *tag)
{
	for (uint32_t i = 0; i < u->nslots; i++)
		if (u->slots[i].active && u->slots[i].tag == tag)
			return (int)i;
	return -1;
}

static int uring_add(struct tcp_poller *p, int fd, void *tag, bool out)
{
	struct uring_poller *u = to_uring(p);
	uint32_t idx;
	int err;

	pthread_mutex_lock(&u->lock);
	for (idx = 0; idx < u->nslots && u->slots[idx].active; idx++)
		;
	if (idx == u->nslots) {
		struct slot *s = realloc(u->slots, (u->nslots + 16) * sizeof(*s));

		if (!s) {
			pthread_mutex_unlock(&u->lock);
			return -ENOMEM;
		}
		for (uint32_t i = u->nslots; i < u->nslots + 16; i++)
			s[i] = (struct slot){.fd = -1};
		u->slots = s;
		u->nslots += 16;
	}
	u->slots[idx].fd = fd;
	u->slots[idx].tag = tag;
	u->slots[idx].gen++;
	u->slots[idx].active = true;
	u->slots[idx].out_armed = false;
	err = arm(u, idx, false);
	if (!err && out)
		err = arm(u, idx, true);
	pthread_mutex_unlock(&u->lock);
	return err;
}

static int uring_mod(struct tcp_poller *p, int fd, void *tag, bool out)
{
	struct uring_poller *u = to_uring(p);
	int idx, err = 0;

	(void)fd;
	pthread_mutex_lock(&u->lock);
	idx = find(u, tag);
	/* Dropping interest in output needs nothing: a late POLLOUT is harmless. */
	if (idx >= 0 && out && !u->slots[idx].out_armed)
		err = arm(u, (uint32_t)idx, true);
	pthread_mutex_unlock(&u->lock);
	return idx < 0 ? -ENOENT : err;
}

static void uring_del(struct tcp_poller *p, int fd, void *tag)
{
	struct uring_poller *u = to_uring(p);
	int idx;

	(void)fd;
	pthread_mutex_lock(&u->lock);
	idx = find(u, tag);
	if (idx >= 0) {
		struct slot *s = &u->slots[idx];

		for (int out = 0; out < 2; out++) {
			struct io_uring_sqe *sqe = get_sqe(u);

			if (!sqe)
				break;
			io_uring_prep_poll_remove(sqe, user_data((uint32_t)idx, s->gen, out));
			io_uring_sqe_set_data64(sqe, UD_REMOVE);
		}
		io_uring_submit(&u->ring);
		s->active = false;
		s->gen++; /* anything still in flight now names a stale slot */
	}
	pthread_mutex_unlock(&u->lock);
}

static int uring_wait(struct tcp_poller *p, int ms, tcp_poll_fn fn, void *ctx)
{
	struct uring_poller *u = to_uring(p);
	struct __kernel_timespec ts = {ms / 1000, (long long)(ms % 1000) * 1000000};
	struct io_uring_cqe *cqe;
	int n = 0, err;

	err = io_uring_wait_cqe_timeout(&u->ring, &cqe, ms < 0 ? NULL : &ts);
	if (err == -ETIME || err == -EINTR)
		return 0;
	if (err)
		return err;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		bool more = cqe->flags & IORING_CQE_F_MORE;
		void *tag = NULL;

		io_uring_cqe_seen(&u->ring, cqe);
		if (ud == UD_REMOVE)
			continue;
		pthread_mutex_lock(&u->lock);
		{
			uint32_t idx = (uint32_t)(ud >> 33);
			uint32_t gen = (uint32_t)(ud >> 1);
			bool out = ud & UD_OUT;

			if (idx < u->nslots && u->slots[idx].active &&
			    u->slots[idx].gen == gen) {
				tag = u->slots[idx].tag;
				if (out)
					u->slots[idx].out_armed = false;
				else if (!more) /* the multishot poll ended: renew it */
					arm(u, idx, false);
			}
		}
		pthread_mutex_unlock(&u->lock);
		if (tag && res > 0) {
			fn(ctx, tag, (unsigned int)res);
			n++;
		}
	}
	return n;
}

static int uring_fd(struct tcp_poller *p)
{
	return to_uring(p)->ring.ring_fd;
}

static void uring_close(struct tcp_poller *p)
{
	struct uring_poller *u = to_uring(p);

	io_uring_queue_exit(&u->ring);
	pthread_mutex_destroy(&u->lock);
	free(u->slots);
	free(u);
}

static const struct tcp_poller_ops uring_ops = {
	.name = "io_uring",
	.out_oneshot = true,
	.add = uring_add,
	.mod = uring_mod,
	.del = uring_del,
	.wait = uring_wait,
	.fd = uring_fd,
	.close = uring_close,
};

int tcp_poller_uring_open(struct tcp_poller **out)
{
	struct uring_poller *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	err = io_uring_queue_init(RING_ENTRIES, &u->ring, 0);
	if (err) {
		free(u);
		return err;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->base.ops = &uring_ops;
	*out = &u->base;
	return 0;
}
