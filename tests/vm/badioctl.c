// SPDX-License-Identifier: MIT
/*
 * Description: /dev/gvm_dsm refuses bad arguments with an errno (EINVAL
 * for bad values, EFAULT for bad pointers, ENOTCONN before JOIN) and does
 * not oops; the harness checks dmesg afterwards.
 *
 *	vm-badioctl PORT        (a free 127.0.0.1 port for a one-node cluster)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gvm_dsm_uapi.h"

static int failures, checks;

static void expect(const char *what, int rc, int want)
{
	int got = rc < 0 ? errno : 0;

	checks++;
	if (got != want) {
		failures++;
		printf("badioctl: FAIL %s: got %s, want %s\n", what, got ? strerror(got) : "success",
		       want ? strerror(want) : "success");
	}
}

static struct gvm_ioc_join good_join(const char *peers)
{
	return (struct gvm_ioc_join){
		.size = sizeof(struct gvm_ioc_join), .cluster_id = 7, .self = 0, .nodes = 1,
		.page_shift = 12, .manager = 1, .npages = 64, .listen_fd = -1,
		.peers = (uintptr_t)peers, .peers_len = (uint32_t)strlen(peers) + 1,
	};
}

int main(int argc, char **argv)
{
	char peers[64];
	struct gvm_ioc_join j;
	struct gvm_ioc_region r;
	struct gvm_ioc_peek p;
	struct gvm_ioc_info info = {.size = sizeof(info) + 8};
	struct gvm_ioc_list l = {.size = sizeof(l), .count = 4};
	uint64_t word;
	void *m;
	int fd, fd2;

	if (argc < 2) {
		fprintf(stderr, "usage: vm-badioctl PORT\n");
		return 2;
	}
	snprintf(peers, sizeof(peers), "127.0.0.1:%s", argv[1]);
	fd = open(GVM_DSM_DEVICE, O_RDWR);
	if (fd < 0) {
		perror(GVM_DSM_DEVICE);
		return 1;
	}
	/* Before JOIN. */
	expect("barrier before join", ioctl(fd, GVM_IOC_BARRIER), ENOTCONN);
	r = (struct gvm_ioc_region){.size = sizeof(r), .npages = 1};
	expect("region before join", ioctl(fd, GVM_IOC_REGION, &r), ENOTCONN);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect("mmap before join", m == MAP_FAILED ? -1 : 0, ENOTCONN);
	expect("unknown ioctl", ioctl(fd, _IO(GVM_IOC_MAGIC, 99)), ENOTTY);
	expect("NULL argument", ioctl(fd, GVM_IOC_JOIN, NULL), EFAULT);
	expect("info with a wrong size", ioctl(fd, GVM_IOC_INFO, &info), EINVAL);
	expect("list without a buffer", ioctl(fd, GVM_IOC_LIST, &l), EINVAL);

#define BAD_JOIN(what, field, value, err)                                      \
	do {                                                                   \
		j = good_join(peers);                                          \
		j.field = value;                                               \
		expect("join: " what, ioctl(fd, GVM_IOC_JOIN, &j), err);       \
	} while (0)
	BAD_JOIN("old struct size", size, sizeof(j) - 8, EINVAL);
	BAD_JOIN("unknown flag", flags, 1u << 7, EINVAL);
	BAD_JOIN("reserved field", reserved1, 1, EINVAL);
	BAD_JOIN("tags without a key", flags, GVM_JOIN_TAGS, EINVAL);
	BAD_JOIN("a key at a bad address", key, 16, EFAULT);
	BAD_JOIN("zero nodes", nodes, 0, EINVAL);
	BAD_JOIN("too many nodes", nodes, 100000, EINVAL);
	BAD_JOIN("self outside", self, 1, EINVAL);
	BAD_JOIN("page below PAGE_SIZE", page_shift, 11, EINVAL);
	BAD_JOIN("page above 2 MiB", page_shift, 22, EINVAL);
	BAD_JOIN("page shift 200", page_shift, 200, EINVAL);
	BAD_JOIN("zero pages", npages, 0, EINVAL);
	BAD_JOIN("a page space of 2^60 pages", npages, 1ull << 60, EINVAL);
	BAD_JOIN("manager 0", manager, 0, EINVAL);
	BAD_JOIN("manager 4", manager, 4, EINVAL);
	BAD_JOIN("listen fd -2", listen_fd, -2, EINVAL);
	BAD_JOIN("listen fd not a socket", listen_fd, 0, ENOTSOCK);
	BAD_JOIN("listen fd not listening", listen_fd, 1000, EBADF);
	BAD_JOIN("heartbeat of an hour", heartbeat_ms, 3600000, EINVAL);
	BAD_JOIN("no peers", peers, 0, EINVAL);
	BAD_JOIN("peer list length 1", peers_len, 1, EINVAL);
	BAD_JOIN("peer list too long", peers_len, 1u << 20, EINVAL);
	BAD_JOIN("peer list at a bad address", peers, 16, EFAULT);
	BAD_JOIN("peer list without its NUL", peers_len, (uint32_t)strlen(peers), EINVAL);
#define BAD_PEERS(what, list, err)                                             \
	do {                                                                   \
		j = good_join(list);                                           \
		expect("join: " what, ioctl(fd, GVM_IOC_JOIN, &j), err);       \
	} while (0)
	BAD_PEERS("options smuggled into the peer list", "127.0.0.1:1?linger_ms=5", EINVAL);
	BAD_PEERS("two addresses for one node", "127.0.0.1:1,127.0.0.1:2", EINVAL);
	BAD_PEERS("a host name", "localhost:1", EINVAL);
	BAD_PEERS("port 0", "127.0.0.1:0", EINVAL);
	BAD_PEERS("port 70000", "127.0.0.1:70000", EINVAL);
	BAD_PEERS("bad IPv6", "[::g]:1", EINVAL);
	BAD_PEERS("no port", "127.0.0.1", EINVAL);
	BAD_PEERS("garbage", "\x01\xff:::", EINVAL);
	BAD_JOIN("reserved field after the policy", reserved0, 1, EINVAL);
	BAD_JOIN("window pages without a window", window_pages, 16, EINVAL);
	BAD_JOIN("a window without pages", window_id, 3, EINVAL);
	BAD_JOIN("policy length without a policy", policy_len, 6, EINVAL);
	BAD_JOIN("policy at a bad address", policy, 16, EINVAL); /* no length */
#define BAD_POLICY(what, text, len, err)                                        \
	do {                                                                   \
		j = good_join(peers);                                          \
		j.policy = (uint64_t)(uintptr_t)(text);                        \
		j.policy_len = (len);                                          \
		expect("join: " what, ioctl(fd, GVM_IOC_JOIN, &j), err);       \
	} while (0)
	BAD_POLICY("unknown policy", "sometimes", 10, EINVAL);
	BAD_POLICY("policy without its NUL", "hotpage", 7, EINVAL);
	BAD_POLICY("policy option unknown", "hotpage:colour=3", 17, EINVAL);
	BAD_POLICY("policy option out of range", "hotpage:threshold=0", 20, EINVAL);
	BAD_POLICY("policy too long", "hotpage", 4096, EINVAL);
	BAD_POLICY("policy unreadable", (const char *)16, 8, EFAULT);
	j = good_join(peers);
	j.window_id = 9;
	j.window_pages = 1u << 30;
	expect("join: a window too large", ioctl(fd, GVM_IOC_JOIN, &j), EINVAL);
	{
		int s = socket(AF_INET, SOCK_STREAM, 0);

		BAD_JOIN("listen fd a socket that does not listen", listen_fd, s, EINVAL);
		close(s);
	}
	j = good_join(peers);
	expect("join", ioctl(fd, GVM_IOC_JOIN, &j), 0);
	expect("join twice", ioctl(fd, GVM_IOC_JOIN, &j), EISCONN);

	/* Regions. */
	r = (struct gvm_ioc_region){.size = sizeof(r), .npages = 0};
	expect("region of 0 pages", ioctl(fd, GVM_IOC_REGION, &r), EINVAL);
	r = (struct gvm_ioc_region){.size = sizeof(r), .first_page = 64, .npages = 1};
	expect("region past the end", ioctl(fd, GVM_IOC_REGION, &r), EINVAL);
	r = (struct gvm_ioc_region){.size = sizeof(r), .first_page = 1, .npages = ~0ull};
	expect("region length overflowing", ioctl(fd, GVM_IOC_REGION, &r), EINVAL);
	r = (struct gvm_ioc_region){.size = sizeof(r), .npages = 1, .offset = 1};
	expect("region with an output field set", ioctl(fd, GVM_IOC_REGION, &r), EINVAL);
	for (unsigned int k = 0; k < GVM_DSM_MAX_REGIONS; k++) {
		r = (struct gvm_ioc_region){.size = sizeof(r), .first_page = k, .npages = 1};
		expect("region", ioctl(fd, GVM_IOC_REGION, &r), 0);
	}
	r = (struct gvm_ioc_region){.size = sizeof(r), .first_page = 40, .npages = 1};
	expect("one region too many", ioctl(fd, GVM_IOC_REGION, &r), ENOSPC);
	r = (struct gvm_ioc_region){.size = sizeof(r), .first_page = 3, .npages = 1};
	fd2 = open(GVM_DSM_DEVICE, O_RDWR);
	expect("region on a second node, not joined", ioctl(fd2, GVM_IOC_REGION, &r), ENOTCONN);
	close(fd2);

	/* Mappings. */
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	expect("private mapping", m == MAP_FAILED ? -1 : 0, EINVAL);
	m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 15 * 4096);
	expect("mapping across regions", m == MAP_FAILED ? -1 : 0, EINVAL);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 50 * 4096);
	expect("mapping outside every region", m == MAP_FAILED ? -1 : 0, EINVAL);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * 4096);
	expect("mapping a region", m == MAP_FAILED ? -1 : 0, 0);
	if (m != MAP_FAILED) {
		*(volatile uint64_t *)m = 42;
		expect("mremap to grow", mremap(m, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0,
		       EFAULT);
	}

	/* The in-kernel API through PEEK. */
	p = (struct gvm_ioc_peek){.size = sizeof(p), .page = 2, .buf = (uintptr_t)&word,
				  .len = sizeof(word)};
	expect("peek", ioctl(fd, GVM_IOC_PEEK, &p), 0);
	if (word != 42) {
		printf("badioctl: FAIL peek read %llu, want 42\n", (unsigned long long)word);
		failures++;
	}
	p.page = 64;
	expect("peek past the end", ioctl(fd, GVM_IOC_PEEK, &p), EINVAL);
	p.page = 0;
	p.len = 8192;
	expect("peek more than a page", ioctl(fd, GVM_IOC_PEEK, &p), EINVAL);
	p.len = 8;
	p.buf = 16;
	expect("peek into a bad buffer", ioctl(fd, GVM_IOC_PEEK, &p), EFAULT);
	p.buf = (uintptr_t)&word;
	p.handle = 999999;
	expect("peek at a node that does not exist", ioctl(fd, GVM_IOC_PEEK, &p), ENOENT);
	expect("barrier, one node", ioctl(fd, GVM_IOC_BARRIER), 0);
	close(fd);
	if (m != MAP_FAILED)
		munmap(m, 4096);
	printf("badioctl: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
