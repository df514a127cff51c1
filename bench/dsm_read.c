// SPDX-License-Identifier: MIT
/*
 * dsm_read.c - remote read fault latency: node 1 owns P pages (it wrote
 * them), node 0 touches each once and times the load. Measured in the same
 * run: a raw userfaultfd fault served from local memory, and a raw TCP
 * round trip of a request out and a page back; the DSM fault is shown as a
 * ratio of their sum.
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
	uint64_t warmup;
	uint64_t *ns; /* shared with the children */
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
	gvm_cluster_barrier(c);
	if (node == 0)
		for (uint64_t i = 0; i < r->pages; i++) {
			uint64_t t0 = bench_now_ns();

			if (base[i * PAGE] != (uint8_t)i)
				return 2;
			r->ns[i] = bench_now_ns() - t0;
		}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return 0;
}

int cmd_dsm_read(const struct bench_opts *o)
{
	static const char *const all_modes[] = {"thread", "sigbus", "mprotect"};
	const char *const *modes = o->fault_mode ? &o->fault_mode : all_modes;
	int nmodes = o->fault_mode ? 1 : 3, rc = 0;
	struct run r = {.pages = o->iters + o->warmup, .warmup = o->warmup};
	struct samples fault = {0}, rtt = {0};
	uint64_t base_ns;
	char region[32];

	r.ns = mmap(NULL, r.pages * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.ns == MAP_FAILED)
		return 1;
	snprintf(region, sizeof(region), "%llu", (unsigned long long)r.pages * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	if (bench_reporter()) {
		raw_uffd_fault(PAGE, o->iters, &fault);
		/* A REQ out (header + body), a GRANT with its page back. */
		raw_tcp_pingpong(48, 32 + PAGE, o->iters, o->warmup, &rtt);
	}
	base_ns = samples_q(&fault, 500) + samples_q(&rtt, 500);
	table_header("dsm-read", "dsm-read: remote read fault, 2 nodes on loopback", "fault mode");
	for (int m = 0; m < nmodes; m++) {
		struct bench_opts mo = *o;
		struct samples s = {0};
		char label[48];

		mo.fault_mode = modes[m];
		memset(r.ns, 0, r.pages * sizeof(uint64_t));
		if (spawn_cluster(2, &mo, node_main, &r)) {
			fprintf(stderr, "gvm-bench: dsm-read (%s) failed\n", modes[m]);
			rc = 1;
			continue;
		}
		for (uint64_t i = r.warmup; i < r.pages; i++)
			samples_add(&s, r.ns[i]);
		snprintf(label, sizeof(label), "%s/%s", o->transport, modes[m]);
		table_row(label, PAGE, &s, base_ns, "(fault + RTT)");
		samples_free(&s);
	}
	table_row("raw uffd fault", PAGE, &fault, 0, "");
	table_row("raw TCP 4K round trip", PAGE, &rtt, 0, "");
	samples_free(&fault);
	samples_free(&rtt);
	munmap(r.ns, r.pages * sizeof(uint64_t));
	return rc;
}
