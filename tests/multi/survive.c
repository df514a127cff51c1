// SPDX-License-Identifier: MIT
/*
 * Description: a node killed with SIGKILL mid-run costs only what it held.
 * Survivors keep working on their pages; accesses that needed the dead node
 * fail (-EHOSTDOWN from the explicit API, SIGBUS from the mapped region)
 * instead of hanging, and every survivor finishes.
 *
 *	gvmrun -n N -- multi-survive        (the last node is the victim)
 *
 * Each node prints "survive: node I: ok A, failed F, sigbus S, own-page ok".
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#define SHARED_PAGES 32
#define PAGE 4096

static sigjmp_buf escape;
static volatile sig_atomic_t sigbus_seen;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus_seen++;
	siglongjmp(escape, 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(void)
{
	struct gvm_cluster *c;
	struct gvm_node *node;
	struct sigaction sa = {.sa_handler = on_sigbus};
	volatile uint8_t *base;
	uint32_t self, nodes, victim;
	volatile uint64_t ok = 0, failed = 0;
	uint64_t end, seed;
	gvm_page_t own, victims_page;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL); /* before the region chains to it */
	if (gvm_cluster_open(NULL, &c))
		return 1;
	node = gvm_cluster_node(c);
	base = gvm_dsm_map(c, NULL);
	self = gvm_cluster_self(c);
	nodes = gvm_cluster_nodes(c);
	victim = nodes - 1;
	own = SHARED_PAGES + self;                /* only its node touches it */
	victims_page = SHARED_PAGES + victim;
	seed = 0x9e3779b97f4a7c15ull * (self + 1);
	base[own * PAGE] = (uint8_t)self;
	gvm_cluster_barrier(c);

	/* Contend for shared pages; the victim dies a little way in. */
	end = now_ms() + 1500;
	while (now_ms() < end) {
		gvm_page_t p;
		enum gvm_access a;
		void *frame;
		int err;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		p = seed % SHARED_PAGES;
		a = (seed >> 32) % 3 ? GVM_ACCESS_READ : GVM_ACCESS_WRITE;
		if (self == victim && now_ms() > end - 1000)
			raise(SIGKILL);
		err = gvm_acquire(node, p, a, &frame);
		if (!err) {
			if (a == GVM_ACCESS_WRITE)
				((uint8_t *)frame)[8] = (uint8_t)self;
			gvm_release(node, p);
			ok++;
		} else if (err == -EHOSTDOWN) {
			failed++;
		} else {
			fprintf(stderr, "survive: node %u: acquire: %d\n", self, err);
			return 1;
		}
	}
	/* The victim's own page is gone: touching it must raise SIGBUS. */
	if (!sigsetjmp(escape, 1))
		(void)base[victims_page * PAGE];
	printf("survive: node %u: ok %llu, failed %llu, sigbus %d, own-page %s\n", self,
	       (unsigned long long)ok, (unsigned long long)failed, (int)sigbus_seen,
	       base[own * PAGE] == (uint8_t)self ? "ok" : "WRONG");
	fflush(stdout);
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return sigbus_seen == 1 && base != NULL ? 0 : 1;
}
