// SPDX-License-Identifier: MIT
/*
 * Description: garbage bytes written into a node's TCP port during a run
 * cost that connection only: the node logs why it dropped it and the
 * cluster's computation still comes out right.
 *
 *	gvmrun -n N -- garbage
 *
 * Every node but 0 opens a connection to node 0's port mid-run and writes
 * junk into it (once before any hello, once after a fake hello claiming a
 * node id that is already connected), then all nodes increment a shared
 * counter under a DSM spinlock; node 0 checks the total.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gvm/cluster.h>

#define INCREMENTS 300

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

static void inject(void)
{
	const char *peers = getenv("GVM_PEERS");
	char first[80];
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n\xde\xad\xbe\xef";
	uint8_t hello[8 + GVM_HELLO_LEN] = {GVM_HELLO_LEN, 0, 0, 0, 1};
	struct gvm_hello h = {.nodes = 2, .node = 1};
	int fd;

	if (!peers || sscanf(peers, "%79[^,]", first) != 1)
		return;
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
}

int main(void)
{
	struct gvm_cluster *c;
	struct { uint32_t lock; uint64_t counter; } *sh;
	int rc = 0;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	sh = gvm_dsm_map(c, NULL);
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) != 0)
		inject();
	for (int i = 0; i < INCREMENTS; i++) {
		while (__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE))
			;
		sh->counter++;
		__atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
	}
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) == 0) {
		uint64_t want = (uint64_t)gvm_cluster_nodes(c) * INCREMENTS;

		printf("garbage: counter %llu, want %llu\n",
		       (unsigned long long)sh->counter, (unsigned long long)want);
		rc = sh->counter != want;
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
