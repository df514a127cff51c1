// SPDX-License-Identifier: MIT
/*
 * seeds DIR: write a starting corpus for each fuzz target into DIR/TARGET/,
 * made with the project's own encoders, so the seeds always match the
 * current wire formats: one engine message of every type, a hello and a
 * refusal frame, a CXL ring holding three messages, and engine programs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gvm/transport.h>

#include "../../transports/cxl/ring.h"
#include "../../transports/tcp/frame.h"
#include "wire.h"

static const char *top;

static void put(const char *target, int n, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%02d", top, target, n);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Every message type in the 4-node, 256-byte-page geometry the engine target uses. */
static size_t encode(uint8_t type, uint8_t *out)
{
	static const uint8_t copyset = 0x4; /* node 2 */
	struct gvm_wire_geom g = {.nodes = 4, .page_size = 256, .npages = 8, .slots = 8};
	struct gvm_msg m = {.type = type, .page = 3, .version = 2, .node = 1,
			    .access = GVM_ACCESS_READ, .req_id = 1, .slot = 2};
	uint32_t plen = 0;
	size_t n;

	if (type == GVM_MSG_GRANT_READ || type == GVM_MSG_GRANT_WRITE) {
		m.flags = GVM_WF_PAYLOAD;
		plen = g.page_size;
	}
	if (type == GVM_MSG_GRANT_WRITE)
		m.copyset = &copyset;
	n = gvm_wire_encode(&g, &m, plen, out);
	memset(out + n, 0x11, plen);
	return n + plen;
}

int main(int argc, char **argv)
{
	uint8_t buf[8192];

	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR\n");
		return 2;
	}
	top = argv[1];
	if (mkdir(top, 0755) && errno != EEXIST) {
		perror(top);
		return 1;
	}
	for (uint8_t t = 1; t <= GVM_MSG_TYPE_MAX; t++)
		put("wire", t, buf, encode(t, buf));

	{ /* header, a flags byte (which checks to make), body */
		struct gvm_hello h = {.proto = 1, .cluster_id = 1, .nodes = 4, .node = 1,
				      .page_shift = 12, .manager = 1};
		static const char why[] = "page size: 4096 at node 0, 8192 at node 1";
		size_t off, len;

		tcp_frame_header(buf, GVM_HELLO_LEN, TCP_HELLO);
		buf[TCP_HDR] = 3;
		gvm_hello_encode(&h, buf + TCP_HDR + 1);
		put("tcp_hello", 1, buf, TCP_HDR + 1 + GVM_HELLO_LEN);
		tcp_frame_header(buf, sizeof(why) - 1, TCP_REFUSE);
		buf[TCP_HDR] = 0;
		memcpy(buf + TCP_HDR + 1, why, sizeof(why) - 1);
		put("tcp_hello", 2, buf, TCP_HDR + sizeof(why));
		/* an offer with a nonce, as a node with a secret sends it, then a proof */
		tcp_frame_header(buf, GVM_OFFER_LEN, TCP_HELLO);
		buf[TCP_HDR] = 7;
		gvm_hello_encode(&h, buf + TCP_HDR + 1);
		memset(buf + TCP_HDR + 1 + GVM_HELLO_LEN, 0x5a, GVM_NONCE_LEN);
		memcpy(buf + TCP_HDR + 1 + GVM_HELLO_LEN + GVM_NONCE_LEN, "\1\0\0\0", 4);
		tcp_frame_header(buf + TCP_HDR + 1 + GVM_OFFER_LEN, GVM_PROOF_LEN, TCP_PROOF);
		memset(buf + 2 * TCP_HDR + 1 + GVM_OFFER_LEN, 0xa5, GVM_PROOF_LEN);
		put("tcp_hello", 3, buf, 2 * TCP_HDR + 1 + GVM_OFFER_LEN + GVM_PROOF_LEN);
		/* a stream without a secret: the hello, a message, a heartbeat, BYE */
		tcp_frame_header(buf, GVM_HELLO_LEN, TCP_HELLO);
		buf[TCP_HDR] = 3 | 0x80; /* split the stream's reads halfway */
		gvm_hello_encode(&h, buf + TCP_HDR + 1);
		off = TCP_HDR + 1 + GVM_HELLO_LEN;
		len = encode(GVM_MSG_ACK, buf + off + TCP_HDR);
		tcp_frame_header(buf + off, (uint32_t)len, TCP_MSG);
		off += TCP_HDR + len;
		tcp_frame_header(buf + off, 0, TCP_HEARTBEAT);
		off += TCP_HDR;
		tcp_frame_header(buf + off, 0, TCP_BYE);
		put("tcp_hello", 4, buf, off + TCP_HDR);
	}

	{ /* the ring image the target itself starts from, three messages in */
		static uint8_t mem[16 * CXL_SLOT + 1024 + 4096] __attribute__((aligned(64)));
		struct cxl_ring r;
		uint8_t msg[300];
		const char *why;

		memset(msg, 0x5a, sizeof(msg));
		cxl_ring_format(mem, 16, 1024);
		cxl_ring_attach(&r, mem, 16, 1024, CXL_SYNC_NONE);
		for (size_t len = 20; len <= sizeof(msg); len += 140) {
			struct gvm_iov iov = {msg, len};

			cxl_ring_send(&r, &iov, 1, len, &why);
		}
		put("cxl_ring", 1, mem, cxl_ring_bytes(16, 1024));
	}

	{ /* engine programs: accesses, deliveries, releases, injections */
		static const uint8_t plain[] = {0, 0x03, 0x1b, 0x2b, 0x7f, 0x7f, 0x80,
						0x7f, 0x80, 0x33, 0x7f, 0x7f, 0x80};
		size_t n = 0;

		put("engine", 1, plain, sizeof(plain));
		for (uint8_t t = 1; t <= GVM_MSG_TYPE_MAX; t++) {
			uint8_t msg[1024];
			size_t len = encode(t, msg);

			n = 0;
			buf[n++] = t % 3;
			buf[n++] = 0x13; /* node 1 reads page 3 */
			buf[n++] = 0x41;
			buf[n++] = 0xc0; /* inject */
			buf[n++] = (uint8_t)(t % 4 | ((t + 1) % 4) << 2);
			buf[n++] = (uint8_t)(len > 255 ? 255 : len);
			memcpy(buf + n, msg, len > 255 ? 255 : len);
			n += len > 255 ? 255 : len;
			buf[n++] = 0x7f;
			buf[n++] = 0x80;
			put("engine", 1 + t, buf, n);
		}
	}
	return 0;
}
