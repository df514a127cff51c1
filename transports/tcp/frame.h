/* SPDX-License-Identifier: MIT */
/*
 * frame.h - the TCP backend's wire format, shared by its userspace half
 * (tcp.c) and its kernel half (tcp_kern.c) so the two cannot drift apart:
 * frame header, kinds, limits, and the verdicts on a peer's hello.
 *
 * Every frame: u32 length of what follows (little endian), u8 kind, three
 * zero bytes, then the body. The handshake is the engine's (gvm/auth.h):
 * the dialer's first frame is a HELLO holding its offer; the acceptor
 * answers with a HELLO holding its answer, or a REFUSE whose body says why;
 * with a cluster secret the dialer then sends a PROOF. On a connection
 * whose handshake agreed on tags, every later frame ends with its tag,
 * counted in its length and computed over its header and body.
 *
 * Beyond the format, the rules on a connection: what it is (struct
 * tcp_stream), how its received frames are checked and dispatched, how a
 * frame of ours is framed and queued, when a dialer may send, whom an
 * acceptor may admit, how much may queue for a peer and when a peer is
 * silent. proto.h runs the peers on these rules; each half gives both its
 * sockets, so every check on what a peer sends exists once.
 *
 * Header-only: the includer provides snprintf and memmove (libc, or the
 * kernel's).
 */
#ifndef GVM_TCP_FRAME_H
#define GVM_TCP_FRAME_H

#include <gvm/auth.h>
#include <gvm/transport.h>

#include "os/gvm_os.h"

#define TCP_HDR 8u
#define TCP_MAX_MSG (64u << 20) /* a message; a frame adds its tag, if tagged */
#define TCP_MAX_IOV 8
#define TCP_REFUSAL_MAX 256u /* bytes of a REFUSE body */
/*
 * A peer that heartbeats but reads nothing would grow our queue for it
 * without end (each small read request queues a page): past this many
 * unsent bytes it is cut off like a dead one.
 */
#define TCP_QUEUE_MAX (64u << 20)

enum tcp_kind {
	TCP_HELLO = 1,
	TCP_REFUSE = 2,
	TCP_MSG = 3,
	TCP_HEARTBEAT = 4,
	TCP_BYE = 5, /* orderly close: nothing follows */
	TCP_PROOF = 6, /* the dialer's proof of the secret */
};

static inline void tcp_frame_header(uint8_t *h, uint32_t len, uint8_t kind)
{
	h[0] = (uint8_t)len;
	h[1] = (uint8_t)(len >> 8);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 24);
	h[4] = kind;
	h[5] = h[6] = h[7] = 0;
}

/*
 * Until its handshake is done a connection costs a stranger nothing to
 * open, so it gets little: no frame larger than a hello or a refusal, at
 * most TCP_HANDSHAKE_NS to send it, and at most TCP_UNIDENTIFIED_MAX such
 * connections accepted at once (a newcomer pushes out the oldest: real
 * peers say hello at once).
 */
#define TCP_HANDSHAKE_FRAME_MAX (GVM_ANSWER_LEN > TCP_REFUSAL_MAX ? GVM_ANSWER_LEN : TCP_REFUSAL_MAX)
#define TCP_HANDSHAKE_NS (10ull * 1000000000ull)
#define TCP_UNIDENTIFIED_MAX 64

/*
 * Why the kept-th newest connection still without a hello, opened at
 * since_ns, must be dropped now; NULL if it may stay.
 */
static inline const char *tcp_unidentified_verdict(unsigned int kept, uint64_t since_ns,
						   uint64_t now)
{
	if (kept > TCP_UNIDENTIFIED_MAX)
		return "too many such";
	return now - since_ns >= TCP_HANDSHAKE_NS ? "no hello in time" : NULL;
}

/*
 * Strangers can make a node drop connections as fast as they open them:
 * a log line at the 1st, 10th, 100th, ... of a kind, not at each.
 */
static inline bool tcp_worth_saying(uint64_t count)
{
	while (count >= 10 && count % 10 == 0)
		count /= 10;
	return count == 1;
}

/*
 * Read a header; false if it is malformed (the peer must be closed).
 * handshake: the connection's first frame each way is still to come.
 */
static inline bool tcp_frame_parse(const uint8_t *h, bool handshake, uint32_t *len,
				   uint8_t *kind)
{
	*len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 24;
	*kind = h[4];
	return !h[5] && !h[6] && !h[7] && *kind >= TCP_HELLO && *kind <= TCP_PROOF &&
	       *len <= (handshake ? TCP_HANDSHAKE_FRAME_MAX : TCP_MAX_MSG + GVM_TAG_LEN);
}

/*
 * Why a node with hello `ours` (compared only if check) must refuse the
 * peer described by `theirs`, or why[0] == 0 if it may talk to it.
 */
static inline void tcp_hello_refusal(const struct gvm_hello *ours, bool check,
				     const struct gvm_hello *theirs, char *why,
				     size_t len)
{
	const char *field;
	uint64_t a, b;

	why[0] = 0;
	if (check && gvm_hello_compare(ours, theirs, &field, &a, &b))
		snprintf(why, len, "%s: %llu at node %u, %llu at node %u", field,
			 (unsigned long long)a, ours->node,
			 (unsigned long long)b, theirs->node);
}

/*
 * An acceptor's verdict on the first frame of a connection, the dialer's
 * offer (the handshake in hs begins). Returns 0 with *h the dialer's hello;
 * -EPROTO with why[0] == 0 if the frame is no hello at all (drop the
 * connection), or with a reason to send back in a REFUSE.
 */
static inline int tcp_hello_accept(struct gvm_handshake *hs, const struct gvm_auth *auth,
				   const struct gvm_hello *ours, bool check,
				   uint32_t nodes, uint8_t kind,
				   const uint8_t *body, uint32_t blen,
				   struct gvm_hello *h, char *why, size_t len)
{
	const char *bad = NULL;

	why[0] = 0;
	if (kind != TCP_HELLO)
		return -EPROTO;
	if (gvm_handshake_accept(hs, auth, body, blen, h, &bad)) {
		if (bad)
			snprintf(why, len, "node %u: %s", h->node, bad);
		return -EPROTO;
	}
	tcp_hello_refusal(ours, check, h, why, len);
	if (!why[0] && h->node >= nodes)
		snprintf(why, len, "node id %u outside the cluster", h->node);
	else if (!why[0] && h->node == ours->node)
		snprintf(why, len, "node id %u is the acceptor's own", h->node);
	return why[0] ? -EPROTO : 0;
}

/*
 * A dialer's verdict on the acceptor's answer to its offer, from node
 * `peer`. Returns 0, with the PROOF body to send in proof[GVM_PROOF_LEN]
 * (*proof_len 0: none, no secret); -ECONNREFUSED after a REFUSE (its text
 * in why); -EPROTO with why[0] == 0 if the answer is no hello, or with the
 * reason it is refused (a hello that does not match, a proof that does not
 * match our secret); -ENOMEM.
 */
static inline int tcp_hello_answer(struct gvm_handshake *hs,
				   const struct gvm_hello *ours, bool check,
				   uint32_t peer, uint8_t kind,
				   const uint8_t *body, uint32_t blen,
				   uint8_t *proof, uint32_t *proof_len,
				   char *why, size_t len)
{
	struct gvm_hello h;
	const char *bad = NULL;
	int err;

	why[0] = 0;
	*proof_len = 0;
	if (kind == TCP_REFUSE) {
		snprintf(why, len, "%.*s", (int)(blen < TCP_REFUSAL_MAX ? blen : TCP_REFUSAL_MAX),
			 (const char *)body);
		return -ECONNREFUSED;
	}
	if (kind != TCP_HELLO)
		return -EPROTO;
	err = gvm_handshake_finish(hs, body, blen, &h, proof, proof_len, &bad);
	if (err) {
		if (bad)
			snprintf(why, len, "%s", bad);
		return err;
	}
	tcp_hello_refusal(ours, check, &h, why, len);
	if (!why[0] && h.node != peer)
		snprintf(why, len, "node %u answers at the address of node %u", h.node, peer);
	return why[0] ? -EPROTO : 0;
}

/*
 * What an acceptor does with a frame of a connection still in its
 * handshake (the offer, then with a secret the proof), the same in both
 * halves. Afterwards: err < 0 closes the connection (log why[] first if it
 * is set, and send it back in a REFUSE when refuse is set); otherwise
 * admit the dialer as node `admit` if that is not GVM_NODE_NONE (it may
 * still be refused there: its id is held), then send reply[0..reply_len).
 */
struct tcp_accept_step {
	int err;
	bool refuse;
	gvm_node_id admit;
	uint32_t reply_len;
	uint8_t reply[TCP_HDR + GVM_ANSWER_LEN];
	char why[200];
};

static inline void tcp_acceptor_step(struct gvm_handshake *hs, const struct gvm_auth *auth,
				     const struct gvm_hello *ours, bool check, uint32_t nodes,
				     uint8_t kind, const uint8_t *body, uint32_t blen,
				     struct tcp_accept_step *st)
{
	struct gvm_hello h;
	const char *bad = NULL;
	int n;

	st->refuse = false;
	st->admit = GVM_NODE_NONE;
	st->reply_len = 0;
	st->why[0] = 0;
	if (hs->offer_len) { /* the offer was answered: this is the proof */
		st->err = kind == TCP_PROOF ? gvm_handshake_verify(hs, body, blen, &bad) : -EACCES;
		if (st->err) {
			snprintf(st->why, sizeof(st->why), "%s",
				 kind != TCP_PROOF ? "its second frame is no proof" :
				 bad ? bad : "out of memory");
			st->refuse = st->err != -ENOMEM;
			return;
		}
		gvm_hello_decode(hs->offer, GVM_HELLO_LEN, &h, &bad); /* checked with the offer */
		st->admit = h.node;
		return;
	}
	st->err = tcp_hello_accept(hs, auth, ours, check, nodes, kind, body, blen, &h,
				   st->why, sizeof(st->why));
	if (st->err) {
		if (!st->why[0])
			snprintf(st->why, sizeof(st->why), "a connection that did not start with a hello");
		else
			st->refuse = true;
		return;
	}
	n = gvm_handshake_answer(hs, ours, st->reply + TCP_HDR);
	if (n < 0) {
		st->err = n;
		snprintf(st->why, sizeof(st->why), "out of memory");
		return;
	}
	tcp_frame_header(st->reply, (uint32_t)n, TCP_HELLO);
	st->reply_len = TCP_HDR + (uint32_t)n;
	if (hs->done) /* no secret: admitted on its hello alone */
		st->admit = h.node;
}

/*
 * A dialer's handling of the acceptor's answer on its connection to node
 * `peer` (at `name`), the same in both halves. Returns 0 with the PROOF
 * frame to send first in proof[TCP_HDR + GVM_PROOF_LEN] (*proof_len 0
 * without a secret); or an error, with the line to log in why.
 */
static inline int tcp_dialer_step(struct gvm_handshake *hs, const struct gvm_hello *ours,
				  bool check, uint32_t peer, const char *name, uint8_t kind,
				  const uint8_t *body, uint32_t blen, uint8_t *proof,
				  uint32_t *proof_len, char *why, size_t len)
{
	char reason[TCP_REFUSAL_MAX + 1];
	int err = tcp_hello_answer(hs, ours, check, peer, kind, body, blen,
				   proof + TCP_HDR, proof_len, reason, sizeof(reason));

	if (err == -ECONNREFUSED)
		snprintf(why, len, "refused by node %u: %s", peer, reason);
	else if (err && !reason[0])
		snprintf(why, len, "node %u did not answer with a hello", peer);
	else if (err)
		snprintf(why, len, "node %u (%s) refused: %s", peer, name, reason);
	if (!err && *proof_len) {
		tcp_frame_header(proof, *proof_len, TCP_PROOF);
		*proof_len += TCP_HDR;
	}
	return err;
}

/*
 * Tags on a connection whose handshake agreed on them. tcp_tagged_header
 * writes the header of a frame whose body (len bytes) is followed by its
 * tag; tcp_frame_tag then computes that tag over header and body.
 */
static inline void tcp_tagged_header(const struct gvm_handshake *hs, uint8_t *h,
				     uint32_t len, uint8_t kind)
{
	tcp_frame_header(h, len + (gvm_handshake_tagged(hs) ? GVM_TAG_LEN : 0), kind);
}

static inline void tcp_frame_tag(struct gvm_handshake *hs, const uint8_t *h,
				 const struct gvm_iov *body, unsigned int n, uint8_t *tag)
{
	struct gvm_iov v[TCP_MAX_IOV + 1];

	v[0].base = h;
	v[0].len = TCP_HDR;
	for (unsigned int i = 0; i < n && i < TCP_MAX_IOV; i++)
		v[i + 1] = body[i];
	gvm_auth_tag(&hs->tx, v, n + 1, tag);
}

/* A frame without a body (HEARTBEAT, BYE), tagged if hs is: its length. */
static inline size_t tcp_empty_frame(struct gvm_handshake *hs, uint8_t *frame, uint8_t kind)
{
	tcp_tagged_header(hs, frame, 0, kind);
	if (!gvm_handshake_tagged(hs))
		return TCP_HDR;
	tcp_frame_tag(hs, frame, NULL, 0, frame + TCP_HDR);
	return TCP_HDR + GVM_TAG_LEN;
}

/*
 * What a dialer sends once the acceptor has proved the secret: its proof
 * frame, then the frames it queued meanwhile (old[0..len), untagged), each
 * now given its tag if the handshake agreed on tags. Each piece goes to
 * append(ctx, bytes, n), the half's own queue; returns its first error.
 */
static inline int tcp_release_queued(struct gvm_handshake *hs, const uint8_t *proof,
				     uint32_t proof_len, const uint8_t *old, size_t len,
				     int (*append)(void *ctx, const void *p, size_t n), void *ctx)
{
	size_t off = 0;
	int err = append(ctx, proof, proof_len);

	while (!err && off + TCP_HDR <= len) {
		uint8_t hdr[TCP_HDR], tag[GVM_TAG_LEN];
		struct gvm_iov body;
		uint32_t blen;
		uint8_t kind;

		tcp_frame_parse(old + off, false, &blen, &kind); /* our own frame */
		body.base = old + off + TCP_HDR;
		body.len = blen;
		tcp_tagged_header(hs, hdr, blen, kind);
		err = append(ctx, hdr, TCP_HDR);
		if (!err)
			err = append(ctx, body.base, blen);
		if (!err && gvm_handshake_tagged(hs)) {
			tcp_frame_tag(hs, hdr, &body, 1, tag);
			err = append(ctx, tag, GVM_TAG_LEN);
		}
		off += TCP_HDR + blen;
	}
	return err;
}

/*
 * A frame received on a tagged connection: true if its tag is right, and
 * *len is then the body's length without it.
 */
static inline bool tcp_frame_untag(struct gvm_handshake *hs, const uint8_t *h,
				   uint32_t *len)
{
	struct gvm_iov v[2];

	if (*len < GVM_TAG_LEN)
		return false;
	*len -= GVM_TAG_LEN;
	v[0].base = h;
	v[0].len = TCP_HDR;
	v[1].base = h + TCP_HDR;
	v[1].len = *len;
	return gvm_auth_check(&hs->rx, v, 2, h + TCP_HDR + *len);
}

/*
 * One connection, either half: dialed by us (outgoing: our messages go out
 * on it, the peer's answers and heartbeats come back) or by the peer (its
 * messages come in). The half embeds it beside its socket.
 */
struct tcp_stream {
	gvm_node_id peer; /* GVM_NODE_NONE until its handshake is done */
	bool outgoing;
	struct gvm_handshake hs; /* done: the peer is who it says (tags, if agreed) */
	uint8_t *in;             /* received, not yet acted on */
	size_t in_len, in_cap;
	uint64_t since_ns; /* opened */
};

/*
 * Whether a connection we dialed may carry our messages yet: with a secret,
 * not before the acceptor has proved it knows it (until then they queue).
 */
static inline bool tcp_may_send(const struct tcp_stream *s)
{
	return s->hs.done || !s->hs.auth;
}

/*
 * Act on the frames s has received, in[0..in_len). Each header is checked
 * (before the handshake is done, no frame larger than a hello), then on a
 * tagged connection its tag. A frame of the handshake goes to the half's
 * step for it, accept(ctx, s, ...) on a connection the peer dialed (it may
 * admit s->peer), answer(ctx, s, ...) on ours; a MSG on a connection the peer dialed goes to the engine
 * through base->recv (counted in *delivered, unless NULL); a HEARTBEAT is life only;
 * BYE ends the connection. An incomplete frame moves to the front of in.
 * Returns 0, or what closes the connection: -ESHUTDOWN after BYE,
 * -EPROTO (logged), or the handshake step's error.
 */
typedef int (*tcp_handshake_step)(void *ctx, struct tcp_stream *s, uint8_t kind,
				  const uint8_t *body, uint32_t len);

static inline int tcp_stream_parse(struct tcp_stream *s, struct gvm_transport *base,
				   tcp_handshake_step accept, tcp_handshake_step answer,
				   void *ctx, uint64_t *delivered)
{
	size_t off = 0;
	int err;

	while (s->in_len - off >= TCP_HDR) {
		const uint8_t *h = s->in + off;
		uint32_t len, frame_len;
		uint8_t kind;

		if (!tcp_frame_parse(h, !s->hs.done, &len, &kind)) {
			if (s->peer != GVM_NODE_NONE)
				gvm_log_warn("tcp: node %u: closing peer %u: malformed frame (kind %u, length %u)",
					     base->self, s->peer, kind, len);
			else
				gvm_log_warn("tcp: node %u: dropping a connection that did not start with a hello",
					     base->self);
			return -EPROTO;
		}
		if (s->in_len - off - TCP_HDR < len)
			break;
		if (!s->hs.done) {
			err = (s->outgoing ? answer : accept)(ctx, s, kind, h + TCP_HDR, len);
			if (err)
				return err;
			off += TCP_HDR + len;
			continue;
		}
		frame_len = len;
		if (gvm_handshake_tagged(&s->hs) && !tcp_frame_untag(&s->hs, h, &len)) {
			gvm_log_warn("tcp: node %u: closing peer %u: a frame failed its tag check (forged or altered on the way)",
				     base->self, s->peer);
			return -EPROTO;
		}
		if (kind == TCP_MSG && !s->outgoing) {
			if (delivered)
				(*delivered)++;
			/* A refused message has already closed its peer. */
			if (base->recv(base->recv_arg, s->peer, h + TCP_HDR, len) < 0)
				return -EPROTO;
		} else if (kind == TCP_BYE) {
			return -ESHUTDOWN;
		} else if (kind != TCP_HEARTBEAT) {
			gvm_log_warn("tcp: node %u: closing peer %u: unexpected frame kind %u",
				     base->self, s->peer, kind);
			return -EPROTO;
		}
		off += TCP_HDR + frame_len;
	}
	memmove(s->in, s->in + off, s->in_len - off);
	s->in_len -= off;
	return 0;
}

/*
 * The half's buffer for what s will receive must have this much room
 * before a read (at least 64 KiB free): grown by doubling from 128 KiB,
 * then by 64 KiB past two of the largest frames. 0: it has room.
 */
static inline size_t tcp_stream_grow_to(const struct tcp_stream *s)
{
	size_t cap;

	if (s->in_cap - s->in_len >= 65536)
		return 0;
	cap = s->in_cap ? s->in_cap * 2 : 131072;
	if (cap > 2 * (TCP_MAX_MSG + TCP_HDR) && s->in_cap)
		cap = s->in_cap + 65536;
	return cap;
}

/*
 * One frame of ours on s, as pieces to write in order: out[0] its header
 * (in hdr), then body[0..n), then its tag (in tag) if s is tagged.
 * Returns how many pieces (at most n + 2), or -EINVAL / -EMSGSIZE; *total
 * is their length.
 */
static inline int tcp_frame_pieces(struct tcp_stream *s, uint8_t kind,
				   const struct gvm_iov *body, unsigned int n,
				   uint8_t *hdr, uint8_t *tag, struct gvm_iov *out,
				   size_t *total)
{
	unsigned int cnt = n + 1;
	size_t len = 0;

	if (n > TCP_MAX_IOV)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		out[i + 1] = body[i];
		len += body[i].len;
	}
	if (len > TCP_MAX_MSG)
		return -EMSGSIZE;
	tcp_tagged_header(&s->hs, hdr, (uint32_t)len, kind);
	out[0].base = hdr;
	out[0].len = TCP_HDR;
	*total = len + TCP_HDR;
	if (gvm_handshake_tagged(&s->hs)) {
		tcp_frame_tag(&s->hs, hdr, body, n, tag);
		out[cnt].base = tag;
		out[cnt++].len = GVM_TAG_LEN;
		*total += GVM_TAG_LEN;
	}
	return (int)cnt;
}

/*
 * Our bytes for one peer that its socket has not taken yet, either half
 * (under the half's peer lock): what a send left, or, with a secret, every
 * frame until the acceptor has proved it.
 */
struct tcp_sendq {
	uint8_t *buf;
	size_t off, len, cap; /* buf[off..len) waits */
};

/* Append v[0..n) less its first skip bytes. 0 or -ENOMEM. */
static inline int tcp_sendq_append(struct tcp_sendq *q, const struct gvm_iov *v,
				   unsigned int n, size_t skip)
{
	for (unsigned int i = 0; i < n; i++) {
		size_t len = v[i].len, off = skip < len ? skip : len;

		skip -= off;
		if (off == len)
			continue; /* sent already, or empty */
		if (q->len + len - off > q->cap) {
			size_t cap = q->cap ? q->cap : 65536;
			uint8_t *buf;

			while (cap < q->len + len - off)
				cap *= 2;
			buf = gvm_os_realloc(q->buf, q->cap, cap);
			if (!buf)
				return -ENOMEM;
			q->buf = buf;
			q->cap = cap;
		}
		gvm_memcpy(q->buf + q->len, (const uint8_t *)v[i].base + off, len - off);
		q->len += len - off;
	}
	return 0;
}

/*
 * A half's socket: a send that never blocks. Returns the bytes of v[0..n)
 * (total in all) it took, -EAGAIN for none, or -errno.
 */
typedef long (*tcp_sock_send)(void *sock, const struct gvm_iov *v, unsigned int n,
			      size_t total);

/* Write what q holds while the socket takes it. 0, or -errno. */
static inline int tcp_sendq_flush(struct tcp_sendq *q, tcp_sock_send send, void *sock)
{
	while (q->off < q->len) {
		struct gvm_iov v = {q->buf + q->off, q->len - q->off};
		long w = send(sock, &v, 1, v.len);

		if (w == -EAGAIN)
			break;
		if (w < 0)
			return (int)w;
		q->off += (size_t)w;
	}
	if (q->off == q->len)
		q->off = q->len = 0;
	return 0;
}

/*
 * Send one frame on s, our connection to peer id (peer lock held): to the
 * socket when nothing waits before it, the rest queued. Returns 0, with
 * *queued set if bytes now wait (the half then writes them when its socket
 * has room); -ENOBUFS if they would pass TCP_QUEUE_MAX: the peer reads
 * nothing (logged), cut it off; or another -errno.
 */
static inline int tcp_send_frame(const struct gvm_transport *base, gvm_node_id id,
				 struct tcp_stream *s, struct tcp_sendq *q, uint8_t kind,
				 const struct gvm_iov *iov, unsigned int n,
				 tcp_sock_send send, void *sock, bool *queued)
{
	struct gvm_iov pieces[TCP_MAX_IOV + 2];
	uint8_t hdr[TCP_HDR], tag[GVM_TAG_LEN];
	size_t total;
	long w = 0;
	int cnt = tcp_frame_pieces(s, kind, iov, n, hdr, tag, pieces, &total);

	*queued = false;
	if (cnt < 0)
		return cnt;
	if (q->off == q->len && tcp_may_send(s)) {
		w = send(sock, pieces, (unsigned int)cnt, total);
		if (w == -EAGAIN)
			w = 0;
		if (w < 0)
			return (int)w;
		if ((size_t)w == total)
			return 0;
	}
	if ((q->len - q->off) + (total - (size_t)w) > TCP_QUEUE_MAX) {
		gvm_log_warn("tcp: node %u: peer %u reads nothing: over %u MiB would be queued for it",
			     base->self, id, TCP_QUEUE_MAX >> 20);
		return -ENOBUFS;
	}
	if (tcp_sendq_append(q, pieces, (unsigned int)cnt, (size_t)w))
		return -ENOMEM;
	*queued = true;
	return 0;
}

static inline int tcp_sendq_append_bytes(void *q, const void *bytes, size_t len)
{
	struct gvm_iov v = {bytes, len};

	return tcp_sendq_append(q, &v, 1, 0);
}

/*
 * The acceptor on s has proved the secret: q becomes our proof, then what
 * queued meanwhile, tagged now (tcp_release_queued). The half flushes it.
 */
static inline int tcp_sendq_release(struct tcp_stream *s, struct tcp_sendq *q,
				    const uint8_t *proof, uint32_t proof_len)
{
	struct tcp_sendq old = *q;
	int err;

	*q = (struct tcp_sendq){0};
	err = tcp_release_queued(&s->hs, proof, proof_len, old.buf + old.off,
				 old.len - old.off, tcp_sendq_append_bytes, q);
	gvm_os_free(old.buf);
	return err;
}

/*
 * Why an acceptor must refuse a dialer that proved to be node id, when
 * that id's incoming slot is held (a live connection, or a node declared
 * down here): only the newcomer is refused, never the holder. NULL: admit.
 */
static inline const char *tcp_admit_refusal(bool down, bool held)
{
	return down ? "declared down here" : held ? "already connected" : NULL;
}

/*
 * Liveness at a heartbeat pass: a peer with a connection is silent, and
 * reported down, once nothing came from it for timeout_ns. After a pass
 * that came late (stalled: we were the silent one) its window restarts.
 */
static inline bool tcp_peer_silent(uint64_t *last_rx_ns, bool connected, bool stalled,
				   uint64_t now, uint64_t timeout_ns)
{
	if (stalled)
		*last_rx_ns = now;
	return connected && *last_rx_ns + timeout_ns < now; /* last_rx may be after now */
}

#endif /* GVM_TCP_FRAME_H */
