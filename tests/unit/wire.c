// SPDX-License-Identifier: MIT
/*
 * Description: the wire codec round-trips every message type, rejects each
 * kind of malformed field with a reason, and survives random corruption
 * of valid messages (run under ASan by make check).
 */
#include <string.h>

#include "bitmap.h"
#include "helpers.h"
#include "wire.h"

static const struct gvm_wire_geom geom = {
	.nodes = 13, .page_size = 256, .npages = 100, .slots = 26};
static uint8_t page[256];
static uint8_t cs[2] = {0x05, 0x10}; /* nodes 0, 2, 12 */

/* Encode m (with a payload if it has the flag) into buf; returns length. */
static size_t build(const struct gvm_msg *m, uint8_t *buf)
{
	uint32_t plen = (m->flags & GVM_WF_PAYLOAD) ? geom.page_size : 0;
	size_t len = gvm_wire_encode(&geom, m, plen, buf);

	memcpy(buf + len, page, plen);
	return len + plen;
}

static int decode(const uint8_t *buf, size_t len, struct gvm_msg *out)
{
	const char *why = NULL;
	int err = gvm_wire_decode(&geom, buf, len, out, &why);

	if (err)
		CHECK(why != NULL);
	return err;
}

static void round_trips(void)
{
	struct gvm_msg in[] = {
		{.type = GVM_MSG_REQ, .flags = GVM_WF_HAVE_COPY | GVM_WF_ROUTED,
		 .page = 99, .version = 7, .tag = 1ull << 40, .node = 12,
		 .hops = 3, .access = GVM_ACCESS_WRITE, .req_id = 0xdeadbeef},
		{.type = GVM_MSG_REQ, .page = 0, .node = 0,
		 .access = GVM_ACCESS_READ},
		{.type = GVM_MSG_GRANT_READ, .flags = GVM_WF_PAYLOAD, .page = 5,
		 .version = 2, .req_id = 77},
		{.type = GVM_MSG_GRANT_READ, .page = 5, .version = 2},
		{.type = GVM_MSG_GRANT_WRITE, .flags = GVM_WF_PAYLOAD, .page = 6,
		 .version = ~0ull, .copyset = cs, .req_id = 5},
		{.type = GVM_MSG_INV, .page = 7, .version = 3, .node = 4},
		{.type = GVM_MSG_ACK, .page = 8, .version = 4},
		{.type = GVM_MSG_OWNED, .page = 9, .version = 4},
		{.type = GVM_MSG_NACK, .page = 9, .version = 12},
		{.type = GVM_MSG_PROBE, .page = 9, .version = 13},
		{.type = GVM_MSG_RETRY, .page = 9, .version = 13},
		{.type = GVM_MSG_RECLAIM, .page = 9, .node = 11},
		{.type = GVM_MSG_LOST, .page = 9},
		{.type = GVM_MSG_DOWN, .page = 0, .node = 3},
		{.type = GVM_MSG_PROMOTE, .page = 9, .version = 3, .slot = 25,
		 .req_id = 4},
		{.type = GVM_MSG_KEPT, .page = 9, .version = 3, .node = 12},
	};
	uint8_t buf[512];

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct gvm_msg out;
		size_t len = build(&in[i], buf);

		CHECK(decode(buf, len, &out) == 0);
		CHECK(out.type == in[i].type && out.flags == in[i].flags);
		CHECK(out.page == in[i].page && out.version == in[i].version);
		CHECK(out.req_id == in[i].req_id);
		if (in[i].type == GVM_MSG_REQ) {
			CHECK(out.node == in[i].node && out.tag == in[i].tag);
			CHECK(out.hops == in[i].hops &&
			      out.access == in[i].access);
		}
		if (in[i].type == GVM_MSG_INV || in[i].type == GVM_MSG_RECLAIM ||
		    in[i].type == GVM_MSG_DOWN || in[i].type == GVM_MSG_KEPT)
			CHECK(out.node == in[i].node);
		if (in[i].type == GVM_MSG_PROMOTE)
			CHECK(out.slot == in[i].slot);
		if (in[i].type == GVM_MSG_GRANT_WRITE)
			CHECK(out.copyset && !memcmp(out.copyset, cs, 2));
		CHECK(!!out.payload == !!(in[i].flags & GVM_WF_PAYLOAD));
		if (out.payload)
			CHECK(!memcmp(out.payload, page, sizeof(page)));
	}
}

/* Each case breaks one field of a valid message. */
static void rejections(void)
{
	struct gvm_msg req = {.type = GVM_MSG_REQ, .page = 1, .node = 2,
			      .access = GVM_ACCESS_READ};
	struct gvm_msg gw = {.type = GVM_MSG_GRANT_WRITE,
			     .flags = GVM_WF_PAYLOAD, .page = 1, .version = 1,
			     .copyset = cs};
	struct gvm_msg gr = {.type = GVM_MSG_GRANT_READ, .page = 1, .version = 1};
	struct gvm_msg down = {.type = GVM_MSG_DOWN, .node = 2};
	struct gvm_msg promote = {.type = GVM_MSG_PROMOTE, .page = 1, .version = 1};
	struct gvm_msg kept = {.type = GVM_MSG_KEPT, .page = 1, .version = 1};
	struct gvm_wire_geom no_window = geom;
	const char *why;
	uint8_t buf[512];
	struct gvm_msg out;
	size_t len;

#define BROKEN(msg, mutate)                                                   \
	do {                                                                  \
		len = build(&(msg), buf);                                     \
		mutate;                                                       \
		CHECK(decode(buf, len, &out) == -EPROTO);                     \
	} while (0)

	BROKEN(req, len = 10);                     /* shorter than a header */
	BROKEN(req, buf[0] = 2);                   /* protocol version */
	BROKEN(req, buf[1] = 0);                   /* type 0 */
	BROKEN(req, buf[1] = 99);                  /* unknown type */
	BROKEN(req, buf[2] = GVM_WF_PAYLOAD);      /* flag foreign to REQ */
	BROKEN(req, buf[4]++);                     /* length field */
	BROKEN(req, len--);                        /* truncated */
	BROKEN(req, buf[8] = 100);                 /* page out of range */
	BROKEN(req, buf[16] = 13);                 /* requester out of range */
	BROKEN(req, buf[22] = 3);                  /* access kind */
	BROKEN(req, buf[23] = 1);                  /* reserved byte */
	BROKEN(req, buf[24] = 1);                  /* version without a copy */
	BROKEN(req, buf[44] = 1);                  /* reserved after req_id */
	BROKEN(gr, buf[28] = 1);                   /* reserved after req_id */
	BROKEN(gw, buf[16] = 0);                   /* version zero */
	BROKEN(gw, buf[24] = 3);                   /* copyset size */
	BROKEN(down, buf[24] = 13);                /* dead node out of range */
	BROKEN(down, buf[28] = 1);                 /* reserved field */
	BROKEN(gw, buf[33] = 0x20);                /* node 13 does not exist */
	BROKEN(gw, buf[4]--; len--);               /* payload one byte short */
	BROKEN(gw, buf[2] = 0);                    /* no payload: trailing bytes */
	BROKEN(promote, buf[24] = 26);             /* slot out of range */
	BROKEN(promote, buf[16] = 0);              /* version zero */
	BROKEN(kept, buf[24] = 13);                /* requester out of range */
	BROKEN(kept, buf[28] = 1);                 /* reserved field */
#undef BROKEN
	/* A node without a window accepts no promotion at all. */
	no_window.slots = 0;
	len = build(&promote, buf);
	CHECK(gvm_wire_decode(&no_window, buf, len, &out, &why) == -EPROTO);
	CHECK(strstr(why, "without a shared window"));
}

/* Corrupt valid messages at random: decode must fail cleanly or succeed
 * with every field in range. */
static void corruption(void)
{
	struct gvm_msg gw = {.type = GVM_MSG_GRANT_WRITE,
			     .flags = GVM_WF_PAYLOAD, .page = 1, .version = 1,
			     .copyset = cs};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[512];

	for (int i = 0; i < 200000; i++) {
		struct gvm_msg out;
		size_t len = build(&gw, buf);
		int flips = 1 + i % 3;

		for (int f = 0; f < flips; f++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[x % len] ^= (uint8_t)(x >> 32) | 1;
		}
		if (i % 5 == 0)
			len = (x >> 40) % (len + 1);
		if (decode(buf, len, &out) == 0) {
			CHECK(out.page < geom.npages);
			CHECK(out.type >= 1 && out.type <= GVM_MSG_TYPE_MAX);
			if (out.payload)
				CHECK((const uint8_t *)out.payload + geom.page_size <=
				      buf + len);
		}
	}
}

int main(void)
{
	round_trips();
	rejections();
	corruption();
	return test_exit("unit-wire");
}
