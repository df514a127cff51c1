// SPDX-License-Identifier: MIT
/*
 * gvm-sim - N engines in one process over the deterministic sim transport.
 *
 * Each seed runs a random workload (every node keeps several faults in
 * flight on random pages) and checks the IVY invariants after every
 * delivered message:
 *   1. at most one node holds a page MODIFIED, and then nobody else holds a
 *      valid copy;
 *   2. exactly one owner, counting write grants in flight as owners;
 *   3. every valid copy has the same version and the latest contents;
 *   4. the owner's copyset covers every other valid copy;
 *   5. every read sees the most recent write (a shadow copy of each page is
 *      updated at each write, in the order the simulation performs them);
 *   6. no engine logs a protocol error, and every operation completes;
 *   7. with --policy, a PROMOTED page has no private copy anywhere (every
 *      node that is not INVALID is PROMOTED, on the same slot and version,
 *      whose contents are the latest), and no two pages share a slot.
 * With --crash K, up to K nodes crash at random moments (core/PROTOCOL.md,
 * "Lost peers"); the checks then cover the
 * survivors, an operation may fail with -EHOSTDOWN only once some node has
 * crashed, and every survivor's operations must still complete.
 * All randomness comes from the seed; a failing seed is printed with the
 * command that replays it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gvm/dsm.h>

#include "os/gvm_os.h"
#include "sim.h"
#include "wire.h"

struct opts {
	uint32_t nodes;
	uint64_t pages;
	uint32_t ops;       /* per node */
	uint32_t inflight;  /* concurrent operations per node */
	uint64_t seeds;
	uint64_t first_seed;
	enum gvm_manager manager;
	uint32_t write_pct;
	uint32_t page_shift;
	uint32_t max_delay;
	uint32_t max_hold; /* steps a granted access stays pinned, at most */
	uint32_t crashes;  /* nodes to crash during each run */
	const char *policy; /* "name" or "name:options", NULL: never */
	uint32_t window;   /* slots of the shared window */
	bool replay;
	bool bench;
	bool quiet;
	bool full_check; /* every page's invariants at every node, every step */
};

enum op_state { OP_FREE, OP_WAITING, OP_GRANTED, OP_HELD };

struct op {
	struct gvm_waiter w; /* first: container_of-free cast in done() */
	struct sim_node *sn;
	enum op_state state;
	uint64_t release_at;
};

struct sim_node {
	struct gvm_node *node;
	bool crashed;
	struct gvm_transport *tp;
	struct op *ops;
	uint32_t active; /* ops not free */
	uint32_t left;   /* ops not yet started */
	uint64_t seq;
};

struct view {
	uint64_t version;
	uint32_t slot;
	uint8_t state; /* enum gvm_page_state */
	bool owner;
};

struct page_sum {
	uint32_t owners, modified, valid, promoted;
	uint64_t owner_ids; /* their sum: the owner, when there is one */
	uint64_t version;   /* of every valid copy */
};

struct run {
	const struct opts *o;
	struct sim_world *world;
	struct sim_node *nodes;
	uint8_t *shadow;          /* pages * page_size: the truth */
	uint32_t *grants_inflight; /* GRANT_WRITE messages per page */
	struct op **granted;      /* completions to perform, in order */
	uint32_t ngranted, granted_cap;
	uint8_t *cs;              /* copyset scratch */
	uint32_t page_size;
	uint64_t steps;
	uint64_t clock;           /* turns of the main loop: virtual time */
	uint64_t events;
	uint64_t crash_at[16];    /* steps at which the next crashes happen */
	uint32_t crashed;         /* nodes crashed so far */
	uint64_t failed_ops;      /* operations that failed with -EHOSTDOWN */
	uint64_t digest; /* FNV-1a of every delivery: equal runs, equal digests */
	uint8_t *window;          /* the shared window every node maps */
	uint64_t *slot_page;      /* page + 1 last seen promoted in each slot */
	/* The incremental check: each live node's last view of each page and,
	 * per page, what those views add up to (refresh()). */
	struct view *views;       /* nodes * pages */
	struct page_sum *sums;    /* pages */
	uint64_t *held;           /* pages * hwords: nodes with a private valid copy */
	uint32_t hwords;
	char violation[512];
	/* bench */
	bool timing;
	uint64_t engine_ns;
	uint64_t *handler_ns;
	uint64_t nhandler, handler_cap;
	uint64_t bench_calls, bench_faults, bench_msgs, bench_max_hops;
	struct gvm_stats total; /* summed over nodes at the end of a run */
};

static void violation(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void violation(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->violation[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->violation, sizeof(r->violation), fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ==== Watching the wire ==== */

static void observe(void *arg, gvm_node_id src, gvm_node_id dst,
		    const void *msg, size_t len, enum sim_event ev)
{
	struct run *r = arg;
	const uint8_t *b = msg;
	uint64_t page;

	(void)src, (void)dst;
	if (len < GVM_WIRE_HDR_LEN || b[1] != GVM_MSG_GRANT_WRITE)
		return;
	memcpy(&page, b + 8, 8); /* little-endian host assumed: x86, arm64 */
	if (page >= r->o->pages)
		return;
	if (ev == SIM_SENT)
		r->grants_inflight[page]++;
	else
		r->grants_inflight[page]--;
}

static struct run *log_run;

/* Engines report protocol errors through the log; any is a violation
 * (lost pages and peers are expected once nodes crash). */
static void log_sink(int level, const char *line)
{
	if (level <= GVM_LOG_WARN && log_run && strstr(line, "protocol error"))
		violation(log_run, "engine: %s", line);
}

/* ==== Invariants ==== */

static uint8_t *shadow_of(struct run *r, uint64_t p)
{
	return r->shadow + p * r->page_size;
}

/* Does any live node still see page p promoted into slot? */
static bool promoted_in(struct run *r, uint64_t p, uint32_t slot)
{
	struct gvm_page_info info;

	for (gvm_node_id i = 0; i < r->o->nodes; i++) {
		if (r->nodes[i].crashed)
			continue;
		gvm_page_inspect(r->nodes[i].node, p, &info, NULL);
		if (info.state == GVM_PAGE_PROMOTED && info.slot == slot)
			return true;
	}
	return false;
}

static void check_page(struct run *r, uint64_t p)
{
	const struct opts *o = r->o;
	struct gvm_page_info info, oinfo;
	uint32_t owners = 0, modified = 0, valid = 0, promoted = 0, slot = 0;
	gvm_node_id owner = GVM_NODE_NONE, writer = GVM_NODE_NONE;
	uint64_t version = 0;

	for (gvm_node_id i = 0; i < o->nodes; i++) {
		if (r->nodes[i].crashed)
			continue;
		gvm_page_inspect(r->nodes[i].node, p, &info, NULL);
		if (info.owner) {
			owners++;
			owner = i;
		}
		if (info.state == GVM_PAGE_INVALID)
			continue;
		if (info.state == GVM_PAGE_MODIFIED) {
			modified++;
			writer = i;
		}
		if (info.state == GVM_PAGE_PROMOTED) {
			if (promoted++ && info.slot != slot)
				violation(r, "page %" PRIu64 ": promoted in slots %u and %u",
					  p, slot, info.slot);
			slot = info.slot;
		}
		if (valid++ && info.version != version)
			violation(r, "page %" PRIu64 ": node %u holds version %" PRIu64
				  ", another valid copy version %" PRIu64,
				  p, i, info.version, version);
		version = info.version;
		if (memcmp(info.frame, shadow_of(r, p), r->page_size))
			violation(r, "page %" PRIu64 ": node %u holds a valid copy with stale contents",
				  p, i);
	}
	/* After a crash a page may be lost: then nobody owns it. */
	if (owners + r->grants_inflight[p] != 1 &&
	    !(r->crashed && owners + r->grants_inflight[p] == 0))
		violation(r, "page %" PRIu64 ": %u owners and %u ownership grants in flight",
			  p, owners, r->grants_inflight[p]);
	if (modified > 1 || (modified == 1 && valid > 1))
		violation(r, "page %" PRIu64 ": node %u writes while %u other copies are valid",
			  p, writer, valid - 1);
	if (promoted && promoted != valid)
		violation(r, "page %" PRIu64 ": %u private copies alongside the promoted one",
			  p, valid - promoted);
	if (promoted) {
		uint64_t other = r->slot_page[slot];

		if (other && other != p + 1 && promoted_in(r, other - 1, slot))
			violation(r, "pages %" PRIu64 " and %" PRIu64 " share window slot %u",
				  other - 1, p, slot);
		r->slot_page[slot] = p + 1;
	}
	if (owners != 1)
		return;
	gvm_page_inspect(r->nodes[owner].node, p, &oinfo, r->cs);
	for (gvm_node_id i = 0; i < o->nodes; i++) {
		if (i == owner || r->nodes[i].crashed || (r->cs[i / 8] >> (i % 8)) & 1)
			continue;
		gvm_page_inspect(r->nodes[i].node, p, &info, NULL);
		/* Promoted pages are in no copyset: all share the one copy. */
		if (info.state != GVM_PAGE_INVALID && info.state != GVM_PAGE_PROMOTED)
			violation(r, "page %" PRIu64 ": node %u has a copy the owner %u does not know of",
				  p, i, owner);
	}
}

static void check_all(struct run *r)
{
	for (uint64_t p = 0; p < r->o->pages && !r->violation[0]; p++)
		check_page(r, p);
}

/*
 * The incremental check. A step changes the state of one node (the one a
 * message was delivered to, or that acquired, released or heard of a
 * death), mostly for one page: refresh() looks at that node's view of
 * that page, updates the page's sums and checks what check_page checks,
 * from the sums (and the owner's copyset against the nodes holding a
 * copy). A node's view of the other pages is unchanged, so a step costs
 * O(1) instead of O(nodes) page inspections: 1,024 nodes run at the
 * speed of 8. --full-check keeps check_page after every step.
 */
static struct view *view_of(struct run *r, gvm_node_id n, uint64_t p)
{
	return &r->views[(uint64_t)n * r->o->pages + p];
}

static bool view_valid(const struct view *v)
{
	return v->state != GVM_PAGE_INVALID;
}

static void sum_add(struct run *r, uint64_t p, gvm_node_id n, const struct view *v,
		    int sign)
{
	struct page_sum *s = &r->sums[p];
	uint64_t *held = r->held + p * r->hwords;

	s->owners += (uint32_t)(sign * v->owner);
	s->owner_ids += (uint64_t)(sign * v->owner * (int64_t)n);
	if (!view_valid(v))
		return;
	if (sign > 0 && s->valid && v->version != s->version)
		violation(r, "page %" PRIu64 ": node %u holds version %" PRIu64
			  ", another valid copy version %" PRIu64, p, n, v->version, s->version);
	s->valid += (uint32_t)sign;
	s->version = v->version;
	s->modified += (uint32_t)(sign * (v->state == GVM_PAGE_MODIFIED));
	s->promoted += (uint32_t)(sign * (v->state == GVM_PAGE_PROMOTED));
	if (v->state != GVM_PAGE_PROMOTED) {
		if (sign > 0)
			held[n / 64] |= 1ull << (n % 64);
		else
			held[n / 64] &= ~(1ull << (n % 64));
	}
}

/* What check_page checks, from the sums; n's copy was just looked at. */
static void check_sums(struct run *r, uint64_t p, gvm_node_id n,
		       const struct gvm_page_info *info)
{
	const struct page_sum *s = &r->sums[p];
	const uint64_t *held = r->held + p * r->hwords;
	gvm_node_id owner;

	if (info->state != GVM_PAGE_INVALID &&
	    memcmp(info->frame, shadow_of(r, p), r->page_size))
		violation(r, "page %" PRIu64 ": node %u holds a valid copy with stale contents",
			  p, n);
	if (s->owners + r->grants_inflight[p] != 1 &&
	    !(r->crashed && s->owners + r->grants_inflight[p] == 0))
		violation(r, "page %" PRIu64 ": %u owners and %u ownership grants in flight",
			  p, s->owners, r->grants_inflight[p]);
	if (s->modified > 1 || (s->modified == 1 && s->valid > 1))
		violation(r, "page %" PRIu64 ": a node writes while %u other copies are valid",
			  p, s->valid - 1);
	if (s->promoted && s->promoted != s->valid)
		violation(r, "page %" PRIu64 ": %u private copies alongside the promoted one",
			  p, s->valid - s->promoted);
	if (info->state == GVM_PAGE_PROMOTED) {
		uint64_t other = r->slot_page[info->slot];

		if (other && other != p + 1 && promoted_in(r, other - 1, info->slot))
			violation(r, "pages %" PRIu64 " and %" PRIu64 " share window slot %u",
				  other - 1, p, info->slot);
		r->slot_page[info->slot] = p + 1;
	}
	if (s->owners != 1)
		return;
	/* Every private copy is in the owner's copyset. */
	owner = (gvm_node_id)s->owner_ids;
	gvm_page_inspect(r->nodes[owner].node, p, &(struct gvm_page_info){0}, r->cs);
	for (uint32_t w = 0; w < r->hwords; w++) {
		uint64_t cs = 0, extra;

		for (uint32_t b = 0; b < 8 && w * 8 + b < (r->o->nodes + 7) / 8; b++)
			cs |= (uint64_t)r->cs[w * 8 + b] << (8 * b);
		extra = held[w] & ~cs;
		if (owner / 64 == w)
			extra &= ~(1ull << (owner % 64));
		if (extra)
			violation(r, "page %" PRIu64 ": node %u has a copy the owner %u does not know of",
				  p, w * 64 + (gvm_node_id)__builtin_ctzll(extra), owner);
	}
}

static void refresh(struct run *r, gvm_node_id n, uint64_t p)
{
	struct view *v = view_of(r, n, p), now;
	struct gvm_page_info info;

	if (r->timing || r->o->full_check || r->nodes[n].crashed || r->violation[0])
		return;
	gvm_page_inspect(r->nodes[n].node, p, &info, NULL);
	now = (struct view){.version = info.version, .slot = info.slot,
			    .state = (uint8_t)info.state, .owner = info.owner};
	sum_add(r, p, n, v, -1);
	sum_add(r, p, n, &now, +1);
	*v = now;
	check_sums(r, p, n, &info);
}

static void refresh_node(struct run *r, gvm_node_id n)
{
	for (uint64_t p = 0; p < r->o->pages; p++)
		refresh(r, n, p);
}

/* Every node's first view of every page, unchecked (the sums fill up). */
static void fill_views(struct run *r)
{
	for (gvm_node_id n = 0; n < r->o->nodes; n++)
		for (uint64_t p = 0; p < r->o->pages; p++) {
			struct gvm_page_info info;
			struct view *v = view_of(r, n, p);

			gvm_page_inspect(r->nodes[n].node, p, &info, NULL);
			*v = (struct view){.version = info.version, .slot = info.slot,
					   .state = (uint8_t)info.state, .owner = info.owner};
			sum_add(r, p, n, v, +1);
		}
}

/* After node n changed page p (or, with a policy, any page): check. */
static void check_step(struct run *r, gvm_node_id n, uint64_t p)
{
	if (r->timing || r->violation[0])
		return;
	if (r->o->full_check)
		check_page(r, p);
	else if (r->o->policy)
		refresh_node(r, n); /* readahead and promotion touch other pages */
	else
		refresh(r, n, p);
}

/* After a crash: the dead node's views leave the sums. */
static void forget_node(struct run *r, gvm_node_id n)
{
	for (uint64_t p = 0; p < r->o->pages; p++) {
		sum_add(r, p, n, view_of(r, n, p), -1);
		*view_of(r, n, p) = (struct view){0};
	}
}

/* ==== Engine calls, timed in bench mode ==== */

static uint64_t engine_enter(struct run *r)
{
	if (!r->timing)
		return 0;
	r->bench_calls++;
	return now_ns();
}

static void engine_leave(struct run *r, uint64_t t0, bool sample)
{
	uint64_t d;

	if (!r->timing)
		return;
	d = now_ns() - t0;
	r->engine_ns += d;
	if (sample && r->nhandler < r->handler_cap)
		r->handler_ns[r->nhandler++] = d;
}

static int recv_timed(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	struct sim_node *sn = arg;
	struct run *r = log_run;
	uint64_t send0 = sim_world_send_ns(r->world);
	uint64_t t0 = engine_enter(r);
	int err = gvm_node_recv(sn->node, src, msg, len);
	const uint8_t *b = msg;
	uint64_t page = r->o->pages;

	/* Time spent copying into the sim's queues is the transport's. */
	if (r->timing)
		t0 += sim_world_send_ns(r->world) - send0;
	engine_leave(r, t0, true);
	/* A death (DOWN, or RECLAIM's news) or a barrier touches every page. */
	if (len >= GVM_WIRE_HDR_LEN && b[1] != GVM_MSG_DOWN && b[1] != GVM_MSG_RECLAIM &&
	    b[1] != GVM_MSG_BARRIER && b[1] != GVM_MSG_BARRIER_DONE)
		memcpy(&page, b + 8, 8);
	if (page < r->o->pages)
		check_step(r, (gvm_node_id)(sn - r->nodes), page);
	else if (!r->o->full_check)
		refresh_node(r, (gvm_node_id)(sn - r->nodes));
	return err;
}

/* A node hears of a death: every page it holds may change. */
static void peer_down_checked(void *arg, gvm_node_id peer, int reason)
{
	struct sim_node *sn = arg;

	gvm_node_peer_down(sn->node, peer, reason);
	if (!log_run->o->full_check)
		refresh_node(log_run, (gvm_node_id)(sn - log_run->nodes));
}

/* ==== Workload ==== */

static bool op_done(struct gvm_waiter *w, int result)
{
	struct op *op = (struct op *)w;
	struct run *r = log_run;

	if (result) {
		if (result != -EHOSTDOWN || !r->crashed)
			violation(r, "acquire of page %" PRIu64 " failed: %d", w->page,
				  result);
		op->state = OP_FREE;
		op->sn->active--;
		r->failed_ops++;
		return false;
	}
	if (r->ngranted == r->granted_cap) {
		r->granted_cap = r->granted_cap ? 2 * r->granted_cap : 64;
		r->granted = realloc(r->granted,
				     r->granted_cap * sizeof(*r->granted));
		if (!r->granted)
			abort();
	}
	op->state = OP_GRANTED;
	r->granted[r->ngranted++] = op;
	return true; /* performed later, outside the engine */
}

static void release_op(struct run *r, struct op *op)
{
	uint64_t send0 = sim_world_send_ns(r->world);
	uint64_t t0 = engine_enter(r);

	gvm_release(op->sn->node, op->w.page);
	if (r->timing)
		t0 += sim_world_send_ns(r->world) - send0;
	engine_leave(r, t0, false);
	op->state = OP_FREE;
	op->sn->active--;
	r->events++;
}

/* Do the access a granted op asked for, against the shadow copy. */
static void perform(struct run *r, struct op *op)
{
	struct sim_node *sn = op->sn;
	uint64_t p = op->w.page;
	uint8_t *frame = gvm_page_frame(sn->node, p);
	uint8_t *truth = shadow_of(r, p);

	if (!frame || memcmp(frame, truth, r->page_size)) {
		violation(r, "node %u: %s of page %" PRIu64 " does not see the latest write",
			  (uint32_t)(sn - r->nodes),
			  op->w.access == GVM_ACCESS_WRITE ? "write" : "read",
			  p);
		return;
	}
	if (op->w.access == GVM_ACCESS_WRITE) {
		/* A value naming writer and sequence, at a varying offset. */
		uint64_t v = (uint64_t)(sn - r->nodes) << 40 | ++sn->seq;
		uint32_t words = r->page_size / 8;
		size_t off = (size_t)(1 + v % (words - 1)) * 8;

		memcpy(frame, &v, 8);
		memcpy(frame + off, &v, 8);
		memcpy(truth, &v, 8);
		memcpy(truth + off, &v, 8);
	}
	if (r->o->max_hold && sim_rand_below(r->world, 4) == 0) {
		op->state = OP_HELD;
		op->release_at = r->steps + 1 +
				 sim_rand_below(r->world, r->o->max_hold);
	} else {
		release_op(r, op);
	}
	check_step(r, (gvm_node_id)(sn - r->nodes), p);
}

static void perform_granted(struct run *r)
{
	for (uint32_t i = 0; i < r->ngranted && !r->violation[0]; i++)
		perform(r, r->granted[i]);
	r->ngranted = 0;
}

static bool start_op(struct run *r, struct sim_node *sn)
{
	const struct opts *o = r->o;
	struct op *op = NULL;
	uint64_t send0, t0;
	int err;

	if (sn->crashed || !sn->left || sn->active == o->inflight)
		return false;
	for (uint32_t i = 0; i < o->inflight; i++)
		if (sn->ops[i].state == OP_FREE) {
			op = &sn->ops[i];
			break;
		}
	op->sn = sn;
	op->w.page = sim_rand_below(r->world, o->pages);
	op->w.access = sim_rand_below(r->world, 100) < o->write_pct ?
			       GVM_ACCESS_WRITE : GVM_ACCESS_READ;
	op->w.done = op_done;
	op->state = OP_WAITING;
	sn->active++;
	sn->left--;
	send0 = sim_world_send_ns(r->world);
	t0 = engine_enter(r);
	err = gvm_acquire_async(sn->node, &op->w);
	if (r->timing)
		t0 += sim_world_send_ns(r->world) - send0;
	engine_leave(r, t0, false);
	check_step(r, (gvm_node_id)(sn - r->nodes), op->w.page);
	if (err == 0 || (err != -EINPROGRESS && err != -EINVAL))
		op_done(&op->w, err);
	else if (err != -EINPROGRESS)
		violation(r, "acquire failed: %d", err);
	r->events++;
	perform_granted(r);
	return true;
}

static void release_due(struct run *r, bool all)
{
	for (uint32_t i = 0; i < r->o->nodes; i++) {
		struct sim_node *sn = &r->nodes[i];

		for (uint32_t k = 0; k < r->o->inflight; k++) {
			struct op *op = &sn->ops[k];

			if (op->state == OP_HELD && !sn->crashed &&
			    (all || op->release_at <= r->steps)) {
				release_op(r, op);
				check_step(r, i, op->w.page);
			}
		}
	}
}

static bool any_held(struct run *r)
{
	for (uint32_t i = 0; i < r->o->nodes; i++)
		for (uint32_t k = 0; k < r->o->inflight; k++)
			if (r->nodes[i].ops[k].state == OP_HELD && !r->nodes[i].crashed)
				return true;
	return false;
}

static bool any_can_start(struct run *r)
{
	for (uint32_t i = 0; i < r->o->nodes; i++) {
		struct sim_node *sn = &r->nodes[i];

		if (!sn->crashed && sn->left && sn->active < r->o->inflight)
			return true;
	}
	return false;
}

/* Crash a random live node: it stops, and its peers hear of it in time. */
static void crash_one(struct run *r)
{
	const struct opts *o = r->o;
	gvm_node_id i = (gvm_node_id)sim_rand_below(r->world, o->nodes);

	while (r->nodes[i].crashed)
		i = (i + 1) % o->nodes;
	r->nodes[i].crashed = true;
	r->crashed++;
	sim_world_crash(r->world, i);
	if (!r->o->full_check)
		forget_node(r, i);
	r->events++;
}

/* Page of a message as it was delivered, for the per-step check. */
static uint64_t last_page;

static void observe_page(void *arg, gvm_node_id src, gvm_node_id dst,
			 const void *msg, size_t len, enum sim_event ev)
{
	struct run *r = arg;

	observe(arg, src, dst, msg, len, ev);
	if (ev != SIM_DELIVERED)
		return;
	if (len >= GVM_WIRE_HDR_LEN)
		memcpy(&last_page, (const uint8_t *)msg + 8, 8);
	r->digest = (r->digest ^ ((uint64_t)src << 32 | dst)) * 0x100000001b3ull;
	for (size_t i = 0; i < len; i++)
		r->digest = (r->digest ^ ((const uint8_t *)msg)[i]) * 0x100000001b3ull;
}

static int setup(struct run *r, uint64_t seed)
{
	const struct opts *o = r->o;
	struct sim_params sp = {
		.nodes = o->nodes,
		.seed = seed,
		.max_delay = o->max_delay,
		.observe = observe_page,
		.observe_arg = r,
	};
	struct gvm_config cfg = {
		.cluster_id = seed,
		.nodes = o->nodes,
		.page_shift = o->page_shift,
		.npages = o->pages,
		.manager = o->manager,
	};
	int err;

	r->page_size = 1u << o->page_shift;
	if (o->policy) {
		char name[32];
		const char *colon = strchr(o->policy, ':');

		snprintf(name, sizeof(name), "%.*s",
			 (int)(colon ? colon - o->policy : (ptrdiff_t)strlen(o->policy)),
			 o->policy);
		cfg.policy = gvm_policy_find(name);
		cfg.policy_options = colon ? colon + 1 : NULL;
		cfg.window_len = (uint64_t)o->window * r->page_size;
		r->window = calloc(o->window, r->page_size);
		r->slot_page = calloc(o->window, sizeof(*r->slot_page));
		cfg.window = r->window;
		if (!r->window || !r->slot_page)
			return -ENOMEM;
	}
	err = sim_world_create(&sp, &r->world);
	if (err)
		return err;
	/* Crash times spread over the run (about four deliveries per op). */
	for (uint32_t k = 0; k < o->crashes && k < 16; k++)
		r->crash_at[k] = 1 + sim_rand_below(r->world, 4ull * o->nodes * o->ops);
	r->nodes = calloc(o->nodes, sizeof(*r->nodes));
	r->shadow = calloc(o->pages, r->page_size);
	r->grants_inflight = calloc(o->pages, sizeof(*r->grants_inflight));
	r->cs = calloc(1, (o->nodes + 7) / 8);
	if (!r->nodes || !r->shadow || !r->grants_inflight || !r->cs)
		return -ENOMEM;
	for (gvm_node_id i = 0; i < o->nodes; i++) {
		struct sim_node *sn = &r->nodes[i];

		cfg.self = i;
		err = sim_endpoint_open(r->world, i, recv_timed, sn, &sn->tp);
		if (err)
			return err;
		err = gvm_node_create(&cfg, sn->tp, &sn->node);
		if (err)
			return err;
		sn->tp->peer_down = peer_down_checked;
		sn->tp->peer_down_arg = sn;
		sn->ops = calloc(o->inflight, sizeof(*sn->ops));
		if (!sn->ops)
			return -ENOMEM;
		sn->left = o->ops;
	}
	r->hwords = (o->nodes + 63) / 64;
	r->views = calloc((uint64_t)o->nodes * o->pages, sizeof(*r->views));
	r->sums = calloc(o->pages, sizeof(*r->sums));
	r->held = calloc(o->pages * r->hwords, sizeof(*r->held));
	if (!r->views || !r->sums || !r->held)
		return -ENOMEM;
	fill_views(r);
	return 0;
}

static void teardown(struct run *r)
{
	for (gvm_node_id i = 0; r->nodes && i < r->o->nodes; i++) {
		gvm_node_destroy(r->nodes[i].node);
		free(r->nodes[i].ops);
	}
	sim_world_destroy(r->world);
	free(r->nodes);
	free(r->shadow);
	free(r->grants_inflight);
	free(r->cs);
	free(r->granted);
	free(r->window);
	free(r->slot_page);
	free(r->views);
	free(r->sums);
	free(r->held);
}

/* Say which operation is stuck and how every live node sees its page. */
static void report_stuck(struct run *r, gvm_node_id i)
{
	struct sim_node *sn = &r->nodes[i];
	char views[256] = "";
	size_t off = 0;
	uint64_t p = 0;
	int access = 0;

	for (uint32_t k = 0; k < r->o->inflight; k++)
		if (sn->ops[k].state == OP_WAITING) {
			p = sn->ops[k].w.page;
			access = sn->ops[k].w.access;
			break;
		}
	for (gvm_node_id j = 0; j < r->o->nodes && off < sizeof(views) - 40; j++) {
		struct gvm_page_info info;

		if (r->nodes[j].crashed) {
			off += (size_t)snprintf(views + off, sizeof(views) - off, " %u:dead", j);
			continue;
		}
		gvm_page_inspect(r->nodes[j].node, p, &info, NULL);
		off += (size_t)snprintf(views + off, sizeof(views) - off, " %u:%c%s%s%s", j,
					"ISMP"[info.state & 3], info.owner ? "o" : "",
					info.busy ? "b" : "", info.lost ? "L" : "");
	}
	violation(r, "node %u: %u operations never completed (deadlock), e.g. %s of page %" PRIu64
		  " [manager %u;%s]", i, sn->active, access == GVM_ACCESS_WRITE ? "write" : "read",
		  p, gvm_page_home(sn->node, p), views);
}

/*
 * Virtual time: a turn of the main loop (a delivery, a new operation or a
 * release) is a microsecond, so runs replay exactly and time passes while
 * promoted pages are used without any message.
 */
static void tick_all(struct run *r)
{
	for (gvm_node_id i = 0; i < r->o->nodes; i++)
		if (!r->nodes[i].crashed) {
			gvm_node_tick(r->nodes[i].node, r->clock * 1000);
			if (!r->o->full_check)
				refresh_node(r, i);
		}
}

/* One seed. Returns 0, or 1 with r->violation set. */
static int run_seed(struct run *r, uint64_t seed)
{
	const struct opts *o = r->o;
	uint64_t total = (uint64_t)o->nodes * o->ops;
	uint64_t step_limit = 1000 * total + 100000;
	uint64_t started = 0;
	int err;

	log_run = r;
	r->digest = 0xcbf29ce484222325ull;
	err = setup(r, seed);
	if (err) {
		violation(r, "setup failed: %d", err);
		goto out;
	}
	sim_world_set_timing(r->world, r->timing);
	while (!r->violation[0]) {
		uint64_t pick = sim_rand_below(r->world, 3);

		release_due(r, false);
		if (o->policy && ++r->clock % 16 == 0)
			tick_all(r);
		if (r->crashed < r->o->crashes && r->crashed < 16 &&
		    r->crashed + 1 < o->nodes) {
			for (uint32_t k = 0; k < o->crashes && k < 16; k++)
				if (r->crash_at[k] && r->crash_at[k] <= r->steps) {
					r->crash_at[k] = 0;
					crash_one(r);
					break;
				}
		}
		/* Start an op at a random node a third of the time. */
		if (started < total && (pick == 0 || !sim_world_inflight(r->world)) &&
		    any_can_start(r)) {
			gvm_node_id i = (gvm_node_id)sim_rand_below(r->world, o->nodes);

			for (uint32_t k = 0; k < o->nodes; k++) {
				if (start_op(r, &r->nodes[(i + k) % o->nodes])) {
					started++;
					break;
				}
			}
			if (pick == 0)
				continue;
		}
		if (sim_world_step(r->world)) {
			r->steps++;
			r->events++;
			perform_granted(r);
			if (!r->timing && !r->violation[0] && o->full_check)
				check_page(r, last_page);
			if (r->steps > step_limit)
				violation(r, "no progress after %" PRIu64 " steps", r->steps);
			continue;
		}
		if (any_held(r)) {
			release_due(r, true);
			continue;
		}
		if (started < total && any_can_start(r))
			continue;
		break;
	}
	if (!r->violation[0]) {
		for (gvm_node_id i = 0; i < o->nodes; i++)
			if (r->nodes[i].active && !r->nodes[i].crashed)
				report_stuck(r, i);
		if (!r->timing)
			check_all(r);
	}
	for (gvm_node_id i = 0; i < o->nodes; i++) {
		struct gvm_stats st;
		uint64_t *sum = (uint64_t *)&r->total, *add = (uint64_t *)&st;

		gvm_node_stats(r->nodes[i].node, &st);
		/* max_hops is a maximum; everything else adds up. */
		for (size_t k = 0; k < sizeof(st) / sizeof(uint64_t); k++)
			sum[k] = &add[k] == &st.max_hops ?
				(add[k] > sum[k] ? add[k] : sum[k]) : sum[k] + add[k];
	}
	r->bench_faults = r->total.faults_read + r->total.faults_write +
			  r->total.faults_upgrade;
	r->bench_msgs = r->total.msgs_sent;
	r->bench_max_hops = r->total.max_hops;
out:
	teardown(r);
	log_run = NULL;
	return r->violation[0] ? 1 : 0;
}

/* ==== Command line ==== */

static void usage(FILE *f)
{
	fprintf(f,
"usage: gvm-sim [options]\n"
"Runs N IVY engines in one process over a deterministic transport and checks\n"
"the coherence invariants after every delivered message.\n"
"\n"
"  --nodes N          nodes (default 8)\n"
"  --pages P          pages (default 16)\n"
"  --ops K            operations per node (default 200)\n"
"  --inflight F       concurrent operations per node (default 4)\n"
"  --seeds S          run seeds first..first+S-1 (default 100)\n"
"  --first-seed X     first seed of a batch (default 1)\n"
"  --seed X           replay exactly seed X\n"
"  --manager M        fixed | dynamic | central (default fixed)\n"
"  --write-ratio R    percent of operations that write (default 30)\n"
"  --page-size B      bytes per page, power of two 64..2M (default 4096)\n"
"  --delay D          hold each message back up to D steps (default 0)\n"
"  --hold H           keep a granted page pinned up to H steps (default 3)\n"
"  --crash K          crash up to K random nodes at random moments (default 0)\n"
"  --policy P[:OPTS]  policy: never, always-after, hotpage (promotion), readahead,\n"
"                     with its options (e.g. hotpage:threshold=4,lease_ms=2); virtual\n"
"                     time runs 1 us per turn of the simulation loop\n"
"  --window W         slots of the shared window (default 2 per node)\n"
"  --bench            measure engine CPU per fault instead of checking\n"
"  --full-check       check every page at every node after every step (the\n"
"                     default checks what the step changed: the same rules)\n"
"  --quiet            only the summary line\n"
"  --help\n"
"\n"
"Last line: 'sim: S seeds, E events, V violations'. Exit status 1 if any\n"
"invariant was violated; each failing seed is printed with its replay command.\n");
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s) {
		fprintf(stderr, "gvm-sim: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"nodes", 1, NULL, 'n'},   {"pages", 1, NULL, 'p'},
		{"ops", 1, NULL, 'k'},     {"inflight", 1, NULL, 'f'},
		{"seeds", 1, NULL, 's'},   {"first-seed", 1, NULL, 'F'},
		{"seed", 1, NULL, 'x'},    {"manager", 1, NULL, 'm'},
		{"write-ratio", 1, NULL, 'w'}, {"page-size", 1, NULL, 'b'},
		{"delay", 1, NULL, 'd'},   {"hold", 1, NULL, 'H'},
		{"crash", 1, NULL, 'C'},   {"policy", 1, NULL, 'P'},
		{"window", 1, NULL, 'W'},
		{"bench", 0, NULL, 'B'},   {"quiet", 0, NULL, 'q'},
		{"full-check", 0, NULL, 'A'},
		{"help", 0, NULL, 'h'},    {0, 0, 0, 0},
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->nodes = (uint32_t)parse_u64(optarg, "--nodes"); break;
		case 'p': o->pages = parse_u64(optarg, "--pages"); break;
		case 'k': o->ops = (uint32_t)parse_u64(optarg, "--ops"); break;
		case 'f': o->inflight = (uint32_t)parse_u64(optarg, "--inflight"); break;
		case 's': o->seeds = parse_u64(optarg, "--seeds"); break;
		case 'F': o->first_seed = parse_u64(optarg, "--first-seed"); break;
		case 'x':
			o->first_seed = parse_u64(optarg, "--seed");
			o->seeds = 1;
			o->replay = true;
			break;
		case 'm':
			if (gvm_manager_parse(optarg, &o->manager)) {
				fprintf(stderr, "gvm-sim: unknown manager '%s' (fixed, dynamic, central)\n",
					optarg);
				exit(2);
			}
			break;
		case 'w':
			o->write_pct = (uint32_t)parse_u64(optarg, "--write-ratio");
			break;
		case 'b':
			v = parse_u64(optarg, "--page-size");
			if (v & (v - 1) || v < (1u << GVM_PAGE_SHIFT_MIN) ||
			    v > (1u << GVM_PAGE_SHIFT_MAX)) {
				fprintf(stderr, "gvm-sim: --page-size must be a power of two from 64 to 2097152\n");
				exit(2);
			}
			o->page_shift = (uint32_t)__builtin_ctzll(v);
			break;
		case 'd': o->max_delay = (uint32_t)parse_u64(optarg, "--delay"); break;
		case 'H': o->max_hold = (uint32_t)parse_u64(optarg, "--hold"); break;
		case 'C': o->crashes = (uint32_t)parse_u64(optarg, "--crash"); break;
		case 'P': o->policy = optarg; break;
		case 'W': o->window = (uint32_t)parse_u64(optarg, "--window"); break;
		case 'B': o->bench = true; break;
		case 'q': o->quiet = true; break;
		case 'A': o->full_check = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gvm-sim: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
	if (o->policy) {
		size_t len = strcspn(o->policy, ":");
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)len, o->policy);
		if (len >= sizeof(name) || !gvm_policy_find(name)) {
			fprintf(stderr, "gvm-sim: unknown policy '%s' (never, always-after, hotpage)\n",
				o->policy);
			exit(2);
		}
		if (!o->window)
			o->window = 2 * o->nodes;
	}
	if (!o->nodes || o->nodes > GVM_MAX_NODES || !o->pages || !o->ops ||
	    !o->inflight || !o->seeds || o->write_pct > 100) {
		fprintf(stderr, "gvm-sim: --nodes 1..%u, --pages/--ops/--inflight/--seeds > 0, --write-ratio 0..100\n",
			GVM_MAX_NODES);
		exit(2);
	}
}

static void print_replay(const struct opts *o, uint64_t seed)
{
	printf("gvm-sim: replay: gvm-sim --nodes %u --pages %" PRIu64 " --ops %u --inflight %u"
	       " --manager %s --write-ratio %u --page-size %u --delay %u --hold %u --crash %u",
	       o->nodes, o->pages, o->ops, o->inflight, gvm_manager_name(o->manager),
	       o->write_pct, 1u << o->page_shift, o->max_delay, o->max_hold, o->crashes);
	if (o->policy)
		printf(" --policy %s --window %u", o->policy, o->window);
	printf(" --seed %" PRIu64 "\n", seed);
}

int bench_main(const struct opts *o);

static void print_stats(const struct gvm_stats *t)
{
	printf("gvm-sim: faults read %" PRIu64 " write %" PRIu64 " upgrade %" PRIu64
	       ", hits %" PRIu64 ", messages %" PRIu64 ", payloads sent %" PRIu64
	       " skipped %" PRIu64 "\n",
	       t->faults_read, t->faults_write, t->faults_upgrade, t->hits,
	       t->msgs_sent, t->payloads_sent, t->payloads_skipped);
	printf("gvm-sim: invalidations %" PRIu64 " (deferred by a pin %" PRIu64
	       "), stale grants retried %" PRIu64 ", forwards %" PRIu64
	       ", queued at owner %" PRIu64 ", max hops %" PRIu64 "\n",
	       t->inv_sent, t->inv_deferred, t->stale_grants, t->forwards,
	       t->queued, t->max_hops);
	printf("gvm-sim: promotions %" PRIu64 ", demotions %" PRIu64
	       ", refused for a full window %" PRIu64 "\n",
	       t->promotions, t->demotions, t->window_full);
	printf("gvm-sim: migratory read faults (asked for ownership) %" PRIu64
	       ", wrong guesses %" PRIu64 ", pages read ahead %" PRIu64 "\n",
	       t->migratory_reads, t->migratory_wrong, t->readahead);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.nodes = 8, .pages = 16, .ops = 200, .inflight = 4,
		.seeds = 100, .first_seed = 1, .manager = GVM_MANAGER_FIXED,
		.write_pct = 30, .page_shift = GVM_PAGE_SHIFT_DEFAULT,
		.max_hold = 3,
	};
	uint64_t events = 0, violations = 0, promotions = 0, demotions = 0;

	parse(argc, argv, &o);
	gvm_os_log_set_sink(log_sink);
	if (o.bench)
		return bench_main(&o);
	for (uint64_t s = 0; s < o.seeds; s++) {
		uint64_t seed = o.first_seed + s;
		struct run r = {.o = &o};

		if (run_seed(&r, seed)) {
			violations++;
			printf("gvm-sim: VIOLATION seed %" PRIu64 " (%s manager): %s\n",
			       seed, gvm_manager_name(o.manager), r.violation);
			print_replay(&o, seed);
		}
		events += r.events;
		promotions += r.total.promotions;
		demotions += r.total.demotions;
		if (!o.quiet && o.seeds == 1)
			printf("gvm-sim: seed %" PRIu64 ": %" PRIu64 " events, %" PRIu64
			       " deliveries, digest %016" PRIx64 "\n",
			       seed, r.events, r.steps, r.digest);
		if (!o.quiet && o.seeds == 1 && o.crashes)
			printf("gvm-sim: %u nodes crashed, %" PRIu64 " operations failed\n",
			       r.crashed, r.failed_ops);
		if (!o.quiet && o.seeds == 1)
			print_stats(&r.total);
	}
	printf("sim: %" PRIu64 " seeds, %" PRIu64 " events, %" PRIu64 " violations",
	       o.seeds, events, violations);
	if (o.policy)
		printf(", %" PRIu64 " promotions, %" PRIu64 " demotions", promotions,
		       demotions);
	printf("\n");
	return violations ? 1 : 0;
}

/* ==== --bench ==== */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, uint64_t n, uint32_t p)
{
	if (!n)
		return 0;
	return v[(n - 1) * p / 100];
}

/* Median cost of reading the clock, subtracted from every timed interval. */
static uint64_t timer_overhead(void)
{
	uint64_t v[1001];

	for (int i = 0; i < 1001; i++) {
		uint64_t t0 = now_ns();

		v[i] = now_ns() - t0;
	}
	qsort(v, 1001, sizeof(v[0]), cmp_u64);
	return v[500];
}

/* The baseline: copying one page, the least a remote fault must do. */
static uint64_t page_copy_ns(uint32_t page_size, uint64_t tovh)
{
	static uint64_t v[2001];
	uint8_t *a = calloc(1, page_size), *b = calloc(1, page_size);

	for (int i = 0; i < 2001; i++) {
		uint64_t t0 = now_ns();

		memcpy(b, a, page_size);
		__asm__ volatile("" : : "r"(b) : "memory");
		v[i] = now_ns() - t0;
		a[i % page_size]++;
	}
	free(a);
	free(b);
	qsort(v, 2001, sizeof(v[0]), cmp_u64);
	return v[1000] > tovh ? v[1000] - tovh : 1;
}

int bench_main(const struct opts *base)
{
	static const enum gvm_manager managers[] = {
		GVM_MANAGER_FIXED, GVM_MANAGER_DYNAMIC, GVM_MANAGER_CENTRAL};
	enum { REPS = 15 };
	uint64_t tovh = timer_overhead();
	uint64_t copy = page_copy_ns(1u << base->page_shift, tovh);

	printf("gvm-sim --bench: %u nodes, %" PRIu64 " pages of %u B, %u ops/node, %u in flight, %u%% writes, %d runs per manager\n",
	       base->nodes, base->pages, 1u << base->page_shift, base->ops,
	       base->inflight, base->write_pct, REPS);
	printf("engine CPU: time inside engine entry points, less the sim transport's copying\n"
	       "and the clock's own cost (%" PRIu64 " ns a read, subtracted per reading)\n",
	       tovh);
	printf("baseline: memcpy of one page = %" PRIu64 " ns (median of 2001)\n\n", copy);
	printf("%-8s %10s %9s %8s %9s %11s %11s %8s\n", "manager", "faults/run",
	       "ns/fault", "x copy", "msgs/flt", "handler med", "handler p99",
	       "max hops");
	for (size_t m = 0; m < sizeof(managers) / sizeof(managers[0]); m++) {
		struct opts o = *base;
		uint64_t per_fault[REPS], faults = 0, msgs = 0, max_hops = 0;
		uint64_t *samples = NULL, nsamples = 0, med;

		o.manager = managers[m];
		o.max_hold = 0;
		for (int rep = 0; rep < REPS; rep++) {
			struct run r = {.o = &o, .timing = true};
			uint64_t overhead;

			r.handler_cap = 1u << 20;
			r.handler_ns = malloc(r.handler_cap * sizeof(uint64_t));
			if (!r.handler_ns || run_seed(&r, o.first_seed + (uint64_t)rep)) {
				fprintf(stderr, "gvm-sim: bench run failed: %s\n",
					r.violation);
				return 1;
			}
			overhead = (r.bench_calls + r.bench_msgs) * tovh;
			per_fault[rep] = r.bench_faults && r.engine_ns > overhead ?
				(r.engine_ns - overhead) / r.bench_faults : 0;
			faults += r.bench_faults;
			msgs += r.bench_msgs;
			if (r.bench_max_hops > max_hops)
				max_hops = r.bench_max_hops;
			samples = realloc(samples, (nsamples + r.nhandler) *
							   sizeof(uint64_t));
			if (!samples)
				return 1;
			for (uint64_t i = 0; i < r.nhandler; i++)
				samples[nsamples++] = r.handler_ns[i] > tovh ?
					r.handler_ns[i] - tovh : 0;
			free(r.handler_ns);
		}
		qsort(per_fault, REPS, sizeof(per_fault[0]), cmp_u64);
		qsort(samples, nsamples, sizeof(samples[0]), cmp_u64);
		med = per_fault[REPS / 2];
		printf("%-8s %10" PRIu64 " %9" PRIu64 " %6" PRIu64 ".%" PRIu64
		       " %6" PRIu64 ".%02" PRIu64 " %11" PRIu64 " %11" PRIu64
		       " %8" PRIu64 "\n",
		       gvm_manager_name(o.manager), faults / REPS, med,
		       med / copy, med * 10 / copy % 10, msgs / faults,
		       msgs * 100 / faults % 100, pct(samples, nsamples, 50),
		       pct(samples, nsamples, 99), max_hops);
		free(samples);
	}
	printf("\nns/fault: median over %d runs of (engine time / faults needing the network).\n"
	       "handler med/p99: one delivered message's engine time. msgs/flt: messages sent per fault.\n",
	       REPS);
	return 0;
}
