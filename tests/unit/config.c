// SPDX-License-Identifier: MIT
/*
 * Description: cluster settings come from a GVM_CONFIG file and the
 * environment, the environment winning; every bad value is refused with a
 * message naming the variable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "helpers.h"

static const char *const vars[] = {
	"GVM_CONFIG", "GVM_NODE_ID", "GVM_NODES", "GVM_PEERS", "GVM_TRANSPORT",
	"GVM_TRANSPORT_OPTS", "GVM_LISTEN_FD", "GVM_CLUSTER_ID", "GVM_MANAGER",
	"GVM_PAGE_SIZE", "GVM_REGION_SIZE", "GVM_FAULT_MODE", "GVM_CONNECT",
	"GVM_HEARTBEAT_MS", "GVM_TIMEOUT_MS", "GVM_SPIN_US", "GVM_YIELD_US",
	"PMIX_RANK",
};

static void clear(void)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* Expect a refusal whose message names what. */
static void refused(const char *what)
{
	struct gvm_cluster_config c;
	char err[256] = "";

	CHECK(gvm_cluster_config_load(&c, err, sizeof(err)) == -EINVAL);
	if (!strstr(err, what)) {
		fprintf(stderr, "message '%s' does not name %s\n", err, what);
		test_failures++;
	}
}

static const struct {
	const char *var, *value, *restore; /* restore NULL: unset */
} bad[] = {
	{"GVM_NODE_ID", "3", "1"},          /* only 3 nodes */
	{"GVM_MANAGER", "chaotic", NULL},
	{"GVM_PAGE_SIZE", "5000", NULL},    /* not a power of two */
	{"GVM_FAULT_MODE", "psychic", NULL},
	{"GVM_CONNECT", "sometimes", NULL},
	{"GVM_REGION_SIZE", "lots", NULL},
	{"GVM_NODES", "0", "3"},
	{"GVM_SPIN_US", "forever", NULL},
	{"GVM_YIELD_US", "20000000", NULL}, /* over 10 s */
};

int main(void)
{
	struct gvm_cluster_config c;
	char err[256], path[] = "/tmp/gvm-config-XXXXXX";
	FILE *f;
	int fd;

	clear();
	refused("GVM_NODE_ID");
	setenv("GVM_NODE_ID", "1", 1);
	setenv("GVM_NODES", "3", 1);
	refused("GVM_PEERS");
	setenv("GVM_PEERS", "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002", 1);
	CHECK(gvm_cluster_config_load(&c, err, sizeof(err)) == 0);
	CHECK(c.node.self == 1 && c.node.nodes == 3);
	CHECK(c.node.manager == GVM_MANAGER_FIXED && c.node.page_shift == 12);
	CHECK(c.node.npages == (64u << 20) / 4096 && c.fault_mode == GVM_FAULT_AUTO);
	CHECK(!strcmp(c.uri, "tcp:127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"));
	CHECK(c.spin_us == 50 && c.yield_us == 200);

	/* A file, overridden by the environment where both speak. */
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\nGVM_MANAGER = dynamic\nGVM_PAGE_SIZE=8192\n"
		   "GVM_REGION_SIZE=1M\nGVM_FAULT_MODE=sigbus\nGVM_TIMEOUT_MS=500\n"
		   "GVM_SPIN_US=7\n");
	fclose(f);
	setenv("GVM_CONFIG", path, 1);
	setenv("GVM_FAULT_MODE", "mprotect", 1);
	setenv("GVM_LISTEN_FD", "9", 1);
	CHECK(gvm_cluster_config_load(&c, err, sizeof(err)) == 0);
	CHECK(c.node.manager == GVM_MANAGER_DYNAMIC && c.node.page_shift == 13);
	CHECK(c.node.npages == 128 && c.fault_mode == GVM_FAULT_MPROTECT);
	CHECK(strstr(c.uri, "listen_fd=9") && strstr(c.uri, "timeout_ms=500"));
	CHECK(c.spin_us == 7 && c.yield_us == 200);

	/* Each bad value names its variable; then the good one returns. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(bad[i].var, bad[i].value, 1);
		refused(bad[i].var);
		if (bad[i].restore)
			setenv(bad[i].var, bad[i].restore, 1);
		else
			unsetenv(bad[i].var);
	}
	CHECK(gvm_cluster_config_load(&c, err, sizeof(err)) == 0);
	unlink(path);
	refused("GVM_CONFIG");
	clear();
	return test_exit("unit-config");
}
