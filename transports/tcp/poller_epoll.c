// SPDX-License-Identifier: MIT
/* poller_epoll.c - the TCP backend's sockets waited on with epoll. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "poller.h"

struct epoll_poller {
	struct tcp_poller base;
	int epfd;
};

static inline struct epoll_poller *to_epoll(struct tcp_poller *p)
{
	return (struct epoll_poller *)p;
}

static int epoll_set(struct tcp_poller *p, int op, int fd, void *tag, bool out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
		.data.ptr = tag,
	};

	return epoll_ctl(to_epoll(p)->epfd, op, fd, &ev) ? -errno : 0;
}

static int epoll_add(struct tcp_poller *p, int fd, void *tag, bool out)
{
	return epoll_set(p, EPOLL_CTL_ADD, fd, tag, out);
}

static int epoll_mod(struct tcp_poller *p, int fd, void *tag, bool out)
{
	return epoll_set(p, EPOLL_CTL_MOD, fd, tag, out);
}

static void epoll_del(struct tcp_poller *p, int fd, void *tag)
{
	(void)tag;
	epoll_ctl(to_epoll(p)->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int epoll_wait_ready(struct tcp_poller *p, int ms, tcp_poll_fn fn,
			    void *ctx)
{
	struct epoll_event evs[64];
	int n = epoll_wait(to_epoll(p)->epfd, evs, 64, ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		fn(ctx, evs[i].data.ptr, evs[i].events);
	return n;
}

static int epoll_fd(struct tcp_poller *p)
{
	return to_epoll(p)->epfd;
}

static void epoll_close(struct tcp_poller *p)
{
	close(to_epoll(p)->epfd);
	free(p);
}

static const struct tcp_poller_ops epoll_ops = {
	.name = "epoll",
	.add = epoll_add,
	.mod = epoll_mod,
	.del = epoll_del,
	.wait = epoll_wait_ready,
	.fd = epoll_fd,
	.close = epoll_close,
};

int tcp_poller_epoll_open(struct tcp_poller **out)
{
	struct epoll_poller *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		int err = -errno;

		free(e);
		return err;
	}
	e->base.ops = &epoll_ops;
	*out = &e->base;
	return 0;
}
