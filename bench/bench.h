/* SPDX-License-Identifier: MIT */
/* bench.h - what gvm-bench's subcommands share (shared.c). */
#ifndef GVM_BENCH_H
#define GVM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_opts {
	const char *transport; /* backend name */
	uint32_t nodes;         /* dsm-write */
	size_t sizes[32];      /* message sizes (tp-lat) */
	int nsizes;
	uint64_t iters;
	uint64_t warmup;
	const char *fault_mode; /* dsm-*: GVM_FAULT_MODE value */
	const char *manager;
	const char *tp_opts;    /* extra transport options, e.g. io=uring */
	uint64_t window;        /* tp-bw: messages in flight */
	uint32_t threads;       /* dsm-mix: per node */
	const char *pattern;    /* dsm-mix: seq | uniform | zipf */
	uint32_t share_pct;     /* dsm-mix: accesses to shared pages */
	uint32_t write_pct;     /* dsm-mix: accesses that store */
	uint32_t duration_ms;   /* dsm-mix: run time */
	uint32_t hot_pages;     /* dsm-mix: shared pages (0: 64) */
	uint32_t own_pages;     /* dsm-mix: each node's private pages (0: 64) */
	const char *policy;     /* dsm-pingpong/-boot: GVM_POLICY when promoting */
};

/* One measured row, kept for --json/--csv/--markdown. Times in ns. */
struct result {
	char test[16];
	char label[48];
	uint64_t bytes, iters;
	uint64_t min, median, avg, p99, p999, max;
	char baseline[32];
	double ratio;       /* median / baseline median; 0: this is a baseline */
	double mbps;        /* tp-bw: MB/s (10^6 bytes), else 0 */
	double rate;        /* tp-bw: messages/s; dsm-mix/scale: accesses/s */
	double fault_rate;  /* dsm-mix/scale: faults/s */
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
/* Not under a launcher, or its rank 0: the process that measures
 * baselines and reports (the other ranks only take part). */
bool bench_reporter(void);

/* Table: header once (test names the subcommand), then one row per
 * measurement; every row is also kept for the result files. */
void table_header(const char *test, const char *title, const char *first_column);
void table_row(const char *label, uint64_t bytes, struct samples *s,
	       uint64_t baseline_median_ns, const char *baseline_name);
/* Bandwidth row: msgs messages of bytes each took ns; baseline in MB/s. */
void table_bw_row(const char *label, uint64_t bytes, uint64_t msgs, uint64_t ns,
		  double baseline_mbps, const char *baseline_name);

/* Throughput row (dsm-mix, dsm-scale); ratio = ours / baseline. */
void table_rate_row(const char *label, double accesses_per_s, double faults_per_s,
		    double baseline_aps, const char *baseline_name);

/* Result files (a NULL path is skipped). Returns 0 or -errno. */
int write_results(const struct bench_opts *o, const char *json, const char *csv,
		  const char *markdown);

/*
 * Run fn(node, arg) in n child processes that form one gvm-dsm cluster on
 * 127.0.0.1 (the environment gvm_cluster_open reads, as gvmrun sets it).
 * Returns 0 if every child exits 0.
 */
int spawn_cluster(uint32_t n, const struct bench_opts *o,
		  int (*fn)(uint32_t node, void *arg), void *arg);

/* Two endpoints of o->transport, node 0 here and node 1 in a child that
 * echoes (echo) or acknowledges every ack_every messages with 8 bytes, and
 * exits after child_total messages. pair.c */
struct tp_side {
	struct gvm_transport *tp;
	char addrs[128]; /* the pair's address: sockets, or a shared region */
	int64_t wait_ns;  /* how long progress() may wait for a message */
	bool echo;
	uint64_t ack_every;
	volatile uint64_t got;
};
int pair_start(const struct bench_opts *o, bool echo, uint64_t ack_every,
	       uint64_t child_total, struct tp_side *s, int *child);
void pair_pump_until(struct tp_side *s, uint64_t count);
int pair_finish(struct tp_side *s, int child);

/* Raw baselines, measured in the same run as the figures they divide. */
int raw_tcp_pingpong(size_t req, size_t resp, uint64_t iters, uint64_t warmup,
		     struct samples *out);
int raw_uffd_fault(size_t page, uint64_t iters, struct samples *out);

int raw_tcp_stream(size_t len, uint64_t msgs, uint64_t *ns);
int raw_shm_pingpong(size_t len, uint64_t iters, uint64_t warmup,
		     struct samples *out);

int cmd_tp_lat(const struct bench_opts *o);
int cmd_tp_bw(const struct bench_opts *o);
int cmd_tp_rma(const struct bench_opts *o, const char *which);
int cmd_dsm_read(const struct bench_opts *o);
int cmd_dsm_write(const struct bench_opts *o);
int cmd_dsm_pingpong(const struct bench_opts *o);
int cmd_dsm_mix(const struct bench_opts *o);
int cmd_dsm_scale(const struct bench_opts *o);
int cmd_dsm_boot(const struct bench_opts *o);

/*
 * Promotion for the nodes spawn_cluster() starts: on, GVM_POLICY (--policy,
 * default hotpage) and, unless the transport lends its own window, a CXL
 * window in a /dev/shm file (GVM_WINDOW); off, neither. Call
 * promotion_env(o, false) at the end to remove the file.
 */
void promotion_env(const struct bench_opts *o, bool on);

#endif
