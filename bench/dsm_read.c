// SPDX-License-Identifier: MIT
/*
 * dsm_read.c - remote read fault latency: node 1 owns P pages (it wrote
 * them), node 0 touches each once and times the load. After each block of
 * its faults node 0 runs a block of the yardstick (a raw userfaultfd fault
 * whose handler fetches the page with one raw round trip on the
 * transport's medium); the ratio is of the two medians.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gvm/cluster.h>

#include "bench.h"

#define PAGE 4096

struct run {
	uint64_t pages, warmup, per_block;
	uint64_t *ns;      /* [pages]: DSM faults, shared with the children */
	uint64_t *base_ns; /* [pages - warmup]: yardstick faults, the same */
	struct dsm_baseline base;
	struct usage *usage; /* node 0's measured faults, shared */
	struct fault_trace *trace; /* --breakdown, or NULL */
};

static int node_main(uint32_t node, void *arg)
{
	struct run *r = arg;
	struct gvm_cluster *c;
	volatile uint8_t *base;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, NULL);
	if (node == 1)
		for (uint64_t i = 0; i < r->pages; i++)
			base[i * PAGE] = (uint8_t)i;
	fault_trace_start(r->trace, node, c);
	gvm_cluster_barrier(c);
	if (node == 0) {
		struct usage before = {0};

		for (uint64_t i = 0; i < r->pages; i++) {
			uint64_t t0, t1;

			if (i == r->warmup)
				usage_sample(&before);
			t0 = bench_now_ns();
			if (base[i * PAGE] != (uint8_t)i)
				return 2;
			t1 = bench_now_ns();
			r->ns[i] = t1 - t0;
			if (r->trace) {
				r->trace->t0[i] = t0;
				r->trace->t1[i] = t1;
			}
			if (i >= r->warmup && (i + 1 - r->warmup) % r->per_block == 0)
				dsm_baseline_block(&r->base, r->per_block,
						   r->base_ns + (i + 1 - r->warmup - r->per_block));
		}
		usage_since(r->usage, &before);
	}
	gvm_cluster_barrier(c);
	fault_trace_stop(r->trace, node, c);
	gvm_cluster_close(c);
	return 0;
}

int cmd_dsm_read(const struct bench_opts *o)
{
	static const char *const all_modes[] = {"thread", "sigbus", "mprotect"};
	const char *const *modes = o->fault_mode ? &o->fault_mode : all_modes;
	int nmodes = o->fault_mode ? 1 : 3, rc = 0;
	struct run r = {.warmup = o->warmup,
			.per_block = (o->iters + BENCH_BLOCKS - 1) / BENCH_BLOCKS};
	uint64_t measured = r.per_block * BENCH_BLOCKS;
	size_t len;
	char region[32];

	r.pages = r.warmup + measured;
	len = (r.pages + measured) * sizeof(uint64_t) + sizeof(struct usage);
	r.ns = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.ns == MAP_FAILED)
		return 1;
	r.base_ns = r.ns + r.pages;
	r.usage = (struct usage *)(r.base_ns + measured);
	snprintf(region, sizeof(region), "%llu", (unsigned long long)r.pages * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	table_header("dsm-read", "dsm-read: remote read fault, 2 nodes on loopback", "fault mode");
	bench_has_raw(o);
	for (int m = 0; m < nmodes; m++) {
		struct bench_opts mo = *o;
		struct samples s = {0}, b = {0};
		char label[48];

		mo.fault_mode = modes[m];
		memset(r.ns, 0, len);
		r.trace = o->breakdown ? fault_trace_open(r.pages, 2) : NULL;
		if (dsm_baseline_open(&r.base, &mo, measured) ||
		    spawn_cluster(2, &mo, node_main, &r, &r.base)) {
			fprintf(stderr, "gvm-bench: dsm-read (%s) failed\n", modes[m]);
			dsm_baseline_close(&r.base);
			fault_trace_close(r.trace);
			rc = 1;
			continue;
		}
		dsm_baseline_close(&r.base);
		samples_from(&s, r.ns + r.warmup, measured);
		samples_from(&b, r.base_ns, measured);
		snprintf(label, sizeof(label), "%s/%s", o->transport, modes[m]);
		table_row(label, PAGE, &s, samples_q(&b, 500), dsm_baseline_name(&r.base));
		table_row_usage(r.usage, measured, "fault");
		if (r.trace)
			fault_trace_report(r.trace, "dsm-read", label, r.warmup, measured);
		fault_trace_close(r.trace);
		snprintf(label, sizeof(label), "%s yardstick/%s", o->transport, modes[m]);
		table_row(label, PAGE, &b, 0, "");
		samples_free(&s);
		samples_free(&b);
	}
	munmap(r.ns, len);
	return rc;
}
