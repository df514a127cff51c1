// SPDX-License-Identifier: MIT
/*
 * pmix.c - cluster bootstrap through PMIx (built when pkg-config finds pmix).
 *
 * Every rank listens on an ephemeral port, puts "gvm.addr" = HOST:PORT,
 * and a collecting fence hands each rank everybody's address. When all
 * ranks share this host the addresses are 127.0.0.1; otherwise the host
 * name (or GVM_PUBLISH_ADDR) is published and we listen on GVM_BIND_ADDR
 * (default 0.0.0.0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/gvm_os.h"
#include "pmix_boot.h"

static bool initialised;

static int get_u32(const pmix_proc_t *p, const char *key, uint32_t *out)
{
	pmix_value_t *v = NULL;

	if (PMIx_Get(p, key, NULL, 0, &v) != PMIX_SUCCESS || !v)
		return -ENOENT;
	*out = v->data.uint32;
	PMIX_VALUE_RELEASE(v);
	return 0;
}

static int listen_any(const char *bind_addr, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

int gvm_pmix_bootstrap(char *err, size_t errlen)
{
	pmix_proc_t me, all;
	pmix_info_t collect;
	pmix_value_t v;
	bool yes = true;
	uint32_t size, local = 0;
	const char *bind_addr, *publish;
	char host[256], addr[300], num[32], *peers;
	size_t off = 0;
	uint16_t port;
	uint64_t id = 14695981039346656037ull;
	int fd;

	if (!getenv("PMIX_RANK") || getenv("GVM_NODE_ID"))
		return 0;
	if (PMIx_Init(&me, NULL, 0) != PMIX_SUCCESS) {
		snprintf(err, errlen, "PMIx_Init failed (PMIX_RANK is set: is the launcher's PMIx server reachable?)");
		return -EIO;
	}
	initialised = true;
	PMIX_PROC_CONSTRUCT(&all);
	PMIX_LOAD_PROCID(&all, me.nspace, PMIX_RANK_WILDCARD);
	if (get_u32(&all, PMIX_JOB_SIZE, &size)) {
		snprintf(err, errlen, "PMIx: no job size");
		return -EIO;
	}
	get_u32(&all, PMIX_LOCAL_SIZE, &local);
	bind_addr = getenv("GVM_BIND_ADDR");
	publish = getenv("GVM_PUBLISH_ADDR");
	if (local == size) { /* one host: stay on loopback */
		bind_addr = bind_addr ? bind_addr : "127.0.0.1";
		publish = publish ? publish : "127.0.0.1";
	} else {
		bind_addr = bind_addr ? bind_addr : "0.0.0.0";
		if (!publish && !gethostname(host, sizeof(host)))
			publish = host;
	}
	fd = listen_any(bind_addr, &port);
	if (fd < 0 || !publish) {
		snprintf(err, errlen, "PMIx bootstrap: cannot listen on %s", bind_addr);
		return -EIO;
	}
	snprintf(addr, sizeof(addr), "%s:%u", publish, port);
	PMIX_VALUE_LOAD(&v, addr, PMIX_STRING);
	PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
	if (PMIx_Put(PMIX_GLOBAL, "gvm.addr", &v) != PMIX_SUCCESS ||
	    PMIx_Commit() != PMIX_SUCCESS || PMIx_Fence(&all, 1, &collect, 1) != PMIX_SUCCESS) {
		snprintf(err, errlen, "PMIx: exchanging addresses failed");
		close(fd);
		return -EIO;
	}
	PMIX_VALUE_DESTRUCT(&v);
	peers = calloc(size, sizeof(addr) + 1);
	if (!peers) {
		close(fd);
		return -ENOMEM;
	}
	for (uint32_t r = 0; r < size; r++) {
		pmix_proc_t p;
		pmix_value_t *got = NULL;

		PMIX_LOAD_PROCID(&p, me.nspace, r);
		if (PMIx_Get(&p, "gvm.addr", NULL, 0, &got) != PMIX_SUCCESS || !got ||
		    got->type != PMIX_STRING) {
			snprintf(err, errlen, "PMIx: rank %u published no address", r);
			free(peers);
			close(fd);
			return -EIO;
		}
		off += (size_t)sprintf(peers + off, "%s%s", r ? "," : "", got->data.string);
		PMIX_VALUE_RELEASE(got);
	}
	for (const char *c = me.nspace; *c; c++) /* nodes of one job, one cluster */
		id = (id ^ (uint8_t)*c) * 1099511628211ull;
	snprintf(num, sizeof(num), "%u", me.rank);
	setenv("GVM_NODE_ID", num, 1);
	snprintf(num, sizeof(num), "%u", size);
	setenv("GVM_NODES", num, 1);
	setenv("GVM_PEERS", peers, 1);
	snprintf(num, sizeof(num), "%d", fd);
	setenv("GVM_LISTEN_FD", num, 1);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	setenv("GVM_CLUSTER_ID", num, 1);
	gvm_log_info("PMIx bootstrap: rank %u of %u in %s, peers %s", me.rank, size,
		     me.nspace, peers);
	free(peers);
	return 1;
}

void gvm_pmix_finalize(void)
{
	if (initialised) {
		PMIx_Finalize(NULL, 0);
		initialised = false;
	}
}
