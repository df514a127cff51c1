/* SPDX-License-Identifier: MIT */
/*
 * ring.h - one single-producer / single-consumer ring of the CXL backend,
 * in shared memory (layout.h), seen from one side.
 *
 * A message takes consecutive slots (wrapping at the end of the ring): the
 * first starts with the 8-byte header, each carries 60 bytes of message and
 * then the message's stamp. Stamps count messages (1, 2, ... skipping 0), so
 * a slot left from an earlier lap never carries the stamp the consumer
 * waits for, whatever its bytes. The producer writes every other slot of a
 * message before the first one's stamp (release), so a message whose first
 * slot is stamped and whose later slots are not was never written whole:
 * malformed, like a bad header.
 *
 * A message longer than CXL_INLINE_MAX goes to the ring's payload area
 * instead, in one piece (one memcpy each way): the first slot then holds
 * its header and the position it starts at. Positions grow without end; a
 * message that would cross the end of the area starts at its beginning,
 * so the consumer, who knows where the last one ended, knows where the
 * next must start. A message up to half the area always fits once the
 * consumer has caught up.
 *
 * The consumer publishes how far it has read (head, phead); the producer
 * reads them only when its last view shows too little room. Nothing a
 * peer wrote is trusted: a bad header, a torn message, a payload position
 * out of step or a head out of range is refused with a reason, and the
 * caller closes that peer.
 */
#ifndef GVM_CXL_RING_H
#define GVM_CXL_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gvm/transport.h>

#include "flush.h"
#include "layout.h"

/* Longer messages go to the payload area, when the ring has one. */
#define CXL_INLINE_MAX (4 * CXL_SLOT_DATA - CXL_MSG_HDR)

struct cxl_ring {
	struct cxl_ring_ctl *ctl;
	uint8_t *slots;
	uint8_t *payload;
	uint32_t nslots; /* a power of two */
	uint32_t psize;  /* bytes of payload area, a multiple of 64; 0: none */
	uint32_t max_msg;
	enum cxl_sync sync;
	/* Producer side, private. */
	uint64_t tail, head_seen, ptail, phead_seen;
	uint32_t stamp; /* last used */
	/* Consumer side, private. */
	uint64_t head, phead;
	uint32_t expect; /* stamp of the next message */
};

/* Bytes of a ring: control, nslots slots, psize bytes of payload area. */
static inline uint64_t cxl_ring_bytes(uint32_t nslots, uint32_t psize)
{
	return sizeof(struct cxl_ring_ctl) + (uint64_t)nslots * CXL_SLOT + psize;
}

/* The largest message a ring carries: half its payload area, or with none
 * the whole slot array. */
static inline uint32_t cxl_ring_max_msg(uint32_t nslots, uint32_t psize)
{
	uint64_t m = (uint64_t)nslots * CXL_SLOT_DATA - CXL_MSG_HDR;

	if (psize)
		return psize / 2;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* Slots a message of len bytes takes. */
static inline uint32_t cxl_ring_slots_for(size_t len)
{
	return (uint32_t)((len + CXL_MSG_HDR + CXL_SLOT_DATA - 1) / CXL_SLOT_DATA);
}

static inline uint32_t cxl_stamp_next(uint32_t s)
{
	return s + 1 ? s + 1 : 1;
}

/*
 * A view of the ring at base (cxl_ring_bytes(nslots, psize) bytes), taking
 * up the positions its control words record, so a node that takes over an
 * id carries on where its predecessor stopped.
 */
void cxl_ring_attach(struct cxl_ring *r, void *base, uint32_t nslots,
		     uint32_t psize, enum cxl_sync sync);

/* Lay out an empty ring at base (no one may be using it). */
void cxl_ring_format(void *base, uint32_t nslots, uint32_t psize);

/*
 * Producer: copy the message iov[0..iovcnt) (len bytes in all) into the
 * ring. Returns 0; -EAGAIN when there is no room yet (nothing written);
 * -EMSGSIZE above max_msg; -EPROTO, with *why, when the consumer's head is
 * out of range (a bad peer).
 */
int cxl_ring_send(struct cxl_ring *r, const struct gvm_iov *iov,
		  unsigned int iovcnt, size_t len, const char **why);

/* Consumer: whether the next message's first slot is stamped. */
static inline bool cxl_ring_ready(const struct cxl_ring *r)
{
	const uint8_t *slot = r->slots + (r->head & (r->nslots - 1)) * CXL_SLOT;

	cxl_invalidate(r->sync, slot, CXL_SLOT);
	return __atomic_load_n((const uint32_t *)(slot + CXL_SLOT_DATA),
			       __ATOMIC_ACQUIRE) == r->expect;
}

/*
 * Consumer: copy the next message into buf (r->max_msg bytes) and free its
 * slots and payload. Returns 1 with *len set, 0 if there is none, or -EPROTO with *why
 * for a malformed message (the ring is then left as it is).
 */
int cxl_ring_recv(struct cxl_ring *r, void *buf, size_t *len,
		  const char **why);

#endif /* GVM_CXL_RING_H */
