// SPDX-License-Identifier: MIT
/*
 * dsm_pingpong.c - two nodes take turns writing one page: node 0 writes an
 * even number, node 1 waits to read it and writes the next odd one, and so
 * on. Each handoff moves ownership of the page. A sample is half of node
 * 0's round (one handoff); the baseline is a raw 4 KiB socket ping-pong's
 * half round trip. The waiting loops yield: on a machine with fewer cores
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
	uint64_t rounds;
	uint64_t *ns;
};

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	volatile uint64_t *word;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	word = gvm_dsm_map(c, NULL);
	gvm_cluster_barrier(c);
	for (uint64_t i = 0; i < r->rounds; i++) {
		uint64_t t0 = bench_now_ns();

		/* Values start at 2: the page's initial 0 must not count as a
		 * turn, or node 1 could answer before node 0 has played. */
		if (node == 0) {
			*word = 2 * i + 2;
			while (*word != 2 * i + 3)
				sched_yield(); /* the progress threads need the CPU */
			r->ns[i] = (bench_now_ns() - t0) / 2;
		} else {
			while (*word != 2 * i + 2)
				sched_yield();
			*word = 2 * i + 3;
		}
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return 0;
}

int cmd_dsm_pingpong(const struct bench_opts *o)
{
	struct run r = {.rounds = o->iters + o->warmup};
	struct samples ivy = {0}, promoted = {0}, raw = {0};
	struct bench_opts mo = *o;
	char label[64];
	int rc = 0;

	r.ns = mmap(NULL, r.rounds * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.ns == MAP_FAILED)
		return 1;
	setenv("GVM_REGION_SIZE", "4096", 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	mo.fault_mode = o->fault_mode ? o->fault_mode : "thread";
	if (bench_reporter())
		raw_tcp_pingpong(4096, 4096, o->iters, o->warmup, &raw);
	for (uint64_t i = 0; i < raw.n; i++)
		raw.ns[i] /= 2;
	/* Under IVY every handoff moves the page; promoted (after the
	 * warm-up has made it hot) both nodes store to one shared slot. */
	for (int promote = 0; promote < 2 && !rc; promote++) {
		struct samples *s = promote ? &promoted : &ivy;

		promotion_env(o, promote);
		if (spawn_cluster(2, &mo, node_main, &r)) {
			fprintf(stderr, "gvm-bench: dsm-pingpong%s failed\n",
				promote ? " with promotion" : "");
			rc = 1;
		}
		for (uint64_t i = o->warmup; !rc && i < r.rounds; i++)
			samples_add(s, r.ns[i]);
	}
	promotion_env(o, false);
	table_header("dsm-pingpong", "dsm-pingpong: two nodes alternately write one page (one handoff)",
		     "fault mode");
	if (!rc) {
		snprintf(label, sizeof(label), "%s/%s", o->transport, mo.fault_mode);
		table_row(label, 4096, &ivy, samples_q(&raw, 500), "raw 4K half RTT");
		snprintf(label, sizeof(label), "%s/%s promoted", o->transport, mo.fault_mode);
		table_row(label, 4096, &promoted, samples_q(&ivy, 500), "IVY handoff");
	}
	table_row("raw 4K half RTT", 4096, &raw, 0, "");
	samples_free(&ivy);
	samples_free(&promoted);
	samples_free(&raw);
	munmap(r.ns, r.rounds * sizeof(uint64_t));
	return rc;
}
