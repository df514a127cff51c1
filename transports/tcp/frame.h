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
	struct gvm_iov v[GVM_AUTH_MAX_IOV];

	v[0].base = h;
	v[0].len = TCP_HDR;
	for (unsigned int i = 0; i < n && i + 1 < GVM_AUTH_MAX_IOV; i++)
		v[i + 1] = body[i];
	gvm_auth_tag(&hs->tx, v, n + 1, tag);
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
