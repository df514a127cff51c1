// SPDX-License-Identifier: MIT
/*
 * ivy.c - the IVY coherence engine (Li & Hudak 1989), transport-agnostic:
 * pages, owners, requesters, local access, lost peers. The manager role is
 * in manager.c.
 *
 * core/PROTOCOL.md is the specification; the short version:
 *
 *  - A page has exactly one owner, which holds a valid copy, the copyset of
 *    the other readers, and a FIFO of requests it cannot serve yet.
 *  - A requester finds the owner through the page's manager (FIXED,
 *    CENTRAL: the manager forwards to the settled owner and holds further
 *    requests while a write transfer awaits its OWNED confirmation) or
 *    along probable-owner hints (DYNAMIC: each hint carries the version it
 *    was learnt at and a forwarded request must meet strictly newer hints,
 *    so chains cannot loop).
 *  - A write grant carries the copyset; the new owner sends every
 *    invalidation at once and becomes MODIFIED with version + 1 when the
 *    last ack is in.
 *  - An invalidation that overtakes a read grant leaves a watermark: a grant
 *    whose version is at or below it is stale, and the read is retried.
 *  - Handlers never wait: every message is a state transition under the
 *    node's lock; only acquiring threads wait.
 */
#include <gvm/dsm.h>

#include "bitmap.h"
#include "ivy_impl.h"
#include "os/gvm_os.h"
#include "wire.h"

/*
 * Test builds define GVM_MUTATION to break one protocol step on purpose,
 * proving the simulator's checks can fail (tests/sim/).
 */
#ifndef GVM_MUTATION
#define GVM_MUTATION 0
#endif
#define GVM_MUT_SKIP_ONE_INV 1    /* forget one copyset member */
#define GVM_MUT_ACCEPT_STALE 2    /* ignore the invalidation watermark */
#define GVM_MUT_DEMOTE_EARLY 3    /* demote without waiting for the acks */

static void page_progress(struct gvm_node *n, gvm_page_t p);
static void peer_down_locked(struct gvm_node *n, gvm_node_id peer, int reason);
static void drain_self(struct gvm_node *n);
static void fail_fault(struct gvm_node *n, gvm_page_t p, bool lost,
		       gvm_node_id with);
static void txn_complete(struct gvm_node *n, gvm_page_t p);
static bool manager_gone(const struct gvm_node *n, gvm_page_t p);

static inline uint32_t page_size(const struct gvm_node *n)
{
	return n->geom.page_size;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

gvm_node_id gvm_page_home(const struct gvm_node *n, gvm_page_t page)
{
	if (n->cfg.manager == GVM_MANAGER_CENTRAL)
		return 0;
	return (gvm_node_id)(mix64(page) % n->cfg.nodes);
}

static bool is_manager(const struct gvm_node *n, gvm_page_t page)
{
	return n->cfg.manager != GVM_MANAGER_DYNAMIC &&
	       gvm_page_home(n, page) == n->cfg.self;
}

/* ==== Sending ==== */

/*
 * Nothing that may block or wake another thread runs under the node's
 * lock: a locked section queues its messages to peers and the waiters it
 * granted, and flush_and_unlock sends and tells them once the lock is
 * dropped.
 *
 * A queued payload is the page's frame itself, not a copy. It cannot
 * change before it is sent: the frame is written only by a grant to us or
 * by the write-back of a MODIFIED mapping, and each of those follows, by
 * cause, a message queued after ours (an invalidation to the reader we
 * serve, a request of ours), while one thread at a time sends the queue
 * in order. Frames are freed only with the node.
 */
static struct gvm_outmsg *outmsg_get(struct gvm_node *n)
{
	struct gvm_outmsg *o = n->out_free;

	if (o) {
		n->out_free = o->next;
		return o;
	}
	return gvm_os_zalloc(sizeof(*o) + GVM_WIRE_FIXED_MAX +
			     gvm_bitmap_wire_bytes(nnodes(n)));
}

/*
 * Queue the message in n->txbuf (len bytes) plus an optional page payload.
 * A message to ourselves is queued apart and handled once the current
 * handler returns, so handlers never recurse.
 */
static void send_built(struct gvm_node *n, gvm_node_id dst, size_t len,
		       const void *payload)
{
	uint32_t plen = payload ? page_size(n) : 0;
	struct gvm_outmsg *o;

	n->stats.msgs_sent++;
	n->stats.bytes_sent += len + plen;
	if (payload)
		n->stats.payloads_sent++;
	if (dst == n->cfg.self) {
		struct gvm_selfmsg *s = gvm_os_zalloc(sizeof(*s) + len + plen);

		if (!s) {
			gvm_log_err("node %u: out of memory queueing a %s to itself",
				    n->cfg.self, gvm_wire_type_name(n->txbuf[1]));
			n->out_of_memory = true;
			return;
		}
		s->len = len + plen;
		gvm_memcpy(s->buf, n->txbuf, len);
		if (plen)
			gvm_memcpy(s->buf + len, payload, plen);
		if (n->self_tail)
			n->self_tail->next = s;
		else
			n->self_head = s;
		n->self_tail = s;
		return;
	}
	if (gvm_bitmap_test(n->closed_peers, dst))
		return;
	o = outmsg_get(n);
	if (!o) {
		gvm_log_err("node %u: out of memory queueing a %s to node %u",
			    n->cfg.self, gvm_wire_type_name(n->txbuf[1]), dst);
		n->out_of_memory = true;
		return;
	}
	o->next = NULL;
	o->payload = payload;
	o->dst = dst;
	o->len = (uint32_t)len;
	gvm_memcpy(o->buf, n->txbuf, len);
	if (n->out_tail)
		n->out_tail->next = o;
	else
		n->out_head = o;
	n->out_tail = o;
}

/* Outside the lock: send the queue, in order. Returns its last entry. */
static struct gvm_outmsg *transmit(struct gvm_node *n, struct gvm_outmsg *o)
{
	struct gvm_outmsg *last = NULL;

	for (; o; last = o, o = o->next) {
		struct gvm_iov iov[2] = {{o->buf, o->len},
					 {o->payload, o->payload ? page_size(n) : 0}};
		int err = gvm_tp_send(n->tp, o->dst, iov, o->payload ? 2 : 1);

		/* A peer going away is reported through peer_down, not here. */
		if (err)
			gvm_os_log(err == -EHOSTDOWN || err == -EPIPE || err == -ECONNRESET ?
					   GVM_LOG_DEBUG : GVM_LOG_WARN,
				   "node %u: send of %s to node %u failed: %d", n->cfg.self,
				   gvm_wire_type_name(o->buf[1]), o->dst, err);
	}
	return last;
}

/* Outside the lock: tell the waiters granted or failed, in order. */
static void tell(struct gvm_node *n, struct gvm_waiter *w)
{
	while (w) {
		struct gvm_waiter *next = w->next;
		gvm_page_t p = w->page;
		int result = w->result;

		/* done() may end w's life: nothing of it is read afterwards. */
		if (!w->done(w, result) && !result)
			gvm_release(n, p);
		w = next;
	}
}

/*
 * A message the protocol needs could not be queued, so some transaction
 * would wait for it forever. Fail-stop instead: cut every peer off (they
 * recover what they can, as from a crash), and fail every fault waiting
 * here. Pages this node owns stay readable and writable locally.
 */
static void leave_for_memory(struct gvm_node *n)
{
	n->left_for_memory = true;
	gvm_log_err("node %u: out of memory for a protocol message: leaving the cluster, every fault in flight fails",
		    n->cfg.self);
	for (gvm_node_id i = 0; i < nnodes(n); i++)
		peer_down_locked(n, i, -ENOMEM);
	drain_self(n);
	for (gvm_page_t p = 0; p < n->cfg.npages; p++)
		if (n->pages[p].waiters || n->pages[p].txn == TXN_READ ||
		    n->pages[p].txn == TXN_WRITE)
			fail_fault(n, p, true, n->cfg.self);
}

/*
 * Drop the lock, then send what was queued under it and tell the waiters.
 * One thread does this at a time, so messages leave in the order they were
 * queued (the protocol needs each pair's messages in order, and payloads
 * are live frames); a thread that finds another at it leaves its work to
 * that one, which loops until nothing is left.
 */
static void flush_and_unlock(struct gvm_node *n)
{
	if (n->out_of_memory && !n->left_for_memory)
		leave_for_memory(n);
	if (n->flushing) {
		gvm_os_mutex_unlock(&n->lock);
		return;
	}
	n->flushing = true;
	while (n->out_head || n->told_head) {
		struct gvm_outmsg *out = n->out_head, *last;
		struct gvm_waiter *told = n->told_head;

		n->out_head = n->out_tail = NULL;
		n->told_head = n->told_tail = NULL;
		gvm_os_mutex_unlock(&n->lock);
		/* The waiters first: a thread resumes before confirmations go. */
		tell(n, told);
		last = transmit(n, out);
		gvm_os_mutex_lock(&n->lock);
		if (last) {
			last->next = n->out_free;
			n->out_free = out;
		}
	}
	n->flushing = false;
	gvm_os_mutex_unlock(&n->lock);
}

static void send_msg(struct gvm_node *n, gvm_node_id dst,
		     const struct gvm_msg *m, const void *payload)
{
	size_t len = gvm_wire_encode(&n->geom, m, payload ? page_size(n) : 0,
				     n->txbuf);

	send_built(n, dst, len, payload);
}

void gvm_send_simple(struct gvm_node *n, gvm_node_id dst, uint8_t type,
			gvm_page_t p, uint64_t version, gvm_node_id node)
{
	struct gvm_msg m = {
		.type = type, .page = p, .version = version, .node = node};

	send_msg(n, dst, &m, NULL);
}

void gvm_send_req(struct gvm_node *n, gvm_node_id dst, gvm_page_t p,
		     const struct gvm_req *r, uint16_t flags)
{
	struct gvm_msg m = {
		.type = GVM_MSG_REQ,
		.flags = flags | (r->have_copy ? GVM_WF_HAVE_COPY : 0),
		.page = p,
		.version = r->have_version,
		.tag = r->tag,
		.node = r->requester,
		.hops = r->hops,
		.access = r->access,
		.req_id = r->req_id,
	};

	send_msg(n, dst, &m, NULL);
}

/* ==== Errors from peers ==== */

/*
 * A peer broke the protocol: log why and cut it off. Never trust anything
 * else it said. It is then a lost peer like one that died (DOWN to the
 * others, copysets, the manager's reclaim, faults on its pages failed):
 * cut off without that, what it held would wait for it forever.
 */
int gvm_peer_error(struct gvm_node *n, gvm_node_id peer, gvm_page_t p,
		      const char *why)
{
	bool remote = peer < nnodes(n) && peer != n->cfg.self;

	n->stats.protocol_errors++;
	if (remote && peer_closed(n, peer))
		return -EPROTO;
	gvm_log_warn("node %u: protocol error, closing peer %u: %s (page %llu)", n->cfg.self,
		     peer, why, (unsigned long long)p);
	if (remote)
		peer_down_locked(n, peer, -EPROTO);
	return -EPROTO;
}

/* ==== Local frame and rights ==== */

static bool frames_from_frontend(const struct gvm_node *n)
{
	return n->cfg.frontend && n->cfg.frontend->frame;
}

static int ensure_frame(struct gvm_node *n, struct gvm_page *pg)
{
	if (pg->frame)
		return 0;
	if (frames_from_frontend(n))
		pg->frame = n->cfg.frontend->frame(n->cfg.frontend_arg,
						   (gvm_page_t)(pg - n->pages));
	else
		pg->frame = gvm_os_frame_alloc(page_size(n));
	return pg->frame ? 0 : -ENOMEM;
}

static bool access_ok(const struct gvm_page *pg, uint8_t access)
{
	/* Everyone reads and writes the one copy, until a demotion starts. */
	if (pg->state == GVM_PAGE_PROMOTED)
		return pg->txn == TXN_NONE;
	if (access == GVM_ACCESS_WRITE)
		return pg->state == GVM_PAGE_MODIFIED;
	return pg->state == GVM_PAGE_SHARED || pg->state == GVM_PAGE_MODIFIED;
}

/*
 * New pins must not starve a writer whose invalidation waits for a pin, and
 * none may start on the frame of a page about to move into its slot.
 */
static bool may_grant(const struct gvm_page *pg, uint8_t access)
{
	return access_ok(pg, access) && !pg->has_deferred_inv && !pg->promoting;
}

/* Local writes may be newer than the frame only while MODIFIED. */
static void *writeback_frame(struct gvm_page *pg)
{
	return pg->state == GVM_PAGE_MODIFIED ? pg->frame : NULL;
}

static void fe_invalidate(struct gvm_node *n, gvm_page_t p)
{
	if (n->cfg.frontend && n->cfg.frontend->invalidate)
		n->cfg.frontend->invalidate(n->cfg.frontend_arg, p,
					    writeback_frame(&n->pages[p]));
}

static void fe_downgrade(struct gvm_node *n, gvm_page_t p)
{
	if (n->cfg.frontend && n->cfg.frontend->downgrade)
		n->cfg.frontend->downgrade(n->cfg.frontend_arg, p,
					   writeback_frame(&n->pages[p]));
}

static void *slot_addr(const struct gvm_node *n, uint32_t slot)
{
	return n->window + (uint64_t)slot * page_size(n);
}

/*
 * A slot that a node we cut off may still be writing to (it kept the page
 * promoted: it hears nothing more from us) is never given out again.
 */
#define SLOT_RETIRED (~(uint64_t)0)

/* Where local accesses to a page go: its frame, or its window slot. */
static void *local_frame(const struct gvm_node *n, const struct gvm_page *pg)
{
	return pg->state == GVM_PAGE_PROMOTED ? slot_addr(n, pg->slot) : pg->frame;
}

/* The policy asked for p to be promoted: done when we own it, idle. */
static void note_verdict(struct gvm_node *n, gvm_page_t p, enum gvm_verdict v)
{
	if (v == GVM_VERDICT_PROMOTE && n->share)
		n->pages[p].want_promote = true;
}

static void set_hint(struct gvm_page *pg, gvm_node_id node, uint64_t tag)
{
	if (tag > pg->hint_tag) {
		pg->hint = node;
		pg->hint_tag = tag;
	}
}

/* ==== Transactions of this node ==== */

static void send_to_locator(struct gvm_node *n, gvm_page_t p,
			    struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];

	pg->asked_after_inv = true;
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
		r->tag = pg->hint_tag;
		if (peer_closed(n, pg->hint)) /* nowhere to ask */
			fail_fault(n, p, false, pg->hint);
		else
			gvm_send_req(n, pg->hint, p, r, 0);
	} else {
		gvm_send_req(n, gvm_page_home(n, p), p, r, 0);
	}
}

static void request_page(struct gvm_node *n, gvm_page_t p, uint8_t access)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_req r = {
		.requester = n->cfg.self,
		.access = access,
		.have_copy = pg->frame && pg->state != GVM_PAGE_INVALID,
	};

	if (r.have_copy)
		r.have_version = pg->version;
	pg->txn = access == GVM_ACCESS_WRITE ? TXN_WRITE : TXN_READ;
	r.req_id = ++pg->req_id;
	send_to_locator(n, p, &r);
	if (n->trace)
		pg->sent_ns = gvm_os_now_ns();
}

/* Send INV to every copyset member; the owner keeps its version meanwhile. */
static void invalidate_copyset(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];
	uint32_t member, count = 0;

	gvm_bitmap_for_each(member, pg->copyset, nnodes(n)) {
		if (peer_closed(n, member)) { /* gone: its copy went with it */
			gvm_bitmap_clear(pg->copyset, member);
			continue;
		}
		if (GVM_MUTATION == GVM_MUT_SKIP_ONE_INV &&
		    gvm_bitmap_next(pg->copyset, nnodes(n), member + 1) ==
			    nnodes(n)) {
			gvm_bitmap_clear(pg->copyset, member);
			break;
		}
		gvm_send_simple(n, member, GVM_MSG_INV, p, pg->version,
			    n->cfg.self);
		count++;
	}
	n->stats.inv_sent += count;
	pg->acks_pending = count;
	pg->txn = TXN_INVALIDATING;
}

static void trace_add(struct gvm_node *n, const struct gvm_trace_record *rec)
{
	n->trace[*n->trace_count % n->trace_cap] = *rec;
	++*n->trace_count;
}

static void record_latency(struct gvm_node *n, struct gvm_page *pg)
{
	uint64_t now, d;
	uint32_t b;

	if (!pg->fault_start_ns) /* no fault started it: a promotion, a demotion */
		return;
	now = gvm_os_now_ns();
	d = now - pg->fault_start_ns;
	b = d ? 63 - (uint32_t)__builtin_clzll(d) : 0;
	n->stats.fault_lat_log2[b < GVM_LAT_BUCKETS ? b : GVM_LAT_BUCKETS - 1]++;
	if (n->trace) {
		struct gvm_trace_record rec = {
			.page = (gvm_page_t)(pg - n->pages),
			.kind = GVM_TRACE_FAULT,
			.access = pg->owner ? GVM_ACCESS_WRITE : GVM_ACCESS_READ,
			.peer = pg->sent_ns ? pg->granted_by : n->cfg.self,
			.t = {pg->fault_start_ns, pg->sent_ns, pg->grant_in_ns, now},
		};

		trace_add(n, &rec);
		pg->sent_ns = pg->grant_in_ns = 0;
	}
	pg->fault_start_ns = 0;
}

/* The owner holds every ack: the page becomes writable here alone. */
static void finish_write(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	pg->state = GVM_PAGE_MODIFIED;
	pg->version++;
	pg->txn = TXN_NONE;
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
		pg->hint = n->cfg.self;
		pg->hint_tag = pg->version;
	}
	record_latency(n, pg);
}

/*
 * Fetch up to count pages after p ahead, with access: those we could ask
 * for as the fault itself would (no transaction, nothing waiting, not ours
 * to upgrade locally, not promoted or lost), each its own request.
 */
static void read_ahead(struct gvm_node *n, gvm_page_t p, uint8_t access,
		       uint32_t count)
{
	for (gvm_page_t q = p + 1; q <= p + count && q < n->cfg.npages; q++) {
		struct gvm_page *pg = &n->pages[q];

		if (pg->txn != TXN_NONE || pg->waiters || pg->lost || pg->owner ||
		    pg->state == GVM_PAGE_PROMOTED || pg->queue || manager_gone(n, q) ||
		    (access == GVM_ACCESS_READ && pg->state != GVM_PAGE_INVALID))
			continue;
		pg->ahead = true;
		pg->guessed = false;
		n->stats.readahead++;
		request_page(n, q, access);
	}
}

/* Start whatever the local access needs; the page has no transaction. */
static void start_fault(struct gvm_node *n, gvm_page_t p, uint8_t access)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_policy_ops const *pol = n->policy;

	pg->fault_start_ns = gvm_os_now_ns();
	if (pol->on_fault)
		note_verdict(n, p, pol->on_fault(n->policy_state, p,
						 (enum gvm_access)access, n->now_ns));
	if (access == GVM_ACCESS_READ) {
		n->stats.faults_read++;
		if (pg->migratory)
			n->stats.migratory_reads++;
		request_page(n, p, pg->migratory ? GVM_ACCESS_WRITE : access);
		pg->guessed = pg->migratory;
		if (pol->readahead)
			read_ahead(n, p, access, pol->readahead(n->policy_state, p,
								(enum gvm_access)access,
								n->now_ns));
		return;
	}
	/* Writing what we just read: the next read fault asks for it all. */
	if (pg->read_copy && pg->state == GVM_PAGE_SHARED)
		pg->migratory = true;
	if (!pg->owner) {
		n->stats.faults_write++;
		request_page(n, p, access);
		pg->guessed = false;
		if (pol->readahead)
			read_ahead(n, p, access, pol->readahead(n->policy_state, p,
								(enum gvm_access)access,
								n->now_ns));
		return;
	}
	/* Owner upgrading its shared copy: invalidate the readers. */
	n->stats.faults_upgrade++;
	invalidate_copyset(n, p);
	if (!pg->acks_pending)
		finish_write(n, p);
}

/*
 * A page owned on a migratory guess is shown to readers as SHARED, so the
 * front end maps it read-only and the first local write comes back here
 * (a local fault, no message) and confirms the guess.
 */
static enum gvm_page_state shown_state(const struct gvm_page *pg, uint8_t access)
{
	if (access == GVM_ACCESS_READ && pg->guessed && !pg->written &&
	    pg->state == GVM_PAGE_MODIFIED)
		return GVM_PAGE_SHARED;
	return (enum gvm_page_state)pg->state;
}

/* A write of ours to a page owned on a guess: the guess was right. */
static void note_write(struct gvm_page *pg, uint8_t access)
{
	if (access == GVM_ACCESS_WRITE && pg->guessed)
		pg->written = true;
}

/* The page goes (or another node reads it) before we wrote it: wrong guess. */
static void judge_guess(struct gvm_node *n, struct gvm_page *pg)
{
	if (pg->guessed && !pg->written) {
		pg->migratory = false;
		n->stats.migratory_wrong++;
	}
	pg->guessed = false;
}

/* A waiter is told once the lock is dropped; if granted, it holds a pin. */
static void waiter_done(struct gvm_node *n, struct gvm_page *pg,
			struct gvm_waiter *w, int result)
{
	w->next = NULL;
	w->result = result;
	if (!result) {
		pg->pins++;
		w->frame = local_frame(n, pg);
		w->state = shown_state(pg, w->access);
		note_write(pg, w->access);
	}
	if (n->told_tail)
		n->told_tail->next = w;
	else
		n->told_head = w;
	n->told_tail = w;
}

/*
 * Grant the local waiters at the head of the list whose access is now
 * legal. Returns true if any was granted.
 */
static bool grant_waiters(struct gvm_node *n, struct gvm_page *pg)
{
	bool granted = false;

	while (pg->waiters && may_grant(pg, pg->waiters->access)) {
		struct gvm_waiter *w = pg->waiters;

		pg->waiters = w->next;
		if (!pg->waiters)
			pg->waiters_tail = NULL;
		waiter_done(n, pg, w, 0);
		granted = true;
	}
	return granted;
}

/*
 * The current fault on p cannot complete: every local waiter fails, and the
 * page is remembered lost if we know it is.
 */
static void fail_fault(struct gvm_node *n, gvm_page_t p, bool lost,
		       gvm_node_id with)
{
	struct gvm_page *pg = &n->pages[p];

	pg->lost |= lost;
	pg->lost_with = with;
	if (pg->txn == TXN_READ || pg->txn == TXN_WRITE) {
		pg->txn = TXN_NONE;
		pg->req_id++; /* an answer still on its way is now stale */
	}
	while (pg->waiters) {
		struct gvm_waiter *w = pg->waiters;

		pg->waiters = w->next;
		n->stats.faults_failed++;
		w->lost_with = with;
		waiter_done(n, pg, w, -EHOSTDOWN);
	}
	pg->waiters_tail = NULL;
}

/* The page went with node with: every local waiter fails. */
static void fail_page(struct gvm_node *n, gvm_page_t p, gvm_node_id with)
{
	fail_fault(n, p, true, with);
}

/* FIXED/CENTRAL: is the node that manages p gone? */
static bool manager_gone(const struct gvm_node *n, gvm_page_t p)
{
	return n->cfg.manager != GVM_MANAGER_DYNAMIC &&
	       peer_closed(n, gvm_page_home(n, p));
}

/* ==== Serving requests as owner ==== */

static bool owner_busy(const struct gvm_page *pg)
{
	return pg->txn != TXN_NONE || pg->pins > 0;
}

/* Grant p to r's requester, leaving the payload out when it has our version. */
static void send_grant(struct gvm_node *n, gvm_page_t p,
		       const struct gvm_req *r, uint8_t type)
{
	struct gvm_page *pg = &n->pages[p];
	bool skip = r->have_copy && r->have_version == pg->version;
	struct gvm_msg m = {
		.type = type,
		.flags = skip ? 0 : GVM_WF_PAYLOAD,
		.page = p,
		.version = pg->version,
		.req_id = r->req_id,
		.copyset = n->cs_wire, /* GRANT_WRITE only */
	};

	if (skip)
		n->stats.payloads_skipped++;
	send_msg(n, r->requester, &m, skip ? NULL : pg->frame);
	if (n->trace && r->in_ns) {
		struct gvm_trace_record rec = {
			.page = p, .kind = GVM_TRACE_SERVE, .access = r->access,
			.peer = r->requester, .t = {r->in_ns, gvm_os_now_ns()},
		};

		trace_add(n, &rec);
	}
}

static void serve_read(struct gvm_node *n, gvm_page_t p,
		       const struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];

	if (pg->state == GVM_PAGE_MODIFIED) {
		fe_downgrade(n, p);
		pg->state = GVM_PAGE_SHARED;
	}
	judge_guess(n, pg);
	gvm_bitmap_set(pg->copyset, r->requester);
	send_grant(n, p, r, GVM_MSG_GRANT_READ);
}

static void serve_write(struct gvm_node *n, gvm_page_t p,
			const struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];

	fe_invalidate(n, p);
	judge_guess(n, pg);
	pg->read_copy = false;
	gvm_bitmap_clear(pg->copyset, r->requester);
	gvm_bitmap_to_wire(n->cs_wire, pg->copyset, nnodes(n));
	send_grant(n, p, r, GVM_MSG_GRANT_WRITE);

	gvm_bitmap_zero(pg->copyset, nnodes(n));
	pg->owner = false;
	pg->state = GVM_PAGE_INVALID;
	pg->hint = r->requester;
	pg->hint_tag = pg->version + 1;
	if (n->policy->on_transfer)
		note_verdict(n, p, n->policy->on_transfer(n->policy_state, p,
							  n->cfg.self,
							  r->requester,
							  n->now_ns));
}

/*
 * Answer a request for a promoted page with its slot. A manager that
 * routed a write here waits for a transfer's OWNED: KEPT tells it the page
 * stayed (core/PROTOCOL.md, "Promotion").
 */
static void serve_promoted(struct gvm_node *n, gvm_page_t p,
			   const struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_msg m = {
		.type = GVM_MSG_PROMOTE,
		.page = p,
		.version = pg->version,
		.slot = pg->slot,
		.req_id = r->req_id,
	};

	send_msg(n, r->requester, &m, NULL);
	if (r->access == GVM_ACCESS_WRITE &&
	    n->cfg.manager != GVM_MANAGER_DYNAMIC)
		gvm_send_simple(n, gvm_page_home(n, p), GVM_MSG_KEPT, p,
				pg->version, r->requester);
}

/* Pass a request on towards the owner along our hint (DYNAMIC). */
static void forward_by_hint(struct gvm_node *n, gvm_page_t p,
			    struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];

	if (peer_closed(n, pg->hint)) {
		/* The trail ends at a dead node: the requester must not wait. */
		if (r->requester == n->cfg.self)
			fail_fault(n, p, false, pg->hint);
		else
			gvm_send_simple(n, r->requester, GVM_MSG_NACK, p, r->req_id,
					pg->hint);
		return;
	}
	r->hops++;
	r->tag = pg->hint_tag;
	if (r->hops > n->stats.max_hops)
		n->stats.max_hops = r->hops;
	n->stats.forwards++;
	gvm_send_req(n, pg->hint, p, r, 0);
}

/*
 * After a transfer, requests still queued here chase the new owner. Under a
 * manager none can be left (it holds later ones until the new owner
 * confirms), so one left is our own bug.
 */
static void flush_queue_after_transfer(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	while (pg->queue) {
		struct gvm_req *r = pg->queue;

		pg->queue = r->next;
		if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
			forward_by_hint(n, p, r);
		} else {
			n->stats.protocol_errors++;
			gvm_log_err("node %u: protocol error (ours): request of node %u left behind a transfer of page %llu",
				    n->cfg.self, r->requester,
				    (unsigned long long)p);
		}
		gvm_os_free(r);
	}
	pg->queue_tail = NULL;
}

/* Serve the oldest queued request. */
static void serve_queued(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_req *r = pg->queue;

	pg->queue = r->next;
	if (!pg->queue)
		pg->queue_tail = NULL;
	if (pg->state == GVM_PAGE_PROMOTED) {
		serve_promoted(n, p, r);
	} else if (r->access == GVM_ACCESS_READ) {
		serve_read(n, p, r);
	} else {
		serve_write(n, p, r);
		flush_queue_after_transfer(n, p);
	}
	gvm_os_free(r);
}

/* ==== Promotion into the shared window ==== */

static bool take_slot(struct gvm_node *n, gvm_page_t p, uint32_t *slot)
{
	uint32_t first = n->cfg.self * n->share;

	for (uint32_t s = first; s < first + n->share; s++)
		if (!n->slot_page[s]) {
			n->slot_page[s] = p + 1;
			n->share_used++;
			*slot = s;
			return true;
		}
	return false;
}

/* Owner, no other copy, no pin: move the contents into the slot. */
static void finish_promotion(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_msg m = {.type = GVM_MSG_PROMOTE, .page = p, .slot = pg->slot};

	fe_invalidate(n, p); /* our mapping writes back and lets go */
	gvm_memcpy(slot_addr(n, pg->slot), pg->frame, page_size(n));
	pg->state = GVM_PAGE_PROMOTED;
	pg->version++;
	pg->promoting = false;
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
		pg->hint = n->cfg.self;
		pg->hint_tag = pg->version;
	}
	m.version = pg->version;
	for (gvm_node_id i = 0; i < nnodes(n); i++)
		if (i != n->cfg.self && !peer_closed(n, i))
			send_msg(n, i, &m, NULL);
	pg->closed_at_promotion = gvm_bitmap_weight(n->closed_peers, nnodes(n));
	n->stats.promotions++;
	if (n->policy->on_promoted)
		n->policy->on_promoted(n->policy_state, p, true, n->now_ns);
}

/* Owner, idle: invalidate the readers, then promote. */
static void start_promotion(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	pg->want_promote = false;
	if (pg->lost || !take_slot(n, p, &pg->slot)) {
		n->stats.window_full += !pg->lost;
		return;
	}
	pg->promoting = true;
	invalidate_copyset(n, p);
	if (!pg->acks_pending) {
		pg->txn = TXN_NONE;
		finish_promotion(n, p);
	}
}

/* Every ack is in: the page is MODIFIED here, possibly in a new regime. */
static void acks_done(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	if (pg->demoting) {
		bool cut_off = gvm_bitmap_weight(n->closed_peers, nnodes(n)) !=
			       pg->closed_at_promotion;

		gvm_memcpy(pg->frame, slot_addr(n, pg->slot), page_size(n));
		/* A node cut off since the promotion acked nothing: it may be
		 * alive (falsely declared dead) and still store there. */
		n->slot_page[pg->slot] = cut_off ? SLOT_RETIRED : 0;
		n->share_used--;
		pg->demoting = false;
		n->stats.demotions++;
		if (n->policy->on_promoted)
			n->policy->on_promoted(n->policy_state, p, false, n->now_ns);
	}
	finish_write(n, p);
	if (pg->promoting)
		finish_promotion(n, p);
	txn_complete(n, p);
}

/* Owner of a promoted page, idle: take it back from every node. */
static void start_demotion(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	fe_invalidate(n, p);
	for (gvm_node_id i = 0; i < nnodes(n); i++)
		if (i != n->cfg.self)
			gvm_bitmap_set(pg->copyset, i);
	pg->demoting = true;
	invalidate_copyset(n, p); /* every node acks once it has let go */
	if (GVM_MUTATION == GVM_MUT_DEMOTE_EARLY)
		pg->acks_pending = 0;
	if (!pg->acks_pending)
		acks_done(n, p);
}

/*
 * Move a page forward as far as it can go without the network: serve
 * queued remote requests (before new local waiters, so neither side
 * starves), then grant or start faults for local waiters.
 */
static void page_progress(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	for (;;) {
		if (pg->txn != TXN_NONE)
			return;
		if (pg->want_promote && pg->owner && !pg->pins &&
		    pg->state != GVM_PAGE_PROMOTED) {
			start_promotion(n, p);
			continue;
		}
		if (pg->owner && pg->queue) {
			if (pg->pins)
				return;
			serve_queued(n, p);
			continue;
		}
		if (!pg->waiters || pg->has_deferred_inv)
			return;
		if (grant_waiters(n, pg))
			continue;
		if (!pg->owner && (pg->lost || manager_gone(n, p))) {
			fail_page(n, p, pg->lost ? pg->lost_with : gvm_page_home(n, p));
			return;
		}
		start_fault(n, p, pg->waiters->access);
	}
}

/*
 * A transaction of ours completed: its waiters go first, then the queue. A
 * page fetched ahead goes to the front end as it is (no access waits for
 * it, or the one that came meanwhile has mapped it already).
 */
static void txn_complete(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_page *pg = &n->pages[p];

	grant_waiters(n, pg);
	if (pg->ahead) {
		pg->ahead = false;
		if (n->cfg.frontend && n->cfg.frontend->fill &&
		    access_ok(pg, GVM_ACCESS_READ) && pg->state != GVM_PAGE_PROMOTED)
			n->cfg.frontend->fill(n->cfg.frontend_arg, p, pg->frame,
					      (enum gvm_page_state)pg->state);
	}
	page_progress(n, p);
}

/* ==== Message handlers ==== */

static int enqueue_req(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		       const struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];
	struct gvm_req *q;

	/* A node has one fault per page: a newer request (a retry, or a
	 * fault after one that failed) replaces what it left here. */
	for (q = pg->queue; q; q = q->next)
		if (q->requester == r->requester) {
			if (r->req_id <= q->req_id)
				return 0; /* an older attempt, overtaken on its way */
			q->access = r->access;
			q->req_id = r->req_id;
			q->have_copy = r->have_copy;
			q->have_version = r->have_version;
			return 0;
		}
	q = gvm_os_zalloc(sizeof(*q));
	if (!q)
		return gvm_peer_error(n, src, p, "out of memory for its request");
	*q = *r;
	q->next = NULL;
	if (pg->queue_tail)
		pg->queue_tail->next = q;
	else
		pg->queue = q;
	pg->queue_tail = q;
	n->stats.queued++;
	return 0;
}

/* The owner got a request: serve it, or queue it while busy. */
static int owner_request(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
			 const struct gvm_req *r)
{
	struct gvm_page *pg = &n->pages[p];

	/* One of our own requests, superseded, came back after we got the
	 * page another way: nothing to do. */
	if (r->requester == n->cfg.self)
		return 0;
	if (peer_closed(n, r->requester))
		return 0; /* routed for a node that has died since */
	if (owner_busy(pg) || pg->queue)
		return enqueue_req(n, src, p, r);
	if (pg->state == GVM_PAGE_PROMOTED)
		serve_promoted(n, p, r);
	else if (r->access == GVM_ACCESS_READ)
		serve_read(n, p, r);
	else
		serve_write(n, p, r);
	return 0;
}

static int handle_req(struct gvm_node *n, gvm_node_id src,
		      const struct gvm_msg *m)
{
	struct gvm_page *pg = &n->pages[m->page];
	gvm_page_t p = m->page;
	struct gvm_req r = {
		.requester = m->node,
		.access = m->access,
		.have_copy = m->flags & GVM_WF_HAVE_COPY,
		.hops = m->hops,
		.req_id = m->req_id,
		.have_version = m->version,
		.tag = m->tag,
		.in_ns = n->trace ? gvm_os_now_ns() : 0,
	};

	if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
		if (m->flags & GVM_WF_ROUTED)
			return gvm_peer_error(n, src, p, "routed request without a manager");
		if (m->hops == 0 && src != m->node)
			return gvm_peer_error(n, src, p, "request on behalf of another node");
		if (pg->owner)
			return owner_request(n, src, p, &r);
		/*
		 * Every hop must reach a strictly newer hint: the request left
		 * the sender on a hint learnt at version m->tag, and a node that
		 * owned the page then has since learnt of a later owner.
		 */
		if (pg->hint_tag <= m->tag)
			return gvm_peer_error(n, src, p, "forwarding loop: hint not newer");
		if (m->hops >= GVM_WIRE_MAX_HOPS)
			return gvm_peer_error(n, src, p, "too many hops");
		forward_by_hint(n, p, &r);
		return 0;
	}

	if (!(m->flags & GVM_WF_ROUTED)) {
		if (!is_manager(n, p))
			return gvm_peer_error(n, src, p, "request to a node that does not manage the page");
		if (src != m->node)
			return gvm_peer_error(n, src, p, "request on behalf of another node");
		return gvm_mgr_request(n, src, p, &r);
	}
	if (src != gvm_page_home(n, p))
		return gvm_peer_error(n, src, p, "routed request not from the manager");
	/* The manager routes only to settled owners (it waits for OWNED). */
	if (!pg->owner)
		return gvm_peer_error(n, src, p, "routed request to a node that does not own the page");
	return owner_request(n, src, p, &r);
}

static void note_grant_in(struct gvm_node *n, struct gvm_page *pg,
			  gvm_node_id src)
{
	if (n->trace) {
		pg->grant_in_ns = gvm_os_now_ns();
		pg->granted_by = src;
	}
}

static int handle_grant_read(struct gvm_node *n, gvm_node_id src,
			     const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];

	if (pg->txn != TXN_READ || m->req_id != pg->req_id) {
		if (m->req_id < pg->req_id) {
			/* The answer to a request we have since sent again. */
			n->stats.stale_grants++;
			return 0;
		}
		return gvm_peer_error(n, src, p, "read grant nobody asked for");
	}
	if (!m->payload && !(pg->frame && pg->state == GVM_PAGE_INVALID &&
			     pg->version == m->version))
		return gvm_peer_error(n, src, p, "read grant without a payload we can reuse");
	if (m->version <= pg->inv_mark &&
	    GVM_MUTATION != GVM_MUT_ACCEPT_STALE) {
		/* An invalidation overtook this grant: its data is stale. But
		 * whoever granted a request sent after INV(v) holds a version
		 * newer than v; an older grant (or that INV) is a lie, and
		 * asking again would bring it back forever. */
		struct gvm_req r = {.requester = n->cfg.self,
				    .access = GVM_ACCESS_READ};

		if (pg->asked_after_inv)
			return gvm_peer_error(n, src, p, "read grant older than an invalidation before we asked");
		r.req_id = ++pg->req_id;
		n->stats.stale_grants++;
		send_to_locator(n, p, &r);
		return 0;
	}
	note_grant_in(n, pg, src);
	if (m->payload) {
		if (ensure_frame(n, pg))
			return gvm_peer_error(n, src, p, "out of memory for a frame");
		gvm_memcpy(pg->frame, m->payload, page_size(n));
	}
	pg->version = m->version;
	pg->state = GVM_PAGE_SHARED;
	pg->txn = TXN_NONE;
	pg->read_copy = true;
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC)
		set_hint(pg, src, m->version);
	record_latency(n, pg);
	txn_complete(n, p);
	return 0;
}

static int handle_grant_write(struct gvm_node *n, gvm_node_id src,
			      const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];

	if (pg->txn != TXN_WRITE || m->req_id != pg->req_id) {
		/*
		 * An attempt we gave up on (its manager or a node on its way
		 * died) was served after all. The page is ours now: take it,
		 * or nobody holds it. Whatever we asked since is answered by
		 * it, so later answers to that become stale too.
		 */
		if (m->req_id >= pg->req_id || pg->owner ||
		    pg->txn == TXN_INVALIDATING)
			return gvm_peer_error(n, src, p, "write grant nobody asked for");
		n->stats.stale_grants++;
		pg->req_id++;
	}
	if (pg->has_deferred_inv)
		return gvm_peer_error(n, src, p, "write grant while our invalidation is pending");
	if (!m->payload && !(pg->frame && pg->state == GVM_PAGE_SHARED &&
			     pg->version == m->version))
		return gvm_peer_error(n, src, p, "write grant without a payload we can reuse");
	if (!pg->copyset) {
		pg->copyset = gvm_os_zalloc(gvm_bitmap_words(nnodes(n)) *
					    sizeof(uint64_t));
		if (!pg->copyset)
			return gvm_peer_error(n, src, p, "out of memory for a copyset");
	}
	gvm_bitmap_from_wire(pg->copyset, m->copyset, nnodes(n));
	if (gvm_bitmap_test(pg->copyset, n->cfg.self) ||
	    gvm_bitmap_test(pg->copyset, src)) {
		gvm_bitmap_zero(pg->copyset, nnodes(n));
		return gvm_peer_error(n, src, p, "copyset names the old or new owner");
	}
	note_grant_in(n, pg, src);
	if (m->payload) {
		if (ensure_frame(n, pg))
			return gvm_peer_error(n, src, p, "out of memory for a frame");
		gvm_memcpy(pg->frame, m->payload, page_size(n));
	}
	/* Readable now; writable once every reader has let go. */
	pg->version = m->version;
	pg->state = GVM_PAGE_SHARED;
	pg->owner = true;
	pg->lost = false;
	pg->read_copy = pg->written = false;
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
		pg->hint = n->cfg.self;
		pg->hint_tag = m->version + 1;
	}
	if (n->cfg.manager != GVM_MANAGER_DYNAMIC) /* the manager waits for this */
		gvm_send_simple(n, gvm_page_home(n, p), GVM_MSG_OWNED, p, m->version,
				GVM_NODE_NONE);
	if (n->policy->on_transfer)
		note_verdict(n, p, n->policy->on_transfer(n->policy_state, p, src,
							  n->cfg.self, n->now_ns));
	invalidate_copyset(n, p);
	if (!pg->acks_pending)
		acks_done(n, p);
	return 0;
}

/* Drop the local copy as INV(version) from new_owner asks, then ack. */
static void apply_inv(struct gvm_node *n, gvm_page_t p, gvm_node_id new_owner,
		      uint64_t version)
{
	struct gvm_page *pg = &n->pages[p];

	if (pg->state != GVM_PAGE_INVALID && pg->version <= version) {
		fe_invalidate(n, p);
		pg->read_copy = false;
		if (pg->state == GVM_PAGE_PROMOTED) { /* a demotion */
			n->slot_page[pg->slot] = 0;
			if (n->policy->on_promoted)
				n->policy->on_promoted(n->policy_state, p, false,
						       n->now_ns);
		}
		pg->state = GVM_PAGE_INVALID;
	}
	if (version > pg->inv_mark) {
		pg->inv_mark = version;
		pg->asked_after_inv = false;
	}
	if (n->cfg.manager == GVM_MANAGER_DYNAMIC)
		set_hint(pg, new_owner, version + 1);
	if (n->policy->on_invalidate)
		note_verdict(n, p, n->policy->on_invalidate(n->policy_state, p,
							    new_owner, n->now_ns));
	gvm_send_simple(n, new_owner, GVM_MSG_ACK, p, version, GVM_NODE_NONE);
}

static int handle_inv(struct gvm_node *n, gvm_node_id src,
		      const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];

	n->stats.inv_recv++;
	if (m->node != src)
		return gvm_peer_error(n, src, p, "invalidation on behalf of another node");
	if (pg->owner)
		return gvm_peer_error(n, src, p, "invalidation sent to the owner");
	if (pg->has_deferred_inv)
		return gvm_peer_error(n, src, p, "second invalidation while one waits");
	if (pg->pins && pg->state != GVM_PAGE_INVALID &&
	    pg->version <= m->version) {
		/* A local user holds the page: ack when it lets go. */
		pg->has_deferred_inv = true;
		pg->deferred_inv_from = src;
		pg->deferred_inv_version = m->version;
		n->stats.inv_deferred++;
		return 0;
	}
	apply_inv(n, p, src, m->version);
	return 0;
}

static int handle_ack(struct gvm_node *n, gvm_node_id src,
		      const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];

	if (pg->txn != TXN_INVALIDATING || !pg->owner ||
	    !gvm_bitmap_test(pg->copyset, src) || m->version != pg->version)
		return gvm_peer_error(n, src, p, "acknowledgement nobody waits for");
	gvm_bitmap_clear(pg->copyset, src);
	if (--pg->acks_pending == 0)
		acks_done(n, p);
	return 0;
}

/* The owner says p lives in a window slot now (or answers our request so). */
static int handle_promote(struct gvm_node *n, gvm_node_id src,
			  const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];
	bool ours = m->req_id && m->req_id == pg->req_id &&
		    (pg->txn == TXN_READ || pg->txn == TXN_WRITE);

	if (m->req_id > pg->req_id)
		return gvm_peer_error(n, src, p, "promotion answers a request we never sent");
	if (m->req_id && !ours)
		return 0; /* told already, and our attempt was retired then */
	if (!n->share || m->slot / n->share != src)
		return gvm_peer_error(n, src, p, "slot outside the sender's share of the window");
	if (n->slot_page[m->slot] && n->slot_page[m->slot] != p + 1)
		return gvm_peer_error(n, src, p, "slot holds another page");
	if (pg->owner)
		return gvm_peer_error(n, src, p, "promotion of a page we own");
	if (pg->state == GVM_PAGE_PROMOTED) {
		if (pg->slot != m->slot || pg->version != m->version)
			return gvm_peer_error(n, src, p, "promotion contradicts the one we know");
	} else if (pg->state != GVM_PAGE_INVALID) {
		return gvm_peer_error(n, src, p, "promotion while we hold a copy");
	} else if (m->version <= pg->inv_mark) {
		return gvm_peer_error(n, src, p, "promotion older than an invalidation");
	} else {
		pg->state = GVM_PAGE_PROMOTED;
		pg->slot = m->slot;
		pg->version = m->version;
		n->slot_page[m->slot] = p + 1;
		if (n->cfg.manager == GVM_MANAGER_DYNAMIC)
			set_hint(pg, src, m->version);
		if (n->policy->on_promoted)
			n->policy->on_promoted(n->policy_state, p, true, n->now_ns);
	}
	if (pg->txn == TXN_READ || pg->txn == TXN_WRITE) {
		/* Whatever we asked is answered: the page is in the window. */
		pg->txn = TXN_NONE;
		pg->req_id++;
		record_latency(n, pg);
		txn_complete(n, p);
	}
	return 0;
}

/* ==== Barrier ==== */

static void barrier_release(struct gvm_node *n, uint64_t epoch)
{
	n->barrier_released = epoch;
	gvm_os_cond_broadcast(&n->cond);
}

/*
 * Node 0: release the next epoch once every live node has arrived (one
 * that arrived and died since is not waited for, nor counted).
 */
static void barrier_check(struct gvm_node *n)
{
	uint64_t epoch = n->barrier_released + 1;
	uint64_t *arrived = n->barrier_arrived[epoch & 1];

	for (gvm_node_id i = 0; i < nnodes(n); i++)
		if (!peer_closed(n, i) && !gvm_bitmap_test(arrived, i))
			return;
	gvm_bitmap_zero(arrived, nnodes(n));
	for (gvm_node_id i = 1; i < nnodes(n); i++)
		if (!peer_closed(n, i))
			gvm_send_simple(n, i, GVM_MSG_BARRIER_DONE, 0, epoch,
					GVM_NODE_NONE);
	barrier_release(n, epoch);
}

/* Returns false if who had arrived at epoch already. */
static bool barrier_arrive(struct gvm_node *n, uint64_t epoch, gvm_node_id who)
{
	uint64_t *arrived = n->barrier_arrived[epoch & 1];

	if (gvm_bitmap_test(arrived, who))
		return false;
	gvm_bitmap_set(arrived, who);
	if (epoch == n->barrier_released + 1)
		barrier_check(n);
	return true;
}

static int handle_barrier(struct gvm_node *n, gvm_node_id src,
			  const struct gvm_msg *m)
{
	if (m->type == GVM_MSG_BARRIER) {
		/* A node enters epoch e only after e - 1 was released. */
		if (n->cfg.self != 0 || m->version > n->barrier_released + 1 ||
		    m->version <= n->barrier_released)
			return gvm_peer_error(n, src, 0, "barrier out of turn");
		if (!barrier_arrive(n, m->version, src))
			return gvm_peer_error(n, src, 0, "arrived at a barrier twice");
		return 0;
	}
	if (src != 0 || m->version != n->barrier_released + 1 ||
	    m->version > n->barrier_entered)
		return gvm_peer_error(n, src, 0, "barrier release out of turn");
	barrier_release(n, m->version);
	return 0;
}

int gvm_barrier(struct gvm_node *n)
{
	uint64_t epoch;
	int err = 0;

	/*
	 * The collector reaches out to every node: one that never came up
	 * then fails its dial and is reported down, instead of being waited
	 * for forever. Outside the lock: a backend's dial may wait.
	 */
	for (gvm_node_id i = 1; n->cfg.self == 0 && i < nnodes(n); i++)
		n->tp->ops.connect(n->tp, i);

	gvm_os_mutex_lock(&n->lock);
	epoch = ++n->barrier_entered;
	if (n->cfg.self == 0)
		barrier_arrive(n, epoch, 0);
	else
		gvm_send_simple(n, 0, GVM_MSG_BARRIER, 0, epoch, GVM_NODE_NONE);
	flush_and_unlock(n);
	gvm_os_mutex_lock(&n->lock);
	while (n->barrier_released < epoch) {
		if (gvm_bitmap_test(n->closed_peers, 0)) {
			err = -EHOSTDOWN;
			break;
		}
		err = gvm_os_cond_wait(&n->cond, &n->lock);
		if (err)
			break; /* killed: the barrier goes on without us */
	}
	flush_and_unlock(n);
	return err;
}

/* ==== Failure messages ==== */

static int from_manager(struct gvm_node *n, gvm_node_id src, gvm_page_t p)
{
	return n->cfg.manager != GVM_MANAGER_DYNAMIC && src == gvm_page_home(n, p);
}

/* At a manager: OWNED, LOST, PROBE, KEPT. */
static int handle_to_manager(struct gvm_node *n, gvm_node_id src,
			     const struct gvm_msg *m)
{
	if (!is_manager(n, m->page))
		return gvm_peer_error(n, src, m->page, "message for a manager sent elsewhere");
	if (m->type == GVM_MSG_OWNED)
		return gvm_mgr_owned(n, src, m->page);
	if (m->type == GVM_MSG_LOST)
		return gvm_mgr_lost(n, src, m->page);
	if (m->type == GVM_MSG_KEPT)
		return gvm_mgr_kept(n, src, m->page, m->node);
	return gvm_mgr_probe(n, src, m->page, (uint32_t)m->version);
}

/* From a manager: NACK, RETRY, RECLAIM. */
static int handle_from_manager(struct gvm_node *n, gvm_node_id src,
			       const struct gvm_msg *m)
{
	gvm_page_t p = m->page;
	struct gvm_page *pg = &n->pages[p];

	if (!from_manager(n, src, p))
		return gvm_peer_error(n, src, p, "manager's message not from the manager");
	switch (m->type) {
	case GVM_MSG_NACK:
		if (pg->owner)
			return gvm_peer_error(n, src, p, "the owner told its page is lost");
		fail_page(n, p, m->node);
		return 0;
	case GVM_MSG_RETRY:
		if (pg->txn == TXN_READ && m->version == pg->req_id) {
			struct gvm_req r = {.requester = n->cfg.self,
					    .access = GVM_ACCESS_READ,
					    .req_id = ++pg->req_id};

			send_to_locator(n, p, &r);
		}
		return 0;
	default: /* RECLAIM: learn of the death first, then answer for good */
		if (m->node == n->cfg.self)
			return gvm_peer_error(n, src, p, "asked about our own death");
		peer_down_locked(n, m->node, -ECONNRESET);
		if (pg->owner) {
			gvm_send_simple(n, src, GVM_MSG_OWNED, p, pg->version,
					GVM_NODE_NONE);
		} else {
			gvm_send_simple(n, src, GVM_MSG_LOST, p, 0, GVM_NODE_NONE);
			if (pg->txn == TXN_WRITE)
				fail_page(n, p, m->node);
		}
		return 0;
	}
}

static int dispatch(struct gvm_node *n, gvm_node_id src, const void *buf,
		    size_t len)
{
	struct gvm_msg m;
	const char *why;

	n->stats.msgs_recv++;
	n->stats.bytes_recv += len;
	if (gvm_wire_decode(&n->geom, buf, len, &m, &why))
		return gvm_peer_error(n, src, 0, why);
	switch (m.type) {
	case GVM_MSG_REQ:
		return handle_req(n, src, &m);
	case GVM_MSG_GRANT_READ:
		return handle_grant_read(n, src, &m);
	case GVM_MSG_GRANT_WRITE:
		return handle_grant_write(n, src, &m);
	case GVM_MSG_INV:
		return handle_inv(n, src, &m);
	case GVM_MSG_ACK:
		return handle_ack(n, src, &m);
	case GVM_MSG_BARRIER:
	case GVM_MSG_BARRIER_DONE:
		return handle_barrier(n, src, &m);
	case GVM_MSG_OWNED:
	case GVM_MSG_LOST:
	case GVM_MSG_PROBE:
	case GVM_MSG_KEPT:
		return handle_to_manager(n, src, &m);
	case GVM_MSG_NACK:
		if (n->cfg.manager == GVM_MANAGER_DYNAMIC) {
			/* A forwarder whose trail ended at a dead node. */
			struct gvm_page *pg = &n->pages[m.page];

			if ((pg->txn == TXN_READ || pg->txn == TXN_WRITE) &&
			    m.version == pg->req_id)
				fail_fault(n, m.page, false, m.node);
			return 0;
		}
		return handle_from_manager(n, src, &m);
	case GVM_MSG_RETRY:
	case GVM_MSG_RECLAIM:
		return handle_from_manager(n, src, &m);
	case GVM_MSG_PROMOTE:
		return handle_promote(n, src, &m);
	default: /* DOWN */
		if (m.node == n->cfg.self)
			return gvm_peer_error(n, src, 0, "declared us dead");
		if (m.node == src) /* a node that leaves just closes */
			return gvm_peer_error(n, src, 0, "declared itself dead");
		peer_down_locked(n, m.node, m.version == 1 ? -ESHUTDOWN : -ENETUNREACH);
		return 0;
	}
}

/* Handle messages we sent ourselves, in order, after the current handler. */
static void drain_self(struct gvm_node *n)
{
	if (n->draining)
		return;
	n->draining = true;
	while (n->self_head) {
		struct gvm_selfmsg *s = n->self_head;

		n->self_head = s->next;
		if (!n->self_head)
			n->self_tail = NULL;
		dispatch(n, n->cfg.self, s->buf, s->len);
		gvm_os_free(s);
	}
	n->draining = false;
}

int gvm_node_recv(void *node, gvm_node_id src, const void *msg, size_t len)
{
	struct gvm_node *n = node;
	int err;

	gvm_os_mutex_lock(&n->lock);
	if (src >= nnodes(n) || src == n->cfg.self) {
		n->stats.protocol_errors++;
		gvm_log_warn("node %u: message with impossible source %u dropped",
			     n->cfg.self, src);
		err = -EPROTO;
	} else if (gvm_bitmap_test(n->closed_peers, src)) {
		err = -EPROTO;
	} else {
		err = dispatch(n, src, msg, len);
		drain_self(n);
	}
	flush_and_unlock(n);
	return err;
}

/* ==== Lost peers ==== */

static void forget_requests_of(struct gvm_page *pg, gvm_node_id peer)
{
	struct gvm_req **pp = &pg->queue;

	pg->queue_tail = NULL;
	while (*pp) {
		struct gvm_req *r = *pp;

		if (r->requester == peer) {
			*pp = r->next;
			gvm_os_free(r);
			continue;
		}
		pg->queue_tail = r;
		pp = &r->next;
	}
}

/*
 * peer is gone: nothing more from it is processed, and every role this node
 * plays repairs what it can (core/PROTOCOL.md, "Lost peers").
 */
static void peer_down_locked(struct gvm_node *n, gvm_node_id peer, int reason)
{
	if (peer >= nnodes(n) || peer == n->cfg.self || peer_closed(n, peer))
		return;
	if (reason == -ESHUTDOWN)
		gvm_log_info("node %u: peer %u left", n->cfg.self, peer);
	else if (reason != -EPROTO) /* gvm_peer_error said why */
		gvm_log_warn("node %u: peer %u lost (%d)", n->cfg.self, peer,
			     reason);
	gvm_bitmap_set(n->closed_peers, peer);
	gvm_tp_close_peer(n->tp, peer, reason);
	/* Tell the others: some may have no connection to notice it by.
	 * version 1 says it left in good order. */
	for (gvm_node_id i = 0; i < nnodes(n); i++)
		if (i != n->cfg.self && !peer_closed(n, i))
			gvm_send_simple(n, i, GVM_MSG_DOWN, 0,
					reason == -ESHUTDOWN, peer);
	for (gvm_page_t p = 0; p < n->cfg.npages; p++) {
		struct gvm_page *pg = &n->pages[p];

		if (pg->txn == TXN_READ || pg->txn == TXN_WRITE) {
			/*
			 * Our request may have died with it. DYNAMIC has nobody
			 * to ask: the fault fails (not the page: a retry may
			 * find the owner), and request ids sort out the answers
			 * that still arrive.
			 */
			if (n->cfg.manager == GVM_MANAGER_DYNAMIC)
				fail_fault(n, p, false, peer);
			else if (manager_gone(n, p))
				fail_page(n, p, peer);
			else if (pg->txn == TXN_READ &&
				 n->cfg.manager != GVM_MANAGER_DYNAMIC)
				gvm_send_simple(n, gvm_page_home(n, p), GVM_MSG_PROBE,
						p, pg->req_id, GVM_NODE_NONE);
			continue;
		}
		if (!pg->owner)
			continue;
		forget_requests_of(pg, peer);
		if (!gvm_bitmap_test(pg->copyset, peer))
			continue;
		gvm_bitmap_clear(pg->copyset, peer);
		if (pg->txn == TXN_INVALIDATING && --pg->acks_pending == 0) {
			acks_done(n, p);
		} else {
			page_progress(n, p);
		}
	}
	gvm_mgr_peer_down(n, peer, reason == -ESHUTDOWN);
	if (n->cfg.self == 0)
		barrier_check(n);
	gvm_os_cond_broadcast(&n->cond);
}

void gvm_node_peer_down(void *node, gvm_node_id peer, int reason)
{
	struct gvm_node *n = node;

	gvm_os_mutex_lock(&n->lock);
	peer_down_locked(n, peer, reason);
	drain_self(n);
	flush_and_unlock(n);
}

/* ==== Local access ==== */

static int acquire_locked(struct gvm_node *n, struct gvm_waiter *w)
{
	struct gvm_page *pg;

	if (w->page >= n->cfg.npages ||
	    (w->access != GVM_ACCESS_READ && w->access != GVM_ACCESS_WRITE))
		return -EINVAL;
	pg = &n->pages[w->page];
	/* Waiters and queued remote requests keep their turn. */
	if (!pg->waiters && !(pg->owner && pg->queue) &&
	    may_grant(pg, w->access)) {
		pg->pins++;
		n->stats.hits++;
		w->frame = local_frame(n, pg);
		w->state = shown_state(pg, w->access);
		note_write(pg, w->access);
		return 0;
	}
	w->next = NULL;
	if (pg->waiters_tail)
		pg->waiters_tail->next = w;
	else
		pg->waiters = w;
	pg->waiters_tail = w;
	page_progress(n, w->page);
	drain_self(n);
	return -EINPROGRESS;
}

int gvm_acquire_async(struct gvm_node *n, struct gvm_waiter *w)
{
	int err;

	gvm_os_mutex_lock(&n->lock);
	err = acquire_locked(n, w);
	flush_and_unlock(n);
	return err;
}

/*
 * The thread waiting for w is being killed: w leaves the page's waiters
 * (a fault in flight for it still completes, for whoever comes next).
 * Returns false if w was decided already and waits only to be told.
 */
static bool cancel_waiter(struct gvm_node *n, struct gvm_waiter *w)
{
	struct gvm_page *pg = &n->pages[w->page];
	struct gvm_waiter **pp = &pg->waiters, *prev = NULL;

	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return false;
	*pp = w->next;
	if (pg->waiters_tail == w)
		pg->waiters_tail = prev;
	page_progress(n, w->page);
	drain_self(n);
	return true;
}

struct sync_waiter {
	struct gvm_waiter w;
	struct gvm_node *n;
	bool done;
	int result;
};

/* Told outside the lock; the acquirer checks done under it. */
static bool sync_done(struct gvm_waiter *w, int result)
{
	struct sync_waiter *s = container_of(w, struct sync_waiter, w);
	struct gvm_node *n = s->n;

	gvm_os_mutex_lock(&n->lock);
	s->result = result;
	s->done = true;
	gvm_os_cond_broadcast(&n->cond);
	gvm_os_mutex_unlock(&n->lock);
	return true;
}

int gvm_acquire(struct gvm_node *n, gvm_page_t page, enum gvm_access access,
		void **frame)
{
	struct sync_waiter s = {
		.w = {.page = page, .access = access, .done = sync_done},
		.n = n,
	};
	int err;

	gvm_os_mutex_lock(&n->lock);
	err = acquire_locked(n, &s.w);
	if (err == -EINPROGRESS) {
		flush_and_unlock(n); /* our request goes out */
		gvm_os_mutex_lock(&n->lock);
		/*
		 * Killed: leave, unless the grant is decided and only the
		 * telling is left (s must outlive it; the flushing thread is
		 * at it, so the wait is short).
		 */
		while (!s.done)
			if (gvm_os_cond_wait(&n->cond, &n->lock) &&
			    cancel_waiter(n, &s.w))
				break;
		err = s.done ? s.result : -EINTR;
	}
	if (!err && frame)
		*frame = local_frame(n, &n->pages[page]);
	flush_and_unlock(n);
	return err;
}

void *gvm_page_frame(struct gvm_node *n, gvm_page_t page)
{
	void *f;

	gvm_os_mutex_lock(&n->lock);
	f = page < n->cfg.npages ? local_frame(n, &n->pages[page]) : NULL;
	gvm_os_mutex_unlock(&n->lock);
	return f;
}

void gvm_release(struct gvm_node *n, gvm_page_t page)
{
	struct gvm_page *pg;

	gvm_os_mutex_lock(&n->lock);
	if (page >= n->cfg.npages || !n->pages[page].pins) {
		gvm_log_err("node %u: release of page %llu that is not pinned",
			    n->cfg.self, (unsigned long long)page);
		goto out_unlock;
	}
	pg = &n->pages[page];
	if (--pg->pins == 0 && pg->has_deferred_inv) {
		pg->has_deferred_inv = false;
		apply_inv(n, page, pg->deferred_inv_from,
			  pg->deferred_inv_version);
	}
	page_progress(n, page);
	drain_self(n);
out_unlock:
	flush_and_unlock(n);
}

/* ==== Creation, statistics, inspection ==== */

void gvm_config_hello(const struct gvm_config *cfg, struct gvm_hello *out)
{
	out->proto = GVM_WIRE_VERSION;
	out->cluster_id = cfg->cluster_id;
	out->nodes = cfg->nodes;
	out->node = cfg->self;
	out->page_shift = cfg->page_shift;
	out->manager = cfg->manager;
}

static int check_config(const struct gvm_config *c)
{
	if (c->nodes == 0 || c->nodes > GVM_MAX_NODES || c->self >= c->nodes)
		return -EINVAL;
	if (c->page_shift < GVM_PAGE_SHIFT_MIN ||
	    c->page_shift > GVM_PAGE_SHIFT_MAX)
		return -EINVAL;
	if (c->npages == 0 || c->npages > (1ull << 40))
		return -EINVAL;
	if (c->manager != GVM_MANAGER_FIXED &&
	    c->manager != GVM_MANAGER_DYNAMIC &&
	    c->manager != GVM_MANAGER_CENTRAL)
		return -EINVAL;
	return 0;
}

/* Every page starts MODIFIED at its home with version 1 and zero contents. */
static int init_pages(struct gvm_node *n)
{
	uint32_t words = gvm_bitmap_words(nnodes(n));

	for (gvm_page_t p = 0; p < n->cfg.npages; p++) {
		struct gvm_page *pg = &n->pages[p];
		gvm_node_id home = gvm_page_home(n, p);

		pg->hint = home;
		pg->hint_tag = 1;
		if (home != n->cfg.self)
			continue;
		pg->owner = true;
		pg->state = GVM_PAGE_MODIFIED;
		pg->version = 1;
		pg->copyset = gvm_os_zalloc(words * sizeof(uint64_t));
		if (!pg->copyset || ensure_frame(n, pg))
			return -ENOMEM;
	}
	return gvm_mgr_init(n);
}

/* Divide the shared window into page slots, an equal share per node. */
static int init_window(struct gvm_node *n)
{
	uint64_t slots = n->cfg.window ? n->cfg.window_len / page_size(n) : 0;

	if (slots > 0x7fffffff)
		slots = 0x7fffffff;
	n->window = n->cfg.window;
	n->slots = (uint32_t)slots;
	n->share = n->slots / nnodes(n);
	n->geom.slots = n->slots;
	if (n->window && !n->share)
		gvm_log_warn("node %u: a window of %llu bytes has no slot for each of %u nodes: no promotion",
			     n->cfg.self, (unsigned long long)n->cfg.window_len,
			     nnodes(n));
	if (!n->slots)
		return 0;
	n->slot_page = gvm_os_zalloc(n->slots * sizeof(*n->slot_page));
	return n->slot_page ? 0 : -ENOMEM;
}

int gvm_node_create(const struct gvm_config *cfg, struct gvm_transport *tp,
		    struct gvm_node **out)
{
	struct gvm_node *n;
	uint32_t cs_bytes;
	int err;

	err = check_config(cfg);
	if (err)
		return err;
	if (!tp || !(tp->caps & GVM_CAP_ORDERED))
		return -EINVAL;
	n = gvm_os_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cfg = *cfg;
	n->tp = tp;
	n->geom.nodes = cfg->nodes;
	n->geom.page_size = 1u << cfg->page_shift;
	n->geom.npages = cfg->npages;
	n->policy = cfg->policy ? cfg->policy : &gvm_policy_never;
	gvm_os_mutex_init(&n->lock);
	gvm_os_cond_init(&n->cond);
	cs_bytes = gvm_bitmap_wire_bytes(cfg->nodes);
	n->pages = gvm_os_zalloc(cfg->npages * sizeof(*n->pages));
	n->closed_peers = gvm_os_zalloc(gvm_bitmap_words(cfg->nodes) *
					sizeof(uint64_t));
	n->txbuf = gvm_os_zalloc(GVM_WIRE_FIXED_MAX + cs_bytes);
	n->cs_wire = gvm_os_zalloc(cs_bytes);
	for (int i = 0; i < 2; i++)
		n->barrier_arrived[i] = gvm_os_zalloc(gvm_bitmap_words(cfg->nodes) *
						      sizeof(uint64_t));
	err = -ENOMEM;
	if (!n->pages || !n->closed_peers || !n->txbuf || !n->cs_wire ||
	    !n->barrier_arrived[0] || !n->barrier_arrived[1])
		goto out_destroy;
	err = init_window(n);
	if (err)
		goto out_destroy;
	err = init_pages(n);
	if (err)
		goto out_destroy;
	if (n->policy->create) {
		struct gvm_policy_params pp = {
			.self = cfg->self,
			.nodes = cfg->nodes,
			.npages = cfg->npages,
			.options = cfg->policy_options,
		};

		err = n->policy->create(&n->policy_state, &pp);
		if (err)
			goto out_destroy;
	}
	*out = n;
	return 0;

out_destroy:
	gvm_node_destroy(n);
	return err;
}

static void free_outmsgs(struct gvm_outmsg *o)
{
	while (o) {
		struct gvm_outmsg *next = o->next;

		gvm_os_free(o);
		o = next;
	}
}

void gvm_node_destroy(struct gvm_node *n)
{
	if (!n)
		return;
	for (gvm_page_t p = 0; n->pages && p < n->cfg.npages; p++) {
		struct gvm_page *pg = &n->pages[p];

		while (pg->queue) {
			struct gvm_req *r = pg->queue;

			pg->queue = r->next;
			gvm_os_free(r);
		}
		if (pg->frame && !frames_from_frontend(n))
			gvm_os_frame_free(pg->frame, page_size(n));
		gvm_os_free(pg->copyset);
	}
	while (n->self_head) {
		struct gvm_selfmsg *s = n->self_head;

		n->self_head = s->next;
		gvm_os_free(s);
	}
	free_outmsgs(n->out_head);
	free_outmsgs(n->out_free);
	if (n->policy_state && n->policy->destroy)
		n->policy->destroy(n->policy_state);
	gvm_os_free(n->slot_page);
	gvm_os_free(n->pages);
	gvm_mgr_fini(n);
	gvm_os_free(n->closed_peers);
	gvm_os_free(n->txbuf);
	gvm_os_free(n->cs_wire);
	gvm_os_free(n->barrier_arrived[0]);
	gvm_os_free(n->barrier_arrived[1]);
	gvm_os_cond_destroy(&n->cond);
	gvm_os_mutex_destroy(&n->lock);
	gvm_os_free(n);
}

void gvm_node_tick(struct gvm_node *n, uint64_t now_ns)
{
	uint32_t first = n->cfg.self * n->share, seen = 0;

	gvm_os_mutex_lock(&n->lock);
	n->now_ns = now_ns;
	/* Slots are taken first-free: the used ones sit at the share's start. */
	for (uint32_t s = first; n->policy->check_promoted && seen < n->share_used &&
				 s < first + n->share; s++) {
		gvm_page_t p;
		struct gvm_page *pg;

		if (!n->slot_page[s] || n->slot_page[s] == SLOT_RETIRED)
			continue;
		seen++;
		p = n->slot_page[s] - 1;
		pg = &n->pages[p];
		/* Slots of our share hold pages we promoted and still own,
		 * unless a promotion is under way. */
		if (pg->state != GVM_PAGE_PROMOTED || pg->txn != TXN_NONE || pg->pins)
			continue;
		if (n->policy->check_promoted(n->policy_state, p, now_ns) ==
		    GVM_VERDICT_DEMOTE)
			start_demotion(n, p);
	}
	drain_self(n);
	flush_and_unlock(n);
}

void gvm_node_trace(struct gvm_node *n, struct gvm_trace_record *buf,
		    uint32_t cap, uint64_t *count)
{
	gvm_os_mutex_lock(&n->lock);
	n->trace = buf && cap && count ? buf : NULL;
	n->trace_cap = cap;
	n->trace_count = count;
	gvm_os_mutex_unlock(&n->lock);
}

void gvm_node_stats(struct gvm_node *n, struct gvm_stats *out)
{
	gvm_os_mutex_lock(&n->lock);
	*out = n->stats;
	gvm_os_mutex_unlock(&n->lock);
}

uint32_t gvm_node_copyset_bytes(const struct gvm_node *n)
{
	return gvm_bitmap_wire_bytes(n->cfg.nodes);
}

int gvm_page_inspect(struct gvm_node *n, gvm_page_t page,
		     struct gvm_page_info *info, uint8_t *copyset)
{
	struct gvm_page *pg;

	if (page >= n->cfg.npages)
		return -EINVAL;
	gvm_os_mutex_lock(&n->lock);
	pg = &n->pages[page];
	info->state = (enum gvm_page_state)pg->state;
	info->owner = pg->owner;
	info->busy = pg->txn != TXN_NONE;
	info->version = pg->version;
	info->pins = pg->pins;
	info->lost = pg->lost;
	info->lost_with = pg->lost_with;
	info->frame = local_frame(n, pg);
	info->slot = pg->slot;
	info->copyset_weight =
		pg->owner ? gvm_bitmap_weight(pg->copyset, nnodes(n)) : 0;
	if (copyset) {
		if (pg->owner)
			gvm_bitmap_to_wire(copyset, pg->copyset, nnodes(n));
		else
			gvm_memset(copyset, 0, gvm_bitmap_wire_bytes(nnodes(n)));
	}
	gvm_os_mutex_unlock(&n->lock);
	return 0;
}

static const char *const manager_names[] = {
	[GVM_MANAGER_FIXED] = "fixed",
	[GVM_MANAGER_DYNAMIC] = "dynamic",
	[GVM_MANAGER_CENTRAL] = "central",
};

const char *gvm_manager_name(enum gvm_manager m)
{
	if (m < GVM_MANAGER_FIXED || m > GVM_MANAGER_CENTRAL)
		return "unknown";
	return manager_names[m];
}

int gvm_manager_parse(const char *s, enum gvm_manager *out)
{
	for (int m = GVM_MANAGER_FIXED; m <= GVM_MANAGER_CENTRAL; m++) {
		const char *a = manager_names[m], *b = s;

		while (*a && *a == *b) {
			a++;
			b++;
		}
		if (!*a && !*b) {
			*out = (enum gvm_manager)m;
			return 0;
		}
	}
	return -EINVAL;
}
