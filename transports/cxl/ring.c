// SPDX-License-Identifier: MIT
/*
 * ring.c - the CXL backend's single-producer / single-consumer rings
 * (ring.h): one message over consecutive 64-byte slots, stamped.
 */
#include <errno.h>
#include <string.h>

#include "ring.h"

static uint8_t *slot_at(const struct cxl_ring *r, uint64_t pos)
{
	return r->slots + (pos & (r->nslots - 1)) * CXL_SLOT;
}

static uint32_t *stamp_at(const struct cxl_ring *r, uint64_t pos)
{
	return (uint32_t *)(slot_at(r, pos) + CXL_SLOT_DATA);
}

/* Slots [pos, pos + n) may wrap: apply op to the one or two runs. */
static void slot_runs(const struct cxl_ring *r, uint64_t pos, uint32_t n,
		      void (*op)(enum cxl_sync, const void *, size_t))
{
	uint32_t first = (uint32_t)(pos & (r->nslots - 1));
	uint32_t run = n < r->nslots - first ? n : r->nslots - first;

	if (r->sync == CXL_SYNC_NONE || !n)
		return;
	op(r->sync, slot_at(r, pos), (size_t)run * CXL_SLOT);
	if (n > run)
		op(r->sync, r->slots, (size_t)(n - run) * CXL_SLOT);
}

void cxl_ring_format(void *base, uint32_t nslots)
{
	memset(base, 0, cxl_ring_bytes(nslots));
}

void cxl_ring_attach(struct cxl_ring *r, void *base, uint32_t nslots,
		     enum cxl_sync sync)
{
	memset(r, 0, sizeof(*r));
	r->ctl = base;
	r->slots = (uint8_t *)base + sizeof(struct cxl_ring_ctl);
	r->nslots = nslots;
	r->max_msg = cxl_ring_max_msg(nslots);
	r->sync = sync;
	cxl_invalidate(sync, r->ctl, sizeof(*r->ctl));
	r->tail = __atomic_load_n(&r->ctl->tail, __ATOMIC_ACQUIRE);
	r->stamp = __atomic_load_n(&r->ctl->tail_stamp, __ATOMIC_RELAXED);
	r->head = __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
	r->expect = cxl_stamp_next(__atomic_load_n(&r->ctl->head_stamp, __ATOMIC_RELAXED));
	r->head_seen = r->head;
}

/*
 * Copy len bytes from src into the message at (*pos, *off), stamping each
 * later slot as it starts. Whole slots go with a fixed-size copy the
 * compiler inlines: a page is 69 of them.
 */
static void put(const struct cxl_ring *r, uint64_t *pos, uint32_t *off,
		uint32_t stamp, const uint8_t *src, size_t len)
{
	while (len) {
		size_t n = CXL_SLOT_DATA - *off;

		if (!*off) /* entering a later slot: stamp it (the first goes last) */
			__atomic_store_n(stamp_at(r, *pos), stamp, __ATOMIC_RELAXED);
		if (!*off && len >= CXL_SLOT_DATA) {
			memcpy(slot_at(r, (*pos)++), src, CXL_SLOT_DATA);
			src += CXL_SLOT_DATA;
			len -= CXL_SLOT_DATA;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(slot_at(r, *pos) + *off, src, n);
		src += n;
		len -= n;
		*off += (uint32_t)n;
		if (*off == CXL_SLOT_DATA) {
			++*pos;
			*off = 0;
		}
	}
}

/*
 * Copy len bytes of the message at (pos, off) out to dst, checking each
 * later slot's stamp before its bytes. Returns false for a torn message.
 */
static bool get(const struct cxl_ring *r, uint64_t pos, uint32_t off,
		uint8_t *dst, size_t len)
{
	while (len) {
		if (!off && __atomic_load_n(stamp_at(r, pos), __ATOMIC_RELAXED) != r->expect)
			return false;
		if (!off && len >= CXL_SLOT_DATA) {
			memcpy(dst, slot_at(r, pos++), CXL_SLOT_DATA);
			dst += CXL_SLOT_DATA;
			len -= CXL_SLOT_DATA;
			continue;
		}
		size_t n = CXL_SLOT_DATA - off;

		if (n > len)
			n = len;
		memcpy(dst, slot_at(r, pos) + off, n);
		dst += n;
		len -= n;
		pos++;
		off = 0;
	}
	return true;
}

int cxl_ring_send(struct cxl_ring *r, const struct gvm_iov *iov,
		  unsigned int iovcnt, size_t len, const char **why)
{
	uint8_t *first;
	uint64_t pos;
	uint32_t n, off = CXL_MSG_HDR, stamp;

	if (len > r->max_msg)
		return -EMSGSIZE;
	n = cxl_ring_slots_for(len);
	if (r->tail + n - r->head_seen > r->nslots) {
		uint64_t head;

		cxl_invalidate(r->sync, &r->ctl->head, sizeof(r->ctl->head));
		head = __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
		if (head > r->tail || r->tail - head > r->nslots) {
			*why = "its ring head is out of range";
			return -EPROTO;
		}
		r->head_seen = head;
		if (r->tail + n - head > r->nslots)
			return -EAGAIN;
	}
	stamp = cxl_stamp_next(r->stamp);
	first = slot_at(r, r->tail);
	first[0] = (uint8_t)len;
	first[1] = (uint8_t)(len >> 8);
	first[2] = (uint8_t)(len >> 16);
	first[3] = (uint8_t)(len >> 24);
	first[4] = CXL_KIND_MSG;
	first[5] = first[6] = first[7] = 0;
	pos = r->tail;
	for (unsigned int i = 0; i < iovcnt; i++)
		put(r, &pos, &off, stamp, iov[i].base, iov[i].len);
	/* The rest of the message reaches memory before its first stamp. */
	slot_runs(r, r->tail, n, cxl_write_back);
	__atomic_store_n(stamp_at(r, r->tail), stamp, __ATOMIC_RELEASE);
	cxl_write_back(r->sync, first, CXL_SLOT);
	r->tail += n;
	r->stamp = stamp;
	__atomic_store_n(&r->ctl->tail, r->tail, __ATOMIC_RELAXED);
	__atomic_store_n(&r->ctl->tail_stamp, stamp, __ATOMIC_RELAXED);
	cxl_write_back(r->sync, r->ctl, CXL_LINE);
	return 0;
}

int cxl_ring_recv(struct cxl_ring *r, void *buf, size_t *len,
		  const char **why)
{
	const uint8_t *first = slot_at(r, r->head);
	uint8_t h[CXL_MSG_HDR];
	uint32_t mlen, n;

	if (!cxl_ring_ready(r))
		return 0;
	memcpy(h, first, sizeof(h)); /* once: the peer may change it */
	mlen = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 24;
	if (h[5] || h[6] || h[7]) {
		*why = "non-zero reserved byte in a message header";
		return -EPROTO;
	}
	if (h[4] != CXL_KIND_MSG) {
		*why = "unknown message kind";
		return -EPROTO;
	}
	if (mlen > r->max_msg) {
		*why = "message length above the ring's maximum";
		return -EPROTO;
	}
	n = cxl_ring_slots_for(mlen);
	slot_runs(r, r->head + 1, n - 1, cxl_invalidate);
	if (!get(r, r->head, CXL_MSG_HDR, buf, mlen)) {
		*why = "torn message: its length runs past the slots written";
		return -EPROTO;
	}
	r->head += n;
	__atomic_store_n(&r->ctl->head_stamp, r->expect, __ATOMIC_RELAXED);
	__atomic_store_n(&r->ctl->head, r->head, __ATOMIC_RELEASE);
	cxl_write_back(r->sync, &r->ctl->head, CXL_LINE);
	r->expect = cxl_stamp_next(r->expect);
	*len = mlen;
	return 1;
}
