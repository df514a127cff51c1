// SPDX-License-Identifier: MIT
/*
 * breakdown.c - where a DSM fault's time goes, and what it costs.
 *
 * CPU: the nodes' threads' time on a CPU (/proc/PID/task/TID/schedstat, in
 * ns) and their context switches, summed over the cluster, sampled by node
 * 0 when its measured faults begin and end.
 *
 * Phases (--breakdown): every node records its faults and the requests it
 * served into a trace (gvm_node_trace) in shared memory; the nodes share
 * one host, so their monotonic clocks compare directly. For each measured
 * access, node 0's fault that started inside it is matched with the serve
 * record of the same page that arrived between the fault's start and its
 * grant, giving (the engine queues a message under its lock and sends it
 * once the lock is dropped, so a send's own time is in the phase after the
 * one that queued it; on loopback a send returns only once the receiver's
 * socket has the data, so neighbouring phases may overlap by that much):
 *
 *	delivered      the access began -> the engine heard of the fault
 *	request queued -> the engine queued the request
 *	to owner       -> the owner's handler began (our send, the wire, the
 *	                  owner waking, a manager's hop; 0 if it began before
 *	                  we queued, as on loopback it may)
 *	owner served   -> the owner queued the grant
 *	grant back     -> our grant handler began (the owner's send, the wire,
 *	                  our poller; 0 if it began before the owner queued)
 *	grant handled  -> the engine granted the waiter (the frame filled)
 *	resumed        -> the access returned (the waiter told once the lock
 *	                  was dropped, the page mapped, the thread woken or its
 *	                  signal handler returned)
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gvm/cluster.h>

#include "bench.h"

static const char *const phase_names[PHASES] = {
	"delivered", "request queued", "to owner", "owner served",
	"grant back", "grant handled", "resumed",
};

/* The running cluster's node pids, for usage_sample: shared memory,
 * which the nodes inherit and the spawner fills once they are forked. */
static struct {
	uint32_t n;
	pid_t pid[64];
} *nodes_seen;

void usage_track(const pid_t *pids, uint32_t n)
{
	if (!nodes_seen) {
		nodes_seen = mmap(NULL, sizeof(*nodes_seen), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (nodes_seen == MAP_FAILED) {
			nodes_seen = NULL;
			return;
		}
	}
	for (uint32_t i = 0; i < n && i < 64; i++)
		nodes_seen->pid[i] = pids[i];
	__atomic_store_n(&nodes_seen->n, n < 64 ? n : 64, __ATOMIC_RELEASE);
}

static void add_task(pid_t pid, const char *tid, struct usage *u)
{
	char path[96], line[128];
	unsigned long long run;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, tid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &run) == 1)
			u->cpu_ns += run;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%.20s/status", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			u->ctxsw += v;
	}
	fclose(f);
}

int usage_sample(struct usage *u)
{
	uint32_t n = nodes_seen ? __atomic_load_n(&nodes_seen->n, __ATOMIC_ACQUIRE) : 0;

	memset(u, 0, sizeof(*u));
	for (uint32_t i = 0; i < n; i++) {
		char dir[64];
		struct dirent *e;
		DIR *d;

		snprintf(dir, sizeof(dir), "/proc/%d/task", (int)nodes_seen->pid[i]);
		d = opendir(dir);
		if (!d)
			return -1;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				add_task(nodes_seen->pid[i], e->d_name, u);
		closedir(d);
	}
	return n ? 0 : -1; /* none under a launcher */
}

void usage_since(struct usage *u, const struct usage *before)
{
	struct usage now;

	if (usage_sample(&now) || !before->cpu_ns) {
		memset(u, 0, sizeof(*u));
		return;
	}
	u->cpu_ns = now.cpu_ns - before->cpu_ns;
	u->ctxsw = now.ctxsw - before->ctxsw;
}

/* ==== Phases ==== */

struct fault_trace *fault_trace_open(uint64_t accesses, uint32_t nodes)
{
	size_t recs = accesses * 4 + 64; /* room for retries and upgrades */
	size_t len = sizeof(struct fault_trace) + 2 * accesses * sizeof(uint64_t) +
		     nodes * recs * sizeof(struct gvm_trace_record);
	struct fault_trace *t;

	if (nodes > TRACE_NODES)
		return NULL;
	t = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	t->len = len;
	t->accesses = accesses;
	t->nodes = nodes;
	t->cap = (uint32_t)recs;
	t->t0 = (uint64_t *)(t + 1);
	t->t1 = t->t0 + accesses;
	t->rec = (struct gvm_trace_record *)(t->t1 + accesses);
	return t;
}

void fault_trace_close(struct fault_trace *t)
{
	if (t)
		munmap(t, t->len);
}

void fault_trace_start(struct fault_trace *t, uint32_t node, struct gvm_cluster *c)
{
	if (t && node < t->nodes)
		gvm_node_trace(gvm_cluster_node(c), t->rec + (size_t)node * t->cap, t->cap,
			       &t->count[node]);
}

void fault_trace_stop(struct fault_trace *t, uint32_t node, struct gvm_cluster *c)
{
	if (t && node < t->nodes)
		gvm_node_trace(gvm_cluster_node(c), NULL, 0, NULL);
}

/* Records of node in order, or NULL if it wrapped (too many to match). */
static const struct gvm_trace_record *records(const struct fault_trace *t, uint32_t node,
					      uint64_t *n)
{
	*n = t->count[node];
	return *n <= t->cap ? t->rec + (size_t)node * t->cap : NULL;
}

static const struct gvm_trace_record *serve_of(const struct fault_trace *t,
					       const struct gvm_trace_record *f)
{
	for (uint32_t node = 0; node < t->nodes; node++) {
		uint64_t n;
		const struct gvm_trace_record *r = records(t, node, &n);

		for (uint64_t i = 0; r && i < n; i++)
			if (r[i].kind == GVM_TRACE_SERVE && r[i].page == f->page &&
			    r[i].t[0] >= f->t[0] && r[i].t[0] <= f->t[2])
				return &r[i];
	}
	return NULL;
}

/* The median faults reported, for fault_trace_write. */
static struct {
	char test[16], label[48];
	uint64_t ns[PHASES];
} kept[32];
static unsigned int nkept;

struct matched {
	uint64_t total, v[PHASES];
};

static int by_total(const void *a, const void *b)
{
	const struct matched *x = a, *y = b;

	return x->total < y->total ? -1 : x->total > y->total;
}

/*
 * The phases of the median fault: medians of each phase need not add up
 * to the median fault (phases are bimodal when a thread waits for a CPU),
 * so also show the mean phases of the faults whose total lies in the
 * middle tenth.
 */
static void median_fault(const char *test, const char *label, struct matched *m,
			 uint64_t n)
{
	uint64_t lo = n * 45 / 100, hi = n * 55 / 100 + 1, sum[PHASES] = {0};

	if (hi > n)
		hi = n;
	qsort(m, n, sizeof(*m), by_total);
	for (uint64_t i = lo; i < hi; i++)
		for (int p = 0; p < PHASES; p++)
			sum[p] += m[i].v[p];
	printf("the median fault (%.2f us; mean of the %" PRIu64 " faults from the 45th to the 55th percentile):",
	       (double)m[n / 2].total / 1000.0, hi - lo);
	for (int p = 0; p < PHASES; p++)
		printf("%s %s %.2f", p ? "," : "", phase_names[p],
		       (double)sum[p] / (double)(hi - lo) / 1000.0);
	printf(" us\n");
	if (nkept < sizeof(kept) / sizeof(kept[0])) {
		snprintf(kept[nkept].test, sizeof(kept[nkept].test), "%s", test);
		snprintf(kept[nkept].label, sizeof(kept[nkept].label), "%s", label);
		for (int p = 0; p < PHASES; p++)
			kept[nkept].ns[p] = sum[p] / (hi - lo);
		nkept++;
	}
}

int fault_trace_write(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "test,label,phase,ns\n");
	for (unsigned int i = 0; i < nkept; i++)
		for (int p = 0; p < PHASES; p++)
			fprintf(f, "%s,%s,%s,%" PRIu64 "\n", kept[i].test, kept[i].label,
				phase_names[p], kept[i].ns[p]);
	return fclose(f) ? -1 : 0;
}

void fault_trace_report(const struct fault_trace *t, const char *test, const char *label,
			uint64_t first, uint64_t count)
{
	struct samples ph[PHASES] = {{0}};
	struct matched *m = calloc(count ? count : 1, sizeof(*m));
	uint64_t nf, next = 0, matched = 0, total_med = 0;
	const struct gvm_trace_record *f = records(t, 0, &nf);
	char row[96];

	if (!f || !m) {
		printf("breakdown %s: node 0 recorded %" PRIu64 " faults, more than its trace holds\n",
		       label, nf);
		free(m);
		return;
	}
	for (uint64_t a = first; a < first + count && a < t->accesses; a++) {
		const struct gvm_trace_record *s;
		uint64_t v[PHASES];

		while (next < nf && (f[next].kind != GVM_TRACE_FAULT || f[next].t[0] < t->t0[a]))
			next++;
		if (next == nf || f[next].t[0] > t->t1[a] || !f[next].t[1])
			continue;
		s = serve_of(t, &f[next]);
		if (!s)
			continue;
		v[0] = f[next].t[0] - t->t0[a];
		v[1] = f[next].t[1] - f[next].t[0];
		/* On loopback the owner may be in before our send returns. */
		v[2] = s->t[0] > f[next].t[1] ? s->t[0] - f[next].t[1] : 0;
		v[3] = s->t[1] - s->t[0];
		v[4] = f[next].t[2] > s->t[1] ? f[next].t[2] - s->t[1] : 0;
		v[5] = f[next].t[3] - f[next].t[2];
		v[6] = t->t1[a] > f[next].t[3] ? t->t1[a] - f[next].t[3] : 0;
		for (int p = 0; p < PHASES; p++) {
			samples_add(&ph[p], v[p]);
			if (m) {
				m[matched].v[p] = v[p];
				m[matched].total += v[p];
			}
		}
		matched++;
		next++;
	}
	printf("\n# %s, where the time goes: %" PRIu64 " of %" PRIu64
	       " faults matched with the owner's record (phases: bench/README.md)\n",
	       label, matched, count);
	printf("%-22s %8s %8s %9s %9s %9s %9s %9s %9s  %s\n", "phase", "#bytes", "#iters",
	       "t_min", "t_median", "t_avg", "t_p99", "t_p99.9", "t_max", "");
	for (int p = 0; p < PHASES; p++) {
		if (!ph[p].n)
			continue;
		snprintf(row, sizeof(row), "%s: %s", label, phase_names[p]);
		table_row(row, 4096, &ph[p], 0, "");
		total_med += samples_q(&ph[p], 500);
		samples_free(&ph[p]);
	}
	if (matched)
		printf("sum of the phase medians: %.2f us\n", (double)total_med / 1000.0);
	if (matched && m)
		median_fault(test, label, m, matched);
	free(m);
}
