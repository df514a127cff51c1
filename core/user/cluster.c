// SPDX-License-Identifier: MIT
/*
 * cluster.c - userspace bootstrap: configuration from a file and the
 * environment, then a node, its transport, its progress thread and its
 * mapped region.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "os/gvm_os.h"
#include "pmix_boot.h"
#include "progress.h"
#include "region.h"
#include "secret.h"

struct gvm_cluster {
	struct gvm_cluster_config cfg;
	struct gvm_transport *tp;
	struct gvm_transport *window_tp; /* GVM_WINDOW: a second backend's window */
	struct gvm_node *node;
	struct gvm_region *region;
	struct gvm_progress *progress;
};

static const char *const mode_names[] = {
	[GVM_FAULT_AUTO] = "auto",
	[GVM_FAULT_THREAD] = "thread",
	[GVM_FAULT_SIGBUS] = "sigbus",
	[GVM_FAULT_MPROTECT] = "mprotect",
};

const char *gvm_fault_mode_name(enum gvm_fault_mode m)
{
	return (unsigned)m <= GVM_FAULT_MPROTECT ? mode_names[m] : "unknown";
}

/* ==== Configuration ==== */

/* Settings as read, before interpretation: the file first, env overrides. */
struct settings {
	char *node_id, *nodes, *peers, *transport, *transport_opts, *listen_fd;
	char *cluster_id, *manager, *page_size, *region_size, *fault_mode;
	char *connect, *heartbeat_ms, *timeout_ms, *policy, *window;
	char *spin_us, *yield_us;
	char *secret_file, *secret, *mac, *insecure;
};

static const struct {
	const char *name;
	size_t off;
} keys[] = {
#define KEY(n, f) {n, offsetof(struct settings, f)}
	KEY("GVM_NODE_ID", node_id),
	KEY("GVM_NODES", nodes),
	KEY("GVM_PEERS", peers),
	KEY("GVM_TRANSPORT", transport),
	KEY("GVM_TRANSPORT_OPTS", transport_opts),
	KEY("GVM_LISTEN_FD", listen_fd),
	KEY("GVM_CLUSTER_ID", cluster_id),
	KEY("GVM_MANAGER", manager),
	KEY("GVM_PAGE_SIZE", page_size),
	KEY("GVM_REGION_SIZE", region_size),
	KEY("GVM_FAULT_MODE", fault_mode),
	KEY("GVM_CONNECT", connect),
	KEY("GVM_HEARTBEAT_MS", heartbeat_ms),
	KEY("GVM_TIMEOUT_MS", timeout_ms),
	KEY("GVM_POLICY", policy),
	KEY("GVM_WINDOW", window),
	KEY("GVM_SPIN_US", spin_us),
	KEY("GVM_YIELD_US", yield_us),
	KEY("GVM_SECRET_FILE", secret_file),
	KEY("GVM_SECRET", secret),
	KEY("GVM_MAC", mac),
	KEY("GVM_INSECURE", insecure),
#undef KEY
};

static char **slot(struct settings *s, size_t k)
{
	return (char **)((char *)s + keys[k].off);
}

static void set_key(struct settings *s, const char *name, const char *value)
{
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!strcmp(keys[k].name, name)) {
			free(*slot(s, k));
			*slot(s, k) = strdup(value);
			return;
		}
	gvm_log_warn("config: unknown setting %s ignored", name);
}

static int read_file(struct settings *s, const char *path, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;

	if (!f) {
		snprintf(err, errlen, "GVM_CONFIG=%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq, *end;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: want KEY=VALUE", path, lineno);
			fclose(f);
			return -EINVAL;
		}
		*eq = 0;
		for (end = eq; end > p && isspace((unsigned char)end[-1]); end--)
			end[-1] = 0;
		for (eq++; isspace((unsigned char)*eq); eq++)
			;
		for (end = eq + strlen(eq); end > eq && isspace((unsigned char)end[-1]); end--)
			end[-1] = 0;
		set_key(s, p, eq);
	}
	fclose(f);
	return 0;
}

static int parse_num(const char *name, const char *v, uint64_t max,
		     uint64_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	switch (*end) { /* sizes may say K, M or G */
	case 'k': case 'K': x <<= 10; end++; break;
	case 'm': case 'M': x <<= 20; end++; break;
	case 'g': case 'G': x <<= 30; end++; break;
	}
	if (errno || *end || end == v || x > max) {
		snprintf(err, errlen, "%s=%s: not a number up to %llu", name, v,
			 (unsigned long long)max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static void free_settings(struct settings *s)
{
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		free(*slot(s, k));
}

/*
 * GVM_SECRET_FILE, or GVM_SECRET in the GVM_CONFIG file (never the
 * environment, which other tools print and children inherit); GVM_MAC
 * (default 1) tags every message; GVM_INSECURE=1 lets a node without a
 * secret listen beyond loopback.
 */
static int interpret_secret(const struct settings *s, struct gvm_cluster_config *c,
			    char *err, size_t errlen)
{
	bool tags = true;
	int rc;

	if (s->mac && strcmp(s->mac, "0") && strcmp(s->mac, "1")) {
		snprintf(err, errlen, "GVM_MAC=%s: want 1 (tag every message) or 0", s->mac);
		return -EINVAL;
	}
	if (s->mac)
		tags = !strcmp(s->mac, "1");
	c->insecure_ok = s->insecure && !strcmp(s->insecure, "1");
	if (getenv("GVM_SECRET")) {
		snprintf(err, errlen, "GVM_SECRET belongs in a file, not the environment: "
			 "use GVM_SECRET_FILE, or GVM_SECRET in the GVM_CONFIG file");
		return -EINVAL;
	}
	if (s->secret_file) {
		rc = gvm_cluster_secret_load(s->secret_file, tags, &c->auth, err, errlen);
		if (rc)
			return rc;
		c->has_secret = true;
	} else if (s->secret) {
		const char *cfgfile = getenv("GVM_CONFIG");
		int fd = open(cfgfile, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(err, errlen, "GVM_CONFIG=%s: %s", cfgfile, strerror(errno));
			return -EINVAL;
		}
		rc = gvm_secret_file_private("GVM_CONFIG", cfgfile, fd, err, errlen);
		close(fd);
		if (!rc && gvm_auth_init(&c->auth, s->secret, strlen(s->secret),
					 tags ? GVM_AUTH_TAGS : 0)) {
			snprintf(err, errlen, "GVM_SECRET in %s: want at least %u bytes", cfgfile,
				 GVM_SECRET_MIN);
			rc = -EINVAL;
		}
		if (rc)
			return rc;
		c->has_secret = true;
	}
	return 0;
}

static int interpret(const struct settings *s, struct gvm_cluster_config *c,
		     char *err, size_t errlen)
{
	uint64_t v, page_size = 4096, region = 64ull << 20;
	size_t off;

	memset(c, 0, sizeof(*c));
	if (!s->node_id || !s->nodes) {
		snprintf(err, errlen, "GVM_NODE_ID and GVM_NODES must be set "
			 "(or run under gvmrun, which sets them)");
		return -EINVAL;
	}
	if (parse_num("GVM_NODES", s->nodes, GVM_MAX_NODES, &v, err, errlen))
		return -EINVAL;
	if (!v) {
		snprintf(err, errlen, "GVM_NODES=0: a cluster needs a node");
		return -EINVAL;
	}
	c->node.nodes = (uint32_t)v;
	if (parse_num("GVM_NODE_ID", s->node_id, c->node.nodes - 1, &v, err, errlen))
		return -EINVAL;
	c->node.self = (gvm_node_id)v;
	c->node.cluster_id = 1;
	if (s->cluster_id &&
	    parse_num("GVM_CLUSTER_ID", s->cluster_id, UINT64_MAX, &c->node.cluster_id, err, errlen))
		return -EINVAL;
	c->node.manager = GVM_MANAGER_FIXED;
	if (s->manager && gvm_manager_parse(s->manager, &c->node.manager)) {
		snprintf(err, errlen, "GVM_MANAGER=%s: want fixed, dynamic or central", s->manager);
		return -EINVAL;
	}
	if (s->page_size &&
	    parse_num("GVM_PAGE_SIZE", s->page_size, 1u << GVM_PAGE_SHIFT_MAX, &page_size, err, errlen))
		return -EINVAL;
	if (page_size & (page_size - 1) || page_size < 4096) {
		snprintf(err, errlen, "GVM_PAGE_SIZE=%llu: want a power of two from 4096 to %u",
			 (unsigned long long)page_size, 1u << GVM_PAGE_SHIFT_MAX);
		return -EINVAL;
	}
	c->node.page_shift = (uint32_t)__builtin_ctzll(page_size);
	if (s->region_size &&
	    parse_num("GVM_REGION_SIZE", s->region_size, 1ull << 40, &region, err, errlen))
		return -EINVAL;
	c->node.npages = (region + page_size - 1) / page_size;
	if (!c->node.npages) {
		snprintf(err, errlen, "GVM_REGION_SIZE must be at least one page");
		return -EINVAL;
	}
	c->fault_mode = GVM_FAULT_AUTO;
	if (s->fault_mode) {
		int m;

		for (m = 0; m <= GVM_FAULT_MPROTECT; m++)
			if (!strcmp(s->fault_mode, mode_names[m]))
				break;
		if (m > GVM_FAULT_MPROTECT) {
			snprintf(err, errlen, "GVM_FAULT_MODE=%s: want auto, thread, sigbus or mprotect",
				 s->fault_mode);
			return -EINVAL;
		}
		c->fault_mode = (enum gvm_fault_mode)m;
	}
	if (s->connect && strcmp(s->connect, "lazy") && strcmp(s->connect, "eager")) {
		snprintf(err, errlen, "GVM_CONNECT=%s: want lazy or eager", s->connect);
		return -EINVAL;
	}
	c->eager_connect = s->connect && !strcmp(s->connect, "eager");
	if (s->policy) {
		size_t len = strcspn(s->policy, ":");

		snprintf(c->policy, sizeof(c->policy), "%.*s", (int)len, s->policy);
		if (len >= sizeof(c->policy) || !gvm_policy_find(c->policy)) {
			snprintf(err, errlen, "GVM_POLICY=%s: want never, always-after, hotpage or readahead[:OPTIONS]",
				 s->policy);
			return -EINVAL;
		}
		snprintf(c->policy_options, sizeof(c->policy_options), "%s",
			 s->policy[len] ? s->policy + len + 1 : "");
	}
	if (s->window && snprintf(c->window, sizeof(c->window), "%s", s->window) >=
				 (int)sizeof(c->window)) {
		snprintf(err, errlen, "GVM_WINDOW is too long");
		return -EINVAL;
	}
	c->spin_us = 50;
	c->yield_us = 200;
	if (s->spin_us && parse_num("GVM_SPIN_US", s->spin_us, 10000000, &v, err, errlen))
		return -EINVAL;
	if (s->spin_us)
		c->spin_us = (uint32_t)v;
	if (s->yield_us && parse_num("GVM_YIELD_US", s->yield_us, 10000000, &v, err, errlen))
		return -EINVAL;
	if (s->yield_us)
		c->yield_us = (uint32_t)v;
	snprintf(c->transport, sizeof(c->transport), "%s", s->transport ? s->transport : "tcp");
	if (!s->peers) {
		snprintf(err, errlen, "GVM_PEERS must list every node's address (HOST:PORT,...)");
		return -EINVAL;
	}
	off = (size_t)snprintf(c->uri, sizeof(c->uri), "%s:%s?", c->transport, s->peers);
#define OPT(key, val)                                                         \
	do {                                                                  \
		if (val)                                                      \
			off += (size_t)snprintf(c->uri + off, off < sizeof(c->uri) ? sizeof(c->uri) - off : 0, \
						"%s=%s&", key, val);          \
	} while (0)
	OPT("listen_fd", s->listen_fd);
	OPT("heartbeat_ms", s->heartbeat_ms);
	OPT("timeout_ms", s->timeout_ms);
#undef OPT
	if (s->transport_opts)
		off += (size_t)snprintf(c->uri + off, off < sizeof(c->uri) ? sizeof(c->uri) - off : 0,
					"%s&", s->transport_opts);
	if (off >= sizeof(c->uri)) {
		snprintf(err, errlen, "GVM_PEERS and options are too long");
		return -EINVAL;
	}
	c->uri[off - 1] = 0; /* the last '&' or the '?' */
	return interpret_secret(s, c, err, errlen);
}

int gvm_cluster_config_load(struct gvm_cluster_config *cfg, char *err,
			    size_t errlen)
{
	struct settings s = {0};
	const char *file = getenv("GVM_CONFIG");
	int rc;

	/* Under mpirun/srun, PMIx tells us who we are and where the others are. */
	rc = gvm_pmix_bootstrap(err, errlen);
	if (rc < 0)
		return rc;
	rc = 0;
	if (file)
		rc = read_file(&s, file, err, errlen);
	for (size_t k = 0; !rc && k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *v = getenv(keys[k].name);

		if (v)
			set_key(&s, keys[k].name, v);
	}
	if (!rc)
		rc = interpret(&s, cfg, err, errlen);
	free_settings(&s);
	return rc;
}

/* ==== Running ==== */

static int refuse_messages(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	(void)arg, (void)src, (void)msg, (void)len;
	return -EPROTO;
}

/*
 * The shared window promoted pages live in: GVM_WINDOW's backend (e.g. a
 * CXL region opened for its window alone), else the messaging backend's
 * own if it has one. None: the policy's verdicts have nowhere to go.
 */
static int open_window(struct gvm_cluster *c, struct gvm_config *node)
{
	struct gvm_transport *wt = c->tp;
	size_t len = 0;
	void *base = NULL;
	int rc;

	if (c->cfg.window[0]) {
		char name[32];
		struct gvm_transport_params p = {
			.self = node->self, .nodes = node->nodes, .uri = c->cfg.window,
			.recv = refuse_messages,
		};
		const struct gvm_transport_ops *ops;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(c->cfg.window, ":"),
			 c->cfg.window);
		ops = gvm_transport_find(name);
		if (!ops) {
			gvm_log_err("cluster: GVM_WINDOW=%s: no transport '%s' in this build",
				    c->cfg.window, name);
			return -ENOENT;
		}
		rc = gvm_transport_open(ops, &p, &c->window_tp);
		if (rc)
			return rc;
		wt = c->window_tp;
	}
	if (wt->caps & GVM_CAP_SHARED_WINDOW) {
		rc = wt->ops.window_map(wt, &base, &len);
		if (rc && c->window_tp)
			return rc;
	} else if (c->window_tp) {
		gvm_log_err("cluster: GVM_WINDOW=%s gives no shared window", c->cfg.window);
		return -EINVAL;
	}
	node->window = base;
	node->window_len = len;
	/* A policy that promotes sees faults or transfers, or judges promoted
	 * pages; readahead does none of that. */
	if (!base && node->policy &&
	    (node->policy->on_fault || node->policy->on_transfer ||
	     node->policy->on_invalidate || node->policy->check_promoted))
		gvm_log_warn("cluster: policy %s has no shared window to promote into "
			     "(set GVM_WINDOW, or use a transport with one such as cxl)",
			     node->policy->name);
	return 0;
}

int gvm_cluster_open(const struct gvm_cluster_config *cfg,
		     struct gvm_cluster **out)
{
	struct gvm_cluster *c = calloc(1, sizeof(*c));
	struct gvm_transport_params tp = {0};
	struct gvm_progress_budget budget;
	const struct gvm_transport_ops *ops;
	struct gvm_config node;
	struct gvm_hello hello;
	char err[256];
	int rc;

	if (!c)
		return -ENOMEM;
	if (!cfg) {
		rc = gvm_cluster_config_load(&c->cfg, err, sizeof(err));
		if (rc) {
			gvm_log_err("cluster: %s", err);
			free(c);
			return rc;
		}
	} else {
		c->cfg = *cfg;
	}
	ops = gvm_transport_find(c->cfg.transport);
	if (!ops) {
		gvm_log_err("cluster: no transport '%s' in this build", c->cfg.transport);
		rc = -ENOENT;
		goto out_close;
	}
	rc = gvm_region_create(c->cfg.fault_mode, 1ul << c->cfg.node.page_shift,
			       c->cfg.node.npages, &c->region);
	if (rc)
		goto out_close;
	node = c->cfg.node;
	node.frontend = gvm_region_frontend(c->region);
	node.frontend_arg = c->region;
	if (c->cfg.policy[0]) {
		node.policy = gvm_policy_find(c->cfg.policy);
		node.policy_options = c->cfg.policy_options;
	}
	gvm_config_hello(&node, &hello);
	tp.self = node.self;
	tp.nodes = node.nodes;
	tp.uri = c->cfg.uri;
	tp.hello = &hello;
	tp.auth = c->cfg.has_secret ? &c->cfg.auth : NULL;
	tp.insecure_ok = c->cfg.insecure_ok;
	tp.recv = gvm_node_recv;
	tp.peer_down = gvm_node_peer_down;
	rc = gvm_transport_open(ops, &tp, &c->tp);
	if (rc)
		goto out_close;
	rc = open_window(c, &node);
	if (rc)
		goto out_close;
	rc = gvm_node_create(&node, c->tp, &c->node);
	if (rc) {
		gvm_log_err("cluster: bad node configuration: %s", strerror(-rc));
		goto out_close;
	}
	/* Nothing is delivered before the progress thread runs. */
	c->tp->recv_arg = c->node;
	c->tp->peer_down_arg = c->node;
	budget.spin_ns = c->cfg.spin_us * 1000ull;
	budget.yield_ns = c->cfg.yield_us * 1000ull;
	rc = gvm_progress_create(c->tp, c->node, &budget, &c->progress);
	if (rc)
		goto out_close;
	rc = gvm_region_start(c->region, c->node, c->progress);
	if (rc)
		goto out_close;
	rc = gvm_progress_start(c->progress);
	if (rc)
		goto out_close;
	for (gvm_node_id i = 0; c->cfg.eager_connect && i < node.nodes; i++) {
		if (i == node.self)
			continue;
		rc = c->tp->ops.connect(c->tp, i);
		if (rc)
			goto out_close;
	}
	gvm_log_info("node %u of %u up: %s manager, %llu pages of %lu B, %s faults, frames %s, %s, policy %s, window %llu B",
		     node.self, node.nodes, gvm_manager_name(node.manager),
		     (unsigned long long)node.npages, 1ul << node.page_shift,
		     gvm_fault_mode_name(gvm_region_mode(c->region)),
		     gvm_region_frames_mapped(c->region) ? "mapped" : "copied", c->cfg.uri,
		     node.policy ? node.policy->name : "never",
		     (unsigned long long)node.window_len);
	*out = c;
	return 0;

out_close:
	gvm_cluster_close(c);
	return rc;
}

void gvm_cluster_close(struct gvm_cluster *c)
{
	if (!c)
		return;
	/* The progress thread calls into the region (mapping granted pages,
	 * invalidations, demotions at a tick), the region's fault handler
	 * into the engine and the progress: stop them in that order before
	 * the node goes. */
	gvm_progress_stop(c->progress);
	gvm_region_destroy(c->region);
	gvm_progress_destroy(c->progress);
	if (c->node) {
		struct gvm_stats st;

		gvm_node_stats(c->node, &st);
		if (st.promotions || st.window_full)
			gvm_log_info("node %u: promoted %llu pages, demoted %llu, %llu refused (window share full)",
				     c->cfg.node.self, (unsigned long long)st.promotions,
				     (unsigned long long)st.demotions,
				     (unsigned long long)st.window_full);
	}
	gvm_node_destroy(c->node);
	if (c->tp)
		gvm_tp_close(c->tp);
	if (c->window_tp)
		gvm_tp_close(c->window_tp);
	gvm_pmix_finalize();
	free(c);
}

void *gvm_dsm_map(struct gvm_cluster *c, size_t *len)
{
	if (len)
		*len = gvm_region_len(c->region);
	return gvm_region_base(c->region);
}

int gvm_cluster_barrier(struct gvm_cluster *c)
{
	return gvm_barrier(c->node);
}

struct gvm_node *gvm_cluster_node(struct gvm_cluster *c)
{
	return c->node;
}

gvm_node_id gvm_cluster_self(const struct gvm_cluster *c)
{
	return c->cfg.node.self;
}

uint32_t gvm_cluster_nodes(const struct gvm_cluster *c)
{
	return c->cfg.node.nodes;
}

bool gvm_cluster_frames_mapped(const struct gvm_cluster *c)
{
	return gvm_region_frames_mapped(c->region);
}

enum gvm_fault_mode gvm_cluster_fault_mode(const struct gvm_cluster *c)
{
	return gvm_region_mode(c->region);
}
