// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the TCP backend's frame header and handshake verdicts
 * (transports/tcp/frame.h, shared by the userspace and kernel halves),
 * as a stranger's first bytes meet them: the acceptor's verdict on a
 * dialer's first frame, the dialer's verdict on the answer; then the
 * whole input as the stream an acceptor reads (tcp_stream_parse, the one
 * frame loop of both halves), cut where the input says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/tcp/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The acceptor of the stream test: frame.h's step, admitting as a half would. */
struct acceptor {
	struct gvm_transport base;
	const struct gvm_auth *auth;
	struct gvm_hello ours;
	bool admitted;
};

static int accept_frame(void *arg, struct tcp_stream *s, uint8_t kind, const uint8_t *body,
			uint32_t len)
{
	struct acceptor *a = arg;
	struct tcp_accept_step st;

	tcp_acceptor_step(&s->hs, a->auth, &a->ours, true, a->ours.nodes, kind, body, len, &st);
	if (strnlen(st.why, sizeof(st.why)) == sizeof(st.why))
		abort();
	if (st.err)
		return st.err;
	if (st.admit != GVM_NODE_NONE) {
		if (st.admit >= a->ours.nodes || st.admit == a->ours.node)
			abort(); /* an impossible node id */
		s->peer = st.admit;
		a->admitted = true;
	}
	return 0;
}

static int no_answer(void *arg, struct tcp_stream *s, uint8_t kind, const uint8_t *body,
		     uint32_t len)
{
	(void)arg, (void)s, (void)kind, (void)body, (void)len;
	abort(); /* an accepted connection never takes the dialer's step */
}

static int delivered(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	struct acceptor *a = arg;

	(void)msg, (void)len;
	if (a->auth || !a->admitted || src >= a->ours.nodes)
		abort(); /* an engine message from no admitted peer */
	return 0;
}

/*
 * The input less its flags byte (so a seed is a real stream: a frame
 * header, its body, what follows) as what an acceptor reads, in two reads
 * split where the flags byte's high bits say.
 */
static void stream(const uint8_t *input, size_t size, const struct gvm_auth *auth,
		   const struct gvm_hello *ours)
{
	static uint8_t data[4096], buf[4096];
	struct acceptor a = {.auth = auth, .ours = *ours};
	struct tcp_stream s = {.peer = GVM_NODE_NONE, .in = buf, .in_cap = sizeof(buf)};
	size_t cut;
	uint64_t count = 0;

	if (size > sizeof(data) + 1)
		size = sizeof(data) + 1;
	memcpy(data, input, TCP_HDR);
	memcpy(data + TCP_HDR, input + TCP_HDR + 1, size - TCP_HDR - 1);
	cut = (size_t)(input[TCP_HDR] >> 3) * (size - 1) / 31;
	size -= 1;

	a.base.self = ours->node;
	a.base.nodes = ours->nodes;
	a.base.recv = delivered;
	a.base.recv_arg = &a;
	memcpy(buf, data, cut);
	s.in_len = cut;
	if (!tcp_stream_parse(&s, &a.base, accept_frame, no_answer, &a, &count)) {
		if (s.in_len > cut)
			abort();
		memcpy(buf + s.in_len, data + cut, size - cut);
		s.in_len += size - cut;
		tcp_stream_parse(&s, &a.base, accept_frame, no_answer, &a, &count);
	}
	gvm_handshake_end(&s.hs);
}

static void quiet(int level, const char *line)
{
	(void)level, (void)line;
}

static void bounded(const char *why, size_t cap)
{
	if (strnlen(why, cap) == cap)
		abort();
}

/*
 * Input: a frame header, a flags byte (1: compare hellos as acceptor,
 * 2: as dialer, 4: both ends have a cluster secret; the high 5 bits: where
 * the stream test splits its reads), the body, and, for the acceptor, a
 * second frame: the proof. No input may be admitted with a
 * secret, since it cannot know the key.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gvm_auth key;
	struct gvm_hello ours = {.proto = 1, .cluster_id = 1, .nodes = 4, .node = 0,
				 .page_shift = 12, .manager = 1};
	struct gvm_hello theirs;
	struct gvm_handshake hs;
	const struct gvm_auth *auth;
	char why[200], answer_why[TCP_REFUSAL_MAX + 1];
	uint8_t reply[GVM_ANSWER_LEN], proof[GVM_PROOF_LEN], offer[GVM_OFFER_LEN];
	uint32_t len, proof_len;
	uint8_t kind;
	int err;

	if (!key.flags) {
		gvm_auth_init(&key, "a fuzzing secret, 32 bytes long!", 32, GVM_AUTH_TAGS);
		gvm_os_log_set_sink(quiet);
	}
	if (size < TCP_HDR + 1)
		return 0;
	auth = data[TCP_HDR] & 4 ? &key : NULL;
	for (int handshake = 0; handshake < 2; handshake++) {
		const uint8_t *body = data + TCP_HDR + 1;
		size_t avail = size - TCP_HDR - 1;

		memset(&hs, 0, sizeof(hs)); /* as a new connection's */

		if (!tcp_frame_parse(data, handshake, &len, &kind))
			continue;
		if (len > (handshake ? TCP_HANDSHAKE_FRAME_MAX : TCP_MAX_MSG + GVM_TAG_LEN))
			abort();
		if (len > avail)
			len = (uint32_t)avail; /* the reader waits for the rest */
		err = tcp_hello_accept(&hs, auth, &ours, data[TCP_HDR] & 1, ours.nodes, kind,
				       body, len, &theirs, why, sizeof(why));
		if (!err && (theirs.node >= ours.nodes || theirs.node == ours.node))
			abort(); /* admitted an impossible node id */
		bounded(why, sizeof(why));
		if (!err && gvm_handshake_answer(&hs, &ours, reply) > 0 && auth) {
			const char *bad;
			size_t rest = avail - len;

			/* The proof: whatever follows the first frame. */
			if (!gvm_handshake_verify(&hs, body + len, rest < 64 ? rest : 64, &bad))
				abort(); /* admitted without the key */
		}
		gvm_handshake_end(&hs);
		gvm_handshake_offer(&hs, auth, &ours, offer);
		err = tcp_hello_answer(&hs, &ours, data[TCP_HDR] & 2, 1, kind, body, len, proof,
				       &proof_len, answer_why, sizeof(answer_why));
		if (!err && auth)
			abort(); /* an acceptor proved a key it cannot know */
		bounded(answer_why, sizeof(answer_why));
		gvm_handshake_end(&hs);
	}
	stream(data, size, auth, &ours);
	return 0;
}
