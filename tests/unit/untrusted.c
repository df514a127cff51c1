// SPDX-License-Identifier: MIT
/*
 * Description: every message from a peer is untrusted. Malformed and
 * out-of-protocol messages are refused with -EPROTO and a logged reason,
 * the sender is cut off, no page changes, and the node keeps serving the
 * other peers.
 */
#include "sim_nodes.h"
#include "wire.h"

#define NODES 4
#define PAGES 8

static struct sim_world *world;
static struct gvm_node *nodes[NODES];

/* Every node maps it: two 256-byte slots per node. */
static uint8_t window[NODES * 2 * 256];
/* Hot-page policy settings: by default nothing gets hot enough. */
static const char *hot_options = "threshold=65535";

static void setup(enum gvm_manager manager)
{
	struct gvm_config cfg = {.nodes = NODES, .page_shift = 8,
				 .npages = PAGES, .manager = manager,
				 .policy = &gvm_policy_hotpage,
				 .policy_options = hot_options,
				 .window = window, .window_len = sizeof(window)};

	sim_nodes_open(cfg, &world, nodes);
}

static void teardown(void)
{
	sim_nodes_close(world, nodes, NODES);
}

static void run_until_quiet(void)
{
	while (sim_world_step(world))
		;
}

/* A page homed somewhere other than node `not`. */
static gvm_page_t page_not_homed_at(gvm_node_id not)
{
	for (gvm_page_t p = 0; p < PAGES; p++)
		if (gvm_page_home(nodes[0], p) != not)
			return p;
	return 0;
}

static int inject(gvm_node_id dst, gvm_node_id src, const struct gvm_msg *m)
{
	struct gvm_wire_geom g = {.nodes = NODES, .page_size = 256,
				  .npages = PAGES, .slots = NODES * 2};
	uint8_t buf[64 + 256] = {0};
	size_t len = gvm_wire_encode(&g, m, 0, buf);

	test_log[0] = 0;
	return gvm_node_recv(nodes[dst], src, buf, len);
}

static uint64_t errors(gvm_node_id i)
{
	struct gvm_stats st;

	gvm_node_stats(nodes[i], &st);
	return st.protocol_errors;
}

static int granted;

static bool mark_granted(struct gvm_waiter *w, int result)
{
	(void)w;
	granted = result == 0;
	return true;
}

static int told, told_result;

static bool note_result(struct gvm_waiter *w, int result)
{
	(void)w;
	told = 1;
	told_result = result;
	return true;
}

/* A fault from `who`, driven until quiet: its result, or -EINPROGRESS if
 * it was never told. */
static int fault(gvm_node_id who, gvm_page_t p, enum gvm_access access)
{
	struct gvm_waiter w = {.page = p, .access = access, .done = note_result};
	int err;

	told = 0;
	err = gvm_acquire_async(nodes[who], &w);
	if (err == -EINPROGRESS) {
		run_until_quiet();
		err = told ? told_result : -EINPROGRESS;
	}
	if (!err)
		gvm_release(nodes[who], p);
	return err;
}

static void out_of_protocol(void)
{
	struct gvm_page_info before, after;
	uint8_t garbage[40];
	struct gvm_msg m;
	gvm_page_t p;
	gvm_node_id home;

	setup(GVM_MANAGER_FIXED);
	p = page_not_homed_at(1);
	home = gvm_page_home(nodes[0], p);
	gvm_page_inspect(nodes[home], p, &before, NULL);

	/* Garbage bytes. */
	memset(garbage, 0xa5, sizeof(garbage));
	CHECK(gvm_node_recv(nodes[home], 3, garbage, sizeof(garbage)) == -EPROTO);
	CHECK(errors(home) == 1 && test_log[0]);
	/* Node 3 is cut off: even a well-formed message is now refused. */
	m = (struct gvm_msg){.type = GVM_MSG_ACK, .page = p, .version = 1};
	CHECK(inject(home, 3, &m) == -EPROTO);

	/* An ACK nobody waits for. */
	m = (struct gvm_msg){.type = GVM_MSG_ACK, .page = p, .version = 1};
	CHECK(inject(home, 1, &m) == -EPROTO);
	CHECK(strstr(test_log, "acknowledgement"));
	teardown();

	setup(GVM_MANAGER_FIXED);
	/* A read grant nobody asked for. */
	m = (struct gvm_msg){.type = GVM_MSG_GRANT_READ, .page = p,
			     .version = 5};
	CHECK(inject((home + 1) % NODES, (home + 2) % NODES, &m) == -EPROTO);
	/* An invalidation sent to the owner. */
	m = (struct gvm_msg){.type = GVM_MSG_INV, .page = p, .version = 1,
			     .node = (home + 3) % NODES};
	CHECK(inject(home, (home + 3) % NODES, &m) == -EPROTO);
	CHECK(strstr(test_log, "owner"));
	/* An invalidation claiming to come from someone else. */
	m.node = (home + 1) % NODES;
	CHECK(inject((home + 2) % NODES, (home + 3) % NODES, &m) == -EPROTO);
	CHECK(strstr(test_log, "behalf"));
	/* A routed request that did not come from the manager. */
	m = (struct gvm_msg){.type = GVM_MSG_REQ, .flags = GVM_WF_ROUTED,
			     .page = p, .node = (home + 1) % NODES,
			     .access = GVM_ACCESS_WRITE};
	CHECK(inject(home, (home + 1) % NODES, &m) == -EPROTO);
	CHECK(strstr(test_log, "manager"));
	/* The page at its owner did not change. */
	gvm_page_inspect(nodes[home], p, &after, NULL);
	CHECK(after.owner && after.state == before.state &&
	      after.version == before.version);
	teardown();
}

static void survivors_keep_working(void)
{
	uint8_t garbage[3] = {1, 2, 3};
	gvm_page_t p;
	gvm_node_id home, bad, good;

	setup(GVM_MANAGER_FIXED);
	p = page_not_homed_at(2);
	home = gvm_page_home(nodes[0], p);
	bad = (home + 1) % NODES;
	good = (home + 2) % NODES;
	CHECK(gvm_node_recv(nodes[home], bad, garbage, sizeof(garbage)) == -EPROTO);
	CHECK(fault(good, p, GVM_ACCESS_READ) == 0);
	CHECK(errors(home) == 1 && errors(good) == 0);
	teardown();
}

/* DYNAMIC: a forwarded request must meet a strictly newer hint. */
static void forwarding_loop(void)
{
	gvm_page_t p = 0;
	gvm_node_id home, a, b;
	struct gvm_waiter w = {.page = p, .access = GVM_ACCESS_WRITE,
			       .done = mark_granted};
	struct gvm_msg m;

	granted = 0;
	setup(GVM_MANAGER_DYNAMIC);
	home = gvm_page_home(nodes[0], p);
	a = (home + 1) % NODES;
	b = (home + 2) % NODES;
	/* Move ownership to a, so home's hint is newer than the others'. */
	CHECK(gvm_acquire_async(nodes[a], &w) == -EINPROGRESS);
	run_until_quiet();
	CHECK(granted);
	gvm_release(nodes[a], p);
	/* b's hint still names home at version 1: a request that reached b
	 * on a hint of version 1 would have to go on to a hint no newer. */
	m = (struct gvm_msg){.type = GVM_MSG_REQ, .page = p, .node = home,
			     .hops = 1, .tag = 1, .access = GVM_ACCESS_READ};
	CHECK(inject(b, home, &m) == -EPROTO);
	CHECK(strstr(test_log, "loop"));
	teardown();
}

/* Promotions and KEPT are checked against the window and the manager. */
static void promotion_lies(void)
{
	gvm_page_t p;
	gvm_node_id home, other, third;
	struct gvm_page_info info;
	struct gvm_msg m;

	setup(GVM_MANAGER_FIXED);
	p = page_not_homed_at(1);
	home = gvm_page_home(nodes[0], p);
	other = (home + 1) % NODES;
	third = (home + 2) % NODES;
	/* A slot in another node's share of the window. */
	m = (struct gvm_msg){.type = GVM_MSG_PROMOTE, .page = p, .version = 2,
			     .slot = 2 * third};
	CHECK(inject(other, home, &m) == -EPROTO);
	CHECK(strstr(test_log, "share"));
	/* The owner told that someone else promoted its page. */
	m.slot = 2 * other;
	CHECK(inject(home, other, &m) == -EPROTO);
	CHECK(strstr(test_log, "own"));
	/* An answer to a request never sent. */
	m = (struct gvm_msg){.type = GVM_MSG_PROMOTE, .page = p, .version = 2,
			     .slot = 2 * home, .req_id = 9};
	CHECK(inject(third, home, &m) == -EPROTO);
	CHECK(strstr(test_log, "never sent"));
	/* KEPT for a write the manager never routed. */
	m = (struct gvm_msg){.type = GVM_MSG_KEPT, .page = p, .version = 1,
			     .node = third};
	CHECK(inject(home, (home + 3) % NODES, &m) == -EPROTO);
	CHECK(strstr(test_log, "not routed"));
	/* Nothing moved: the home still owns its page, unpromoted. */
	gvm_page_inspect(nodes[home], p, &info, NULL);
	CHECK(info.owner && info.state == GVM_PAGE_MODIFIED);
	teardown();
}

/* Acquire, run the world until it is granted, and return the frame. */
static uint8_t *acquire_now(gvm_node_id who, gvm_page_t p, enum gvm_access access)
{
	struct gvm_waiter w = {.page = p, .access = access, .done = mark_granted};

	granted = 0;
	if (gvm_acquire_async(nodes[who], &w) == 0)
		granted = 1;
	run_until_quiet();
	CHECK(granted);
	return gvm_page_frame(nodes[who], p);
}

/* A genuine promotion: every node then uses the one slot; then demotion. */
static void promotion_shares_one_copy(void)
{
	struct gvm_page_info info;
	struct gvm_stats st;
	uint8_t *f1, *f2, *f3;

	hot_options = "threshold=2,lease_ms=1";
	setup(GVM_MANAGER_CENTRAL);
	/* Node 1 takes page 0 from node 0 (a fault and a transfer: hot). */
	acquire_now(1, 0, GVM_ACCESS_WRITE);
	gvm_release(nodes[1], 0); /* promoted once unpinned */
	f1 = gvm_page_frame(nodes[1], 0);
	gvm_page_inspect(nodes[1], 0, &info, NULL);
	CHECK(info.owner && info.state == GVM_PAGE_PROMOTED);
	CHECK(info.slot / 2 == 1 && f1 == window + info.slot * 256);
	f1[7] = 42;
	/* Node 2 asks, and is told the slot; node 3 heard it already. */
	f2 = acquire_now(2, 0, GVM_ACCESS_WRITE);
	CHECK(f2 == f1 && f2[7] == 42);
	f2[8] = 43;
	gvm_release(nodes[2], 0);
	f3 = acquire_now(3, 0, GVM_ACCESS_READ);
	CHECK(f3 == f1);
	gvm_release(nodes[3], 0);
	gvm_node_stats(nodes[3], &st);
	CHECK(st.faults_read == 0 && st.hits == 1);
	/* The lease runs out: node 1 takes the page back under IVY. */
	gvm_node_tick(nodes[1], 2000000);
	run_until_quiet();
	gvm_page_inspect(nodes[1], 0, &info, NULL);
	CHECK(info.owner && info.state == GVM_PAGE_MODIFIED);
	CHECK(((const uint8_t *)info.frame)[7] == 42 &&
	      ((const uint8_t *)info.frame)[8] == 43);
	for (gvm_node_id i = 0; i < NODES; i++) {
		if (i == 1)
			continue;
		gvm_page_inspect(nodes[i], 0, &info, NULL);
		CHECK(info.state == GVM_PAGE_INVALID);
	}
	/* And a reader gets the demoted contents by the usual grant. */
	f3 = acquire_now(3, 0, GVM_ACCESS_READ);
	CHECK(f3 != f1 && f3[7] == 42 && f3[8] == 43);
	gvm_release(nodes[3], 0);
	gvm_node_stats(nodes[1], &st);
	CHECK(st.promotions == 1 && st.demotions == 1);
	teardown();
	hot_options = "threshold=65535";
}

/*
 * A node cut off while it held a promoted page may be alive and still
 * storing into the slot: after the demotion the slot is never reused.
 */
static void cut_off_holder_retires_slot(void)
{
	struct gvm_page_info info;
	struct gvm_stats st;

	hot_options = "threshold=2,lease_ms=1,rate=1000000000"; /* no rate limit */
	setup(GVM_MANAGER_CENTRAL);
	acquire_now(1, 0, GVM_ACCESS_WRITE); /* promoted into node 1's slot 2 */
	gvm_release(nodes[1], 0);
	gvm_page_inspect(nodes[1], 0, &info, NULL);
	CHECK(info.state == GVM_PAGE_PROMOTED && info.slot == 2);
	gvm_node_peer_down(nodes[1], 3, -ETIMEDOUT); /* node 3 held it too */
	run_until_quiet();
	gvm_node_tick(nodes[1], 2000000);
	run_until_quiet();
	gvm_page_inspect(nodes[1], 0, &info, NULL);
	CHECK(info.state == GVM_PAGE_MODIFIED);
	/* Two more hot pages, one free slot left in node 1's share. */
	acquire_now(1, 1, GVM_ACCESS_WRITE);
	gvm_release(nodes[1], 1);
	gvm_node_tick(nodes[1], 2001000); /* time moves on, within page 1's lease */
	acquire_now(1, 2, GVM_ACCESS_WRITE);
	gvm_release(nodes[1], 2);
	gvm_page_inspect(nodes[1], 1, &info, NULL);
	CHECK(info.state == GVM_PAGE_PROMOTED && info.slot == 3);
	gvm_node_stats(nodes[1], &st);
	CHECK(st.promotions == 2 && st.demotions == 1 && st.window_full == 1);
	teardown();
	hot_options = "threshold=65535";
}

/*
 * A peer cut off for a protocol error is a lost peer like a dead one: the
 * others hear of it, and a fault on a page it owned fails at once instead
 * of waiting for it forever.
 */
static void cut_off_runs_recovery(void)
{
	uint8_t garbage[3] = {1, 2, 3};
	gvm_page_t p;
	gvm_node_id home, bad, other;

	setup(GVM_MANAGER_FIXED);
	p = page_not_homed_at(1);
	home = gvm_page_home(nodes[0], p);
	bad = (home + 1) % NODES;
	other = (home + 2) % NODES;
	CHECK(fault(bad, p, GVM_ACCESS_WRITE) == 0); /* bad owns p now */
	CHECK(gvm_node_recv(nodes[home], bad, garbage, sizeof(garbage)) == -EPROTO);
	run_until_quiet();
	CHECK(fault(other, p, GVM_ACCESS_READ) == -EHOSTDOWN);
	CHECK(fault(home, p, GVM_ACCESS_READ) == -EHOSTDOWN);
	teardown();
}

/*
 * An invalidation of a version nobody holds yet makes every grant look
 * stale. A read asked after it must be answered newer, so a stale grant
 * to it is a lie: the reader cuts the granter off and its fault fails,
 * instead of asking again forever (found by tests/fuzz/engine.c).
 */
static void inflated_invalidation(void)
{
	struct gvm_waiter w = {.access = GVM_ACCESS_READ, .done = note_result};
	struct gvm_msg m;
	gvm_node_id home, reader, liar;
	int steps = 0;

	setup(GVM_MANAGER_FIXED);
	w.page = page_not_homed_at(1);
	home = gvm_page_home(nodes[0], w.page);
	reader = (home + 1) % NODES;
	liar = (home + 2) % NODES;
	told = 0;
	CHECK(gvm_acquire_async(nodes[reader], &w) == -EINPROGRESS);
	m = (struct gvm_msg){.type = GVM_MSG_INV, .page = w.page,
			     .version = 1ull << 40, .node = liar};
	CHECK(inject(reader, liar, &m) == 0);
	sim_world_crash(world, liar); /* so that nobody judges the reader's ack */
	while (sim_world_step(world) && ++steps < 10000)
		;
	CHECK(steps < 10000);
	CHECK(told && told_result == -EHOSTDOWN);
	CHECK(strstr(test_log, "older than an invalidation"));
	teardown();
}

/* DOWN as the protocol allows it: never about the receiver or the sender. */
static void down_rules(void)
{
	struct gvm_msg m = {.type = GVM_MSG_DOWN, .node = 2};

	setup(GVM_MANAGER_FIXED);
	CHECK(inject(2, 1, &m) == -EPROTO); /* "you are dead" */
	CHECK(strstr(test_log, "declared us dead"));
	m.node = 3;
	CHECK(inject(0, 3, &m) == -EPROTO); /* a node that leaves closes instead */
	CHECK(strstr(test_log, "declared itself dead"));
	CHECK(inject(1, 2, &m) == 0);       /* news of another: taken */
	m = (struct gvm_msg){.type = GVM_MSG_ACK, .page = 0, .version = 1};
	CHECK(inject(1, 3, &m) == -EPROTO && errors(1) == 0); /* 3 is gone at 1 */
	teardown();
}

static struct gvm_msg barrier_msg(uint64_t epoch)
{
	return (struct gvm_msg){.type = GVM_MSG_BARRIER, .version = epoch};
}

/* Node 0 counts distinct live nodes at a barrier, not arrivals. */
static void barrier_counts_nodes(void)
{
	struct gvm_msg m = barrier_msg(1);

	setup(GVM_MANAGER_FIXED);
	CHECK(inject(0, 1, &m) == 0);
	CHECK(inject(0, 1, &m) == -EPROTO);
	CHECK(strstr(test_log, "twice"));
	teardown();

	/* One arrived and died; the others arrived; node 0 has not entered:
	 * nobody is released (a release would reach nodes that had not
	 * entered either, and they would cut node 0 off). */
	setup(GVM_MANAGER_FIXED);
	CHECK(inject(0, 1, &m) == 0);
	gvm_node_peer_down(nodes[0], 1, -ECONNRESET);
	CHECK(inject(0, 2, &m) == 0);
	CHECK(inject(0, 3, &m) == 0);
	run_until_quiet();
	for (gvm_node_id i = 0; i < NODES; i++)
		CHECK(errors(i) == 0);
	teardown();
}

int main(void)
{
	gvm_os_log_set_sink(test_log_sink);
	out_of_protocol();
	survivors_keep_working();
	forwarding_loop();
	promotion_lies();
	promotion_shares_one_copy();
	cut_off_holder_retires_slot();
	cut_off_runs_recovery();
	inflated_invalidation();
	down_rules();
	barrier_counts_nodes();
	return test_exit("unit-untrusted");
}
