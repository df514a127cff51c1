// SPDX-License-Identifier: MIT
/*
 * tcp.c - the TCP backend: userspace sockets, waited on with io_uring or
 * epoll (poller.h).
 *
 * Connections. Each node dials every peer it sends to and uses that
 * connection only for its own messages, so each direction of a pair is one
 * TCP stream (FIFO for free) and neither side ever waits for the other to
 * dial. The dialer sends its offer (the engine's handshake, gvm/auth.h: its
 * hello, and with a cluster secret a nonce) and goes on without waiting:
 * the acceptor answers with its own or a refusal naming the field that
 * differs, and each side closes on a mismatch. Without a secret the dialer
 * sends its messages at once; with one it queues them until the answer has
 * proved the acceptor knows the secret, then sends its own proof, then
 * them, each tagged if the handshake agreed on tags. A dial thus never
 * waits on the peer's threads (which may be busy in the engine, perhaps
 * waiting for us). Dialing happens on first send, or through
 * connect() for callers that want every connection up front; refused
 * connections are retried until a deadline, so nodes may start in any
 * order.
 *
 * Frames. Every frame has an 8-byte header: u32 length of what follows,
 * u8 kind (HELLO, REFUSE, MSG, HEARTBEAT, BYE, PROOF), three zero bytes. A
 * frame of an unknown kind, a length above the maximum, a non-zero reserved
 * byte or a wrong tag closes that peer with a logged reason.
 *
 * Sending. send() writes header and iovs with one writev, from the caller's
 * memory (a page goes from its frame, uncopied). Whatever the socket does
 * not take is copied to a per-peer queue that progress() flushes on
 * EPOLLOUT, so send never blocks on a slow receiver (blocking there,
 * under the engine's lock, could deadlock two nodes sending to each other).
 *
 * Liveness. Heartbeats go both ways on every connection; a peer silent for
 * longer than the timeout, or whose socket closes, is reported down once
 * through the peer_down callback.
 *
 * What is decided is decided once for this file and the kernel's
 * tcp_kern.c: frame.h checks and acts on every frame, proto.h runs the
 * peers (send, connect, close_peer, going down, admission, heartbeats).
 * This file gives them sockets (sock_send, conn_shutdown, conn_close,
 * conn_address, ep_kick, peer_dial), the poller and the waiting.
 *
 * Threads. progress() is run by one thread at a time; send() and
 * close_peer() may be called from any thread. Connections are freed only by
 * progress(), at the end of a round, so an epoll event never points at
 * freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gvm/auth.h>
#include <gvm/transport.h>

#include "os/gvm_os.h"
#include "frame.h"
#include "poller.h"

struct tcp_conn {
	int fd;
	struct tcp_stream s; /* what frame.h keeps of it */
	bool epollout; /* EPOLLOUT armed */
	struct tcp_conn *next; /* unidentified list (newest first), or the graveyard */
};

struct tcp_peer {
	gvm_os_mutex_t lock;  /* everything below; the send side */
	char name[80];        /* host:port, for messages */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct tcp_conn *out; /* we dialed: our messages go here */
	struct tcp_conn *in;  /* it dialed: its messages come here */
	struct tcp_sendq q;   /* bytes of out not yet taken by the socket */
	uint64_t last_rx_ns;
	bool down;
	bool down_reported;
	bool closed_here; /* by close_peer: the caller has said why already */
	int down_reason;
};

struct tcp_ep {
	struct gvm_transport base;
	struct gvm_hello hello;
	bool check_hello;
	struct gvm_auth auth;
	const struct gvm_auth *secret; /* &auth, or NULL: none */
	int listen_fd, wake_fd;
	struct tcp_poller *poller;
	struct tcp_peer *peers;
	struct tcp_conn *unidentified; /* accepted, no hello yet */
	int reserve_fd; /* spent when out of descriptors (shed_connection) */
	bool listen_paused; /* out of descriptors, even with the reserve */
	uint64_t dropped_unidentified, shed; /* for note_dropped */
	struct tcp_conn *graveyard;    /* closed this round, freed at its end */
	uint64_t heartbeat_ns, timeout_ns, connect_timeout_ns, linger_ns;
	uint64_t opened_ns;
	uint64_t next_heartbeat_ns;
	uint64_t last_heartbeat_ns; /* of the last pass, 0 before the first */
	uint64_t delivered;         /* messages handed to the engine */
	uint32_t rounds;            /* of progress(), for the direct reads */
};

static inline struct tcp_ep *to_tcp_ep(struct gvm_transport *t)
{
	return (struct tcp_ep *)t;
}

#define TCP_DELIVERED(ep) (&(ep)->delivered) /* progress() says if it delivered */
#include "proto.h"

/* epoll data for the two fds that are not connections. */
static char listen_tag, wake_tag;

static uint64_t now_ns(void)
{
	return gvm_os_now_ns();
}

/* ==== Addresses and options ==== */

static int parse_addr(const char *spec, struct tcp_peer *p)
{
	char host[64], port[16];
	const char *colon;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	size_t hl;
	int err;

	if (spec[0] == '[') { /* [v6]:port */
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - spec - 1);
		colon = end + 1;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - spec);
	}
	if (hl == 0 || hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = 0;
	strcpy(port, colon + 1);
	err = getaddrinfo(host, port, &hints, &res);
	if (err)
		return -EINVAL;
	memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
	p->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(p->name, sizeof(p->name), "%s:%s", host, port);
	return 0;
}

/*
 * uri: "tcp:HOST:PORT,HOST:PORT,...[?opt=val&...]", one address per node in
 * id order (ours is where we listen). Options: listen_fd=N (an inherited
 * listening socket), heartbeat_ms, timeout_ms, connect_timeout_ms,
 * linger_ms, io=auto|uring|epoll.
 */
static int parse_uri(struct tcp_ep *ep, const char *uri, int *listen_fd,
		     char *io, size_t iolen)
{
	char *copy, *addrs, *opts, *tok, *save;
	uint32_t n = 0;
	int err = 0;

	if (!uri || strncmp(uri, "tcp:", 4))
		return -EINVAL;
	copy = strdup(uri + 4);
	if (!copy)
		return -ENOMEM;
	addrs = copy;
	opts = strchr(copy, '?');
	if (opts)
		*opts++ = 0;
	for (tok = strtok_r(addrs, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n >= ep->base.nodes) {
			err = -EINVAL;
			break;
		}
		err = parse_addr(tok, &ep->peers[n++]);
	}
	if (!err && n != ep->base.nodes) {
		gvm_log_err("tcp: %u addresses for %u nodes", n, ep->base.nodes);
		err = -EINVAL;
	}
	for (tok = opts ? strtok_r(opts, "&", &save) : NULL; tok && !err;
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long v;

		if (!eq) {
			err = -EINVAL;
			break;
		}
		*eq++ = 0;
		if (!strcmp(tok, "io")) {
			if (strcmp(eq, "auto") && strcmp(eq, "uring") && strcmp(eq, "epoll"))
				err = -EINVAL;
			snprintf(io, iolen, "%s", eq);
			continue;
		}
		v = strtoul(eq, NULL, 10);
		if (!strcmp(tok, "listen_fd"))
			*listen_fd = (int)v;
		else if (!strcmp(tok, "heartbeat_ms"))
			ep->heartbeat_ns = v * 1000000ull;
		else if (!strcmp(tok, "timeout_ms"))
			ep->timeout_ns = v * 1000000ull;
		else if (!strcmp(tok, "connect_timeout_ms"))
			ep->connect_timeout_ns = v * 1000000ull;
		else if (!strcmp(tok, "linger_ms"))
			ep->linger_ns = v * 1000000ull;
		else
			err = -EINVAL;
		if (err)
			gvm_log_err("tcp: unknown option '%s'", tok);
	}
	free(copy);
	return err;
}

/* ==== Blocking helpers for the handshake (short, bounded by a deadline) ==== */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t now = now_ns();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t deadline)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int err = wait_fd(fd, POLLOUT, deadline);

			if (err)
				return err;
		} else {
			return w < 0 ? -errno : -EPIPE;
		}
	}
	return 0;
}

static void set_socket_options(int fd)
{
	int one = 1;

	/* DSM messages are small and latency-bound. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ==== Connections ==== */

static struct tcp_conn *conn_new(int fd, gvm_node_id peer, bool outgoing)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->s.peer = peer;
	c->s.outgoing = outgoing;
	c->s.since_ns = now_ns();
	return c;
}

static int conn_watch(struct tcp_ep *ep, struct tcp_conn *c, bool out)
{
	c->epollout = out;
	return ep->poller->ops->add(ep->poller, c->fd, c, out);
}

/* Ask for output readiness while bytes wait (again each time, if the
 * poller's interest is one-shot); drop the interest when they are gone. */
static void conn_arm_out(struct tcp_ep *ep, struct tcp_conn *c, bool out)
{
	if (c->epollout != out || (out && ep->poller->ops->out_oneshot)) {
		c->epollout = out;
		ep->poller->ops->mod(ep->poller, c->fd, c, out);
	}
}

/* Progress thread only: unhook and bury a connection; freed end of round. */
static void conn_close(struct tcp_ep *ep, struct tcp_conn *c)
{
	ep->poller->ops->del(ep->poller, c->fd, c);
	close(c->fd);
	c->fd = -1;
	c->next = ep->graveyard;
	ep->graveyard = c;
}

static void conn_shutdown(struct tcp_conn *c)
{
	shutdown(c->fd, SHUT_RDWR);
}

static void conn_address(struct tcp_conn *c, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	if (!getpeername(c->fd, (struct sockaddr *)&ss, &sl))
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
			    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, len, "%s:%s", host, port);
}

static void ep_kick(struct tcp_ep *ep)
{
	eventfd_write(ep->wake_fd, 1);
}

static const char *reason_text(int reason, char *buf, size_t len)
{
	(void)buf, (void)len;
	return strerror(-reason);
}

static void bury_dead(struct tcp_ep *ep)
{
	while (ep->graveyard) {
		struct tcp_conn *c = ep->graveyard;

		ep->graveyard = c->next;
		gvm_handshake_end(&c->s.hs);
		free(c->s.in);
		free(c);
	}
}

/*
 * Dial a peer and send our hello (peer lock held). While the cluster starts
 * (connect_timeout after our open) a refused connection is retried: the
 * peer may not listen yet. Later a refusal means the peer is gone, and one
 * short try is all we make. The peer's answer is checked by progress().
 */
static int peer_dial(struct tcp_ep *ep, gvm_node_id id)
{
	struct tcp_peer *p = &ep->peers[id];
	uint64_t deadline = ep->opened_ns + ep->connect_timeout_ns;
	uint64_t backoff_ms = 5;
	uint8_t buf[TCP_HDR + GVM_OFFER_LEN];
	struct gvm_handshake hs;
	uint32_t len;
	int fd = -1, err;

	if (deadline < now_ns() + 100 * 1000000ull)
		deadline = now_ns() + 100 * 1000000ull;

	for (;;) {
		fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		set_socket_options(fd);
		if (!connect(fd, (struct sockaddr *)&p->addr, p->addrlen) ||
		    errno == EINPROGRESS) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			err = wait_fd(fd, POLLOUT, deadline);
			if (!err) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				err = -soerr;
			}
		} else {
			err = -errno;
		}
		if (!err)
			break;
		close(fd);
		if (err != -ECONNREFUSED || now_ns() + backoff_ms * 1000000 > deadline) {
			gvm_log_err("tcp: node %u cannot reach node %u at %s: %s",
				    ep->base.self, id, p->name, strerror(-err));
			return err == -ETIMEDOUT ? -EHOSTUNREACH : err;
		}
		nanosleep(&(struct timespec){0, (long)backoff_ms * 1000000}, NULL);
		if (backoff_ms < 200)
			backoff_ms *= 2;
	}

	len = gvm_handshake_offer(&hs, ep->secret, &ep->hello, buf + TCP_HDR);
	tcp_frame_header(buf, len, TCP_HELLO);
	err = write_all(fd, buf, TCP_HDR + len, deadline);
	if (!err) {
		p->out = conn_new(fd, id, true);
		if (p->out)
			p->out->s.hs = hs;
		err = p->out ? conn_watch(ep, p->out, false) : -ENOMEM;
		if (err) {
			free(p->out);
			p->out = NULL;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	p->last_rx_ns = now_ns();
	return 0;
}

/* ==== Sending ==== */

/* tcp_sock_send for a connection of ours: sendmsg, retried on EINTR. */
static long sock_send(void *conn, const struct gvm_iov *v, unsigned int n, size_t total)
{
	struct iovec iov[TCP_MAX_IOV + 2];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
	ssize_t w;

	(void)total;
	for (unsigned int i = 0; i < n && i < TCP_MAX_IOV + 2; i++) {
		iov[i].iov_base = (void *)v[i].base;
		iov[i].iov_len = v[i].len;
	}
	do
		w = sendmsg(((struct tcp_conn *)conn)->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : w;
}

/* Write what the queue holds (peer lock held). */
static int flush_queue(struct tcp_ep *ep, struct tcp_peer *p)
{
	int err;

	if (!tcp_may_send(&p->out->s))
		return 0;
	err = tcp_sendq_flush(&p->q, sock_send, p->out);
	conn_arm_out(ep, p->out, p->q.len != 0);
	return err;
}

/* Send one frame (peer lock held); what the socket does not take waits. */
static int send_frame(struct tcp_ep *ep, struct tcp_peer *p, uint8_t kind,
		      const struct gvm_iov *iov, unsigned int iovcnt)
{
	bool queued;
	int err = tcp_send_frame(&ep->base, (gvm_node_id)(p - ep->peers), &p->out->s, &p->q,
				 kind, iov, iovcnt, sock_send, p->out, &queued);

	if (err == -ENOBUFS)
		peer_mark_down(ep, p, err);
	if (queued && tcp_may_send(&p->out->s))
		conn_arm_out(ep, p->out, true);
	return err;
}

/* ==== Receiving ==== */


/*
 * Read what the socket has. A read that leaves room in the buffer took it
 * all: level-triggered readiness reports whatever comes next, so no second
 * recv() just to hear EAGAIN. Returns 0, or -errno (-ECONNRESET on EOF).
 */
static int conn_read(struct tcp_ep *ep, struct tcp_conn *c)
{
	for (;;) {
		size_t room, cap = tcp_stream_grow_to(&c->s);
		ssize_t r;

		if (cap) {
			uint8_t *in = realloc(c->s.in, cap);

			if (!in)
				return -ENOMEM;
			c->s.in = in;
			c->s.in_cap = cap;
		}
		room = c->s.in_cap - c->s.in_len;
		r = recv(c->fd, c->s.in + c->s.in_len, room, 0);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
		c->s.in_len += (size_t)r;
		if (c->s.peer != GVM_NODE_NONE)
			ep->peers[c->s.peer].last_rx_ns = now_ns();
		{
			int err = parse_frames(ep, c);

			if (err)
				return err;
		}
		if (c->fd < 0 || (size_t)r < room)
			return 0;
	}
}

static void note_dropped(struct tcp_ep *ep, uint64_t *count, const char *what)
{
	if (tcp_worth_saying(++*count))
		gvm_log_warn("tcp: node %u: %s (%llu so far)", ep->base.self, what,
			     (unsigned long long)*count);
}

/*
 * Out of file descriptors, accept4 fails and the listening socket stays
 * readable: level-triggered, the poller would spin. A descriptor kept in
 * reserve lets us take the connection and close it; without one, we stop
 * listening until the next heartbeat. Returns true if one was shed.
 */
static bool shed_connection(struct tcp_ep *ep)
{
	int fd;

	if (ep->reserve_fd < 0)
		ep->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ep->reserve_fd < 0)
		return false;
	close(ep->reserve_fd);
	fd = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	ep->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	note_dropped(ep, &ep->shed, "out of file descriptors: closed a connection unread");
	return true;
}

static void pause_listening(struct tcp_ep *ep)
{
	gvm_log_warn("tcp: node %u: out of file descriptors: not accepting until the next heartbeat",
		     ep->base.self);
	ep->poller->ops->del(ep->poller, ep->listen_fd, &listen_tag);
	ep->listen_paused = true;
}

static void accept_all(struct tcp_ep *ep)
{
	for (;;) {
		int fd = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		struct tcp_conn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			if (shed_connection(ep))
				continue;
			pause_listening(ep);
			return;
		}
		if (fd < 0)
			return;
		set_socket_options(fd);
		c = conn_new(fd, GVM_NODE_NONE, false);
		if (!c || conn_watch(ep, c, false)) {
			free(c);
			close(fd);
			continue;
		}
		c->next = ep->unidentified;
		ep->unidentified = c;
		trim_unidentified(ep, c->s.since_ns);
	}
}

static void conn_event(struct tcp_ep *ep, struct tcp_conn *c, uint32_t events)
{
	gvm_node_id id = c->s.peer;
	int err = 0;

	if (c->fd < 0)
		return; /* closed earlier this round */
	if (events & EPOLLOUT && id != GVM_NODE_NONE && c->s.outgoing) {
		struct tcp_peer *p = &ep->peers[id];

		gvm_os_mutex_lock(&p->lock);
		if (p->out == c)
			err = flush_queue(ep, p);
		gvm_os_mutex_unlock(&p->lock);
	}
	if (!err && events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		err = conn_read(ep, c);
	if (!err && events & (EPOLLHUP | EPOLLERR))
		err = -ECONNRESET;
	if (!err)
		return;
	id = c->s.peer; /* a hello may have named it during the read */
	if (id != GVM_NODE_NONE && c->s.outgoing && ep->peers[id].in &&
	    ep->peers[id].in->fd >= 0 && err != -ESHUTDOWN) {
		/* A peer that left resets what we dialed; its BYE may be unread. */
		if (conn_read(ep, ep->peers[id].in) == -ESHUTDOWN)
			err = -ESHUTDOWN;
	}
	if (id == GVM_NODE_NONE) {
		if (c->fd >= 0) {
			unlink_unidentified(ep, c);
			conn_close(ep, c);
		}
		return;
	}
	peer_fail(ep, id, err, NULL);
}

static void on_ready(void *ctx, void *tag, unsigned int events)
{
	struct tcp_ep *ep = ctx;

	if (tag == &listen_tag) {
		accept_all(ep);
	} else if (tag == &wake_tag) {
		eventfd_t v;

		eventfd_read(ep->wake_fd, &v);
	} else {
		conn_event(ep, tag, events);
	}
}

/* Reading first, so what waited in the sockets counts as heard. */
static int poll_once(struct tcp_ep *ep, int ms)
{
	uint64_t now;
	int n = ep->poller->ops->wait(ep->poller, ms, on_ready, ep);

	if (n < 0)
		return n;
	now = now_ns();
	if (now >= ep->next_heartbeat_ns) {
		heartbeat(ep, now);
		trim_unidentified(ep, now);
		if (ep->listen_paused &&
		    !ep->poller->ops->add(ep->poller, ep->listen_fd, &listen_tag, false))
			ep->listen_paused = false;
		ep->next_heartbeat_ns = now + ep->heartbeat_ns;
	}
	/* Peers marked down elsewhere (close_peer, a failed send) end here. */
	for (gvm_node_id id = 0; id < ep->base.nodes; id++)
		if (ep->peers[id].down && !ep->peers[id].down_reported)
			peer_reap(ep, id);
	bury_dead(ep);
	return n;
}

/*
 * With a single peer, every message comes on one socket: most rounds read
 * it directly, one system call as a raw busy-polling socket makes, instead
 * of epoll_wait and then recv. Every 16th round polls everything (answers
 * and heartbeats on the connection we dialed, EPOLLOUT, hang-ups, new
 * connections, the heartbeat clock).
 */
static int tcp_progress(struct gvm_transport *t)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	struct tcp_conn *c = t->nodes == 2 ? ep->peers[1 - t->self].in : NULL;
	uint64_t before = ep->delivered;
	int n;

	if (c && c->fd >= 0 && ++ep->rounds & 15) {
		conn_event(ep, c, EPOLLIN);
		return ep->delivered != before;
	}
	n = poll_once(ep, 0);
	return n < 0 ? n : n > 0 || ep->delivered != before;
}

/* Level-triggered readiness and the kick eventfd: nothing can be missed. */
static int tcp_arm(struct gvm_transport *t)
{
	(void)t;
	return 0;
}

static int tcp_wait(struct gvm_transport *t, int64_t timeout_ns)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	uint64_t now = now_ns();
	int64_t ms, to_hb;

	to_hb = ep->next_heartbeat_ns > now ?
			(int64_t)((ep->next_heartbeat_ns - now + 999999) / 1000000) : 0;
	ms = timeout_ns < 0 ? to_hb : (timeout_ns + 999999) / 1000000;
	if (ms > to_hb)
		ms = to_hb;
	return poll_once(ep, (int)ms);
}

static void tcp_kick(struct gvm_transport *t)
{
	eventfd_write(to_tcp_ep(t)->wake_fd, 1);
}

static int tcp_wait_fd(struct gvm_transport *t)
{
	return to_tcp_ep(t)->poller->ops->fd(to_tcp_ep(t)->poller);
}

/* ==== Open and close ==== */

static int listen_on(struct tcp_ep *ep, int inherited)
{
	struct tcp_peer *me = &ep->peers[ep->base.self];
	int fd = inherited, one = 1;

	if (fd < 0) {
		fd = socket(me->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&me->addr, me->addrlen) ||
		    listen(fd, 1024)) {
			int err = -errno;

			gvm_log_err("tcp: node %u cannot listen on %s: %s",
				    ep->base.self, me->name, strerror(errno));
			close(fd);
			return err;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ep->listen_fd = fd;
	return 0;
}

/* Whether only this host can reach the listening socket fd. */
static bool listens_on_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	return ss.ss_family == AF_INET6 &&
	       (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
		(IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127));
}

/* Read and drop what fd has, until EOF (true) or nothing more now. */
static bool drain(int fd)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r == 0)
			return true;
		if (r < 0)
			return errno != EAGAIN && errno != EINTR;
	}
}

/*
 * Orderly close of a connection we dialed, first half: everything queued,
 * then BYE, then FIN. The second half waits for the peer's FIN: closing
 * with unread bytes in our receive buffer would send a reset, and a reset
 * can make the peer drop what we sent last (the release of a final
 * barrier, say).
 */
static void bye(struct tcp_ep *ep, struct tcp_peer *p, uint64_t deadline)
{
	int fd = p->out->fd;
	uint8_t frame[TCP_HDR + GVM_TAG_LEN];

	while (p->q.len && !p->down && tcp_may_send(&p->out->s) &&
	       !wait_fd(fd, POLLOUT, deadline))
		if (flush_queue(ep, p))
			break;
	if (!p->down && !p->q.len &&
	    !write_all(fd, frame, tcp_empty_frame(&p->out->s.hs, frame, TCP_BYE), deadline))
		shutdown(fd, SHUT_WR);
}

static void tcp_close(struct gvm_transport *t)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	uint64_t deadline = now_ns() + ep->linger_ns;

	/* Say goodbye everywhere first, so peers closing too see it at once. */
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++)
		if (ep->peers[id].out)
			bye(ep, &ep->peers[id], deadline);
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];

		if (p->in) {
			drain(p->in->fd);
			conn_close(ep, p->in);
		}
	}
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];

		if (p->out) {
			while (!drain(p->out->fd) && !wait_fd(p->out->fd, POLLIN, deadline))
				;
			conn_close(ep, p->out);
		}
		free(p->q.buf);
		gvm_os_mutex_destroy(&p->lock);
	}
	while (ep->unidentified) {
		struct tcp_conn *c = ep->unidentified;

		ep->unidentified = c->next;
		conn_close(ep, c);
	}
	bury_dead(ep);
	if (ep->listen_fd >= 0)
		close(ep->listen_fd);
	if (ep->poller)
		ep->poller->ops->close(ep->poller);
	if (ep->wake_fd >= 0)
		close(ep->wake_fd);
	if (ep->reserve_fd >= 0)
		close(ep->reserve_fd);
	free(ep->peers);
	free(ep);
}

/*
 * io: "uring", "epoll" or "auto" (io_uring when this build has liburing and
 * the kernel gives us a ring, else epoll, saying why).
 */
static int open_poller(struct tcp_ep *ep, const char *io)
{
	int err;

	if (strcmp(io, "epoll")) {
		const char *no = getenv("GVM_TEST_NO_URING");

		/* Tests make io_uring_queue_init look refused to reach the fallback. */
		err = no && *no == '1' ? -EPERM : tcp_poller_uring_open(&ep->poller);
		if (!err)
			return 0;
		if (!strcmp(io, "uring")) {
			gvm_log_err("tcp: io=uring asked for, but %s",
				    err == -ENOSYS ? "this build has no liburing" :
				    "io_uring_queue_init failed");
			return err;
		}
		if (err != -ENOSYS)
			gvm_log_info("tcp: io_uring_queue_init failed (%s): using epoll",
				     strerror(-err));
	}
	return tcp_poller_epoll_open(&ep->poller);
}

static int tcp_open(const struct gvm_transport_params *prm,
		    struct gvm_transport **out)
{
	struct tcp_ep *ep = calloc(1, sizeof(*ep));
	/* epoll by default: measured faster than io_uring's readiness polls
	 * here (transports/tcp/README.md). */
	char io[8] = "epoll";
	int listen_fd = -1, err;

	if (!ep)
		return -ENOMEM;
	gvm_transport_init_base(&ep->base, prm);
	ep->base.caps = GVM_CAP_ORDERED | GVM_CAP_PEER_DOWN;
	ep->base.max_msg = TCP_MAX_MSG;
	ep->listen_fd = ep->wake_fd = -1;
	ep->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ep->heartbeat_ns = 200 * 1000000ull;
	ep->timeout_ns = 3000 * 1000000ull;
	ep->connect_timeout_ns = 10000 * 1000000ull;
	ep->linger_ns = 1000 * 1000000ull;
	if (prm->hello) {
		ep->hello = *prm->hello;
		ep->check_hello = true;
	} else {
		ep->hello = (struct gvm_hello){.nodes = prm->nodes,
					       .node = prm->self};
	}
	if (prm->auth) {
		ep->auth = *prm->auth;
		ep->secret = &ep->auth;
	}
	ep->peers = calloc(prm->nodes, sizeof(*ep->peers));
	if (!ep->peers) {
		free(ep);
		return -ENOMEM;
	}
	for (gvm_node_id i = 0; i < prm->nodes; i++)
		gvm_os_mutex_init(&ep->peers[i].lock);
	err = parse_uri(ep, prm->uri, &listen_fd, io, sizeof(io));
	if (err) {
		gvm_log_err("tcp: bad address list '%s' (want tcp:HOST:PORT,...[?timeout_ms=N&...])",
			    prm->uri ? prm->uri : "(none)");
		goto out_close;
	}
	err = open_poller(ep, io);
	if (err)
		goto out_close;
	ep->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ep->wake_fd < 0) {
		err = -errno;
		goto out_close;
	}
	err = listen_on(ep, listen_fd);
	if (!err && !ep->secret)
		err = gvm_auth_unsecured("tcp", prm->self, listens_on_loopback(ep->listen_fd),
					 prm->insecure_ok);
	if (err)
		goto out_close;
	err = ep->poller->ops->add(ep->poller, ep->listen_fd, &listen_tag, false);
	if (!err)
		err = ep->poller->ops->add(ep->poller, ep->wake_fd, &wake_tag, false);
	if (err)
		goto out_close;
	ep->opened_ns = now_ns();
	*out = &ep->base;
	return 0;

out_close:
	tcp_close(&ep->base);
	return err;
}

const struct gvm_transport_ops tcp_ops = {
	.size = sizeof(struct gvm_transport_ops),
	.abi_version = GVM_TRANSPORT_ABI_VERSION,
	.name = "tcp",
	.open = tcp_open,
	.close = tcp_close,
	.send = tcp_op_send,
	.progress = tcp_progress,
	.arm = tcp_arm,
	.wait = tcp_wait,
	.kick = tcp_kick,
	.close_peer = tcp_op_close_peer,
	.connect = tcp_op_connect,
	.wait_fd = tcp_wait_fd,
};

GVM_TRANSPORT_REGISTER(tcp, tcp_ops)
