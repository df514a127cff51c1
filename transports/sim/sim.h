/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the in-process deterministic transport.
 *
 * A world holds N endpoints and one FIFO per ordered pair of them. Nothing is
 * delivered until the driver calls sim_world_step(), which picks the next
 * message with the world's seeded PRNG among the pairs whose head is due,
 * so every interleaving that keeps per-pair order can happen, and the same
 * seed replays the same run. An optional delay holds each message back a
 * random number of steps (still in per-pair order).
 */
#ifndef GVM_SIM_H
#define GVM_SIM_H

#include <gvm/transport.h>

struct sim_world;

enum sim_event {
	SIM_SENT,
	SIM_DELIVERED,
	SIM_DROPPED, /* its destination crashed */
};

struct sim_params {
	uint32_t nodes;
	uint64_t seed;
	uint32_t max_delay; /* steps a message may be held back, 0 = none */
	/* Called for every message when sent, delivered or dropped. */
	void (*observe)(void *arg, gvm_node_id src, gvm_node_id dst,
			const void *msg, size_t len, enum sim_event ev);
	void *observe_arg;
};

int sim_world_create(const struct sim_params *p, struct sim_world **out);
void sim_world_destroy(struct sim_world *w);

/* Open endpoint `self` of world w (through gvm_transport_open). */
int sim_endpoint_open(struct sim_world *w, gvm_node_id self, gvm_recv_fn recv,
		      void *recv_arg, struct gvm_transport **out);

/*
 * Deliver one message. Returns 1 if one was delivered, 0 if none is in
 * flight.
 */
int sim_world_step(struct sim_world *w);

/*
 * Crash a node: what was sent to it is dropped and nothing reaches it any
 * more; what it sent is still delivered, then each other endpoint's
 * peer_down callback runs, in order after those messages (as TCP would
 * deliver the bytes before the reset). Advertised as GVM_CAP_PEER_DOWN.
 */
void sim_world_crash(struct sim_world *w, gvm_node_id node);

/* Messages in flight. */
uint64_t sim_world_inflight(const struct sim_world *w);

/* The world's PRNG, for drivers that want one seeded stream (xoshiro256**). */
uint64_t sim_rand(struct sim_world *w);
/* Uniform in [0, bound), bound > 0. */
uint64_t sim_rand_below(struct sim_world *w, uint64_t bound);

/* Time spent in the transport's own send path (copying), in ns. */
uint64_t sim_world_send_ns(const struct sim_world *w);
void sim_world_set_timing(struct sim_world *w, bool on);

extern const struct gvm_transport_ops sim_ops;

#endif /* GVM_SIM_H */
