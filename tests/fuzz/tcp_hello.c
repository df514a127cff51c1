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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gvm_hello ours = {.proto = 1, .cluster_id = 1, .nodes = 4, .node = 0,
				 .page_shift = 12, .manager = 0};
	struct gvm_hello theirs;
	char why[200], answer_why[TCP_REFUSAL_MAX + 1];
	uint32_t len;
	uint8_t kind;

	if (size < TCP_HDR + 1)
		return 0;
	for (int handshake = 0; handshake < 2; handshake++) {
		const uint8_t *body = data + TCP_HDR + 1;
		size_t avail = size - TCP_HDR - 1;

		if (!tcp_frame_parse(data, handshake, &len, &kind))
			continue;
		if (len > (handshake ? TCP_HANDSHAKE_FRAME_MAX : TCP_MAX_MSG))
			abort();
		if (len > avail)
			len = (uint32_t)avail; /* the reader waits for the rest */
		if (!tcp_hello_accept(&ours, data[TCP_HDR] & 1, ours.nodes, kind, body, len,
				      &theirs, why, sizeof(why)) &&
		    (theirs.node >= ours.nodes || theirs.node == ours.node))
			abort(); /* admitted an impossible node id */
		bounded(why, sizeof(why));
		tcp_hello_answer(&ours, data[TCP_HDR] & 2, 1, kind, body, len, answer_why,
				 sizeof(answer_why));
		bounded(answer_why, sizeof(answer_why));
	}
	return 0;
}
