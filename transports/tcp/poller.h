/* SPDX-License-Identifier: MIT */
/*
 * poller.h - how the TCP backend waits for its sockets: epoll, or io_uring
 * (liburing) where it was built and the kernel lets us set up a ring.
 * Tags are the caller's; a tag is never reported after tcp_poller_del()
 * returns, even by io_uring completions still in flight.
 */
#ifndef GVM_TCP_POLLER_H
#define GVM_TCP_POLLER_H

#include <stdbool.h>
#include <sys/epoll.h>

/* Readiness bits reported: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR. */
typedef void (*tcp_poll_fn)(void *ctx, void *tag, unsigned int events);

struct tcp_poller;

struct tcp_poller_ops {
	const char *name;
	/* Interest in output lasts for one notification: ask again each time
	 * (io_uring's POLL_ADD); otherwise it lasts until mod() drops it. */
	bool out_oneshot;
	int (*add)(struct tcp_poller *p, int fd, void *tag, bool out);
	int (*mod)(struct tcp_poller *p, int fd, void *tag, bool out);
	void (*del)(struct tcp_poller *p, int fd, void *tag);
	/* Wait up to ms (<0: forever); report ready fds; returns how many. */
	int (*wait)(struct tcp_poller *p, int ms, tcp_poll_fn fn, void *ctx);
	/* An fd that polls readable when wait() has something to report. */
	int (*fd)(struct tcp_poller *p);
	void (*close)(struct tcp_poller *p);
};

struct tcp_poller {
	const struct tcp_poller_ops *ops;
};

int tcp_poller_epoll_open(struct tcp_poller **out);

#ifdef GVM_HAVE_LIBURING
int tcp_poller_uring_open(struct tcp_poller **out);
#else
#include <errno.h>
static inline int tcp_poller_uring_open(struct tcp_poller **out)
{
	(void)out;
	return -ENOSYS; /* built without liburing */
}
#endif

#endif /* GVM_TCP_POLLER_H */
