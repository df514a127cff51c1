// SPDX-License-Identifier: MIT
/* wire.c - encode and validate engine messages (format in wire.h). */
#include "wire.h"
#include "bitmap.h"

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Per type: fixed body length and the header flags it may carry. */
static const struct {
	uint8_t body;
	uint16_t flags;
	const char *name;
} msg_info[GVM_MSG_TYPE_MAX + 1] = {
	[GVM_MSG_REQ] = {32, GVM_WF_HAVE_COPY | GVM_WF_ROUTED, "REQ"},
	[GVM_MSG_GRANT_READ] = {16, GVM_WF_PAYLOAD, "GRANT_READ"},
	[GVM_MSG_GRANT_WRITE] = {16, GVM_WF_PAYLOAD, "GRANT_WRITE"},
	[GVM_MSG_INV] = {16, 0, "INV"},
	[GVM_MSG_ACK] = {8, 0, "ACK"},
	[GVM_MSG_BARRIER] = {8, 0, "BARRIER"},
	[GVM_MSG_BARRIER_DONE] = {8, 0, "BARRIER_DONE"},
	[GVM_MSG_OWNED] = {8, 0, "OWNED"},
	[GVM_MSG_NACK] = {16, 0, "NACK"},
	[GVM_MSG_PROBE] = {8, 0, "PROBE"},
	[GVM_MSG_RETRY] = {8, 0, "RETRY"},
	[GVM_MSG_RECLAIM] = {16, 0, "RECLAIM"},
	[GVM_MSG_LOST] = {8, 0, "LOST"},
	[GVM_MSG_DOWN] = {16, 0, "DOWN"},
	[GVM_MSG_PROMOTE] = {16, 0, "PROMOTE"},
	[GVM_MSG_KEPT] = {16, 0, "KEPT"},
};

const char *gvm_wire_type_name(uint8_t type)
{
	if (type == 0 || type > GVM_MSG_TYPE_MAX)
		return "unknown";
	return msg_info[type].name;
}

#define REJECT(reason)                                                        \
	do {                                                                  \
		*why = reason;                                                \
		return -EPROTO;                                               \
	} while (0)

/* A wire bitmap may not name nodes that do not exist. */
static bool copyset_in_range(const uint8_t *cs, uint32_t nodes)
{
	uint32_t bytes = gvm_bitmap_wire_bytes(nodes);

	if (nodes % 8 == 0)
		return true;
	return (cs[bytes - 1] >> (nodes % 8)) == 0;
}

int gvm_wire_decode(const struct gvm_wire_geom *g, const void *buf, size_t len,
		    struct gvm_msg *m, const char **why)
{
	const uint8_t *p = buf;
	const uint8_t *b = p + GVM_WIRE_HDR_LEN;
	uint32_t body_len, fixed, cs_len = 0, payload_len;

	if (len < GVM_WIRE_HDR_LEN)
		REJECT("shorter than a header");
	if (p[0] != GVM_WIRE_VERSION)
		REJECT("unknown protocol version");
	m->type = p[1];
	if (m->type == 0 || m->type > GVM_MSG_TYPE_MAX)
		REJECT("unknown message type");
	m->flags = get16(p + 2);
	body_len = get32(p + 4);
	m->page = get64(p + 8);
	if (body_len != len - GVM_WIRE_HDR_LEN)
		REJECT("length field disagrees with message size");
	if (m->flags & ~msg_info[m->type].flags)
		REJECT("flag not defined for this type");
	if (m->page >= g->npages)
		REJECT("page out of range");
	fixed = msg_info[m->type].body;
	if (body_len < fixed)
		REJECT("body truncated");

	m->copyset = NULL;
	m->payload = NULL;
	m->tag = 0;
	m->req_id = 0;
	m->slot = 0;
	m->node = GVM_NODE_NONE;
	m->hops = 0;
	m->access = 0;
	m->version = get64(b);

	switch (m->type) {
	case GVM_MSG_REQ:
		m->node = get32(b);
		m->hops = get16(b + 4);
		m->access = b[6];
		m->version = get64(b + 8);
		m->tag = get64(b + 16);
		m->req_id = get32(b + 24);
		if (b[7] || get32(b + 28))
			REJECT("reserved byte set");
		if (m->node >= g->nodes)
			REJECT("requester out of range");
		if (m->access != GVM_ACCESS_READ &&
		    m->access != GVM_ACCESS_WRITE)
			REJECT("bad access kind");
		if (!(m->flags & GVM_WF_HAVE_COPY) && m->version)
			REJECT("version without a copy");
		break;
	case GVM_MSG_GRANT_READ:
		m->req_id = get32(b + 8);
		if (get32(b + 12))
			REJECT("reserved field set");
		break;
	case GVM_MSG_GRANT_WRITE:
		cs_len = get32(b + 8);
		m->req_id = get32(b + 12);
		if (cs_len != gvm_bitmap_wire_bytes(g->nodes))
			REJECT("copyset size does not match the cluster");
		if (body_len - fixed < cs_len)
			REJECT("copyset truncated");
		m->copyset = b + fixed;
		if (!copyset_in_range(m->copyset, g->nodes))
			REJECT("copyset names a node out of range");
		break;
	case GVM_MSG_INV:
	case GVM_MSG_RECLAIM:
	case GVM_MSG_DOWN:
	case GVM_MSG_NACK:
	case GVM_MSG_KEPT:
		m->node = get32(b + 8);
		if (get32(b + 12))
			REJECT("reserved field set");
		if (m->node >= g->nodes)
			REJECT("node out of range");
		break;
	case GVM_MSG_PROMOTE:
		m->slot = get32(b + 8);
		m->req_id = get32(b + 12);
		if (m->slot >= g->slots)
			REJECT(g->slots ? "window slot out of range" :
					  "promotion to a node without a shared window");
		break;
	default:
		break;
	}
	switch (m->type) { /* versions and epochs start at 1 */
	case GVM_MSG_GRANT_READ:
	case GVM_MSG_GRANT_WRITE:
	case GVM_MSG_INV:
	case GVM_MSG_ACK:
	case GVM_MSG_BARRIER:
	case GVM_MSG_BARRIER_DONE:
	case GVM_MSG_OWNED:
	case GVM_MSG_PROMOTE:
	case GVM_MSG_KEPT:
		if (m->version == 0)
			REJECT("version zero");
		break;
	default:
		break;
	}

	payload_len = (m->flags & GVM_WF_PAYLOAD) ? g->page_size : 0;
	if (body_len != fixed + cs_len + payload_len)
		REJECT(payload_len ? "payload is not one page" :
				     "trailing bytes");
	if (payload_len)
		m->payload = b + fixed + cs_len;
	return 0;
}

size_t gvm_wire_encode(const struct gvm_wire_geom *g, const struct gvm_msg *m,
		       uint32_t payload_len, void *out)
{
	uint8_t *p = out;
	uint8_t *b = p + GVM_WIRE_HDR_LEN;
	uint32_t fixed = msg_info[m->type].body;
	uint32_t cs_len = 0;

	gvm_memset(b, 0, fixed);
	switch (m->type) {
	case GVM_MSG_REQ:
		put32(b, m->node);
		put16(b + 4, m->hops);
		b[6] = m->access;
		put64(b + 8, m->version);
		put64(b + 16, m->tag);
		put32(b + 24, m->req_id);
		break;
	case GVM_MSG_GRANT_READ:
		put64(b, m->version);
		put32(b + 8, m->req_id);
		break;
	case GVM_MSG_GRANT_WRITE:
		cs_len = gvm_bitmap_wire_bytes(g->nodes);
		put64(b, m->version);
		put32(b + 8, cs_len);
		put32(b + 12, m->req_id);
		gvm_memcpy(b + fixed, m->copyset, cs_len);
		break;
	case GVM_MSG_INV:
	case GVM_MSG_RECLAIM:
	case GVM_MSG_DOWN:
	case GVM_MSG_NACK:
	case GVM_MSG_KEPT:
		put64(b, m->version);
		put32(b + 8, m->node);
		break;
	case GVM_MSG_PROMOTE:
		put64(b, m->version);
		put32(b + 8, m->slot);
		put32(b + 12, m->req_id);
		break;
	default:
		put64(b, m->version);
		break;
	}
	p[0] = GVM_WIRE_VERSION;
	p[1] = m->type;
	put16(p + 2, m->flags);
	put32(p + 4, fixed + cs_len + payload_len);
	put64(p + 8, m->page);
	return GVM_WIRE_HDR_LEN + fixed + cs_len;
}

/* ==== Handshake ==== */

static const uint8_t hello_magic[4] = {'G', 'V', 'M', 'D'};

void gvm_hello_encode(const struct gvm_hello *h, void *out)
{
	uint8_t *p = out;

	gvm_memcpy(p, hello_magic, 4);
	put32(p + 4, h->proto);
	put64(p + 8, h->cluster_id);
	put32(p + 16, h->nodes);
	put32(p + 20, h->node);
	put32(p + 24, h->page_shift);
	put32(p + 28, h->manager);
}

int gvm_hello_decode(const void *buf, size_t len, struct gvm_hello *h,
		     const char **why)
{
	const uint8_t *p = buf;

	if (len != GVM_HELLO_LEN)
		REJECT("hello of the wrong length");
	if (gvm_memcmp(p, hello_magic, 4))
		REJECT("not a gvm-dsm hello");
	h->proto = get32(p + 4);
	h->cluster_id = get64(p + 8);
	h->nodes = get32(p + 16);
	h->node = get32(p + 20);
	h->page_shift = get32(p + 24);
	h->manager = get32(p + 28);
	if (h->node >= h->nodes)
		REJECT("hello from a node id outside its own cluster size");
	return 0;
}

/* A hello's page size, for messages: a stranger's shift may be any u32. */
static uint64_t page_bytes(uint32_t shift)
{
	return shift < 64 ? 1ull << shift : 0;
}

int gvm_hello_compare(const struct gvm_hello *local,
		      const struct gvm_hello *remote, const char **field,
		      uint64_t *ours, uint64_t *theirs)
{
#define SAME(name, a, b)                                                   \
	do {                                                                  \
		if ((a) != (b)) {                                             \
			*field = name;                                        \
			*ours = a;                                            \
			*theirs = b;                                          \
			return -EPROTO;                                       \
		}                                                             \
	} while (0)
	SAME("protocol version", local->proto, remote->proto);
	SAME("cluster id", local->cluster_id, remote->cluster_id);
	SAME("node count", local->nodes, remote->nodes);
	SAME("page size", page_bytes(local->page_shift), page_bytes(remote->page_shift));
	SAME("manager", local->manager, remote->manager);
#undef SAME
	if (remote->node == local->node) {
		*field = "node id (both nodes claim it)";
		*ours = local->node;
		*theirs = remote->node;
		return -EPROTO;
	}
	return 0;
}
