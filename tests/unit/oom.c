// SPDX-License-Identifier: MIT
/*
 * Description: out of memory for a protocol message never stalls a
 * fault. A node that cannot queue a message some transaction waits for
 * leaves the cluster: its faults in flight fail with an error, its peers
 * see it gone and recover as from a crash, and the others keep working.
 */
#include <errno.h>

#include "sim_nodes.h"

#define NODES 4
#define PAGES 8

/* calloc, failing while `starved` (gvm_os_zalloc is calloc in userspace). */
void *__libc_calloc(size_t n, size_t size);
void *calloc(size_t n, size_t size);
static bool starved;

void *calloc(size_t n, size_t size)
{
	return starved ? NULL : __libc_calloc(n, size);
}

static struct sim_world *world;
static struct gvm_node *nodes[NODES];

static int told, told_result;

static bool note(struct gvm_waiter *w, int result)
{
	(void)w;
	told = 1;
	told_result = result;
	return true;
}

static void run(void)
{
	while (sim_world_step(world))
		;
}

/* A fault driven until quiet: its result, or -EINPROGRESS if never told. */
static int fault(gvm_node_id who, gvm_page_t p, enum gvm_access access, bool starve)
{
	struct gvm_waiter w = {.page = p, .access = access, .done = note};
	int err;

	told = 0;
	starved = starve;
	err = gvm_acquire_async(nodes[who], &w);
	starved = false;
	if (err == -EINPROGRESS) {
		run();
		err = told ? told_result : -EINPROGRESS;
	}
	if (!err)
		gvm_release(nodes[who], p);
	return err;
}

int main(void)
{
	struct gvm_config cfg = {.nodes = NODES, .page_shift = 8, .npages = PAGES,
				 .manager = GVM_MANAGER_FIXED};
	gvm_node_id home, owner, other;
	gvm_page_t p = 0, q;

	gvm_os_log_set_sink(test_log_sink);
	sim_nodes_open(cfg, &world, nodes);
	home = gvm_page_home(nodes[0], p);
	owner = (home + 1) % NODES;
	other = (home + 2) % NODES;
	/* Elsewhere owned, so the manager's own read fault starts with a
	 * request to itself: the first message it queues. */
	CHECK(fault(owner, p, GVM_ACCESS_WRITE, false) == 0);
	CHECK(fault(home, p, GVM_ACCESS_READ, true) == -EHOSTDOWN);
	CHECK(strstr(test_log, "out of memory for a protocol message"));
	/* The others saw it go, and a page it does not manage still works. */
	for (q = 0; q < PAGES && gvm_page_home(nodes[0], q) == home; q++)
		;
	CHECK(q < PAGES);
	CHECK(fault(other, q, GVM_ACCESS_WRITE, false) == 0);
	CHECK(fault(owner, q, GVM_ACCESS_READ, false) == 0);
	sim_nodes_close(world, nodes, NODES);
	return test_exit("unit-oom");
}
