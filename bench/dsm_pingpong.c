// SPDX-License-Identifier: MIT
/*
 * dsm_pingpong.c - two nodes take turns writing one page: node 0 writes an
 * even number, node 1 waits to read it and writes the next odd one, and so
 * on. Each handoff moves ownership of the page. A sample is half of node
 * 0's round (one handoff); the baseline is the yardstick (a raw
 * userfaultfd fault fetching its page with one raw round trip on the
 * transport's medium), run by node 0 in a block after each block of rounds
 * while node 1 waits in a barrier. The waiting loops yield: on a machine with fewer cores
 * than busy threads, a spinning reader would starve the progress threads
 * that bring it the page (milliseconds per handoff on 2 cores).
 *
 * It runs twice: under IVY, then with hot-page promotion (--policy, default
 * hotpage; a CXL window in /dev/shm unless the transport has one), where
 * the warm-up makes the page hot and the measured handoffs are stores and
 * loads on one shared slot. The promoted row's ratio is against IVY's.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <gvm/cluster.h>

#include "bench.h"

struct run {
	uint64_t rounds, warmup, per_block;
	uint64_t *ns;      /* [rounds], shared with the children */
	uint64_t *base_ns; /* [rounds - warmup]: the yardstick */
	struct dsm_baseline base; /* IVY run only */
	struct usage *usage;      /* node 0's measured rounds, shared */
	bool spin;                /* waiters spin on a plain load, no yield */
};

/* The spinning run's measured rounds: a few, in case each takes a slice. */
#define SPIN_ROUNDS 200

static void wait_for(volatile uint64_t *word, uint64_t value, bool spin)
{
	while (*word != value)
		if (!spin)
			sched_yield(); /* the progress threads need the CPU */
}

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	struct usage before = {0};
	volatile uint64_t *word;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	word = gvm_dsm_map(c, NULL);
	gvm_cluster_barrier(c);
	for (uint64_t i = 0; i < r->rounds; i++) {
		uint64_t t0;

		if (node == 0 && i == r->warmup)
			usage_sample(&before);
		t0 = bench_now_ns();
		/* Values start at 2: the page's initial 0 must not count as a
		 * turn, or node 1 could answer before node 0 has played. */
		if (node == 0) {
			*word = 2 * i + 2;
			wait_for(word, 2 * i + 3, r->spin);
			r->ns[i] = (bench_now_ns() - t0) / 2;
		} else {
			wait_for(word, 2 * i + 2, r->spin);
			*word = 2 * i + 3;
		}
		if (!r->base.on || i < r->warmup || (i + 1 - r->warmup) % r->per_block)
			continue;
		/* Node 1 sleeps in the barriers while node 0 runs the yardstick. */
		gvm_cluster_barrier(c);
		if (node == 0)
			dsm_baseline_block(&r->base, r->per_block,
					   r->base_ns + (i + 1 - r->warmup - r->per_block));
		gvm_cluster_barrier(c);
	}
	if (node == 0)
		usage_since(r->usage, &before);
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return 0;
}

int cmd_dsm_pingpong(const struct bench_opts *o)
{
	struct run r = {.warmup = o->warmup,
			.per_block = (o->iters + BENCH_BLOCKS - 1) / BENCH_BLOCKS};
	struct samples ivy = {0}, promoted = {0}, yard = {0}, spinning = {0};
	struct usage ivy_usage = {0}, promoted_usage = {0}, spin_usage = {0};
	struct bench_opts mo = *o;
	uint64_t measured = r.per_block * BENCH_BLOCKS;
	uint64_t spin_rounds = measured < SPIN_ROUNDS ? measured : SPIN_ROUNDS;
	char label[64];
	size_t len;
	int rc = 0;

	r.rounds = r.warmup + measured;
	len = (r.rounds + measured) * sizeof(uint64_t) + sizeof(struct usage);
	r.ns = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.ns == MAP_FAILED)
		return 1;
	r.base_ns = r.ns + r.rounds;
	r.usage = (struct usage *)(r.base_ns + measured);
	setenv("GVM_REGION_SIZE", "4096", 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	mo.fault_mode = o->fault_mode ? o->fault_mode : "thread";
	/* Under IVY every handoff moves the page; promoted (after the
	 * warm-up has made it hot) both nodes store to one shared slot. */
	for (int promote = 0; promote < 2 && !rc; promote++) {
		struct samples *s = promote ? &promoted : &ivy;

		promotion_env(o, promote);
		if ((!promote && dsm_baseline_open(&r.base, &mo, measured)) ||
		    spawn_cluster(2, &mo, node_main, &r, &r.base)) {
			fprintf(stderr, "gvm-bench: dsm-pingpong%s failed\n",
				promote ? " with promotion" : "");
			rc = 1;
		}
		if (!promote)
			samples_from(&yard, r.base_ns, measured);
		dsm_baseline_close(&r.base);
		r.base.on = false; /* the promoted run is held against IVY's */
		samples_from(s, r.ns + r.warmup, measured);
		if (!promote)
			ivy_usage = *r.usage;
		else
			promoted_usage = *r.usage;
	}
	promotion_env(o, false);
	/* The waiters as a user writes them first: spinning on a plain load.
	 * On a machine with no more cores than nodes, each node's serving
	 * side must then get the CPU from its own spinning thread. */
	if (!rc) {
		uint64_t rounds = r.rounds;

		r.spin = true;
		r.rounds = r.warmup + spin_rounds;
		if (spawn_cluster(2, &mo, node_main, &r, NULL)) {
			fprintf(stderr, "gvm-bench: dsm-pingpong with spinning waiters failed\n");
			rc = 1;
		}
		samples_from(&spinning, r.ns + r.warmup, spin_rounds);
		spin_usage = *r.usage;
		r.spin = false;
		r.rounds = rounds;
	}
	table_header("dsm-pingpong", "dsm-pingpong: two nodes alternately write one page (one handoff)",
		     "fault mode");
	bench_has_raw(o);
	if (!rc) {
		snprintf(label, sizeof(label), "%s/%s", o->transport, mo.fault_mode);
		table_row(label, 4096, &ivy, samples_q(&yard, 500), yard.n ? yardstick_name(r.base.medium, r.base.sigbus) : "");
		table_row_usage(&ivy_usage, 2 * measured, "handoff");
		snprintf(label, sizeof(label), "%s/%s promoted", o->transport, mo.fault_mode);
		table_row(label, 4096, &promoted, samples_q(&ivy, 500), "IVY handoff");
		table_row_usage(&promoted_usage, 2 * measured, "handoff");
		snprintf(label, sizeof(label), "%s/%s spinning", o->transport, mo.fault_mode);
		table_row(label, 4096, &spinning, samples_q(&ivy, 500), "yielding waiters");
		table_row_usage(&spin_usage, 2 * spin_rounds, "handoff");
	}
	snprintf(label, sizeof(label), "%s yardstick", o->transport);
	table_row(label, 4096, &yard, 0, "");
	samples_free(&ivy);
	samples_free(&promoted);
	samples_free(&yard);
	samples_free(&spinning);
	munmap(r.ns, len);
	return rc;
}
