/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the CXL backend's shared region, as every node (and
 * gvm-cxl-info) sees it. All fields are little-endian host words; a peer
 * may write anything here, so readers load each field once and check it.
 *
 *   0       header (one 4 KiB page): magic, version, geometry, offsets
 *   4096    node table: nodes x 128 B (state, heartbeat, hello, doorbell)
 *   ring_off  nodes x (nodes - 1) rings, ring (i -> j) at
 *             ring_off + (i * (nodes - 1) + j - (j > i)) * ring_stride;
 *             each: 128 B of control (producer line, consumer line),
 *             `slots` slots of 64 B, then a payload area of `payload`
 *             bytes for messages too large for a few slots
 *   window_off  the engine's page window (4 KiB aligned), window_len bytes
 */
#ifndef GVM_CXL_LAYOUT_H
#define GVM_CXL_LAYOUT_H

#include <stdint.h>

#define CXL_MAGIC   0x31304c58434d5647ull /* "GVMCXL01" */
#define CXL_VERSION 1u
#define CXL_LINE    64u
#define CXL_PAGE    4096u

/*
 * A slot is one cache line: 60 bytes of message, then the stamp of the
 * message it belongs to. A message starts with an 8-byte header, the same
 * shape as a TCP frame's: u32 length | u8 kind | 3 zero bytes.
 */
#define CXL_SLOT        64u
#define CXL_SLOT_DATA   60u
#define CXL_MSG_HDR     8u
#define CXL_KIND_MSG    3u /* the message is in the slots */
/* The message is in the payload area; the first slot holds, after the
 * header, the u64 position it starts at. */
#define CXL_KIND_PAYLOAD 4u

enum cxl_node_state {
	CXL_NODE_FREE = 0, /* never attached since the region was laid out */
	CXL_NODE_UP = 1,
	CXL_NODE_LEFT = 2, /* closed in order: its rings hold its last words */
};

#define CXL_F_FLUSH 1u /* writers write back, readers invalidate */

struct cxl_header {
	uint64_t magic; /* stored last when the region is laid out */
	uint32_t version;
	uint32_t nodes;
	uint64_t size;  /* bytes the layout spans */
	uint32_t slots; /* per ring, a power of two; 0: no rings (window only) */
	uint32_t flags; /* CXL_F_* */
	uint64_t node_off, ring_off, ring_stride;
	uint64_t payload; /* bytes of payload area per ring; 0: none */
	uint64_t window_off, window_len;
	uint64_t epoch; /* times the region was laid out */
};

/* status = generation << 2 | state: one word, so a leave is a CAS. */
struct cxl_node {
	/* Line 0: written by the node itself. */
	uint64_t status;
	uint64_t beat; /* heartbeat counter */
	uint32_t pid;
	uint32_t pad0;
	uint8_t hello[32];
	uint8_t pad1[8];
	/* Line 1: its doorbell, which senders ring when it sleeps. */
	uint32_t doorbell; /* futex word */
	uint32_t sleeping;
	uint8_t pad2[56];
};

struct cxl_ring_ctl {
	/* Line 0: the producer's (mirrored for a node taking over an id). */
	uint64_t tail;       /* slots published */
	uint32_t tail_stamp; /* stamp of the last message published */
	uint32_t prod_closed; /* the producer gave up on this ring: errno */
	uint64_t ptail;       /* payload bytes published (positions, not offsets) */
	uint8_t pad0[40];
	/* Line 1: the consumer's; the producer reads head for free space. */
	uint64_t head;
	uint32_t head_stamp;
	uint32_t cons_closed; /* the consumer stopped reading: errno */
	uint64_t phead;       /* payload bytes freed */
	uint8_t pad1[40];
};

_Static_assert(sizeof(struct cxl_header) <= CXL_PAGE, "header fits a page");
_Static_assert(sizeof(struct cxl_node) == 2 * CXL_LINE, "node entry: 2 lines");
_Static_assert(sizeof(struct cxl_ring_ctl) == 2 * CXL_LINE, "ring control: 2 lines");

static inline uint64_t cxl_status(uint64_t gen, uint32_t state)
{
	return gen << 2 | state;
}

static inline uint32_t cxl_status_state(uint64_t status)
{
	return (uint32_t)(status & 3);
}

static inline uint64_t cxl_status_gen(uint64_t status)
{
	return status >> 2;
}

#endif /* GVM_CXL_LAYOUT_H */
