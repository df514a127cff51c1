/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the TCP backend's peers, written once for both halves: what
 * happens on a send, a connect and a close_peer, how a peer goes down and
 * is reported, what an acceptor does with each handshake frame and whom
 * it admits, and the heartbeat pass. frame.h has the format and the
 * checks; this file has what the checks lead to.
 *
 * Included by tcp.c and tcp_kern.c after each defines, with these names:
 *
 *   struct tcp_conn  its socket, and `struct tcp_stream s` (frame.h)
 *   struct tcp_peer  gvm_os_mutex_t lock (everything below), char name[],
 *                    struct tcp_conn *out (we dialed) and *in (it dialed),
 *                    struct tcp_sendq q, uint64_t last_rx_ns, bool down,
 *                    down_reported, closed_here, int down_reason
 *   struct tcp_ep    struct gvm_transport base, struct tcp_peer *peers,
 *                    struct tcp_conn *unidentified (newest first, linked
 *                    by ->next), dropped_unidentified, hello, check_hello,
 *                    secret, timeout_ns, last_heartbeat_ns
 *   TCP_DELIVERED(ep) where it counts the messages it hands the engine
 *                    (a uint64_t *), or NULL
 *
 * and the socket calls below: each half's small ops layer.
 */
#ifndef GVM_TCP_PROTO_H
#define GVM_TCP_PROTO_H

#include "frame.h"

/* ==== What each half provides ==== */

/* tcp_sock_send (frame.h) on a connection. */
static long sock_send(void *conn, const struct gvm_iov *v, unsigned int n, size_t total);
/* Stop both directions of c's socket now (any thread, peer lock held). */
static void conn_shutdown(struct tcp_conn *c);
/* Close and free c, or leave it for the progress thread to free. */
static void conn_close(struct tcp_ep *ep, struct tcp_conn *c);
/* "host:port" of c's other end, for a log line. */
static void conn_address(struct tcp_conn *c, char *out, size_t len);
/* Make the progress thread run a pass soon (it reports what went down). */
static void ep_kick(struct tcp_ep *ep);
/* Dial peer id and send our offer (peer lock held): p->out is set. */
static int peer_dial(struct tcp_ep *ep, gvm_node_id id);
/* Send one frame on p->out (peer lock held): frame.h's tcp_send_frame, and
 * the half's way to have the rest written when its socket has room. */
static int send_frame(struct tcp_ep *ep, struct tcp_peer *p, uint8_t kind,
		      const struct gvm_iov *iov, unsigned int iovcnt);
/* Write what p->q holds (peer lock held). */
static int flush_queue(struct tcp_ep *ep, struct tcp_peer *p);
/* A reason for a log line: strerror's text, or the number. */
static const char *reason_text(int reason, char *buf, size_t len);

/* ==== Peers going down ==== */

/* Mark a peer down (any thread, peer lock held); progress() reports it. */
static void peer_mark_down(struct tcp_ep *ep, struct tcp_peer *p, int reason)
{
	if (p->down)
		return;
	p->down = true;
	p->down_reason = reason;
	if (p->out)
		conn_shutdown(p->out);
	if (p->in)
		conn_shutdown(p->in);
	p->q.len = p->q.off = 0;
	ep_kick(ep);
}

/* Progress thread: close a down peer's connections, report it once. */
static void peer_reap(struct tcp_ep *ep, gvm_node_id id)
{
	struct tcp_peer *p = &ep->peers[id];
	struct tcp_conn *in, *out;
	bool report = false;
	char text[48];
	int reason;

	gvm_os_mutex_lock(&p->lock);
	in = p->in;
	out = p->out;
	p->in = p->out = NULL;
	if (p->down && !p->down_reported) {
		p->down_reported = true;
		report = true;
	}
	reason = p->down_reason;
	gvm_os_mutex_unlock(&p->lock);
	if (in)
		conn_close(ep, in);
	if (out)
		conn_close(ep, out);
	if (!report)
		return;
	if (reason == -ESHUTDOWN)
		gvm_log_info("tcp: node %u: peer %u (%s) left", ep->base.self, id, p->name);
	else if (p->closed_here)
		gvm_log_debug("tcp: node %u: closed peer %u (%s): %s", ep->base.self, id,
			      p->name, reason_text(reason, text, sizeof(text)));
	else
		gvm_log_warn("tcp: node %u: peer %u (%s) is down: %s", ep->base.self, id,
			     p->name, reason_text(reason, text, sizeof(text)));
	if (ep->base.peer_down)
		ep->base.peer_down(ep->base.peer_down_arg, id, reason);
}

/* Progress thread: peer id failed (why: a line to log, or NULL). */
static void peer_fail(struct tcp_ep *ep, gvm_node_id id, int reason, const char *why)
{
	struct tcp_peer *p = &ep->peers[id];

	gvm_os_mutex_lock(&p->lock);
	if (!p->down && why)
		gvm_log_warn("tcp: node %u: closing peer %u: %s", ep->base.self, id, why);
	peer_mark_down(ep, p, reason);
	gvm_os_mutex_unlock(&p->lock);
	peer_reap(ep, id);
}

/* ==== The transport's send, connect and close_peer ==== */

/* A connection to send on (peer lock held): dial if there is none yet. */
static int peer_ready(struct tcp_ep *ep, gvm_node_id id)
{
	struct tcp_peer *p = &ep->peers[id];

	if (p->down)
		return -EHOSTDOWN;
	return p->out ? 0 : peer_dial(ep, id);
}

static int tcp_op_send(struct gvm_transport *t, gvm_node_id dst, const struct gvm_iov *iov,
		    unsigned int iovcnt)
{
	struct tcp_ep *ep = container_of(t, struct tcp_ep, base);
	struct tcp_peer *p;
	int err;

	if (dst >= t->nodes || dst == t->self)
		return -EINVAL;
	p = &ep->peers[dst];
	gvm_os_mutex_lock(&p->lock);
	err = peer_ready(ep, dst);
	if (!err)
		err = send_frame(ep, p, TCP_MSG, iov, iovcnt);
	/*
	 * A reset or broken pipe means the peer closed: the progress loop
	 * sees the close too, with its BYE if it left in order, and says so
	 * with the right reason. Other failures end the peer here.
	 */
	if (err && err != -EHOSTDOWN && err != -EPIPE && err != -ECONNRESET)
		peer_mark_down(ep, p, err);
	gvm_os_mutex_unlock(&p->lock);
	return err;
}

static int tcp_op_connect(struct gvm_transport *t, gvm_node_id peer)
{
	struct tcp_ep *ep = container_of(t, struct tcp_ep, base);
	int err;

	if (peer >= t->nodes || peer == t->self)
		return -EINVAL;
	gvm_os_mutex_lock(&ep->peers[peer].lock);
	err = peer_ready(ep, peer);
	/* Unreachable is down, as for a send: progress() reports it. */
	if (err && err != -EHOSTDOWN)
		peer_mark_down(ep, &ep->peers[peer], err);
	gvm_os_mutex_unlock(&ep->peers[peer].lock);
	return err;
}

static int tcp_op_close_peer(struct gvm_transport *t, gvm_node_id peer, int reason)
{
	struct tcp_ep *ep = container_of(t, struct tcp_ep, base);
	struct tcp_peer *p;

	if (peer >= t->nodes || peer == t->self)
		return -EINVAL;
	p = &ep->peers[peer];
	gvm_os_mutex_lock(&p->lock);
	if (!p->down)
		p->closed_here = true;
	peer_mark_down(ep, p, reason ? reason : -ECONNABORTED);
	gvm_os_mutex_unlock(&p->lock);
	return 0;
}

/* ==== Handshakes ==== */

/* Best effort: a fresh socket's buffer takes a refusal at once. */
static void refuse(struct tcp_conn *c, const char *why)
{
	uint8_t buf[TCP_HDR + TCP_REFUSAL_MAX];
	size_t len = strnlen(why, TCP_REFUSAL_MAX);
	struct gvm_iov v = {buf, TCP_HDR + len};

	tcp_frame_header(buf, (uint32_t)len, TCP_REFUSE);
	gvm_memcpy(buf + TCP_HDR, why, len);
	sock_send(c, &v, 1, v.len);
}

static void refuse_logged(struct tcp_ep *ep, struct tcp_conn *c, const char *why)
{
	char addr[64];

	conn_address(c, addr, sizeof(addr));
	gvm_log_err("tcp: node %u refuses a peer from %s: %s", ep->base.self, addr, why);
	refuse(c, why);
}

static void unlink_unidentified(struct tcp_ep *ep, struct tcp_conn *c)
{
	for (struct tcp_conn **pp = &ep->unidentified; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

/* Drop the unidentified connections past the handshake's bounds (frame.h). */
static void trim_unidentified(struct tcp_ep *ep, uint64_t now)
{
	struct tcp_conn **pp = &ep->unidentified;
	unsigned int kept = 0;

	while (*pp) {
		struct tcp_conn *c = *pp;
		const char *why = tcp_unidentified_verdict(++kept, c->s.since_ns, now);

		if (!why) {
			pp = &c->next;
			continue;
		}
		if (tcp_worth_saying(++ep->dropped_unidentified))
			gvm_log_warn("tcp: node %u: dropped a connection without a hello: %s (%llu so far)",
				     ep->base.self, why,
				     (unsigned long long)ep->dropped_unidentified);
		*pp = c->next;
		conn_close(ep, c);
	}
}

/*
 * The handshake of an accepted connection is done: the dialer is node id.
 * It takes the id's incoming slot unless that is held (a live connection,
 * or a node declared down here): then only this newcomer is refused.
 */
static int admit(struct tcp_ep *ep, struct tcp_conn *c, gvm_node_id id)
{
	struct tcp_peer *p = &ep->peers[id];
	char refusal[80];
	const char *held;

	gvm_os_mutex_lock(&p->lock);
	held = tcp_admit_refusal(p->down, p->in);
	if (held) {
		gvm_os_mutex_unlock(&p->lock);
		snprintf(refusal, sizeof(refusal), "node %u is %s", id, held);
		refuse_logged(ep, c, refusal);
		return -EPROTO;
	}
	c->s.peer = id;
	p->in = c;
	p->last_rx_ns = gvm_os_now_ns();
	gvm_os_mutex_unlock(&p->lock);
	unlink_unidentified(ep, c);
	return 0;
}

/*
 * A frame of an accepted connection still in its handshake: the offer,
 * then with a secret the proof (frame.h decides, we act).
 */
static int accept_step(void *arg, struct tcp_stream *s, uint8_t kind, const uint8_t *body,
		       uint32_t len)
{
	struct tcp_ep *ep = arg;
	struct tcp_conn *c = container_of(s, struct tcp_conn, s);
	struct tcp_accept_step *st = gvm_os_zalloc(sizeof(*st)); /* large for a kernel stack */
	struct gvm_iov v;
	int err;

	if (!st)
		return -ENOMEM;
	tcp_acceptor_step(&s->hs, ep->secret, &ep->hello, ep->check_hello, ep->base.nodes,
			  kind, body, len, st);
	err = st->err;
	if (st->refuse)
		refuse_logged(ep, c, st->why);
	else if (err)
		gvm_log_warn("tcp: node %u: dropping %s", ep->base.self, st->why);
	if (!err && st->admit != GVM_NODE_NONE && admit(ep, c, st->admit))
		err = -EPROTO;
	v.base = st->reply;
	v.len = st->reply_len;
	if (!err && st->reply_len && sock_send(c, &v, 1, v.len) != (long)v.len)
		err = -EIO;
	gvm_os_free(st);
	return err;
}

/*
 * The acceptor's answer on a connection we dialed; with a secret, our
 * proof and then what queued meanwhile go out.
 */
static int check_answer(void *arg, struct tcp_stream *s, uint8_t kind, const uint8_t *body,
			uint32_t len)
{
	struct tcp_ep *ep = arg;
	struct tcp_conn *c = container_of(s, struct tcp_conn, s);
	struct tcp_peer *p = &ep->peers[s->peer];
	uint8_t proof[TCP_HDR + GVM_PROOF_LEN];
	uint32_t proof_len;
	char why[TCP_REFUSAL_MAX + 100];
	int err = tcp_dialer_step(&s->hs, &ep->hello, ep->check_hello, s->peer, p->name, kind,
				  body, len, proof, &proof_len, why, sizeof(why));

	if (err)
		gvm_log_err("tcp: node %u: %s", ep->base.self, why);
	if (err || !proof_len)
		return err;
	gvm_os_mutex_lock(&p->lock);
	if (p->out == c) {
		err = tcp_sendq_release(s, &p->q, proof, proof_len);
		if (!err)
			err = flush_queue(ep, p);
	}
	gvm_os_mutex_unlock(&p->lock);
	return err;
}

/*
 * Act on the complete frames in c's buffer. Returns 0, or a negative errno
 * after which the connection (and its peer, if known) must be closed.
 */
static int parse_frames(struct tcp_ep *ep, struct tcp_conn *c)
{
	return tcp_stream_parse(&c->s, &ep->base, accept_step, check_answer, ep,
				TCP_DELIVERED(ep));
}

/* ==== Liveness ==== */

/*
 * Heartbeats both ways on every connection, and the silent peers marked
 * down (frame.h's tcp_peer_silent).
 */
static void heartbeat(struct tcp_ep *ep, uint64_t now)
{
	bool stalled = gvm_liveness_pass_late(&ep->last_heartbeat_ns, now, ep->timeout_ns);
	uint8_t hb[TCP_HDR + GVM_TAG_LEN];

	for (gvm_node_id id = 0; id < ep->base.nodes; id++) {
		struct tcp_peer *p = &ep->peers[id];
		bool silent;

		if (id == ep->base.self)
			continue;
		gvm_os_mutex_lock(&p->lock);
		if (!p->down && p->out)
			send_frame(ep, p, TCP_HEARTBEAT, NULL, 0);
		if (!p->down && p->in) {
			struct gvm_iov v = {hb, tcp_empty_frame(&p->in->s.hs, hb, TCP_HEARTBEAT)};
			long w = sock_send(p->in, &v, 1, v.len);

			if (w < 0 && w != -EAGAIN)
				peer_mark_down(ep, p, (int)w);
		}
		silent = tcp_peer_silent(&p->last_rx_ns, !p->down && (p->in || p->out), stalled,
					 now, ep->timeout_ns);
		if (silent)
			peer_mark_down(ep, p, -ETIMEDOUT);
		gvm_os_mutex_unlock(&p->lock);
		if (silent)
			gvm_log_warn("tcp: node %u: peer %u silent for over %llu ms", ep->base.self,
				     id, (unsigned long long)(ep->timeout_ns / 1000000));
	}
}

#endif /* GVM_TCP_PROTO_H */
