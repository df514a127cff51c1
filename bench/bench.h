/* SPDX-License-Identifier: MIT */
/* bench.h - what gvm-bench's subcommands share (shared.c). */
#ifndef GVM_BENCH_H
#define GVM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_opts {
	const char *transport; /* backend name */
	uint32_t nodes;
	size_t sizes[32];      /* message sizes (tp-lat) */
	int nsizes;
	uint64_t iters;
	uint64_t warmup;
	const char *fault_mode; /* dsm-*: GVM_FAULT_MODE value */
	const char *manager;
	const char *tp_opts;    /* extra transport options, e.g. io=uring */
};

/* Latency samples in ns, summarised perftest-style in microseconds. */
struct samples {
	uint64_t *ns;
	uint64_t n, cap;
};

void samples_add(struct samples *s, uint64_t ns);
void samples_free(struct samples *s);
/* Sorts s; returns the q-quantile (q in per-mille, 500 = median). */
uint64_t samples_q(struct samples *s, unsigned permille);

uint64_t bench_now_ns(void);

/* Table: header once, then one row per measurement. */
void table_header(const char *title, const char *first_column);
void table_row(const char *label, uint64_t bytes, struct samples *s,
	       uint64_t baseline_median_ns, const char *baseline_name);

/*
 * Run fn(node, arg) in n child processes that form one gvm-dsm cluster on
 * 127.0.0.1 (the environment gvm_cluster_open reads, as gvmrun sets it).
 * Returns 0 if every child exits 0.
 */
int spawn_cluster(uint32_t n, const struct bench_opts *o,
		  int (*fn)(uint32_t node, void *arg), void *arg);

/* Raw baselines, measured in the same run as the figures they divide. */
int raw_tcp_pingpong(size_t req, size_t resp, uint64_t iters, uint64_t warmup,
		     struct samples *out);
int raw_uffd_fault(size_t page, uint64_t iters, struct samples *out);

int cmd_tp_lat(const struct bench_opts *o);
int cmd_dsm_read(const struct bench_opts *o);

#endif
