// SPDX-License-Identifier: MIT
/*
 * counter - a shared counter behind a spinlock, both living in DSM memory.
 *
 *	build/gvmrun -n 4 -- build/examples/counter [increments-per-thread] [threads]
 *
 * Ordinary x86 atomics work on DSM pages: a write fault takes exclusive
 * ownership of the page before the locked instruction runs, and nobody else
 * can read or write the page until ownership moves again. Node 0 checks
 * that the counter equals nodes x threads x increments.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <gvm/cluster.h>

struct shared {
	volatile uint32_t lock;
	uint64_t counter;
};

static struct shared *sh;
static long increments = 1000;

static void spin_lock(volatile uint32_t *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (*l)
			__builtin_ia32_pause();
}

static void spin_unlock(volatile uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < increments; i++) {
		spin_lock(&sh->lock);
		sh->counter++;
		spin_unlock(&sh->lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	int threads = argc > 2 ? atoi(argv[2]) : 1, rc = 0;
	pthread_t tid[64];
	uint32_t nodes;

	if (argc > 1)
		increments = atol(argv[1]);
	if (threads < 1 || threads > 64 || increments < 0) {
		fprintf(stderr, "usage: counter [increments-per-thread] [threads 1..64]\n");
		return 2;
	}
	if (gvm_cluster_open(NULL, &c))
		return 1;
	sh = gvm_dsm_map(c, NULL);
	nodes = gvm_cluster_nodes(c);
	gvm_cluster_barrier(c);
	for (int t = 0; t < threads; t++)
		pthread_create(&tid[t], NULL, worker, NULL);
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) == 0) {
		uint64_t want = (uint64_t)nodes * (uint64_t)threads * (uint64_t)increments;

		printf("counter: %llu (want %llu) with %u nodes x %d threads, %s faults\n",
		       (unsigned long long)sh->counter, (unsigned long long)want, nodes,
		       threads, gvm_fault_mode_name(gvm_cluster_fault_mode(c)));
		rc = sh->counter == want ? 0 : 1;
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
