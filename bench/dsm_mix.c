// SPDX-License-Identifier: MIT
/*
 * dsm_mix.c - a workload rather than a single fault: every node runs some
 * threads that load and store for a fixed time, a share of the accesses on
 * pages all nodes use (picked sequentially, uniformly or Zipf-skewed), the
 * rest on the node's own pages. Reports accesses and faults per second.
 *
 * dsm-scale runs the same workload on 1, 2, 4 and 8 nodes; its baseline
 * is the one-node run (no network at all), and its ratio is how many times
 * the whole cluster's throughput the one node's is.
 *
 * dsm-boot is the mix a booting guest makes (the GiantVM observation): many
 * cold private pages touched once or twice, and a handful of very hot
 * shared ones (jiffies, run queues) written by everyone. It runs without
 * and with hot-page promotion; the ratio is with over without.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "bench.h"

#define PAGE 4096
#define SHARED_PAGES 64 /* default; also the most --hot takes */
#define OWN_PAGES 64

struct mix {
	const struct bench_opts *o;
	uint32_t nodes;
	uint64_t *accesses; /* per node, shared with the children */
	uint64_t *faults;
};

struct worker {
	volatile uint8_t *base;
	uint32_t shared, own; /* page counts */
	uint32_t node, id;
	const struct bench_opts *o;
	const double *zipf_cdf;
	uint64_t accesses;
	volatile int *stop;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static uint32_t pick_shared(struct worker *w, uint64_t *seed, uint32_t *seq)
{
	const char *p = w->o->pattern ? w->o->pattern : "uniform";

	if (!strcmp(p, "seq"))
		return (*seq)++ % w->shared;
	if (!strcmp(p, "zipf")) {
		double u = (double)(next(seed) >> 11) / 9007199254740992.0;
		uint32_t lo = 0, hi = w->shared - 1;

		while (lo < hi) { /* first page whose CDF reaches u */
			uint32_t mid = (lo + hi) / 2;

			if (w->zipf_cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}
	return (uint32_t)(next(seed) % w->shared);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (w->node * 64 + w->id + 1);
	uint32_t seq = w->id * 7;

	while (!*w->stop) {
		uint64_t r = next(&seed);
		bool shared = r % 100 < w->o->share_pct;
		uint64_t page = shared ? pick_shared(w, &seed, &seq) :
			w->shared + w->node * w->own + (r >> 8) % w->own;
		volatile uint8_t *p = w->base + page * PAGE + (r >> 20) % PAGE;

		if ((r >> 40) % 100 < w->o->write_pct)
			*p = (uint8_t)r;
		else
			(void)*p;
		w->accesses++;
	}
	return NULL;
}

static uint32_t shared_pages(const struct bench_opts *o)
{
	return o->hot_pages && o->hot_pages < SHARED_PAGES ? o->hot_pages : SHARED_PAGES;
}

static uint32_t own_pages(const struct bench_opts *o)
{
	return o->own_pages ? o->own_pages : OWN_PAGES;
}

static int node_main(uint32_t node, void *arg)
{
	struct mix *m = arg;
	const struct bench_opts *o = m->o;
	struct worker ws[16];
	pthread_t th[16];
	double cdf[SHARED_PAGES], sum = 0;
	volatile int stop = 0;
	struct gvm_cluster *c;
	struct gvm_stats st;
	uint32_t threads = o->threads ? o->threads : 1;
	uint32_t shared = shared_pages(o), own = own_pages(o);
	double run = 0;

	/* Zipf, s = 0.99, over the shared pages: a cumulative table. */
	for (uint32_t i = 0; i < shared; i++)
		sum += 1.0 / pow(i + 1, 0.99);
	for (uint32_t i = 0; i < shared; i++) {
		run += 1.0 / pow(i + 1, 0.99) / sum;
		cdf[i] = run;
	}
	if (threads > 16)
		threads = 16;
	if (gvm_cluster_open(NULL, &c))
		return 1;
	if (gvm_cluster_nodes(c) != m->nodes) {
		fprintf(stderr, "gvm-bench: %u nodes in the cluster, --nodes says %u\n",
			gvm_cluster_nodes(c), m->nodes);
		return 2;
	}
	gvm_cluster_barrier(c);
	for (uint32_t t = 0; t < threads; t++) {
		ws[t] = (struct worker){.base = gvm_dsm_map(c, NULL), .node = node, .id = t,
					.shared = shared, .own = own,
					.o = o, .zipf_cdf = cdf, .stop = &stop};
		pthread_create(&th[t], NULL, work, &ws[t]);
	}
	usleep((useconds_t)(o->duration_ms ? o->duration_ms : 1000) * 1000);
	stop = 1;
	m->accesses[node] = 0;
	for (uint32_t t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		m->accesses[node] += ws[t].accesses;
	}
	gvm_node_stats(gvm_cluster_node(c), &st);
	{
		/* Counts travel through DSM memory itself, so node 0 has them
		 * whether the nodes are our children or a launcher's ranks. */
		volatile uint64_t *tally = (volatile uint64_t *)(ws[0].base +
			(uint64_t)(shared + m->nodes * own) * PAGE);

		tally[2 * node] = m->accesses[node];
		tally[2 * node + 1] = st.faults_read + st.faults_write + st.faults_upgrade;
		gvm_cluster_barrier(c);
		if (node == 0)
			for (uint32_t i = 0; i < m->nodes; i++) {
				m->accesses[i] = tally[2 * i];
				m->faults[i] = tally[2 * i + 1];
			}
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return 0;
}

/* Run the mix on n nodes; returns accesses/s and faults/s of the cluster. */
static int run_mix(const struct bench_opts *o, uint32_t n, double *aps, double *fps)
{
	struct mix m = {.o = o, .nodes = n};
	struct bench_opts mo = *o;
	char region[32];
	double secs = (o->duration_ms ? o->duration_ms : 1000) / 1000.0;
	uint64_t a = 0, f = 0;
	int rc;

	m.accesses = mmap(NULL, 2 * n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m.accesses == MAP_FAILED)
		return -1;
	m.faults = m.accesses + n;
	/* The last page holds the per-node tallies (at most 256 nodes). */
	snprintf(region, sizeof(region), "%llu",
		 (unsigned long long)(shared_pages(o) + n * own_pages(o) + 1) * PAGE);
	setenv("GVM_REGION_SIZE", region, 1);
	setenv("GVM_PAGE_SIZE", "4096", 1);
	mo.fault_mode = o->fault_mode ? o->fault_mode : "thread";
	rc = spawn_cluster(n, &mo, node_main, &m, NULL);
	for (uint32_t i = 0; i < n; i++) {
		a += m.accesses[i];
		f += m.faults[i];
	}
	*aps = (double)a / secs;
	*fps = (double)f / secs;
	munmap(m.accesses, 2 * n * sizeof(uint64_t));
	return rc;
}

static void describe(const struct bench_opts *o, char *out, size_t len)
{
	snprintf(out, len, "%u nodes x %u threads, %s, %u%% shared, %u%% writes, %u ms",
		 o->nodes, o->threads ? o->threads : 1, o->pattern ? o->pattern : "uniform",
		 o->share_pct, o->write_pct, o->duration_ms ? o->duration_ms : 1000);
}

int cmd_dsm_mix(const struct bench_opts *o)
{
	double aps, fps;
	char title[200], desc[120], label[16];

	describe(o, desc, sizeof(desc));
	snprintf(title, sizeof(title), "dsm-mix: %s", desc);
	table_header("dsm-mix", title, "nodes");
	if (run_mix(o, o->nodes, &aps, &fps)) {
		fprintf(stderr, "gvm-bench: dsm-mix failed\n");
		return 1;
	}
	snprintf(label, sizeof(label), "%u", o->nodes);
	table_rate_row(label, aps, fps, 0, "");
	return 0;
}

int cmd_dsm_scale(const struct bench_opts *o)
{
	static const uint32_t counts[] = {1, 2, 4, 8};
	double one = 0;
	char title[200], desc[120];
	struct bench_opts so = *o;

	describe(o, desc, sizeof(desc));
	snprintf(title, sizeof(title), "dsm-scale: the dsm-mix workload on 1, 2, 4, 8 nodes (%s)",
		 strchr(desc, ',') + 2);
	table_header("dsm-scale", title, "nodes");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		double aps, fps;
		char label[16];

		so.nodes = counts[i];
		if (run_mix(&so, counts[i], &aps, &fps)) {
			fprintf(stderr, "gvm-bench: dsm-scale failed at %u nodes\n", counts[i]);
			return 1;
		}
		if (i == 0)
			one = aps;
		snprintf(label, sizeof(label), "%u", counts[i]);
		table_rate_row(label, aps, fps, i ? one : 0, "1 node");
	}
	return 0;
}

int cmd_dsm_boot(const struct bench_opts *o)
{
	struct bench_opts bo = *o;
	double without = 0;
	char title[240], desc[120];
	int rc = 0;

	bo.pattern = "uniform";
	bo.hot_pages = o->hot_pages ? o->hot_pages : 4;
	bo.own_pages = o->own_pages ? o->own_pages : 1024;
	describe(&bo, desc, sizeof(desc));
	snprintf(title, sizeof(title), "dsm-boot: %u hot shared pages, %u cold pages a node; %s",
		 shared_pages(&bo), bo.own_pages, desc);
	table_header("dsm-boot", title, "promotion");
	for (int promote = 0; promote < 2 && !rc; promote++) {
		double aps, fps;

		promotion_env(&bo, promote);
		if (run_mix(&bo, bo.nodes, &aps, &fps)) {
			fprintf(stderr, "gvm-bench: dsm-boot failed\n");
			rc = 1;
			break;
		}
		if (!promote)
			without = aps;
		table_rate_row(promote ? (o->policy ? o->policy : "hotpage") : "none (IVY)",
			       aps, fps, promote ? without : 0, "IVY");
	}
	promotion_env(&bo, false);
	return rc;
}
