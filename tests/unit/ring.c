// SPDX-License-Identifier: MIT
/*
 * Description: the CXL backend's ring (transports/cxl/ring.h): messages of
 * every size wrap around the end of the ring intact; a full ring pushes
 * back and frees up as the consumer reads; a message spans the whole ring;
 * large messages go through the payload area, wrapping and pushing back
 * there too; a slot left from an earlier lap is never taken for a
 * message; a bad header, a torn message, a payload position out of step or
 * a head out of range is refused with a reason; and a producer and a
 * consumer thread keep every sequence number in order (built again under
 * ThreadSanitizer by make check).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/cxl/ring.h"
#include "helpers.h"

/* Where messages are received: the largest ring here is 64 slots. */
static uint8_t out[64 * CXL_SLOT_DATA];

static void *ring_alloc(uint32_t nslots, uint32_t psize)
{
	void *m = aligned_alloc(CXL_LINE, cxl_ring_bytes(nslots, psize));

	if (!m)
		exit(2);
	cxl_ring_format(m, nslots, psize);
	return m;
}

/* A message of len bytes: u32 sequence, then bytes derived from it. */
static void fill(uint8_t *b, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 7 + i);
	if (len >= 4)
		memcpy(b, &seq, 4);
}

static bool same(const uint8_t *b, size_t len, uint32_t seq)
{
	uint8_t want[4096];

	fill(want, len, seq);
	return !memcmp(b, want, len);
}

static int send_msg(struct cxl_ring *r, const uint8_t *b, size_t len)
{
	/* Two iovs, as the engine sends: header, then payload. */
	struct gvm_iov iov[2] = {{b, len < 10 ? len : 10}, {b + (len < 10 ? len : 10), len < 10 ? 0 : len - 10}};
	const char *why;

	return cxl_ring_send(r, iov, 2, len, &why);
}

/* Sizes from 0 to several slots, thousands of laps of a 16-slot ring. */
static void wraparound(void)
{
	void *m = ring_alloc(16, 0);
	struct cxl_ring p, c;
	uint8_t in[512];
	const char *why;
	size_t len;
	int bad = 0;

	cxl_ring_attach(&p, m, 16, 0, CXL_SYNC_NONE);
	cxl_ring_attach(&c, m, 16, 0, CXL_SYNC_NONE);
	for (uint32_t k = 0; k < 20000; k++) {
		size_t l = (k * 37) % 300;

		fill(in, l, k);
		CHECK(send_msg(&p, in, l) == 0);
		if (cxl_ring_recv(&c, out, &len, &why) != 1 || len != l || !same(out, l, k))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(p.tail > 16 * 1000); /* it did lap the ring */
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 0);
	free(m);
}

/* Full: -EAGAIN with nothing written, room again once the consumer reads. */
static void full(void)
{
	void *m = ring_alloc(16, 0);
	struct cxl_ring p, c;
	uint8_t in[4096];
	const char *why;
	size_t len, big = cxl_ring_max_msg(16, 0);
	uint32_t sent = 0, got = 0;

	cxl_ring_attach(&p, m, 16, 0, CXL_SYNC_NONE);
	cxl_ring_attach(&c, m, 16, 0, CXL_SYNC_NONE);
	CHECK(cxl_ring_slots_for(100) == 2);
	for (;;) { /* 100-byte messages take 2 slots: 8 fit */
		fill(in, 100, sent);
		if (send_msg(&p, in, 100))
			break;
		sent++;
	}
	CHECK(sent == 8);
	CHECK(send_msg(&p, in, 0) == -EAGAIN);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 1 && len == 100 && same(out, 100, got));
	got++;
	/* The consumer's head reaches the producer only when it looks. */
	fill(in, 100, sent);
	CHECK(send_msg(&p, in, 100) == 0);
	sent++;
	while (cxl_ring_recv(&c, out, &len, &why) == 1) {
		CHECK(len == 100 && same(out, 100, got));
		got++;
	}
	CHECK(got == sent);
	/* Larger than the ring: refused outright. */
	CHECK(send_msg(&p, in, big + 1) == -EMSGSIZE);
	free(m);
}

/* One message as large as the ring, across its end. */
static void spanning(void)
{
	void *m = ring_alloc(64, 0);
	struct cxl_ring p, c;
	size_t big = cxl_ring_max_msg(64, 0), len;
	uint8_t *in = malloc(big), small[40];
	const char *why;

	cxl_ring_attach(&p, m, 64, 0, CXL_SYNC_NONE);
	cxl_ring_attach(&c, m, 64, 0, CXL_SYNC_NONE);
	CHECK(cxl_ring_slots_for(big) == 64);
	fill(small, sizeof(small), 1);
	CHECK(send_msg(&p, small, sizeof(small)) == 0); /* start mid-ring */
	for (size_t i = 0; i < big; i++)
		in[i] = (uint8_t)(i * 13 + 5);
	CHECK(send_msg(&p, in, big) == -EAGAIN); /* one slot is still taken */
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 1 && len == sizeof(small));
	CHECK(send_msg(&p, in, big) == 0);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 1 && len == big &&
	      !memcmp(in, out, big));
	free(in);
	free(m);
}

/* What a bad or confused producer leaves is refused, never delivered. */
static void untrusted(void)
{
	void *m = ring_alloc(16, 0);
	struct cxl_ring p, c, p2;
	uint8_t in[200], *slot;
	const char *why = NULL;
	size_t len;

	cxl_ring_attach(&p, m, 16, 0, CXL_SYNC_NONE);
	cxl_ring_attach(&c, m, 16, 0, CXL_SYNC_NONE);
	/* A full lap of 1-slot messages: stale stamps everywhere. */
	for (uint32_t k = 0; k < 16; k++) {
		fill(in, 20, k);
		CHECK(send_msg(&p, in, 20) == 0);
		CHECK(cxl_ring_recv(&c, out, &len, &why) == 1);
	}
	CHECK(!cxl_ring_ready(&c));
	/* A 3-slot message whose later slots carry an old stamp: torn. */
	fill(in, 150, 99);
	CHECK(send_msg(&p, in, 150) == 0);
	slot = (uint8_t *)m + sizeof(struct cxl_ring_ctl) + ((c.head + 2) & 15) * CXL_SLOT;
	(*(uint32_t *)(slot + CXL_SLOT_DATA))--;
	CHECK(cxl_ring_recv(&c, out, &len, &why) == -EPROTO && why && strstr(why, "torn"));
	(*(uint32_t *)(slot + CXL_SLOT_DATA))++;
	/* Header fields, one at a time. */
	slot = (uint8_t *)m + sizeof(struct cxl_ring_ctl) + (c.head & 15) * CXL_SLOT;
	slot[4] = 9;
	CHECK(cxl_ring_recv(&c, out, &len, &why) == -EPROTO && strstr(why, "kind"));
	slot[4] = CXL_KIND_MSG;
	slot[6] = 1;
	CHECK(cxl_ring_recv(&c, out, &len, &why) == -EPROTO && strstr(why, "reserved"));
	slot[6] = 0;
	memset(slot, 0xff, 4);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == -EPROTO && strstr(why, "length"));
	memcpy(slot, &(uint32_t){150}, 4);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 1 && len == 150 && same(out, 150, 99));
	/* A consumer whose head runs ahead of what was sent. */
	__atomic_store_n(&((struct cxl_ring_ctl *)m)->head, p.tail + 5, __ATOMIC_RELAXED);
	cxl_ring_attach(&p2, m, 16, 0, CXL_SYNC_NONE);
	p2.head_seen = 0;
	CHECK(send_msg(&p2, in, 20) == -EPROTO);
	free(m);
}

/* Large messages through a 1 KiB payload area: wrapping, back-pressure,
 * and positions a producer cannot fake. */
static void payload(void)
{
	void *m = ring_alloc(16, 1024);
	struct cxl_ring p, c;
	uint8_t in[600], *first;
	const char *why = NULL;
	size_t len;
	uint32_t got = 0, sent = 0;
	uint64_t pos;
	int bad = 0;

	cxl_ring_attach(&p, m, 16, 1024, CXL_SYNC_NONE);
	cxl_ring_attach(&c, m, 16, 1024, CXL_SYNC_NONE);
	CHECK(p.max_msg == 512);
	for (uint32_t k = 0; k < 5000; k++) { /* 233..512 bytes: every wrap point */
		size_t l = CXL_INLINE_MAX + 1 + (k * 53) % (512 - CXL_INLINE_MAX);

		fill(in, l, k);
		CHECK(send_msg(&p, in, l) == 0);
		if (cxl_ring_recv(&c, out, &len, &why) != 1 || len != l || !same(out, l, k))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(p.ptail > 1024 * 1000);
	/* Full payload area, free slots: -EAGAIN until the consumer reads. */
	for (;;) {
		fill(in, 400, sent);
		if (send_msg(&p, in, 400))
			break;
		sent++;
	}
	CHECK(sent == 2 && p.tail - c.head == 2); /* 2 x 400 of 1024; slots to spare */
	CHECK(send_msg(&p, in, 513) == -EMSGSIZE);
	while (cxl_ring_recv(&c, out, &len, &why) == 1)
		CHECK(len == 400 && same(out, 400, got++));
	CHECK(got == sent);
	/* A position out of step is refused, then the true one is taken. */
	fill(in, 300, 7);
	CHECK(send_msg(&p, in, 300) == 0);
	first = (uint8_t *)m + sizeof(struct cxl_ring_ctl) + (c.head & 15) * CXL_SLOT;
	memcpy(&pos, first + CXL_MSG_HDR, 8);
	memcpy(first + CXL_MSG_HDR, &(uint64_t){pos + 64}, 8);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == -EPROTO && strstr(why, "out of step"));
	memcpy(first + CXL_MSG_HDR, &pos, 8);
	CHECK(cxl_ring_recv(&c, out, &len, &why) == 1 && len == 300 && same(out, 300, 7));
	/* A ring without a payload area takes no payload messages. */
	first[4] = CXL_KIND_PAYLOAD;
	{
		void *m2 = ring_alloc(16, 0);
		struct cxl_ring c2;

		memcpy((uint8_t *)m2 + sizeof(struct cxl_ring_ctl), first, CXL_SLOT);
		cxl_ring_attach(&c2, m2, 16, 0, CXL_SYNC_NONE);
		c2.expect = __atomic_load_n((uint32_t *)(first + CXL_SLOT_DATA), __ATOMIC_RELAXED);
		CHECK(cxl_ring_recv(&c2, out, &len, &why) == -EPROTO && strstr(why, "kind"));
		free(m2);
	}
	/* A consumer whose payload head runs ahead of what was sent. */
	__atomic_store_n(&((struct cxl_ring_ctl *)m)->phead, p.ptail + 64, __ATOMIC_RELAXED);
	p.phead_seen = 0;
	CHECK(send_msg(&p, in, 500) == -EPROTO);
	free(m);
}

/* Flush mode moves the same bytes (here, on coherent memory). */
static void flushed(void)
{
	enum cxl_sync s = cxl_sync_detect();
	void *m = ring_alloc(16, 1024);
	struct cxl_ring p, c;
	uint8_t in[300];
	const char *why;
	size_t len;
	int bad = 0;

	if (s == CXL_SYNC_NONE) {
		free(m);
		return;
	}
	cxl_ring_attach(&p, m, 16, 1024, s);
	cxl_ring_attach(&c, m, 16, 1024, s);
	for (uint32_t k = 0; k < 2000; k++) {
		fill(in, k % 300, k);
		CHECK(send_msg(&p, in, k % 300) == 0);
		if (cxl_ring_recv(&c, out, &len, &why) != 1 || len != k % 300 ||
		    !same(out, len, k))
			bad++;
	}
	CHECK(bad == 0);
	free(m);
}

/* ==== Two threads ==== */

#define THREAD_MSGS 200000u

struct duo {
	void *mem;
	uint32_t errors;
};

static void *producer(void *arg)
{
	struct duo *d = arg;
	struct cxl_ring p;
	uint8_t in[600];

	cxl_ring_attach(&p, d->mem, 64, 2048, CXL_SYNC_NONE);
	for (uint32_t k = 0; k < THREAD_MSGS; k++) {
		size_t l = 4 + (k * 131) % 590;
		int err;

		fill(in, l, k);
		while ((err = send_msg(&p, in, l)) == -EAGAIN)
			sched_yield();
		if (err)
			d->errors++;
	}
	return NULL;
}

static void concurrent(void)
{
	struct duo d = {.mem = ring_alloc(64, 2048)};
	struct cxl_ring c;
	const char *why;
	uint32_t next = 0, bad = 0;
	pthread_t th;
	size_t len;

	cxl_ring_attach(&c, d.mem, 64, 2048, CXL_SYNC_NONE);
	pthread_create(&th, NULL, producer, &d);
	while (next < THREAD_MSGS) {
		int rc = cxl_ring_recv(&c, out, &len, &why);
		uint32_t seq;

		if (rc == 0) {
			sched_yield();
			continue;
		}
		memcpy(&seq, out, 4);
		if (rc != 1 || seq != next || len != 4 + (next * 131) % 590 ||
		    !same(out, len, next)) {
			fprintf(stderr, "message %u: rc %d, seq %u, len %zu\n", next, rc, seq, len);
			bad++;
			break;
		}
		next++;
	}
	pthread_join(th, NULL);
	CHECK(bad == 0 && d.errors == 0 && next == THREAD_MSGS);
	free(d.mem);
}

int main(void)
{
	wraparound();
	full();
	spanning();
	untrusted();
	payload();
	flushed();
	concurrent();
	return test_exit("cxl ring");
}
