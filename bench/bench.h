/* SPDX-License-Identifier: MIT */
/* bench.h - what gvm-bench's subcommands share (shared.c). */
#ifndef GVM_BENCH_H
#define GVM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

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
	bool breakdown;         /* dsm-read: the phases of each fault */
};

/* One measured row, kept for the result files. Times in ns. */
enum result_kind { RESULT_LATENCY, RESULT_BANDWIDTH, RESULT_THROUGHPUT, RESULT_MEMORY };
#define CDF_POINTS 103 /* permille 0, 10, ..., 1000, then 995 and 999 */
struct result {
	char test[16];
	char label[48];
	enum result_kind kind;
	uint64_t bytes, iters;
	uint64_t min, median, avg, p99, p999, max; /* latency rows */
	char baseline[64];  /* what the ratio divides by; empty: no ratio */
	double ratio;       /* latency: median / baseline median; tp-bw: baseline
			     * MB/s / ours (of times); throughput: ours / baseline */
	uint64_t baseline_median; /* latency rows: the baseline's median, ns */
	double baseline_mbps;     /* tp-bw rows: the baseline's MB/s */
	double baseline_rate;     /* throughput rows: the baseline's accesses/s */
	double mbps;        /* tp-bw: MB/s (10^6 bytes), else 0 */
	double rate;        /* tp-bw: messages/s; dsm-mix/scale: accesses/s */
	double fault_rate;  /* dsm-mix/scale: faults/s */
	uint64_t resident;  /* dsm-mem: bytes resident for `bytes` of pages held */
	uint64_t cpu_ns;    /* CPU of every node per operation; 0: not measured */
	double ctxsw;       /* ... and their context switches per operation */
	uint64_t cdf[CDF_POINTS]; /* latency rows: ns at each point */
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

/* CPU time and context switches of a cluster's nodes (breakdown.c). */
struct usage {
	uint64_t cpu_ns, ctxsw;
};
/* spawn_cluster names the nodes to sample (n = 0: none). */
void usage_track(const pid_t *pids, uint32_t n);
/* Sum over every thread of every node so far; -1 if not known here. */
int usage_sample(struct usage *u);
/* *u = now - before (zero if either is unknown). */
void usage_since(struct usage *u, const struct usage *before);
/* Attach u / ops to the last row and print it under the row ("per op"). */
void table_row_usage(const struct usage *u, uint64_t ops, const char *op);

/*
 * The phases of DSM faults (breakdown.c): traces of every node and the
 * bounds of each measured access, in memory shared with the nodes.
 */
#define PHASES 7
#define TRACE_NODES 8 /* nodes a trace can hold */
struct gvm_cluster;
struct gvm_trace_record;
struct fault_trace {
	size_t len;
	uint64_t accesses;
	uint32_t nodes, cap;
	uint64_t count[TRACE_NODES];
	uint64_t *t0, *t1;             /* [accesses]: when each began, ended */
	struct gvm_trace_record *rec;  /* [nodes][cap] */
};
/* NULL for more than TRACE_NODES nodes (or no memory). */
struct fault_trace *fault_trace_open(uint64_t accesses, uint32_t nodes);
void fault_trace_close(struct fault_trace *t);
/* In node's process, after gvm_cluster_open (t may be NULL: no tracing). */
void fault_trace_start(struct fault_trace *t, uint32_t node, struct gvm_cluster *c);
void fault_trace_stop(struct fault_trace *t, uint32_t node, struct gvm_cluster *c);
/* Phase rows for accesses [first, first + count), labelled label. */
void fault_trace_report(const struct fault_trace *t, const char *test, const char *label,
			uint64_t first, uint64_t count);
/* Every report's median fault as CSV: test,label,phase,ns. 0 or -errno. */
int fault_trace_write(const char *path);

/* Memory row (dsm-mem): resident bytes for held bytes of pages; the ratio
 * is of the two. */
void table_mem_row(const char *label, uint64_t held, uint64_t resident);

/* Throughput row (dsm-mix, dsm-scale); ratio = ours / baseline. */
void table_rate_row(const char *label, double accesses_per_s, double faults_per_s,
		    double baseline_aps, const char *baseline_name);

/* Result files (a NULL path is skipped); cdf: latency quantiles of every
 * latency row, for plotting. Returns 0 or -errno. */
int write_results(const struct bench_opts *o, const char *json, const char *csv,
		  const char *markdown, const char *cdf);
/* The cache-line handoff at the start and at the end of the run. */
extern uint64_t bench_line_ns[2];

/*
 * Run fn(node, arg) in n child processes that form one gvm-dsm cluster on
 * 127.0.0.1 (the environment gvm_cluster_open reads, as gvmrun sets it),
 * serving b's baseline blocks meanwhile (b may be NULL). Returns 0 if
 * every child exits 0.
 */
struct dsm_baseline;
int spawn_cluster(uint32_t n, const struct bench_opts *o,
		  int (*fn)(uint32_t node, void *arg), void *arg, struct dsm_baseline *b);

/* Two endpoints of o->transport, node 0 here and node 1 in a child that
 * echoes (echo) or acknowledges every ack_every messages with 8 bytes, and
 * exits after child_total messages. pair.c */
struct tp_side {
	struct gvm_transport *tp;
	char addrs[128]; /* the pair's address: sockets, or a shared region */
	int64_t wait_ns;  /* how long gvm_tp_poll may wait for a message */
	bool echo;
	uint64_t ack_every;
	volatile uint64_t got;
};
int pair_start(const struct bench_opts *o, bool echo, uint64_t ack_every,
	       uint64_t child_total, struct tp_side *s, pid_t *child);
void pair_pump_until(struct tp_side *s, uint64_t count);
int pair_finish(struct tp_side *s, pid_t child);

/*
 * Raw counterparts (raw.c): a backend's medium with nothing on top, in a
 * child process that busy-polls during a block and is stopped between.
 * A figure and its baseline are measured in alternating blocks
 * (BENCH_BLOCKS of each), and both medians come from the same blocks.
 */
#define BENCH_BLOCKS 10
#define BLOCK_WARMUP 5 /* unmeasured round trips or faults opening a baseline block */
enum raw_medium { RAW_MEDIUM_TCP, RAW_MEDIUM_SHM };
struct raw_peer;
/* tcp: a TCP socket on loopback; cxl: shared memory. -ENOENT: none. */
int raw_medium_of(const char *transport, enum raw_medium *m);
const char *raw_medium_name(enum raw_medium m);
/* A peer answering messages of up to max bytes either way. */
int raw_open(enum raw_medium m, size_t max, struct raw_peer **out);
void raw_close(struct raw_peer *p);
/* warmup + n round trips of req bytes out and resp back, each sample the
 * round trip divided by divide (2: half round trips). */
int raw_pingpong_block(struct raw_peer *p, size_t req, size_t resp, uint64_t warmup,
		       uint64_t n, unsigned divide, struct samples *out);
/* A block of hand-made exchanges: raw_begin (the peer runs again; the next
 * count exchanges are req bytes out, resp back), count raw_exchange calls
 * (from any thread), raw_end (the peer is stopped again). */
void raw_begin(struct raw_peer *p, size_t req, size_t resp, uint64_t count);
void raw_end(struct raw_peer *p);
pid_t raw_pid(const struct raw_peer *p); /* its process; 0 for NULL */
/* The machine's state, not ours: the median half round trip of 8 bytes
 * through shared memory, i.e. one cache line handed between two CPUs
 * (0.05-0.07 us here; 0.3 us while the host runs our two vCPUs in separate
 * cache domains, which moves every figure and its baseline alike). 0: none
 * (fewer than two CPUs, not the reporter, or it failed). */
uint64_t raw_line_handoff_ns(void);
int raw_exchange(struct raw_peer *p, const void *req, size_t req_len, void *resp,
		 size_t resp_len);
/* msgs messages of len bytes, best effort (tcp: big buffers and a window
 * per writev), timed until the reader has them all. */
int raw_stream(struct raw_peer *p, size_t len, uint64_t msgs, uint64_t window, uint64_t *ns);

/* The yardstick: a userfaultfd fault that fetches its page with one raw
 * round trip (the peer busy-polling), a request of YARDSTICK_REQ bytes out
 * and a grant header plus the page back, then UFFDIO_COPY: by a handler
 * thread asleep in poll(), or with sigbus by the faulting thread itself
 * (UFFD_FEATURE_SIGBUS, SIGBUS handled for the block's duration). */
#define YARDSTICK_REQ 48
#define YARDSTICK_HDR 32
struct yardstick;
int yardstick_open(struct raw_peer *peer, size_t page, uint64_t faults, bool sigbus,
		   struct yardstick **out);
int yardstick_block(struct yardstick *y, uint64_t warmup, uint64_t n, struct samples *out);
void yardstick_close(struct yardstick *y);
/* "raw uffd fault (SIGBUS) + raw socket round trip", for a row's label. */
const char *yardstick_name(enum raw_medium m, bool sigbus);

/*
 * The DSM benchmarks' baseline (shared.c): the yardstick over the
 * transport's medium, in SIGBUS mode when the nodes run in it (thread
 * mode otherwise: mprotect's faults have no userfaultfd to compare with).
 * Opened before the cluster is spawned (only in the
 * reporter, only where the medium has a raw counterpart). After each
 * block of its faults node 0 calls dsm_baseline_block(): spawn_cluster's
 * caller then stops every node (SIGSTOP), runs a block of the yardstick
 * itself and lets them go on. Under a launcher, node 0 runs it in-process.
 */
struct baseline_call;
struct dsm_baseline {
	struct raw_peer *raw; /* NULL: no baseline */
	enum raw_medium medium;
	bool on;              /* there is a baseline (on every rank) */
	bool sigbus;          /* the SIGBUS yardstick (o->fault_mode sigbus) */
	struct yardstick *y;  /* opened at the first block */
	uint64_t faults;      /* capacity, warm-ups included */
	struct baseline_call *call; /* shared with the nodes */
};
int dsm_baseline_open(struct dsm_baseline *b, const struct bench_opts *o, uint64_t faults);
/* In node 0: n yardstick faults (after BLOCK_WARMUP) into dst[0..n),
 * which must be shared memory. */
void dsm_baseline_block(struct dsm_baseline *b, uint64_t n, uint64_t *dst);
const char *dsm_baseline_name(const struct dsm_baseline *b); /* "": none */
void dsm_baseline_close(struct dsm_baseline *b);
/* The first and the last CPU this thread may use; false with fewer than 2. */
bool bench_two_cpus(cpu_set_t *near, cpu_set_t *far);
/*
 * This thread on the first CPU, processes far_a and far_b (0: none) on the
 * last: the two ends of a ping-pong each with a CPU of its own. tp-* put
 * their pair's child and raw peer there (never running at once: one is
 * stopped), so a figure and its baseline run placed alike; the yardstick
 * and the cache-line handoff do the same. bench_unplace restores this
 * thread's CPUs. Nothing is pinned with fewer than two CPUs.
 */
struct placement {
	cpu_set_t saved;
	bool pinned;
};
void bench_place(struct placement *pl, pid_t far_a, pid_t far_b);
void bench_unplace(struct placement *pl);
/* Stop processes (SIGSTOP, and wait until they are stopped) and let them
 * go on: the side not measured takes no CPU from the side measured. */
void bench_freeze(const pid_t *pids, unsigned n);
void bench_thaw(const pid_t *pids, unsigned n);
/* Whether o->transport has a raw counterpart; if not, says so under the
 * table's header. */
bool bench_has_raw(const struct bench_opts *o);
/* Adds the non-zero entries of ns[0..n) to s. */
void samples_from(struct samples *s, const uint64_t *ns, uint64_t n);

int cmd_tp_lat(const struct bench_opts *o);
int cmd_tp_bw(const struct bench_opts *o);
int cmd_tp_read(const struct bench_opts *o);
int cmd_tp_write(const struct bench_opts *o);
int cmd_dsm_read(const struct bench_opts *o);
int cmd_dsm_write(const struct bench_opts *o);
int cmd_dsm_pingpong(const struct bench_opts *o);
int cmd_dsm_mem(const struct bench_opts *o);
int cmd_dsm_scan(const struct bench_opts *o);
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

/* The cluster key from GVM_SECRET_FILE/GVM_MAC (NULL: none), and its
 * mode for result files: "none", "handshake" or "tags". */
struct gvm_auth;
const struct gvm_auth *bench_auth(void);
const char *bench_auth_mode(void);

#endif
