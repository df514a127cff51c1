/* SPDX-License-Identifier: MIT */
/*
 * sim_nodes.h - unit tests' cluster: engines over the simulated network,
 * wired as a real transport wires them (messages and peer losses), and a
 * log sink that keeps what they said.
 */
#ifndef GVM_TEST_SIM_NODES_H
#define GVM_TEST_SIM_NODES_H

#include <string.h>

#include <gvm/dsm.h>

#include "helpers.h"
#include "os/gvm_os.h"
#include "../../transports/sim/sim.h"

/* Open cfg->nodes engines, node i with cfg->self = i, on a new world. */
static inline void sim_nodes_open(struct gvm_config cfg, struct sim_world **world,
				  struct gvm_node **nodes)
{
	struct sim_params sp = {.nodes = cfg.nodes, .seed = 1};

	CHECK(sim_world_create(&sp, world) == 0);
	for (gvm_node_id i = 0; i < cfg.nodes; i++) {
		struct gvm_transport *tp;

		cfg.self = i;
		CHECK(sim_endpoint_open(*world, i, gvm_node_recv, NULL, &tp) == 0);
		CHECK(gvm_node_create(&cfg, tp, &nodes[i]) == 0);
		tp->recv_arg = nodes[i];
		tp->peer_down = gvm_node_peer_down;
		tp->peer_down_arg = nodes[i];
	}
}

static inline void sim_nodes_close(struct sim_world *world, struct gvm_node **nodes,
				   uint32_t n)
{
	for (gvm_node_id i = 0; i < n; i++)
		gvm_node_destroy(nodes[i]);
	sim_world_destroy(world);
}

/* What the engines logged since it was last emptied (test_log[0] = 0). */
static char test_log[8192];

static inline void test_log_sink(int level, const char *line)
{
	size_t used = strlen(test_log);

	(void)level;
	snprintf(test_log + used, sizeof(test_log) - used, "%s\n", line);
}

#endif
