// SPDX-License-Identifier: MIT
/*
 * tcp_kern.c - the TCP backend in the kernel module: kernel sockets, the
 * same connections, frames and handshake as tcp.c, so a kernel node and a
 * userspace node are peers of one cluster.
 *
 * Connections, heartbeats and BYE follow tcp.c (read its header comment
 * first): frame.h (frames and their checks) and proto.h (the peers: send,
 * connect, close_peer, going down, admission, heartbeats) are compiled
 * into both, and this file gives them kernel sockets.
 * Only the waiting differs. Instead of epoll, every socket's
 * data_ready, write_space and state_change callbacks (softirq context) set
 * a flag and wake the endpoint's wait queue, which wait() sleeps on (arm()
 * refuses while the flag is up); progress() clears it, then makes one
 * non-blocking pass over the listening socket and every connection:
 * accept, read and parse, flush send queues. Nodes have few
 * peers, so a pass is cheap and no per-socket readiness is tracked.
 *
 * send() never blocks on a slow receiver (it runs under the engine's lock):
 * what kernel_sendmsg does not take with MSG_DONTWAIT is queued and
 * flushed by progress() when write_space fires. Only a first dial waits,
 * bounded by a deadline, as in userspace.
 *
 * Sockets the endpoint creates live in the initial network namespace
 * (kernel sockets hold no reference on a namespace that could go away); a
 * listening socket handed in keeps its own.
 *
 * Connections are freed only by progress() (or close()), so a callback
 * never sees freed memory: the callbacks are unhooked under
 * sk_callback_lock before a socket is released.
 */
#include <linux/delay.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/tcp.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include <gvm/auth.h>
#include <gvm/transport.h>

#include "os/gvm_os.h"
#include "frame.h"
#include "tcp_kern.h"

struct tcp_ep;

/* What a socket's callbacks find in sk_user_data. */
struct ktcp_hook {
	struct tcp_ep *ep;
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
};

struct tcp_conn {
	struct socket *sock;
	struct ktcp_hook hook;
	struct tcp_stream s; /* what frame.h keeps of it */
	struct tcp_conn *next; /* unidentified list (newest first) */
};

struct tcp_peer {
	gvm_os_mutex_t lock; /* everything below; the send side */
	char name[80];       /* host:port, for messages */
	struct sockaddr_storage addr;
	int addrlen;
	struct tcp_conn *out;
	struct tcp_conn *in;
	struct tcp_sendq q; /* bytes of out not yet taken by the socket */
	u64 last_rx_ns;
	bool down;
	bool down_reported;
	bool closed_here;
	int down_reason;
};

struct tcp_ep {
	struct gvm_transport base;
	struct gvm_hello hello;
	bool check_hello;
	struct gvm_auth auth;
	const struct gvm_auth *secret; /* &auth, or NULL: none */
	struct socket *listen;
	bool listen_inherited; /* a user's socket: give it back as it was */
	struct ktcp_hook listen_hook;
	wait_queue_head_t wq;
	atomic_t kick;
	struct tcp_peer *peers;
	struct tcp_conn *unidentified;
	u64 dropped_unidentified; /* for tcp_worth_saying */
	u64 heartbeat_ns, timeout_ns, connect_timeout_ns, linger_ns;
	u64 opened_ns, next_heartbeat_ns, last_heartbeat_ns;
};

static inline struct tcp_ep *to_tcp_ep(struct gvm_transport *t)
{
	return container_of(t, struct tcp_ep, base);
}

#define TCP_DELIVERED(ep) NULL /* progress() reports wake-ups, not messages */
#include "proto.h"

/* ==== Socket callbacks (softirq) ==== */

static void ktcp_kick(struct tcp_ep *ep)
{
	atomic_set(&ep->kick, 1);
	wake_up(&ep->wq);
}

static void ktcp_data_ready(struct sock *sk)
{
	struct ktcp_hook *h;

	read_lock_bh(&sk->sk_callback_lock);
	h = sk->sk_user_data;
	if (h) {
		ktcp_kick(h->ep);
		h->data_ready(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void ktcp_write_space(struct sock *sk)
{
	struct ktcp_hook *h;

	read_lock_bh(&sk->sk_callback_lock);
	h = sk->sk_user_data;
	if (h) {
		ktcp_kick(h->ep);
		h->write_space(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void ktcp_state_change(struct sock *sk)
{
	struct ktcp_hook *h;

	read_lock_bh(&sk->sk_callback_lock);
	h = sk->sk_user_data;
	if (h) {
		ktcp_kick(h->ep);
		h->state_change(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void hook_socket(struct tcp_ep *ep, struct socket *sock,
			struct ktcp_hook *h)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	h->ep = ep;
	if (sk->sk_data_ready == ktcp_data_ready) {
		/* Accepted: cloned with the listener's hook; chain to what it chains to. */
		const struct ktcp_hook *from = sk->sk_user_data;

		h->data_ready = from->data_ready;
		h->write_space = from->write_space;
		h->state_change = from->state_change;
	} else {
		h->data_ready = sk->sk_data_ready;
		h->write_space = sk->sk_write_space;
		h->state_change = sk->sk_state_change;
	}
	sk->sk_user_data = h;
	sk->sk_data_ready = ktcp_data_ready;
	sk->sk_write_space = ktcp_write_space;
	sk->sk_state_change = ktcp_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

static void unhook_socket(struct socket *sock, struct ktcp_hook *h)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == h) {
		sk->sk_data_ready = h->data_ready;
		sk->sk_write_space = h->write_space;
		sk->sk_state_change = h->state_change;
		sk->sk_user_data = NULL;
	}
	write_unlock_bh(&sk->sk_callback_lock);
}

/* ==== Addresses and options ==== */

static int parse_addr(char *spec, struct tcp_peer *p)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->addr;
	char *host = spec, *port;
	const char *end;
	unsigned int portnum;
	bool v6 = false;

	if (*spec == '[') { /* [v6]:port */
		char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		*end = 0;
		host = spec + 1;
		port = end + 2;
		v6 = true;
	} else {
		port = strrchr(spec, ':');
		if (!port)
			return -EINVAL;
		*port++ = 0;
	}
	if (!*host || kstrtouint(port, 10, &portnum) || !portnum || portnum > 65535)
		return -EINVAL;
	memset(&p->addr, 0, sizeof(p->addr));
	if (v6) {
		if (!in6_pton(host, -1, in6->sin6_addr.s6_addr, -1, &end) || *end)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(portnum);
		p->addrlen = sizeof(*in6);
	} else {
		if (!in4_pton(host, -1, (u8 *)&in4->sin_addr.s_addr, -1, &end) || *end)
			return -EINVAL;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(portnum);
		p->addrlen = sizeof(*in4);
	}
	snprintf(p->name, sizeof(p->name), v6 ? "[%s]:%u" : "%s:%u", host, portnum);
	return 0;
}

/*
 * uri: "tcp:IP:PORT,IP:PORT,...[?opt=val&...]", numeric addresses (no
 * resolver in the kernel), one per node in id order. Options as tcp.c:
 * heartbeat_ms, timeout_ms, connect_timeout_ms, linger_ms.
 */
static int parse_uri(struct tcp_ep *ep, const char *uri)
{
	char *copy, *cur, *opts, *tok;
	u32 n = 0;
	int err = 0;

	if (!uri || strncmp(uri, "tcp:", 4))
		return -EINVAL;
	copy = kstrdup(uri + 4, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	opts = strchr(copy, '?');
	if (opts)
		*opts++ = 0;
	cur = copy;
	while (!err && (tok = strsep(&cur, ","))) {
		if (n >= ep->base.nodes)
			err = -EINVAL;
		else
			err = parse_addr(tok, &ep->peers[n++]);
	}
	if (!err && n != ep->base.nodes) {
		gvm_log_err("tcp: %u addresses for %u nodes", n, ep->base.nodes);
		err = -EINVAL;
	}
	while (!err && opts && (tok = strsep(&opts, "&"))) {
		char *eq = strchr(tok, '=');
		unsigned long v;

		if (!eq || kstrtoul(eq + 1, 10, &v) || v > 3600000) {
			err = -EINVAL;
			break;
		}
		*eq = 0;
		if (!strcmp(tok, "heartbeat_ms") && v)
			ep->heartbeat_ns = v * NSEC_PER_MSEC;
		else if (!strcmp(tok, "timeout_ms") && v)
			ep->timeout_ns = v * NSEC_PER_MSEC;
		else if (!strcmp(tok, "connect_timeout_ms"))
			ep->connect_timeout_ns = v * NSEC_PER_MSEC;
		else if (!strcmp(tok, "linger_ms"))
			ep->linger_ns = v * NSEC_PER_MSEC;
		else
			err = -EINVAL;
		if (err)
			gvm_log_err("tcp: bad option '%s'", tok);
	}
	kfree(copy);
	return err;
}

/* ==== Connections ==== */

static int sock_send_nb(struct socket *sock, struct kvec *v, size_t cnt,
			size_t len)
{
	struct msghdr mh = {.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL};

	return kernel_sendmsg(sock, &mh, v, cnt, len);
}

static struct tcp_conn *conn_new(struct tcp_ep *ep, struct socket *sock,
				  gvm_node_id peer, bool outgoing)
{
	struct tcp_conn *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return NULL;
	c->sock = sock;
	c->s.peer = peer;
	c->s.outgoing = outgoing;
	c->s.since_ns = ktime_get_ns();
	tcp_sock_set_nodelay(sock->sk); /* DSM messages are small, latency-bound */
	hook_socket(ep, sock, &c->hook);
	return c;
}

/* Progress thread (or close) only: unhook, release and free. */
static void conn_close(struct tcp_ep *ep, struct tcp_conn *c)
{
	(void)ep;
	unhook_socket(c->sock, &c->hook);
	sock_release(c->sock);
	gvm_handshake_end(&c->s.hs);
	kvfree(c->s.in);
	kfree(c);
}

static void conn_shutdown(struct tcp_conn *c)
{
	kernel_sock_shutdown(c->sock, SHUT_RDWR);
}

static void conn_address(struct tcp_conn *c, char *out, size_t len)
{
	struct sockaddr_storage ss = {};

	if (kernel_getpeername(c->sock, (struct sockaddr *)&ss) < 0)
		ss.ss_family = AF_UNSPEC;
	snprintf(out, len, "%pISpc", &ss);
}

static void ep_kick(struct tcp_ep *ep)
{
	ktcp_kick(ep);
}

static const char *reason_text(int reason, char *buf, size_t len)
{
	snprintf(buf, len, "error %d", reason);
	return buf;
}

/*
 * Connect within timeout_ns. Dials run in whatever thread sends first, a
 * faulting user thread included: a blocking connect would end early with
 * -EINTR on any signal to it (and a healthy peer would be declared down),
 * so connect without blocking and wait, uninterruptibly, for the outcome.
 */
static int connect_by(struct socket *sock, struct sockaddr_storage *addr,
		      int addrlen, u64 timeout_ns)
{
	struct sock *sk = sock->sk;
	u64 end = ktime_get_ns() + timeout_ns;
	int err = kernel_connect(sock, (struct sockaddr *)addr, addrlen, O_NONBLOCK);

	if (err != -EINPROGRESS)
		return err;
	/*
	 * The socket's state change wakes interruptible sleepers only
	 * (sock_def_wakeup): asleep uninterruptibly we would miss it and sleep
	 * out the whole timeout, the peer lock held, our heartbeats stopped
	 * (vmcheck saw peers declare such a node dead). So look again every
	 * jiffy.
	 */
	while (READ_ONCE(sk->sk_state) == TCP_SYN_SENT && ktime_get_ns() < end)
		wait_event_timeout(*sk_sleep(sk), READ_ONCE(sk->sk_state) != TCP_SYN_SENT, 1);
	/* Established, or already closed by the peer (the first read says so). */
	if ((1 << READ_ONCE(sk->sk_state)) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
		return 0;
	err = sock_error(sk);
	return err ? err : -ETIMEDOUT;
}

/*
 * Dial a peer and send our hello (peer lock held), as tcp.c does: a refused
 * connection is retried while the cluster starts (connect_timeout after
 * open), one short try later.
 */
static int peer_dial(struct tcp_ep *ep, gvm_node_id id)
{
	struct tcp_peer *p = &ep->peers[id];
	u64 deadline = ep->opened_ns + ep->connect_timeout_ns;
	unsigned int backoff_ms = 5;
	u8 buf[TCP_HDR + GVM_OFFER_LEN];
	struct kvec v = {.iov_base = buf};
	struct gvm_handshake hs;
	struct socket *sock;
	int err;

	if (deadline < ktime_get_ns() + 100 * NSEC_PER_MSEC)
		deadline = ktime_get_ns() + 100 * NSEC_PER_MSEC;
	for (;;) {
		u64 now = ktime_get_ns();

		err = sock_create_kern(&init_net, p->addr.ss_family, SOCK_STREAM,
				       IPPROTO_TCP, &sock);
		if (err)
			return err;
		err = connect_by(sock, &p->addr, p->addrlen, deadline > now ? deadline - now : 0);
		if (!err)
			break;
		sock_release(sock);
		if (err != -ECONNREFUSED ||
		    ktime_get_ns() + backoff_ms * NSEC_PER_MSEC > deadline) {
			gvm_log_err("tcp: node %u cannot reach node %u at %s: error %d",
				    ep->base.self, id, p->name, err);
			return err == -ETIMEDOUT ? -EHOSTUNREACH : err;
		}
		msleep(backoff_ms);
		if (backoff_ms < 200)
			backoff_ms *= 2;
	}
	v.iov_len = gvm_handshake_offer(&hs, ep->secret, &ep->hello, buf + TCP_HDR);
	tcp_frame_header(buf, (u32)v.iov_len, TCP_HELLO);
	v.iov_len += TCP_HDR;
	/* A fresh socket's buffer takes the offer at once. */
	err = sock_send_nb(sock, &v, 1, v.iov_len);
	if (err != (int)v.iov_len) {
		sock_release(sock);
		return err < 0 ? err : -EIO;
	}
	p->out = conn_new(ep, sock, id, true);
	if (!p->out) {
		sock_release(sock);
		return -ENOMEM;
	}
	p->out->s.hs = hs;
	p->last_rx_ns = ktime_get_ns();
	ktcp_kick(ep); /* the answer may be in already */
	return 0;
}

/* ==== Sending ==== */

/* tcp_sock_send for a connection of ours. */
static long sock_send(void *conn, const struct gvm_iov *v, unsigned int n, size_t total)
{
	struct kvec kv[TCP_MAX_IOV + 2];

	for (unsigned int i = 0; i < n && i < TCP_MAX_IOV + 2; i++) {
		kv[i].iov_base = (void *)v[i].base;
		kv[i].iov_len = v[i].len;
	}
	return sock_send_nb(((struct tcp_conn *)conn)->sock, kv, n, total);
}

/* Write what the queue holds (peer lock held). */
static int flush_queue(struct tcp_ep *ep, struct tcp_peer *p)
{
	(void)ep;
	if (!tcp_may_send(&p->out->s))
		return 0;
	return tcp_sendq_flush(&p->q, sock_send, p->out);
}

/* Send one frame (peer lock held); what the socket does not take waits. */
static int send_frame(struct tcp_ep *ep, struct tcp_peer *p, u8 kind,
		      const struct gvm_iov *iov, unsigned int iovcnt)
{
	bool queued;
	int err = tcp_send_frame(&ep->base, (gvm_node_id)(p - ep->peers), &p->out->s, &p->q,
				 kind, iov, iovcnt, sock_send, p->out, &queued);

	if (err == -ENOBUFS)
		peer_mark_down(ep, p, err);
	if (queued)
		ktcp_kick(ep); /* progress flushes when the socket has room */
	return err;
}

/* ==== Receiving ==== */


/* Read what the socket has. Returns 0, or -errno (-ECONNRESET on EOF). */
static int conn_read(struct tcp_ep *ep, struct tcp_conn *c)
{
	for (;;) {
		struct msghdr mh = {};
		size_t cap = tcp_stream_grow_to(&c->s);
		struct kvec v;
		int r, err;

		if (cap) {
			u8 *in = kvrealloc(c->s.in, c->s.in_cap, cap, GFP_KERNEL);

			if (!in)
				return -ENOMEM;
			c->s.in = in;
			c->s.in_cap = cap;
		}
		v.iov_base = c->s.in + c->s.in_len;
		v.iov_len = c->s.in_cap - c->s.in_len;
		r = kernel_recvmsg(c->sock, &mh, &v, 1, v.iov_len, MSG_DONTWAIT);
		if (r == 0)
			return -ECONNRESET;
		if (r == -EAGAIN || r == -EINTR)
			return 0;
		if (r < 0)
			return r;
		c->s.in_len += r;
		if (c->s.peer != GVM_NODE_NONE)
			ep->peers[c->s.peer].last_rx_ns = ktime_get_ns();
		err = parse_frames(ep, c);
		if (err)
			return err;
	}
}

static void accept_all(struct tcp_ep *ep)
{
	for (;;) {
		struct socket *sock;
		struct tcp_conn *c;

		if (kernel_accept(ep->listen, &sock, O_NONBLOCK))
			return;
		c = conn_new(ep, sock, GVM_NODE_NONE, false);
		if (!c) {
			sock_release(sock);
			continue;
		}
		c->next = ep->unidentified;
		ep->unidentified = c;
		trim_unidentified(ep, c->s.since_ns);
	}
}

/* A connection failed with err: end its peer, or drop it if unnamed. */
static void conn_failed(struct tcp_ep *ep, struct tcp_conn *c, int err)
{
	gvm_node_id id = c->s.peer;
	struct tcp_peer *p;

	if (id == GVM_NODE_NONE) {
		unlink_unidentified(ep, c);
		conn_close(ep, c);
		return;
	}
	p = &ep->peers[id];
	/* A peer that left resets what we dialed; its BYE may be unread. */
	if (c->s.outgoing && p->in && err != -ESHUTDOWN &&
	    conn_read(ep, p->in) == -ESHUTDOWN)
		err = -ESHUTDOWN;
	peer_fail(ep, id, err, NULL);
}

/* One pass over every socket. */
static void poll_all(struct tcp_ep *ep)
{
	struct tcp_conn *c, *next;

	accept_all(ep);
	for (c = ep->unidentified; c; c = next) {
		int err;

		next = c->next;
		err = conn_read(ep, c);
		if (err)
			conn_failed(ep, c, err);
	}
	for (gvm_node_id id = 0; id < ep->base.nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];
		struct tcp_conn *in, *out;
		int err = 0;

		if (id == ep->base.self)
			continue;
		gvm_os_mutex_lock(&p->lock);
		if (p->out && p->q.len && !p->down)
			err = flush_queue(ep, p);
		in = p->in;
		out = p->out;
		gvm_os_mutex_unlock(&p->lock);
		if (err && out) {
			conn_failed(ep, out, err);
			continue;
		}
		/* Only progress() frees connections: in and out stay valid. */
		if (in) {
			err = conn_read(ep, in);
			if (err) {
				conn_failed(ep, in, err);
				continue;
			}
		}
		if (out) {
			err = conn_read(ep, out);
			if (err)
				conn_failed(ep, out, err);
		}
	}
}

/*
 * Socket callbacks raise ep->kick; progress clears it before it reads, so
 * whatever comes in meanwhile raises it again and arm() sees it.
 */
static int ktcp_progress(struct gvm_transport *t)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	int kicked = atomic_xchg(&ep->kick, 0);
	u64 now;

	poll_all(ep);
	/* After reading: what waited in the sockets counts as heard. */
	now = ktime_get_ns();
	if (now >= ep->next_heartbeat_ns) {
		heartbeat(ep, now);
		trim_unidentified(ep, now);
		ep->next_heartbeat_ns = now + ep->heartbeat_ns;
	}
	/* Peers marked down elsewhere (close_peer, a failed send) end here. */
	for (gvm_node_id id = 0; id < t->nodes; id++)
		if (ep->peers[id].down && !ep->peers[id].down_reported)
			peer_reap(ep, id);
	return kicked;
}

static int ktcp_arm(struct gvm_transport *t)
{
	return atomic_read(&to_tcp_ep(t)->kick) ? -EAGAIN : 0;
}

static int ktcp_wait(struct gvm_transport *t, int64_t timeout_ns)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	u64 now = ktime_get_ns();
	u64 wait_ns;

	wait_ns = ep->next_heartbeat_ns > now ? ep->next_heartbeat_ns - now : 0;
	if (timeout_ns >= 0 && (u64)timeout_ns < wait_ns)
		wait_ns = timeout_ns;
	/*
	 * Whole jiffies, rounded up: a rest of a timeout shorter than one
	 * would round to none, and the caller, still short of its deadline,
	 * would come back at once, spinning a kernel thread on the CPU.
	 */
	if (wait_ns)
		wait_event_interruptible_timeout(ep->wq, atomic_read(&ep->kick),
						 nsecs_to_jiffies(wait_ns + TICK_NSEC - 1));
	return 0;
}

static void ktcp_kick_op(struct gvm_transport *t)
{
	ktcp_kick(to_tcp_ep(t));
}

/* ==== Open and close ==== */

static int listen_on(struct tcp_ep *ep, struct socket *inherited)
{
	struct tcp_peer *me = &ep->peers[ep->base.self];
	struct socket *sock = inherited;
	int err;

	if (!sock) {
		err = sock_create_kern(&init_net, me->addr.ss_family, SOCK_STREAM,
				       IPPROTO_TCP, &sock);
		if (err)
			return err;
		sock_set_reuseaddr(sock->sk);
		err = kernel_bind(sock, (struct sockaddr *)&me->addr, me->addrlen);
		if (!err)
			err = kernel_listen(sock, 1024);
		if (err) {
			gvm_log_err("tcp: node %u cannot listen on %s: error %d",
				    ep->base.self, me->name, err);
			sock_release(sock);
			return err;
		}
	}
	ep->listen = sock;
	ep->listen_inherited = inherited != NULL;
	hook_socket(ep, sock, &ep->listen_hook);
	return 0;
}

/* Whether only this host can reach the listening socket. */
static bool listens_on_loopback(struct socket *sock)
{
	struct sockaddr_storage ss = {};
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;

	if (kernel_getsockname(sock, (struct sockaddr *)&ss) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return ipv4_is_loopback(v4->sin_addr.s_addr);
	return ss.ss_family == AF_INET6 && ipv6_addr_loopback(&v6->sin6_addr);
}

/* Read and drop what a connection has; true at EOF or on an error. */
static bool drain(struct tcp_conn *c)
{
	u8 buf[256];

	for (;;) {
		struct msghdr mh = {};
		struct kvec v = {.iov_base = buf, .iov_len = sizeof(buf)};
		int r = kernel_recvmsg(c->sock, &mh, &v, 1, sizeof(buf), MSG_DONTWAIT);

		if (r == 0)
			return true;
		if (r < 0)
			return r != -EAGAIN && r != -EINTR;
	}
}

/* Orderly close of a connection we dialed, as tcp.c: queue, BYE, FIN. */
static void bye(struct tcp_ep *ep, struct tcp_peer *p, u64 deadline)
{
	u8 frame[TCP_HDR + GVM_TAG_LEN];
	struct kvec v = {.iov_base = frame};

	while (p->q.len && !p->down && tcp_may_send(&p->out->s) && ktime_get_ns() < deadline) {
		if (flush_queue(ep, p))
			return;
		if (p->q.len)
			usleep_range(500, 1000);
	}
	v.iov_len = tcp_empty_frame(&p->out->s.hs, frame, TCP_BYE);
	if (!p->down && !p->q.len &&
	    sock_send_nb(p->out->sock, &v, 1, v.iov_len) == (int)v.iov_len)
		kernel_sock_shutdown(p->out->sock, SHUT_WR);
}

static void ktcp_close(struct gvm_transport *t)
{
	struct tcp_ep *ep = to_tcp_ep(t);
	u64 deadline = ktime_get_ns() + ep->linger_ns;

	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++)
		if (ep->peers[id].out)
			bye(ep, &ep->peers[id], deadline);
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];

		if (p->in) {
			drain(p->in);
			conn_close(ep, p->in);
			p->in = NULL;
		}
	}
	/* Wait for each peer's FIN: unread bytes at close would send a reset. */
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];

		if (p->out) {
			while (!drain(p->out) && ktime_get_ns() < deadline)
				usleep_range(1000, 2000);
			conn_close(ep, p->out);
			p->out = NULL;
		}
		kvfree(p->q.buf);
		gvm_os_mutex_destroy(&p->lock);
	}
	while (ep->unidentified) {
		struct tcp_conn *c = ep->unidentified;

		ep->unidentified = c->next;
		conn_close(ep, c);
	}
	if (ep->listen) {
		struct socket *sock;

		unhook_socket(ep->listen, &ep->listen_hook);
		/*
		 * A user's listening socket lives on: connections it queued
		 * were cloned with our callbacks, so end them here.
		 */
		while (ep->listen_inherited && !kernel_accept(ep->listen, &sock, O_NONBLOCK))
			sock_release(sock);
		if (ep->listen_inherited)
			sockfd_put(ep->listen);
		else
			sock_release(ep->listen);
	}
	kvfree(ep->peers);
	kfree(ep);
}

/* p->ctx: a listening socket to use (sockfd_lookup reference, now ours), or NULL. */
static int ktcp_open(const struct gvm_transport_params *prm,
		     struct gvm_transport **out)
{
	struct tcp_ep *ep = kzalloc(sizeof(*ep), GFP_KERNEL);
	struct socket *inherited = prm->ctx;
	int err;

	if (!ep) {
		if (inherited)
			sockfd_put(inherited);
		return -ENOMEM;
	}
	gvm_transport_init_base(&ep->base, prm);
	ep->base.caps = GVM_CAP_ORDERED | GVM_CAP_PEER_DOWN | GVM_CAP_KERNEL_OK;
	ep->base.max_msg = TCP_MAX_MSG;
	init_waitqueue_head(&ep->wq);
	ep->heartbeat_ns = 200 * NSEC_PER_MSEC;
	ep->timeout_ns = 3000 * NSEC_PER_MSEC;
	/* Longer than userspace's 10 s: a kernel node is often up well before
	 * its peers' processes (and a slow guest may take that long to start
	 * one); a peer that never listens is declared down after it. */
	ep->connect_timeout_ns = 30000 * NSEC_PER_MSEC;
	ep->linger_ns = 1000 * NSEC_PER_MSEC;
	if (prm->hello) {
		ep->hello = *prm->hello;
		ep->check_hello = true;
	} else {
		ep->hello = (struct gvm_hello){.nodes = prm->nodes, .node = prm->self};
	}
	if (prm->auth) {
		ep->auth = *prm->auth;
		ep->secret = &ep->auth;
	}
	ep->peers = kvcalloc(prm->nodes, sizeof(*ep->peers), GFP_KERNEL);
	if (!ep->peers) {
		err = -ENOMEM;
		goto out_close;
	}
	for (gvm_node_id i = 0; i < prm->nodes; i++)
		gvm_os_mutex_init(&ep->peers[i].lock);
	err = parse_uri(ep, prm->uri);
	if (err) {
		gvm_log_err("tcp: bad address list (want tcp:IP:PORT,...[?timeout_ms=N&...])");
		goto out_close;
	}
	err = listen_on(ep, inherited);
	if (!err && !ep->secret)
		err = gvm_auth_unsecured("tcp", prm->self, listens_on_loopback(ep->listen),
					 prm->insecure_ok);
	if (err)
		goto out_close;
	ep->opened_ns = ktime_get_ns();
	*out = &ep->base;
	return 0;

out_close:
	if (inherited && !ep->listen)
		sockfd_put(inherited);
	ktcp_close(&ep->base);
	return err;
}

const struct gvm_transport_ops gvm_tcp_kern_ops = {
	.size = sizeof(struct gvm_transport_ops),
	.abi_version = GVM_TRANSPORT_ABI_VERSION,
	.name = "tcp",
	.open = ktcp_open,
	.close = ktcp_close,
	.send = tcp_op_send,
	.progress = ktcp_progress,
	.arm = ktcp_arm,
	.wait = ktcp_wait,
	.kick = ktcp_kick_op,
	.close_peer = tcp_op_close_peer,
	.connect = tcp_op_connect,
};
