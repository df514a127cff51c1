// SPDX-License-Identifier: MIT
/*
 * Description: read-fault latency on mapped DSM memory, built twice from
 * this one source: against libgvmdsm (userfaultfd) as vm-readlat, and
 * against tests/vm/kshim.c (/dev/gvm_dsm) as kmod-readlat.
 *
 *	gvmrun -n 2 -- readlat [pages] [rounds]
 *
 * Each round node 1 writes every page (so it owns them), then node 0
 * reads each page once and times that load: every sample is one read
 * fault served by the other node. Node 0 checks the values and prints
 * median, p99 and mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint32_t pages = argc > 1 ? (uint32_t)atoi(argv[1]) : 500;
	uint32_t rounds = argc > 2 ? (uint32_t)atoi(argv[2]) : 2;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	struct gvm_cluster *c;
	uint64_t *lat, sum = 0;
	uint8_t *base;
	uint32_t bad = 0, n = 0;

	if (!pages || !rounds) {
		fprintf(stderr, "usage: readlat [pages] [rounds]\n");
		return 2;
	}
	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, &len);
	if (gvm_cluster_nodes(c) != 2 || (size_t)pages * page > len) {
		fprintf(stderr, "readlat: needs 2 nodes and %u pages\n", pages);
		return 2;
	}
	lat = calloc((size_t)pages * rounds, sizeof(*lat));
	for (uint32_t r = 0; r < rounds; r++) {
		if (gvm_cluster_self(c) == 1)
			for (uint32_t i = 0; i < pages; i++)
				*(volatile uint64_t *)(base + i * page) = r * pages + i + 1;
		gvm_cluster_barrier(c);
		if (gvm_cluster_self(c) == 0)
			for (uint32_t i = 0; i < pages; i++) {
				uint64_t t0 = now_ns(), v;

				v = *(volatile uint64_t *)(base + i * page);
				lat[n++] = now_ns() - t0;
				bad += v != r * pages + i + 1;
			}
		gvm_cluster_barrier(c);
	}
	if (gvm_cluster_self(c) == 0) {
		for (uint32_t i = 0; i < n; i++)
			sum += lat[i];
		qsort(lat, n, sizeof(*lat), cmp_u64);
		printf("readlat: %s faults, %u reads: median %.1f us, p99 %.1f us, mean %.1f us, %u wrong\n",
		       gvm_fault_mode_name(gvm_cluster_fault_mode(c)), n, lat[n / 2] / 1e3,
		       lat[(size_t)n * 99 / 100] / 1e3, (double)sum / n / 1e3, bad);
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	free(lat);
	return bad ? 1 : 0;
}
