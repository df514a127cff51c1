// SPDX-License-Identifier: MIT
/*
 * Description: garbage bytes written into a node's TCP port during a run
 * cost that connection only: the node logs why it dropped it and the
 * cluster's computation still comes out right.
 *
 *	gvmrun -n N -- garbage [few-fds]
 *
 * Every node but 0 opens a connection to node 0's port mid-run and writes
 * junk into it (once before any hello, once after a fake hello claiming a
 * node id that is already connected), claims a 64 MiB frame before any
 * hello (node 0 must close that connection at once, not buffer it), and
 * leaves IDLE connections open that never say hello (node 0 keeps at most
 * 64 such: the rest must be closed). With few-fds, node 0 runs with a few
 * file descriptors to spare, so the flood meets EMFILE: it must neither
 * spin nor stop serving. Its CPU time while idle is measured either way. Then all nodes
 * increment a shared counter under a DSM spinlock; node 0 checks the total.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "../self.h"

#define INCREMENTS 300
#define IDLE 200

static int idle_fds[IDLE];

static int connect_to(const char *hostport)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(hostport, ':');
	int fd;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Did the other end close fd within ms? */
static bool closed_by_peer(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char b;

	return poll(&pfd, 1, ms) == 1 && recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

/* A 64 MiB frame claimed before any hello: refused at once. */
static bool big_claim_dropped(const char *first)
{
	uint8_t claim[8 + 64] = {0, 0, 0, 4, 1}; /* 64 MiB, HELLO */
	int fd = connect_to(first);
	bool dropped;

	if (fd < 0)
		return false;
	dropped = write(fd, claim, sizeof(claim)) == (ssize_t)sizeof(claim) &&
		  closed_by_peer(fd, 2000);
	close(fd);
	return dropped;
}

static void open_idle(const char *first)
{
	for (int i = 0; i < IDLE; i++)
		idle_fds[i] = connect_to(first);
}

/* How many idle connections node 0 closed (it keeps at most 64). */
static int idle_closed(void)
{
	int n = 0;

	for (int i = 0; i < IDLE; i++) {
		if (idle_fds[i] >= 0 && closed_by_peer(idle_fds[i], 0))
			n++;
		if (idle_fds[i] >= 0)
			close(idle_fds[i]);
	}
	return n;
}

static bool inject(void)
{
	const char *peers = getenv("GVM_PEERS");
	char first[80];
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n\xde\xad\xbe\xef";
	uint8_t hello[8 + GVM_HELLO_LEN] = {GVM_HELLO_LEN, 0, 0, 0, 1};
	struct gvm_hello h = {.nodes = 2, .node = 1};
	int fd;

	if (!peers || sscanf(peers, "%79[^,]", first) != 1)
		return false;
	fd = connect_to(first);
	if (fd >= 0) {
		if (write(fd, junk, sizeof(junk)) < 0)
			perror("garbage: write");
		close(fd);
	}
	fd = connect_to(first);
	if (fd >= 0) {
		gvm_hello_encode(&h, hello + 8);
		if (write(fd, hello, sizeof(hello)) < 0 || write(fd, junk, sizeof(junk)) < 0)
			perror("garbage: write");
		close(fd);
	}
	open_idle(first);
	if (big_claim_dropped(first))
		return true;
	printf("garbage: a 64 MiB frame before any hello was not refused at once\n");
	return false;
}

/* Leave a few free descriptors (new ones take the lowest free numbers). */
static void few_fds_left(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = (rlim_t)self_open_fds() + 8;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static uint64_t cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	struct { uint32_t lock; uint64_t counter; } *sh;
	int rc = 0;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	sh = gvm_dsm_map(c, NULL);
	if (gvm_cluster_self(c) == 0 && argc > 1 && !strcmp(argv[1], "few-fds"))
		few_fds_left();
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) != 0 && !inject())
		rc = 1;
	for (int i = 0; i < INCREMENTS; i++) {
		while (__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE))
			;
		sh->counter++;
		__atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
	}
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) == 0) {
		/* The idle connections are still open: nothing to do but wait. */
		uint64_t before = cpu_ns();

		usleep(300000);
		if (cpu_ns() - before > 100000000ull) {
			printf("garbage: node 0 spent %llu ms of CPU in 300 ms idle\n",
			       (unsigned long long)((cpu_ns() - before) / 1000000));
			rc = 1;
		}
	}
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) != 0) {
		int closed = idle_closed();

		if (closed < IDLE - 64) {
			printf("garbage: node 0 closed %d of %d connections that never said hello\n",
			       closed, IDLE);
			rc = 1;
		}
	}
	if (gvm_cluster_self(c) == 0) {
		uint64_t want = (uint64_t)gvm_cluster_nodes(c) * INCREMENTS;

		printf("garbage: counter %llu, want %llu\n",
		       (unsigned long long)sh->counter, (unsigned long long)want);
		rc |= sh->counter != want;
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
