// SPDX-License-Identifier: MIT
/*
 * Description: a node killed with SIGKILL mid-run costs only what it held,
 * on mapped memory, whichever kind of node dies or survives. Built against
 * libgvmdsm as vm-lost and against tests/vm/kshim.c as kmod-lost.
 *
 *	gvmrun -n 2 -- lost         (node 1 is the victim)
 *
 * Both nodes load and store on shared pages for a while, then node 1
 * kills itself. Node 0 must go on: node 1's own page raises SIGBUS
 * instead of hanging, node 0's own page keeps its value, and node 0 ends
 * normally. Node 0 prints "lost: ... sigbus on the victim's page, own page
 * ok".
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#define SHARED_PAGES 16

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
	struct sigaction sa = {.sa_handler = on_sigbus, .sa_flags = SA_NODEFER};
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	volatile uint8_t *base;
	struct gvm_cluster *c;
	volatile uint64_t ok = 0;
	uint64_t end, seed;
	uint32_t self;
	int victims_page_bus, own_ok;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL); /* before the region chains to it */
	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, NULL);
	self = gvm_cluster_self(c);
	if (gvm_cluster_nodes(c) != 2) {
		fprintf(stderr, "lost: needs 2 nodes\n");
		return 2;
	}
	base[(SHARED_PAGES + self) * page] = (uint8_t)(self + 1);
	seed = 0x9e3779b97f4a7c15ull * (self + 1);
	gvm_cluster_barrier(c);
	/* Contend; then the victim dies, owning some pages and its own. */
	end = now_ms() + 500;
	while (now_ms() < end) {
		size_t p;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		p = seed % SHARED_PAGES;
		if ((seed >> 32) % 3)
			(void)base[p * page];
		else
			base[p * page + 8] = (uint8_t)self;
		ok++;
	}
	gvm_cluster_barrier(c);
	if (self == 1)
		raise(SIGKILL);
	usleep(300000); /* its sockets close at once: node 0 hears of it */
	sigbus_seen = 0;
	if (!sigsetjmp(escape, 1))
		(void)base[(SHARED_PAGES + 1) * page];
	victims_page_bus = sigbus_seen;
	own_ok = base[(SHARED_PAGES + self) * page] == self + 1;
	printf("lost: node %u: %llu accesses before, %s, own page %s\n", self,
	       (unsigned long long)ok,
	       victims_page_bus == 1 ? "sigbus on the victim's page" : "NO SIGBUS on the victim's page",
	       own_ok ? "ok" : "WRONG");
	fflush(stdout);
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return victims_page_bus == 1 && own_ok ? 0 : 1;
}
