// SPDX-License-Identifier: MIT
/*
 * Fuzz target: four engines over the simulated network while a fake peer
 * feeds them arbitrary messages. The input is a program, one byte picking
 * each step:
 *
 *	0-63     node (b / 16) acquires page (b % 8), a write if b & 8
 *	64-127   deliver (b - 64) % 8 + 1 queued messages
 *	128-191  release the oldest access still held
 *	192-255  inject: the next byte names source and destination, the one
 *	         after the length, then that many bytes as the message
 *
 * A forged message may cut its sender off (and with it, at the receiver,
 * a real node), so coherence across nodes is not what is checked here:
 * the simulator's runs check that (transports/sim/). This target checks
 * that nothing a peer sends crashes, corrupts memory (ASan), hits
 * undefined behaviour (UBSan) or leaves an access pinned: every acquire is
 * told or still waiting, and every granted one is released before the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gvm/dsm.h>

#include "os/gvm_os.h"

#include "../../transports/sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODES 4
#define PAGES 8
#define MAX_HELD 32

struct access {
	struct gvm_waiter w;
	gvm_node_id node;
	int state; /* 0 free, 1 waiting, 2 granted, 3 failed */
};

static struct access acc[MAX_HELD];

static bool told(struct gvm_waiter *w, int result)
{
	struct access *a = (struct access *)w;

	a->state = result ? 3 : 2;
	return true;
}

static void quiet_log(int level, const char *line)
{
	(void)level, (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_params sp = {.nodes = NODES, .seed = 1};
	struct gvm_config cfg = {.nodes = NODES, .page_shift = 8, .npages = PAGES,
				 .manager = size ? data[0] % 3 + 1 : GVM_MANAGER_FIXED};
	struct gvm_node *nodes[NODES] = {0};
	struct sim_world *world;
	size_t i = 1;

	gvm_os_log_set_sink(quiet_log);
	if (sim_world_create(&sp, &world))
		abort();
	for (gvm_node_id n = 0; n < NODES; n++) {
		struct gvm_transport *tp;

		cfg.self = n;
		if (sim_endpoint_open(world, n, gvm_node_recv, NULL, &tp) ||
		    gvm_node_create(&cfg, tp, &nodes[n]))
			abort();
		tp->recv_arg = nodes[n];
		tp->peer_down = gvm_node_peer_down;
		tp->peer_down_arg = nodes[n];
	}
	memset(acc, 0, sizeof(acc));
	while (i < size) {
		uint8_t b = data[i++];

		if (b < 64) {
			struct access *a = NULL;

			for (int k = 0; k < MAX_HELD && !a; k++)
				if (!acc[k].state)
					a = &acc[k];
			if (!a)
				continue;
			*a = (struct access){.w = {.page = b % PAGES,
						   .access = b & 8 ? GVM_ACCESS_WRITE : GVM_ACCESS_READ,
						   .done = told},
					     .node = b / 16, .state = 1};
			int err = gvm_acquire_async(nodes[a->node], &a->w);

			if (err == 0)
				a->state = 2;
			else if (err != -EINPROGRESS)
				a->state = 3;
		} else if (b < 128) {
			for (int k = 0; k < (b - 64) % 8 + 1 && sim_world_step(world); k++)
				;
		} else if (b < 192) {
			for (int k = 0; k < MAX_HELD; k++)
				if (acc[k].state >= 2) {
					if (acc[k].state == 2)
						gvm_release(nodes[acc[k].node], acc[k].w.page);
					acc[k].state = 0;
					break;
				}
		} else if (i + 2 <= size) {
			gvm_node_id src = data[i] % NODES, dst = (data[i] / NODES) % NODES;
			size_t len = data[i + 1];

			i += 2;
			if (len > size - i)
				len = size - i;
			if (src != dst)
				gvm_node_recv(nodes[dst], src, data + i, len);
			i += len;
		}
	}
	/* Let everything settle and let go of what is held, until releasing
	 * grants nothing more. */
	for (bool released = true; released;) {
		while (sim_world_step(world))
			;
		released = false;
		for (int k = 0; k < MAX_HELD; k++)
			if (acc[k].state == 2) {
				gvm_release(nodes[acc[k].node], acc[k].w.page);
				acc[k].state = 0;
				released = true;
			}
	}
	for (gvm_node_id n = 0; n < NODES; n++)
		for (gvm_page_t p = 0; p < PAGES; p++) {
			struct gvm_page_info info;

			if (gvm_page_inspect(nodes[n], p, &info, NULL) || info.pins)
				abort(); /* an access left pinned */
		}
	/* Accesses still waiting belong to pages whose owner was cut off
	 * mid-transfer; destroying their node is what the program does. */
	for (gvm_node_id n = 0; n < NODES; n++)
		gvm_node_destroy(nodes[n]);
	sim_world_destroy(world);
	return 0;
}
