// SPDX-License-Identifier: MIT
/* shared.c - samples and percentiles, promotion settings, clusters of child processes. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool bench_reporter(void)
{
	const char *rank = getenv("PMIX_RANK");

	return !rank || !strcmp(rank, "0");
}

void samples_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->ns = realloc(s->ns, s->cap * sizeof(*s->ns));
		if (!s->ns)
			abort();
	}
	s->ns[s->n++] = ns;
}

void samples_free(struct samples *s)
{
	free(s->ns);
	*s = (struct samples){0};
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t samples_q(struct samples *s, unsigned permille)
{
	if (!s->n)
		return 0;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	return s->ns[(s->n - 1) * permille / 1000];
}

/* ==== Promotion ==== */

void promotion_env(const struct bench_opts *o, bool on)
{
	static char file[64];
	char window[160];

	if (file[0]) {
		unlink(file);
		file[0] = 0;
	}
	unsetenv("GVM_POLICY");
	unsetenv("GVM_WINDOW");
	if (!on)
		return;
	setenv("GVM_POLICY", o->policy ? o->policy : "hotpage", 1);
	if (!strcmp(o->transport, "cxl"))
		return; /* its own region has the window */
	snprintf(file, sizeof(file), "/dev/shm/gvm-bench-window-%d", getpid());
	snprintf(window, sizeof(window), "cxl:path=%s?rings=0&window=1M", file);
	setenv("GVM_WINDOW", window, 1);
}

/* ==== A cluster of child processes ==== */

static void serve_baseline(struct dsm_baseline *b, const pid_t *pid, uint32_t n);

/*
 * Node i on the i-th allowed CPU (round robin), every thread of it: as on
 * hosts of their own, and as the yardstick runs (its requester on one CPU,
 * its peer on another). Left to the scheduler, a woken faulting thread
 * lands on the owner's busy CPU in some runs and not in others, and the
 * medians swing 2x between runs.
 */
static void place_node(uint32_t i)
{
	cpu_set_t allowed, one;
	uint32_t k = 0, count;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	count = (uint32_t)CPU_COUNT(&allowed);
	for (int c = 0; count > 1 && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed) && k++ == i % count) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			sched_setaffinity(0, sizeof(one), &one);
			return;
		}
}

int spawn_cluster(uint32_t n, const struct bench_opts *o,
		  int (*fn)(uint32_t node, void *arg), void *arg, struct dsm_baseline *b)
{
	const char *rank = getenv("PMIX_RANK");

	/*
	 * Started by mpirun (or srun): this process is one node of the job's
	 * cluster, which gvm_cluster_open bootstraps through PMIx.
	 */
	if (rank) {
		if (o->fault_mode)
			setenv("GVM_FAULT_MODE", o->fault_mode, 1);
		if (o->manager)
			setenv("GVM_MANAGER", o->manager, 1);
		setenv("GVM_TRANSPORT", o->transport, 1);
		return fn((uint32_t)atoi(rank), arg) ? -ECHILD : 0;
	}

	char peers[4096] = "", num[32];
	int lfd[64];
	pid_t pid[64];
	int rc = 0;

	if (n > 64 || gvm_loopback_peers(o->transport, n, lfd, peers, sizeof(peers)))
		return -EINVAL;
	setenv("GVM_PEERS", peers, 1);
	snprintf(num, sizeof(num), "%u", n);
	setenv("GVM_NODES", num, 1);
	snprintf(num, sizeof(num), "%d", getpid());
	setenv("GVM_CLUSTER_ID", num, 1);
	setenv("GVM_TRANSPORT", o->transport, 1);
	if (o->fault_mode)
		setenv("GVM_FAULT_MODE", o->fault_mode, 1);
	if (o->manager)
		setenv("GVM_MANAGER", o->manager, 1);
	fflush(stdout);
	usage_track(pid, 0); /* shared with the nodes: map it before they fork */
	for (uint32_t i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			return -errno;
		if (pid[i] == 0) {
			place_node(i);
			gvm_loopback_become(i, n, lfd);
			_exit(fn(i, arg));
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	usage_track(pid, n);
	if (b && b->raw)
		serve_baseline(b, pid, n);
	for (uint32_t i = 0; i < n; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = -ECHILD;
	}
	gvm_loopback_done(peers);
	usage_track(pid, 0);
	return rc;
}

/* ==== Where the two ends run ==== */

bool bench_two_cpus(cpu_set_t *near, cpu_set_t *far)
{
	cpu_set_t allowed;
	int first = -1, last = -1;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) || CPU_COUNT(&allowed) < 2)
		return false;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed)) {
			if (first < 0)
				first = c;
			last = c;
		}
	CPU_ZERO(near);
	CPU_SET(first, near);
	CPU_ZERO(far);
	CPU_SET(last, far);
	return true;
}

void bench_place(struct placement *pl, pid_t far_a, pid_t far_b)
{
	cpu_set_t near, far;

	pl->pinned = !pthread_getaffinity_np(pthread_self(), sizeof(pl->saved), &pl->saved) &&
		     bench_two_cpus(&near, &far);
	if (!pl->pinned)
		return;
	pthread_setaffinity_np(pthread_self(), sizeof(near), &near);
	if (far_a)
		sched_setaffinity(far_a, sizeof(far), &far);
	if (far_b)
		sched_setaffinity(far_b, sizeof(far), &far);
}

void bench_unplace(struct placement *pl)
{
	if (pl->pinned)
		pthread_setaffinity_np(pthread_self(), sizeof(pl->saved), &pl->saved);
}

/* ==== Freezing the side that is not measured ==== */

void bench_freeze(const pid_t *pids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGSTOP);
	/* Until each has stopped (or exited: left to its owner to reap). */
	for (unsigned i = 0; i < n; i++) {
		siginfo_t si;

		if (pids[i] > 0)
			waitid(P_PID, (id_t)pids[i], &si, WSTOPPED | WEXITED | WNOWAIT);
	}
}

void bench_thaw(const pid_t *pids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGCONT);
}

/* ==== The DSM benchmarks' baseline: the yardstick ==== */

/* What node 0 asks of the process that spawned the cluster. */
struct baseline_call {
	volatile uint32_t asked, done; /* futex words */
	uint64_t n;
	uint64_t *dst;
};

int dsm_baseline_open(struct dsm_baseline *b, const struct bench_opts *o, uint64_t faults)
{
	*b = (struct dsm_baseline){.faults = faults + BENCH_BLOCKS * BLOCK_WARMUP};
	if (raw_medium_of(o->transport, &b->medium))
		return 0; /* no raw counterpart: no baseline */
	b->on = true; /* on every rank alike: dsm-pingpong's barriers follow it */
	b->sigbus = o->fault_mode && !strcmp(o->fault_mode, "sigbus");
	if (!bench_reporter())
		return 0;
	b->call = mmap(NULL, sizeof(*b->call), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b->call == MAP_FAILED) {
		b->call = NULL;
		return -ENOMEM;
	}
	memset(b->call, 0, sizeof(*b->call));
	/* A request out; a grant header and its page back. */
	return raw_open(b->medium, YARDSTICK_HDR + 4096, &b->raw);
}

/* A block of the yardstick in this process. */
static void yardstick_here(struct dsm_baseline *b, uint64_t n, uint64_t *dst)
{
	struct samples s = {0};

	if (!b->y && yardstick_open(b->raw, 4096, b->faults, b->sigbus, &b->y)) {
		fprintf(stderr, "gvm-bench: cannot set up the raw uffd fault\n");
		b->raw = NULL;
		return;
	}
	if (yardstick_block(b->y, BLOCK_WARMUP, n, &s) == 0)
		memcpy(dst, s.ns, n * sizeof(*dst));
	samples_free(&s);
}

static long futex_op(volatile uint32_t *w, int op, uint32_t val, const struct timespec *to)
{
	return syscall(SYS_futex, w, op, val, to, NULL, 0);
}

void dsm_baseline_block(struct dsm_baseline *b, uint64_t n, uint64_t *dst)
{
	uint32_t done;

	if (!b->raw)
		return;
	if (getenv("PMIX_RANK")) {
		/* Under a launcher no process stands outside the cluster: the
		 * reporting rank measures it itself, its own threads idle. */
		yardstick_here(b, n, dst);
		return;
	}
	done = b->call->done;
	b->call->n = n;
	b->call->dst = dst; /* shared memory: the same address in the parent */
	__atomic_add_fetch(&b->call->asked, 1, __ATOMIC_SEQ_CST);
	futex_op(&b->call->asked, FUTEX_WAKE, 1, NULL);
	while (__atomic_load_n(&b->call->done, __ATOMIC_SEQ_CST) == done)
		futex_op(&b->call->done, FUTEX_WAIT, done, NULL);
}

/* In the spawning process, while the cluster runs: each call node 0 makes
 * is served with every node stopped. Returns once all have exited. */
static void serve_baseline(struct dsm_baseline *b, const pid_t *pid, uint32_t n)
{
	struct timespec tick = {0, 20 * 1000000};
	uint32_t asked = 0;

	for (;;) {
		bool alive = false;

		for (uint32_t i = 0; i < n; i++) {
			siginfo_t si = {0};

			if (!waitid(P_PID, (id_t)pid[i], &si, WEXITED | WNOHANG | WNOWAIT) &&
			    si.si_pid == 0)
				alive = true;
		}
		if (!alive)
			return;
		if (__atomic_load_n(&b->call->asked, __ATOMIC_SEQ_CST) == asked) {
			futex_op(&b->call->asked, FUTEX_WAIT, asked, &tick);
			continue;
		}
		asked = b->call->asked;
		bench_freeze(pid, n);
		yardstick_here(b, b->call->n, b->call->dst);
		bench_thaw(pid, n);
		__atomic_add_fetch(&b->call->done, 1, __ATOMIC_SEQ_CST);
		futex_op(&b->call->done, FUTEX_WAKE, 1, NULL);
	}
}

const char *dsm_baseline_name(const struct dsm_baseline *b)
{
	return b->on ? yardstick_name(b->medium, b->sigbus) : "";
}

void dsm_baseline_close(struct dsm_baseline *b)
{
	yardstick_close(b->y);
	raw_close(b->raw);
	if (b->call)
		munmap(b->call, sizeof(*b->call));
	b->y = NULL;
	b->raw = NULL;
	b->call = NULL;
}

bool bench_has_raw(const struct bench_opts *o)
{
	enum raw_medium m;

	if (!raw_medium_of(o->transport, &m))
		return true;
	printf("(no raw counterpart for '%s': its rows have no ratio)\n", o->transport);
	return false;
}

void samples_from(struct samples *s, const uint64_t *ns, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (ns[i])
			samples_add(s, ns[i]);
}
