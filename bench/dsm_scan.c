// SPDX-License-Identifier: MIT
/*
 * dsm_scan.c - node 1 writes every page of a region, then node 0 reads one
 * byte of each, in order (a scan) or in a random order, without and with
 * the readahead policy (core/policy/readahead.c). Rows: pages read per
 * second and the faults that needed the network per second, node 0's; the
 * readahead runs against the same order without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gvm/cluster.h>
#include <gvm/dsm.h>

#include "bench.h"

#define PAGE 4096
#define PAGES 4096 /* 16 MiB */

struct run {
	bool random;
	uint64_t ns, faults; /* node 0's scan: time, network faults */
	uint32_t order[PAGES];
};

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	volatile uint8_t *base;
	int rc = 0;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, NULL);
	if (node == 1)
		for (uint32_t i = 0; i < PAGES; i++)
			base[(uint64_t)i * PAGE] = (uint8_t)(i + 1);
	gvm_cluster_barrier(c);
	if (node == 0) {
		struct gvm_stats before, after;
		uint64_t t0;

		gvm_node_stats(gvm_cluster_node(c), &before);
		t0 = bench_now_ns();
		for (uint32_t i = 0; i < PAGES; i++) {
			uint32_t p = r->order[i];

			if (base[(uint64_t)p * PAGE] != (uint8_t)(p + 1))
				rc = 2;
		}
		r->ns = bench_now_ns() - t0;
		gvm_node_stats(gvm_cluster_node(c), &after);
		r->faults = after.faults_read - before.faults_read;
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}

int cmd_dsm_scan(const struct bench_opts *o)
{
	struct run *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *old_policy = getenv("GVM_POLICY");
	char region[32], label[48];
	double plain = 0;
	int rc = 0;

	if (r == MAP_FAILED)
		return 1;
	snprintf(region, sizeof(region), "%u", PAGES * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	table_header("dsm-scan", "dsm-scan: node 0 reads every page node 1 wrote, 16 MiB", "order");
	for (int run = 0; run < 4 && !rc; run++) {
		bool ahead = run & 1;
		double rate;

		r->random = run >= 2;
		for (uint32_t i = 0; i < PAGES; i++)
			r->order[i] = i;
		for (uint32_t i = PAGES - 1; r->random && i > 0; i--) {
			uint32_t j = (uint32_t)(((uint64_t)i * 2654435761u + 40503u) % (i + 1));
			uint32_t t = r->order[i];

			r->order[i] = r->order[j];
			r->order[j] = t;
		}
		if (ahead)
			setenv("GVM_POLICY", "readahead", 1);
		else
			unsetenv("GVM_POLICY");
		if (spawn_cluster(2, o, node_main, r, NULL) || !r->ns) {
			fprintf(stderr, "gvm-bench: dsm-scan failed\n");
			rc = 1;
			break;
		}
		rate = (double)PAGES * 1e9 / (double)r->ns;
		snprintf(label, sizeof(label), "%s %s%s", o->transport,
			 r->random ? "random" : "in order", ahead ? ", readahead" : "");
		table_rate_row(label, rate, (double)r->faults * 1e9 / (double)r->ns,
			       ahead ? plain : 0, ahead ? "the same order without it" : "");
		plain = rate;
	}
	if (old_policy)
		setenv("GVM_POLICY", old_policy, 1);
	else
		unsetenv("GVM_POLICY");
	munmap(r, sizeof(*r));
	return rc;
}
