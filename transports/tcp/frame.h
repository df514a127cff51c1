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
 * Header-only: the includer provides snprintf (stdio.h, or the kernel's).
 */
#ifndef GVM_TCP_FRAME_H
#define GVM_TCP_FRAME_H

#include <gvm/auth.h>
#include <gvm/transport.h>

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

#endif /* GVM_TCP_FRAME_H */
