// SPDX-License-Identifier: MIT
/*
 * Description: DSM memory of /dev/gvm_dsm works through get_user_pages,
 * and an invalidation reaches every mapping of a node, a forked child's
 * included.
 *
 *	vm-gup PORT0 PORT1      two kernel nodes (this process and a child)
 *	vm-gup hold PORT        one node whose mapping outlives its fd; prints
 *	                        "held" and waits to be killed (rmmod must refuse)
 *
 * process_vm_writev/readv on one's own pid reach the pages through
 * pin_user_pages_remote (GUP), as KVM's hva_to_pfn does: node 0 writes a
 * page that way, node 1 reads it that way. A child forked by node 1 keeps
 * the mapping; node 0 then stores again, and both node 1 and its child must
 * see the new value (the zap covered the child's PTEs too).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gvm_dsm_uapi.h"

#define PAGES 16
#define PG 4096

static uint8_t *node_up(uint32_t self, uint32_t nodes, const char *peers, int *fdp)
{
	struct gvm_ioc_join j = {
		.size = sizeof(j), .cluster_id = 9, .self = self, .nodes = nodes,
		.page_shift = 12, .manager = 1, .npages = PAGES, .listen_fd = -1,
		.peers = (uintptr_t)peers, .peers_len = (uint32_t)strlen(peers) + 1,
	};
	struct gvm_ioc_region r = {.size = sizeof(r), .npages = PAGES};
	int fd = open(GVM_DSM_DEVICE, O_RDWR);
	void *m;

	if (fd < 0 || ioctl(fd, GVM_IOC_JOIN, &j) || ioctl(fd, GVM_IOC_REGION, &r)) {
		fprintf(stderr, "gup: node %u: %s\n", self, strerror(errno));
		exit(1);
	}
	m = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("gup: mmap");
		exit(1);
	}
	*fdp = fd;
	return m;
}

static void barrier(int fd)
{
	if (ioctl(fd, GVM_IOC_BARRIER)) {
		perror("gup: barrier");
		exit(1);
	}
}

/* Through GUP: the kernel pins our own pages to copy. */
static int gup_copy(void *region_addr, void *buf, size_t len, int write)
{
	struct iovec local = {buf, len}, remote = {region_addr, len};
	ssize_t n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0) :
			    process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	return n == (ssize_t)len ? 0 : -1;
}

static __attribute__((noreturn)) void hold(const char *port)
{
	char peers[64];
	uint8_t *m;
	int fd;

	snprintf(peers, sizeof(peers), "127.0.0.1:%s", port);
	m = node_up(0, 1, peers, &fd);
	m[0] = 1;
	close(fd); /* the mapping keeps the node */
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	uint64_t a[PG / 8], b[PG / 8];
	char peers[128];
	int fd, fail = 0, to_child[2], from_child[2], status;
	char ready;
	uint8_t *m;
	pid_t node1, child;

	if (argc == 3 && !strcmp(argv[1], "hold"))
		hold(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: vm-gup PORT0 PORT1 | vm-gup hold PORT\n");
		return 2;
	}
	snprintf(peers, sizeof(peers), "127.0.0.1:%s,127.0.0.1:%s", argv[1], argv[2]);
	for (int k = 0; k < PG / 8; k++)
		a[k] = 0xa000 + k, b[k] = 0xb000 + k;
	node1 = fork();
	if (node1 == 0) {
		m = node_up(1, 2, peers, &fd);
		barrier(fd); /* node 0 has written page 3 through GUP */
		if (gup_copy(m + 3 * PG, b, PG, 0) || memcmp(a, b, PG)) {
			printf("gup: FAIL node 1 did not read node 0's GUP write through GUP\n");
			fail = 1;
		}
		if (pipe(to_child) || pipe(from_child))
			exit(1);
		child = fork();
		if (child == 0) {
			char go;

			/* Map page 3 here too, then wait for node 0's next store. */
			if (*(volatile uint64_t *)(m + 3 * PG) != 0xa000 ||
			    write(from_child[1], "r", 1) != 1 || read(to_child[0], &go, 1) != 1)
				_exit(1);
			_exit(*(volatile uint64_t *)(m + 3 * PG) == 0xc0ffee ? 0 : 2);
		}
		if (read(from_child[0], &ready, 1) != 1)
			fail = 1;
		barrier(fd); /* the child has the page mapped (it read it first) */
		barrier(fd); /* node 0 has stored 0xc0ffee */
		if (write(to_child[1], "g", 1) != 1 || waitpid(child, &status, 0) != child ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("gup: FAIL node 1's forked child did not see the new value\n");
			fail = 1;
		}
		if (gup_copy(m + 3 * PG, b, 8, 0) || b[0] != 0xc0ffee) {
			printf("gup: FAIL node 1 read a stale value through GUP\n");
			fail = 1;
		}
		barrier(fd);
		exit(fail);
	}
	m = node_up(0, 2, peers, &fd);
	if (gup_copy(m + 3 * PG, a, PG, 1)) {
		printf("gup: FAIL process_vm_writev into DSM memory: %s\n", strerror(errno));
		fail = 1;
	}
	barrier(fd);
	barrier(fd);
	*(volatile uint64_t *)(m + 3 * PG) = 0xc0ffee;
	barrier(fd);
	barrier(fd);
	if (waitpid(node1, &status, 0) != node1 || !WIFEXITED(status) || WEXITSTATUS(status))
		fail = 1;
	printf("gup: %s\n", fail ? "FAIL" : "GUP reads and writes, fork-shared mappings invalidated: ok");
	return fail;
}
