/* SPDX-License-Identifier: MIT */
/*
 * gvm/cluster.h - userspace: join a cluster and map its shared region.
 *
 *	struct gvm_cluster *c;
 *	if (gvm_cluster_open(NULL, &c))          // configuration from the environment
 *		exit(1);
 *	uint64_t *shared = gvm_dsm_map(c, NULL);   // ordinary loads and stores
 *	...
 *	gvm_cluster_barrier(c);
 *	gvm_cluster_close(c);
 *
 * A cluster is one engine node, its transport, and a progress thread. Its
 * region is the engine's whole page space, mapped at the same offsets on
 * every node. Accesses to absent or read-only pages fault into the engine
 * through userfaultfd (a handler thread, or SIGBUS in the faulting thread),
 * or through mprotect + SIGSEGV where userfaultfd is not allowed.
 */
#ifndef GVM_CLUSTER_H
#define GVM_CLUSTER_H

#include <gvm/auth.h>
#include <gvm/dsm.h>

struct gvm_cluster;

enum gvm_fault_mode {
	GVM_FAULT_AUTO = 0,     /* THREAD, or MPROTECT if userfaultfd is refused */
	GVM_FAULT_THREAD = 1,   /* userfaultfd events read by a handler thread */
	GVM_FAULT_SIGBUS = 2,   /* UFFD_FEATURE_SIGBUS: the faulting thread resolves */
	GVM_FAULT_MPROTECT = 3, /* PROT_NONE / PROT_READ pages and SIGSEGV */
};

struct gvm_cluster_config {
	struct gvm_config node;  /* self, nodes, page_shift, npages, manager, cluster_id */
	char transport[32];      /* "tcp" */
	char uri[4096];          /* the transport's address list and options */
	enum gvm_fault_mode fault_mode;
	bool eager_connect;      /* connect to every peer at open */
	char policy[32];         /* GVM_POLICY's name ("" : never) */
	char policy_options[256]; /* ... and its options */
	char window[512];        /* GVM_WINDOW: uri of a backend lending its window */
	uint32_t spin_us, yield_us; /* an idle driver's budgets (core/user/progress.h) */
	bool has_secret;         /* GVM_SECRET_FILE or GVM_SECRET: auth holds its key */
	struct gvm_auth auth;
	bool insecure_ok;        /* GVM_INSECURE=1 */
};

/*
 * Read a cluster secret from path (a file only its owner may read or
 * write; its bytes, less trailing whitespace, at least GVM_SECRET_MIN of
 * them) and derive the key; tags: every message tagged (GVM_MAC). Returns
 * 0, or -EINVAL / -EACCES with a message in err naming the file.
 */
int gvm_cluster_secret_load(const char *path, bool tags, struct gvm_auth *out,
			    char *err, size_t errlen);
/*
 * For programs that open a transport themselves (gvmctl, gvm-bench, tests):
 * the key GVM_SECRET_FILE names, with GVM_MAC's choice of tags. Returns 1
 * with *out set, 0 if GVM_SECRET_FILE is unset, or a negative errno with a
 * message in err.
 */
int gvm_cluster_auth_env(struct gvm_auth *out, char *err, size_t errlen);

/*
 * Fill cfg from the file named by GVM_CONFIG (if set), then from the
 * environment, which wins (README: "Cluster configuration"). Returns 0, or
 * -EINVAL with a message in err naming the variable at fault.
 */
int gvm_cluster_config_load(struct gvm_cluster_config *cfg, char *err,
			    size_t errlen);

/*
 * Join the cluster described by cfg (NULL: gvm_cluster_config_load()).
 * Returns 0 and sets *out, or -errno after logging why.
 */
int gvm_cluster_open(const struct gvm_cluster_config *cfg,
		     struct gvm_cluster **out);
/* Leave: stop the progress thread, unmap the region, close the transport. */
void gvm_cluster_close(struct gvm_cluster *c);

/* The shared region; *len (if not NULL) receives its size in bytes. */
void *gvm_dsm_map(struct gvm_cluster *c, size_t *len);
/* Wait for every node (gvm_barrier). Returns 0 or -EHOSTDOWN. */
int gvm_cluster_barrier(struct gvm_cluster *c);

struct gvm_node *gvm_cluster_node(struct gvm_cluster *c);
gvm_node_id gvm_cluster_self(const struct gvm_cluster *c);
uint32_t gvm_cluster_nodes(const struct gvm_cluster *c);
enum gvm_fault_mode gvm_cluster_fault_mode(const struct gvm_cluster *c);
/*
 * true: the engine's frames are the region's own memory (a memfd mapped
 * twice, pages mapped by UFFDIO_CONTINUE, Linux >= 6.4, or mprotect mode),
 * one copy of each page; false: they are copied into the mapping.
 */
bool gvm_cluster_frames_mapped(const struct gvm_cluster *c);
const char *gvm_fault_mode_name(enum gvm_fault_mode m);

/*
 * For launchers: make n listening sockets on 127.0.0.1 (ephemeral ports),
 * their fds in fds[0..n), and "127.0.0.1:P0,127.0.0.1:P1,..." in peers
 * (len bytes), ready for GVM_PEERS and each node's GVM_LISTEN_FD. The fds
 * are close-on-exec: clear the flag on the one a child keeps. Returns 0 or
 * -errno (-ENOSPC if peers is too short).
 */
int gvm_loopback_listeners(uint32_t n, int *fds, char *peers, size_t len);

/*
 * The same for any backend: for "cxl", peers names a fresh /dev/shm region
 * ("path=/dev/shm/gvm-PID-K") and every fds[i] is -1; otherwise
 * gvm_loopback_listeners(). gvm_loopback_done(peers) removes the region
 * once the nodes are gone.
 */
int gvm_loopback_peers(const char *transport, uint32_t n, int *fds, char *peers,
		       size_t len);
void gvm_loopback_done(const char *peers);

/*
 * In node i's child process: keep fds[i] (also across exec), close the
 * other listeners, and set GVM_NODE_ID, and GVM_LISTEN_FD unless fds[i] is
 * -1 (a shared-memory cluster).
 */
void gvm_loopback_become(uint32_t i, uint32_t n, const int *fds);

#endif /* GVM_CLUSTER_H */
