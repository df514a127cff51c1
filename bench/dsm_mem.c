// SPDX-License-Identifier: MIT
/*
 * dsm_mem.c - what a node keeps resident for the pages it holds: node 0
 * writes every page of a region, then node 1 reads every page, so node 0
 * ends up owning (or sharing) all of them and node 1 holding a copy of
 * each. Each node then reports the memory it has grown by since just
 * before it opened the cluster (the process's own), against the bytes of
 * the pages it holds: 1.0 would be one copy of each page and nothing else.
 * Memory is the proportional set size of anonymous and shared memory
 * (Pss_Anon + Pss_Shmem, /proc/self/smaps_rollup): a page mapped twice in
 * one process, as the application's view and the engine's alias of one
 * memfd, is in memory once and counts once (Rss would count it twice).
 * Frames mapped (the memfd) make one copy; frames copied into an
 * anonymous view make two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gvm/cluster.h>

#include "bench.h"

#define PAGE 4096

struct run {
	uint64_t pages;
	uint64_t pss_kib[2]; /* growth, per node (shared with the children) */
	bool frames_mapped[2];
};

static uint64_t pss_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[128];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "Pss_Anon: %llu", &v) == 1 ||
		    sscanf(line, "Pss_Shmem: %llu", &v) == 1)
			kib += v;
	}
	fclose(f);
	return kib;
}

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	volatile uint8_t *base;
	uint64_t before, sum = 0;

	before = pss_kib(); /* the engine's own frames come with the open */
	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, NULL);
	gvm_cluster_barrier(c);
	if (node == 0)
		for (uint64_t i = 0; i < r->pages; i++)
			base[i * PAGE] = (uint8_t)(i + 1);
	gvm_cluster_barrier(c);
	if (node == 1)
		for (uint64_t i = 0; i < r->pages; i++)
			sum += base[i * PAGE] == (uint8_t)(i + 1);
	gvm_cluster_barrier(c);
	r->pss_kib[node] = pss_kib() - before;
	r->frames_mapped[node] = gvm_cluster_frames_mapped(c);
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return node == 1 && sum != r->pages ? 2 : 0;
}

int cmd_dsm_mem(const struct bench_opts *o)
{
	struct run *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char region[32], label[48];
	int rc = 0;

	if (r == MAP_FAILED)
		return 1;
	/* Large enough that the allocator's chunks do not count. */
	r->pages = (64u << 20) / PAGE;
	snprintf(region, sizeof(region), "%llu", (unsigned long long)r->pages * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	table_header("dsm-mem", "dsm-mem: resident memory for the pages a node holds, 2 nodes",
		     "node");
	if (spawn_cluster(2, o, node_main, r, NULL)) {
		fprintf(stderr, "gvm-bench: dsm-mem failed\n");
		rc = 1;
	} else {
		for (int node = 0; node < 2; node++) {
			snprintf(label, sizeof(label), "%s node %d, frames %s", o->transport,
				 node, r->frames_mapped[node] ? "mapped" : "copied");
			table_mem_row(label, r->pages * PAGE, r->pss_kib[node] * 1024);
		}
	}
	munmap(r, sizeof(*r));
	return rc;
}
