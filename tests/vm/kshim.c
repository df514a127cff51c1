// SPDX-License-Identifier: MIT
/*
 * kshim.c - <gvm/cluster.h> over /dev/gvm_dsm, so the userspace tests
 * (tests/multi/sc.c, examples/counter.c) run unchanged on kernel nodes:
 * linked with this file instead of libgvmdsm, the same program joins
 * through the module and maps its region.
 *
 * The node comes from GVM_KDSM_FD (an fd already joined, as `gvmctl join
 * -- PROG` passes it), or is joined here from the same environment a
 * userspace node reads: GVM_NODE_ID, GVM_NODES, GVM_PEERS, GVM_LISTEN_FD,
 * GVM_CLUSTER_ID, GVM_MANAGER, GVM_PAGE_SIZE, GVM_REGION_SIZE,
 * GVM_HEARTBEAT_MS, GVM_TIMEOUT_MS, GVM_CONNECT, GVM_POLICY, and
 * GVM_WINDOW as "kernel:ID:PAGES" (a window the module shares between the
 * nodes of this kernel naming ID), GVM_SECRET_FILE, GVM_MAC and
 * GVM_INSECURE (the key derived by libgvmdsm's gvm_cluster_secret_load).
 * So gvmrun starts kernel nodes as it starts userspace ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "gvm_dsm_uapi.h"

struct gvm_cluster {
	int fd;
	struct gvm_ioc_info info;
	void *base;
	size_t len;
};

static unsigned long long env_num(const char *name, unsigned long long def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return def;
	x = strtoull(v, &end, 0);
	switch (*end) {
	case 'K': case 'k': x <<= 10; break;
	case 'M': case 'm': x <<= 20; break;
	case 'G': case 'g': x <<= 30; break;
	default: break;
	}
	return x;
}

static int join_from_env(int fd)
{
	const char *peers = getenv("GVM_PEERS"), *mgr = getenv("GVM_MANAGER");
	const char *conn = getenv("GVM_CONNECT"), *policy = getenv("GVM_POLICY");
	const char *window = getenv("GVM_WINDOW"), *insecure = getenv("GVM_INSECURE");
	struct gvm_auth auth;
	char err[256];
	int keyed;
	unsigned long long page = env_num("GVM_PAGE_SIZE", 4096);
	struct gvm_ioc_join j = {
		.size = sizeof(j),
		.cluster_id = env_num("GVM_CLUSTER_ID", 1),
		.self = (__u32)env_num("GVM_NODE_ID", ~0ull),
		.nodes = (__u32)env_num("GVM_NODES", 0),
		.manager = GVM_MANAGER_FIXED,
		.listen_fd = (__s32)env_num("GVM_LISTEN_FD", (unsigned long long)-1),
		.heartbeat_ms = (__u32)env_num("GVM_HEARTBEAT_MS", 0),
		.timeout_ms = (__u32)env_num("GVM_TIMEOUT_MS", 0),
		.flags = conn && !strcmp(conn, "eager") ? GVM_JOIN_EAGER : 0,
	};

	if (!peers) {
		fprintf(stderr, "kshim: GVM_PEERS is not set\n");
		return -EINVAL;
	}
	while ((1ull << j.page_shift) < page)
		j.page_shift++;
	j.npages = env_num("GVM_REGION_SIZE", 64ull << 20) / page;
	if (mgr && gvm_manager_parse(mgr, (enum gvm_manager *)&j.manager)) {
		fprintf(stderr, "kshim: GVM_MANAGER=%s: want fixed, dynamic or central\n", mgr);
		return -EINVAL;
	}
	j.peers = (__u64)(uintptr_t)peers;
	j.peers_len = (__u32)strlen(peers) + 1;
	if (policy) {
		j.policy = (__u64)(uintptr_t)policy;
		j.policy_len = (__u32)strlen(policy) + 1;
	}
	/* Kernel nodes share a window of the kernel's: "kernel:ID:PAGES". */
	if (window && sscanf(window, "kernel:%u:%u", &j.window_id, &j.window_pages) != 2) {
		fprintf(stderr, "kshim: GVM_WINDOW=%s: want kernel:ID:PAGES\n", window);
		return -EINVAL;
	}
	keyed = gvm_cluster_auth_env(&auth, err, sizeof(err));
	if (keyed < 0) {
		fprintf(stderr, "kshim: %s\n", err);
		return -EINVAL;
	}
	if (keyed) {
		j.key = (__u64)(uintptr_t)auth.key;
		j.flags |= auth.flags & GVM_AUTH_TAGS ? GVM_JOIN_TAGS : 0;
	} else if (insecure && !strcmp(insecure, "1")) {
		j.flags |= GVM_JOIN_INSECURE;
	}
	if (ioctl(fd, GVM_IOC_JOIN, &j)) {
		fprintf(stderr, "kshim: GVM_IOC_JOIN: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The one function of libgvmdsm's engine API these programs use. */
int gvm_manager_parse(const char *s, enum gvm_manager *out)
{
	static const char *const names[] = {"fixed", "dynamic", "central"};

	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum gvm_manager)(i + 1);
			return 0;
		}
	return -EINVAL;
}

int gvm_cluster_open(const struct gvm_cluster_config *cfg, struct gvm_cluster **out)
{
	struct gvm_cluster *c = calloc(1, sizeof(*c));
	const char *inherited = getenv("GVM_KDSM_FD");
	struct gvm_ioc_region r = {.size = sizeof(r)};
	int err;

	if (!c || cfg) { /* only the environment is understood here */
		free(c);
		return -EINVAL;
	}
	c->fd = inherited ? atoi(inherited) : open(GVM_DSM_DEVICE, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		fprintf(stderr, "kshim: %s: %s\n", GVM_DSM_DEVICE, strerror(errno));
		free(c);
		return -ENODEV;
	}
	err = inherited ? 0 : join_from_env(c->fd);
	c->info.size = sizeof(c->info);
	if (!err && ioctl(c->fd, GVM_IOC_INFO, &c->info))
		err = -errno;
	r.npages = c->info.npages;
	/* A node that gvmctl joined may have its region already: map region 0. */
	if (!err && ioctl(c->fd, GVM_IOC_REGION, &r) && errno != EINVAL)
		err = -errno;
	if (err) {
		close(c->fd);
		free(c);
		return err;
	}
	c->len = (size_t)c->info.npages << c->info.page_shift;
	c->base = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->base == MAP_FAILED) {
		err = -errno;
		fprintf(stderr, "kshim: mmap: %s\n", strerror(errno));
		close(c->fd);
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void gvm_cluster_close(struct gvm_cluster *c)
{
	struct gvm_ioc_info info = {.size = sizeof(info)};

	/* The line libgvmdsm logs, so tests count promotions the same way. */
	if (!ioctl(c->fd, GVM_IOC_INFO, &info) && (info.c.promotions || info.c.window_full))
		fprintf(stderr, "kshim: node %u: promoted %llu pages, demoted %llu, %llu refused (window share full)\n",
			info.self, (unsigned long long)info.c.promotions,
			(unsigned long long)info.c.demotions,
			(unsigned long long)info.c.window_full);
	munmap(c->base, c->len);
	close(c->fd);
	free(c);
}

void *gvm_dsm_map(struct gvm_cluster *c, size_t *len)
{
	if (len)
		*len = c->len;
	return c->base;
}

int gvm_cluster_barrier(struct gvm_cluster *c)
{
	return ioctl(c->fd, GVM_IOC_BARRIER) ? -errno : 0;
}

gvm_node_id gvm_cluster_self(const struct gvm_cluster *c)
{
	return c->info.self;
}

uint32_t gvm_cluster_nodes(const struct gvm_cluster *c)
{
	return c->info.nodes;
}

enum gvm_fault_mode gvm_cluster_fault_mode(const struct gvm_cluster *c)
{
	(void)c;
	return GVM_FAULT_AUTO;
}

const char *gvm_fault_mode_name(enum gvm_fault_mode m)
{
	(void)m;
	return "kernel"; /* every fault goes through the module */
}
