// SPDX-License-Identifier: MIT
/*
 * dsm_write.c - write fault with k sharers, k = 1..N-1: node k writes each
 * page of its group (it becomes the owner), nodes 1..k-1 read it (they
 * become sharers), then node 0 writes it and times the fault: one transfer
 * plus k-1 invalidations sent all at once. Baseline as for dsm-read: a
 * block of the yardstick after each block of writes, for each k.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gvm/cluster.h>

#include "bench.h"

#define PAGE 4096

struct run {
	uint32_t nodes;
	uint64_t per_k;    /* pages per sharer count */
	uint64_t per_block;
	uint64_t *ns;      /* [k * per_k + i], shared with the children */
	uint64_t *base_ns; /* the yardstick, indexed alike */
	struct dsm_baseline base;
};

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	volatile uint8_t *base;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, NULL);
	r->nodes = gvm_cluster_nodes(c); /* under mpirun: the job's size */
	for (uint32_t k = 1; k < r->nodes; k++) {
		uint64_t first = k * r->per_k;

		if (node == k)
			for (uint64_t i = 0; i < r->per_k; i++)
				base[(first + i) * PAGE] = (uint8_t)k;
		gvm_cluster_barrier(c);
		if (node >= 1 && node < k)
			for (uint64_t i = 0; i < r->per_k; i++)
				(void)base[(first + i) * PAGE];
		gvm_cluster_barrier(c);
		if (node == 0)
			for (uint64_t i = 0; i < r->per_k; i++) {
				uint64_t t0 = bench_now_ns();

				base[(first + i) * PAGE] = 0;
				r->ns[first + i] = bench_now_ns() - t0;
				if ((i + 1) % r->per_block == 0)
					dsm_baseline_block(&r->base, r->per_block,
							   r->base_ns + first + i + 1 - r->per_block);
			}
		gvm_cluster_barrier(c);
	}
	gvm_cluster_close(c);
	return 0;
}

int cmd_dsm_write(const struct bench_opts *o)
{
	struct run r = {.nodes = o->nodes < 2 ? 4 : o->nodes,
			.per_block = (o->iters + BENCH_BLOCKS - 1) / BENCH_BLOCKS};
	struct bench_opts mo = *o;
	uint64_t npages;
	size_t len;
	char region[32];
	int rc = 0;

	r.per_k = r.per_block * BENCH_BLOCKS;
	npages = (uint64_t)r.nodes * r.per_k;
	len = 2 * npages * sizeof(uint64_t);
	r.ns = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.ns == MAP_FAILED)
		return 1;
	r.base_ns = r.ns + npages;
	snprintf(region, sizeof(region), "%llu", (unsigned long long)npages * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	mo.fault_mode = o->fault_mode ? o->fault_mode : "thread";
	if (dsm_baseline_open(&r.base, &mo, npages) || spawn_cluster(r.nodes, &mo, node_main, &r, &r.base)) {
		fprintf(stderr, "gvm-bench: dsm-write failed\n");
		rc = 1;
	}
	dsm_baseline_close(&r.base);
	table_header("dsm-write", "dsm-write: write fault with k sharers (transfer + k-1 invalidations)",
		     "sharers");
	bench_has_raw(o);
	for (uint32_t k = 1; !rc && k < r.nodes; k++) {
		struct samples s = {0}, b = {0};
		char label[48];

		samples_from(&s, r.ns + k * r.per_k, r.per_k);
		samples_from(&b, r.base_ns + k * r.per_k, r.per_k);
		snprintf(label, sizeof(label), "%s k=%u (%s)", o->transport, k, mo.fault_mode);
		table_row(label, PAGE, &s, samples_q(&b, 500), dsm_baseline_name(&r.base));
		snprintf(label, sizeof(label), "%s yardstick/k=%u", o->transport, k);
		table_row(label, PAGE, &b, 0, "");
		samples_free(&s);
		samples_free(&b);
	}
	munmap(r.ns, len);
	return rc;
}
