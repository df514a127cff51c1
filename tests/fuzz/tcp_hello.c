// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the TCP backend's frame header and handshake verdicts
 * (transports/tcp/frame.h, shared by the userspace and kernel halves),
 * as a stranger's first bytes meet them: the acceptor's verdict on a
 * dialer's first frame, the dialer's verdict on the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/tcp/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bounded(const char *why, size_t cap)
{
	if (strnlen(why, cap) == cap)
		abort();
}

/*
 * Input: a frame header, a flags byte (1: compare hellos as acceptor,
 * 2: as dialer, 4: both ends have a cluster secret), the body, and, for
 * the acceptor, a second frame: the proof. No input may be admitted with a
 * secret, since it cannot know the key.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gvm_auth key;
	struct gvm_hello ours = {.proto = 1, .cluster_id = 1, .nodes = 4, .node = 0,
				 .page_shift = 12, .manager = 0};
	struct gvm_hello theirs;
	struct gvm_handshake hs;
	const struct gvm_auth *auth;
	char why[200], answer_why[TCP_REFUSAL_MAX + 1];
	uint8_t reply[GVM_ANSWER_LEN], proof[GVM_PROOF_LEN], offer[GVM_OFFER_LEN];
	uint32_t len, proof_len;
	uint8_t kind;
	int err;

	if (!key.flags)
		gvm_auth_init(&key, "a fuzzing secret, 32 bytes long!", 32, GVM_AUTH_TAGS);
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
	return 0;
}
