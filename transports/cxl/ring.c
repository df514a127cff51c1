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

void cxl_ring_format(void *base, uint32_t nslots, uint32_t psize)
{
	memset(base, 0, cxl_ring_bytes(nslots, psize));
}

void cxl_ring_attach(struct cxl_ring *r, void *base, uint32_t nslots,
		     uint32_t psize, enum cxl_sync sync)
{
	memset(r, 0, sizeof(*r));
	r->ctl = base;
	r->slots = (uint8_t *)base + sizeof(struct cxl_ring_ctl);
	r->payload = r->slots + (size_t)nslots * CXL_SLOT;
	r->nslots = nslots;
	r->psize = psize;
	r->max_msg = cxl_ring_max_msg(nslots, psize);
	r->sync = sync;
	cxl_invalidate(sync, r->ctl, sizeof(*r->ctl));
	r->tail = __atomic_load_n(&r->ctl->tail, __ATOMIC_ACQUIRE);
	r->stamp = __atomic_load_n(&r->ctl->tail_stamp, __ATOMIC_RELAXED);
	r->ptail = __atomic_load_n(&r->ctl->ptail, __ATOMIC_RELAXED);
	r->head = __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
	r->expect = cxl_stamp_next(__atomic_load_n(&r->ctl->head_stamp, __ATOMIC_RELAXED));
	r->phead = __atomic_load_n(&r->ctl->phead, __ATOMIC_RELAXED);
	r->head_seen = r->head;
	r->phead_seen = r->phead;
}

/* Where a len-byte message goes after position pos: there, or at the start
 * of the area if it would cross the end. */
static uint64_t payload_start(const struct cxl_ring *r, uint64_t pos, size_t len)
{
	if (pos % r->psize + len > r->psize)
		pos += r->psize - pos % r->psize;
	return pos;
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

/*
 * Is there room up to position end, the consumer having freed what it
 * published in *pub (at most span behind sent, what we published)? The
 * consumer's word is read only when our last view of it, *seen, says no.
 * Returns 0, -EAGAIN, or -EPROTO for a position out of range.
 */
static int room(const struct cxl_ring *r, uint64_t *pub, uint64_t sent,
		uint64_t end, uint64_t span, uint64_t *seen)
{
	uint64_t v;

	if (end - *seen <= span)
		return 0;
	cxl_invalidate(r->sync, pub, sizeof(*pub));
	v = __atomic_load_n(pub, __ATOMIC_ACQUIRE);
	if (v > sent || sent - v > span)
		return -EPROTO;
	*seen = v;
	return end - v > span ? -EAGAIN : 0;
}

int cxl_ring_send(struct cxl_ring *r, const struct gvm_iov *iov,
		  unsigned int iovcnt, size_t len, const char **why)
{
	bool big = r->psize && len > CXL_INLINE_MAX;
	uint32_t n = big ? 1 : cxl_ring_slots_for(len), off = CXL_MSG_HDR, stamp;
	uint64_t pos, start = 0;
	uint8_t *first;
	int err;

	if (len > r->max_msg || n > r->nslots)
		return -EMSGSIZE;
	err = room(r, &r->ctl->head, r->tail, r->tail + n, r->nslots, &r->head_seen);
	if (err == -EPROTO)
		*why = "its ring head is out of range";
	if (!err && big) {
		start = payload_start(r, r->ptail, len);
		err = room(r, &r->ctl->phead, r->ptail, start + len, r->psize, &r->phead_seen);
		if (err == -EPROTO)
			*why = "its payload head is out of range";
	}
	if (err)
		return err;
	stamp = cxl_stamp_next(r->stamp);
	first = slot_at(r, r->tail);
	first[0] = (uint8_t)len;
	first[1] = (uint8_t)(len >> 8);
	first[2] = (uint8_t)(len >> 16);
	first[3] = (uint8_t)(len >> 24);
	first[4] = big ? CXL_KIND_PAYLOAD : CXL_KIND_MSG;
	first[5] = first[6] = first[7] = 0;
	if (big) {
		uint8_t *dst = r->payload + start % r->psize;

		for (unsigned int i = 0; i < iovcnt; i++)
			if (iov[i].len) {
				memcpy(dst, iov[i].base, iov[i].len);
				dst += iov[i].len;
			}
		cxl_write_back(r->sync, r->payload + start % r->psize, len);
		memcpy(first + CXL_MSG_HDR, &start, sizeof(start));
		r->ptail = start + len;
		__atomic_store_n(&r->ctl->ptail, r->ptail, __ATOMIC_RELAXED);
	} else {
		pos = r->tail;
		for (unsigned int i = 0; i < iovcnt; i++)
			put(r, &pos, &off, stamp, iov[i].base, iov[i].len);
	}
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
	if (h[4] != CXL_KIND_MSG && (h[4] != CXL_KIND_PAYLOAD || !r->psize)) {
		*why = "unknown message kind";
		return -EPROTO;
	}
	if (mlen > r->max_msg) {
		*why = "message length above the ring's maximum";
		return -EPROTO;
	}
	if (h[4] == CXL_KIND_PAYLOAD) {
		uint64_t start;

		memcpy(&start, first + CXL_MSG_HDR, sizeof(start));
		if (start != payload_start(r, r->phead, mlen)) {
			*why = "payload position out of step";
			return -EPROTO;
		}
		cxl_invalidate(r->sync, r->payload + start % r->psize, mlen);
		memcpy(buf, r->payload + start % r->psize, mlen);
		r->phead = start + mlen;
		__atomic_store_n(&r->ctl->phead, r->phead, __ATOMIC_RELEASE);
		n = 1;
	} else {
		n = cxl_ring_slots_for(mlen);
		if (n > r->nslots) {
			*why = "message longer than the ring";
			return -EPROTO;
		}
		slot_runs(r, r->head + 1, n - 1, cxl_invalidate);
		if (!get(r, r->head, CXL_MSG_HDR, buf, mlen)) {
			*why = "torn message: its length runs past the slots written";
			return -EPROTO;
		}
	}
	r->head += n;
	__atomic_store_n(&r->ctl->head_stamp, r->expect, __ATOMIC_RELAXED);
	__atomic_store_n(&r->ctl->head, r->head, __ATOMIC_RELEASE);
	cxl_write_back(r->sync, &r->ctl->head, CXL_LINE);
	r->expect = cxl_stamp_next(r->expect);
	*len = mlen;
	return 1;
}
