// SPDX-License-Identifier: MIT
/*
 * Description: gvm_dsm.ko's exported in-kernel API, called from another
 * module (gvm_kapi_test.ko) as a hypervisor's fault path would: an
 * acquire for writing makes a value visible to the other node's mapping,
 * an acquire for reading sees that node's store, and the registered
 * notifier hears the downgrade and the invalidation in between.
 *
 *	vm-kapi PORT0 PORT1     (gvm_dsm.ko and gvm_kapi_test.ko loaded)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gvm_dsm_uapi.h"
#include "gvm_kapi_test.h"

#define PAGE_NO 5

static int node_up(uint32_t self, const char *peers)
{
	struct gvm_ioc_join j = {
		.size = sizeof(j), .cluster_id = 11, .self = self, .nodes = 2,
		.page_shift = 12, .manager = 1, .npages = 16, .listen_fd = -1,
		.peers = (uintptr_t)peers, .peers_len = (uint32_t)strlen(peers) + 1,
	};
	int fd = open(GVM_DSM_DEVICE, O_RDWR);

	if (fd < 0 || ioctl(fd, GVM_IOC_JOIN, &j)) {
		fprintf(stderr, "kapi: node %u: %s\n", self, strerror(errno));
		exit(1);
	}
	return fd;
}

static void step(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		exit(1);
}

static void await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		exit(1);
}

int main(int argc, char **argv)
{
	int to_child[2], to_parent[2], status, fail = 0, fd, k;
	struct gvm_kapi_touch t;
	char peers[64];
	pid_t child;

	if (argc != 3) {
		fprintf(stderr, "usage: vm-kapi PORT0 PORT1\n");
		return 2;
	}
	snprintf(peers, sizeof(peers), "127.0.0.1:%s,127.0.0.1:%s", argv[1], argv[2]);
	if (pipe(to_child) || pipe(to_parent))
		return 1;
	child = fork();
	if (child == 0) { /* node 1: plain loads and stores on its mapping */
		struct gvm_ioc_region r = {.size = sizeof(r), .npages = 16};
		fd = node_up(1, peers);
		volatile uint64_t *m;

		if (ioctl(fd, GVM_IOC_REGION, &r))
			exit(1);
		m = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			exit(1);
		await(to_child[0]);
		if (m[PAGE_NO * 512] != 0x1234) {
			printf("kapi: FAIL node 1 read %#llx, want 0x1234\n",
			       (unsigned long long)m[PAGE_NO * 512]);
			fail = 1;
		}
		m[PAGE_NO * 512] = 0x5678;
		step(to_parent[1], 'b');
		await(to_child[0]);
		exit(fail);
	}
	/* node 0: through the other module only */
	fd = node_up(0, peers);
	k = open("/dev/gvm_kapi_test", O_RDWR);
	t = (struct gvm_kapi_touch){.fd = fd, .write = 1, .page = PAGE_NO, .value = 0x1234};

	if (k < 0 || ioctl(k, GVM_KAPI_TOUCH, &t)) {
		printf("kapi: FAIL acquire for writing: %s\n", strerror(errno));
		return 1;
	}
	step(to_child[1], 'a');
	await(to_parent[0]);
	t = (struct gvm_kapi_touch){.fd = fd, .write = 0, .page = PAGE_NO};
	if (ioctl(k, GVM_KAPI_TOUCH, &t) || t.value != 0x5678) {
		printf("kapi: FAIL acquire for reading: got %#llx (%s), want 0x5678\n",
		       (unsigned long long)t.value, strerror(errno));
		fail = 1;
	}
	if (!t.downgrades || !t.invalidations) {
		printf("kapi: FAIL notifier heard %llu downgrades, %llu invalidations\n",
		       (unsigned long long)t.downgrades, (unsigned long long)t.invalidations);
		fail = 1;
	}
	step(to_child[1], 'c');
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail = 1;
	close(k);
	close(fd);
	printf("kapi: %s (notifier: %llu downgrades, %llu invalidations)\n",
	       fail ? "FAIL" : "acquire/release from another module see node 1's data",
	       (unsigned long long)t.downgrades, (unsigned long long)t.invalidations);
	return fail;
}
