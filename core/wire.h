/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the one encoding of every engine message.
 *
 * Little-endian, explicit lengths, a protocol version in every header.
 *
 *   header (16 bytes)   u8 version | u8 type | u16 flags | u32 body_len | u64 page
 *   REQ          (32)   u32 requester | u16 hops | u8 access | u8 0
 *                       | u64 have_version | u64 tag | u32 req_id | u32 0
 *   GRANT_READ   (16)   u64 version | u32 req_id | u32 0     [page payload]
 *   GRANT_WRITE  (16)   u64 version | u32 copyset_bytes | u32 req_id
 *                       [copyset bytes] [page payload]
 *   INV          (16)   u64 version | u32 new_owner | u32 0
 *   ACK           (8)   u64 version
 *   BARRIER       (8)   u64 epoch      (page 0)   node -> node 0
 *   BARRIER_DONE  (8)   u64 epoch      (page 0)   node 0 -> every node
 *   OWNED         (8)   u64 version    new owner -> manager: the transfer is done
 *   NACK         (16)   u64 req_id | u32 lost_with | u32 0
 *                                  -> requester: the page went with that node
 *   PROBE         (8)   u64 req_id     requester -> manager, after a death
 *   RETRY         (8)   u64 req_id     manager -> requester: send it again
 *   RECLAIM      (16)   u64 0 | u32 dead | u32 0   manager -> node: do you own it?
 *   LOST          (8)   u64 0          node -> manager: I do not
 *   DOWN         (16)   u64 left | u32 dead | u32 0   (page 0) a node is gone
 *                                                (left: 1 if in good order)
 *   PROMOTE      (16)   u64 version | u32 slot | u32 req_id
 *                       owner -> node: the page lives in window slot `slot`
 *                       (req_id 0: told to all; else the answer to a REQ)
 *   KEPT         (16)   u64 version | u32 requester | u32 0
 *                       owner -> manager: the write routed for requester got
 *                       the page's slot; no transfer, the owner stays
 *
 * body_len counts everything after the header, payload included. A page
 * payload is present exactly when GVM_WF_PAYLOAD is set, and is then one
 * page long. gvm_wire_decode() checks every field against the cluster's
 * geometry before any of it reaches protocol state.
 */
#ifndef GVM_WIRE_H
#define GVM_WIRE_H

#include <gvm/transport.h>

#include "os/gvm_os.h"

#define GVM_WIRE_VERSION 1u
#define GVM_WIRE_HDR_LEN 16u
/* Header plus the longest fixed body: the most a message has before its
 * copyset and payload. */
#define GVM_WIRE_FIXED_MAX (GVM_WIRE_HDR_LEN + 32u)
/* Longest forwarding chain accepted for one request (dynamic manager). */
#define GVM_WIRE_MAX_HOPS 0xffffu

enum gvm_msg_type {
	GVM_MSG_REQ = 1,
	GVM_MSG_GRANT_READ = 2,
	GVM_MSG_GRANT_WRITE = 3,
	GVM_MSG_INV = 4,
	GVM_MSG_ACK = 5,
	GVM_MSG_BARRIER = 6,
	GVM_MSG_BARRIER_DONE = 7,
	GVM_MSG_OWNED = 8,
	GVM_MSG_NACK = 9,
	GVM_MSG_PROBE = 10,
	GVM_MSG_RETRY = 11,
	GVM_MSG_RECLAIM = 12,
	GVM_MSG_LOST = 13,
	GVM_MSG_DOWN = 14,
	GVM_MSG_PROMOTE = 15,
	GVM_MSG_KEPT = 16,
	GVM_MSG_TYPE_MAX = GVM_MSG_KEPT,
};

/* Header flags. */
#define GVM_WF_PAYLOAD   0x1u /* GRANT_*: a page follows */
#define GVM_WF_HAVE_COPY 0x2u /* REQ: have_version names a copy we hold */
#define GVM_WF_ROUTED    0x4u /* REQ: already passed through the manager */

/* Limits a decoder checks a message against. */
struct gvm_wire_geom {
	uint32_t nodes;
	uint32_t page_size;
	uint64_t npages;
	uint32_t slots; /* pages the shared window holds (0: none) */
};

/* A decoded message: pointers refer into the received buffer. */
struct gvm_msg {
	uint8_t type;
	uint16_t flags;
	gvm_page_t page;
	uint64_t version;      /* GRANT_*, INV, ACK, OWNED, PROMOTE; REQ: have_version;
				  BARRIER*: epoch; NACK, PROBE, RETRY: req_id */
	uint64_t tag;          /* REQ: version the hint was learnt at */
	uint32_t req_id;       /* REQ, GRANT_*, PROMOTE: the requester's attempt */
	uint32_t slot;         /* PROMOTE: index in the shared window */
	gvm_node_id node;      /* REQ: requester; INV: new owner;
				  RECLAIM, DOWN: the dead node;
				  KEPT: the requester */
	uint16_t hops;         /* REQ */
	uint8_t access;        /* REQ: enum gvm_access */
	const uint8_t *copyset; /* GRANT_WRITE: wire bitmap of geom.nodes */
	const void *payload;   /* GRANT_*: page_size bytes, or NULL */
};

/*
 * Decode and validate buf[0..len). Returns 0 and fills *m, or -EPROTO with
 * a static description of the first problem in *why.
 */
int gvm_wire_decode(const struct gvm_wire_geom *g, const void *buf, size_t len,
		    struct gvm_msg *m, const char **why);

/*
 * Encode everything but the payload of m into out (at least
 * GVM_WIRE_FIXED_MAX + copyset bytes long). payload_len is the length of
 * the payload that will follow as a separate iov (0 or one page). Returns
 * the number of bytes written.
 */
size_t gvm_wire_encode(const struct gvm_wire_geom *g, const struct gvm_msg *m,
		       uint32_t payload_len, void *out);

const char *gvm_wire_type_name(uint8_t type);

#endif /* GVM_WIRE_H */
