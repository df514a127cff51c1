// SPDX-License-Identifier: MIT
/*
 * Description: the CXL backend around its rings: a mismatched hello is
 * refused on both sides naming the field and both values; the window is
 * page-aligned, shared, duplicable with mremap and untouched by ring
 * traffic; rings=0 gives a window and nothing else; a memfd works as a
 * region; racing openers lay a region out once; a node id cannot be taken
 * twice (but can be taken over); bad options, a geometry mismatch and a
 * devdax device on a machine without one are refused with a clear message;
 * an idle progress() sleeps and a message wakes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gvm/transport.h>

#include "os/gvm_os.h"
#include "../../transports/cxl/layout.h"
#include "helpers.h"

/* Named, so the linker takes the backend out of libgvmdsm.a. */
extern const struct gvm_transport_ops cxl_ops;

static char logbuf[4096];

static void capture(int level, const char *line)
{
	size_t off = strlen(logbuf);

	(void)level;
	snprintf(logbuf + off, sizeof(logbuf) - off, "%s\n", line);
}

static char path[64];
static int got[4], downs[4];

static int on_recv(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	(void)src, (void)msg, (void)len;
	got[(intptr_t)arg]++;
	return 0;
}

static void on_down(void *arg, gvm_node_id peer, int reason)
{
	(void)peer, (void)reason;
	downs[(intptr_t)arg]++;
}

static int open_ep(gvm_node_id self, uint32_t nodes, const char *uri,
		   const struct gvm_hello *h, struct gvm_transport **t)
{
	struct gvm_transport_params p = {
		.self = self, .nodes = nodes, .uri = uri, .hello = h,
		.recv = on_recv, .recv_arg = (void *)(intptr_t)self,
		.peer_down = on_down, .peer_down_arg = (void *)(intptr_t)self,
	};

	return gvm_transport_open(&cxl_ops, &p, t);
}

static void pump(struct gvm_transport **t, int n, int rounds)
{
	while (rounds--)
		for (int i = 0; i < n; i++)
			if (t[i])
				gvm_tp_progress(t[i]);
}

static void reset(void)
{
	unlink(path);
	memset(got, 0, sizeof(got));
	memset(downs, 0, sizeof(downs));
	logbuf[0] = 0;
}

static void hello_refused(void)
{
	struct gvm_hello h0 = {.proto = 1, .cluster_id = 7, .nodes = 2, .node = 0,
			       .page_shift = 12, .manager = 1};
	struct gvm_hello h1 = h0;
	struct gvm_transport *t[2] = {0};
	char uri[128];
	uint8_t m[16] = {0};
	struct gvm_iov iov = {m, sizeof(m)};

	reset();
	h1.node = 1;
	h1.page_shift = 13;
	snprintf(uri, sizeof(uri), "cxl:path=%s?heartbeat_ms=10", path);
	CHECK(open_ep(0, 2, uri, &h0, &t[0]) == 0);
	CHECK(open_ep(1, 2, uri, &h1, &t[1]) == 0);
	gvm_tp_send(t[1], 0, &iov, 1);
	for (int i = 0; i < 200 && !(downs[0] && downs[1]); i++) {
		pump(t, 2, 1);
		usleep(1000);
	}
	CHECK(downs[0] == 1 && downs[1] == 1);
	CHECK(got[0] == 0); /* nothing from a refused peer */
	CHECK(strstr(logbuf, "refuses") && strstr(logbuf, "page size") &&
	      strstr(logbuf, "4096") && strstr(logbuf, "8192"));
	gvm_tp_close(t[0]);
	gvm_tp_close(t[1]);
}

static void window(void)
{
	struct gvm_transport *t[2] = {0};
	uint8_t *w0, *w1, *dup, m[4096];
	size_t l0, l1, bad = 0;
	char uri[128];

	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s?window=1M&slots=64", path);
	CHECK(open_ep(0, 2, uri, NULL, &t[0]) == 0);
	CHECK(open_ep(1, 2, uri, NULL, &t[1]) == 0);
	CHECK(t[0]->caps & GVM_CAP_SHARED_WINDOW);
	CHECK(t[0]->ops.window_map(t[0], (void **)&w0, &l0) == 0);
	CHECK(t[1]->ops.window_map(t[1], (void **)&w1, &l1) == 0);
	CHECK(l0 == 1u << 20 && l1 == l0 && w0 != w1);
	CHECK(!((uintptr_t)w0 % 4096) && !((uintptr_t)w1 % 4096));
	for (size_t i = 0; i < l0; i++)
		w0[i] = (uint8_t)(i * 31 + 1);
	/* Ring traffic of every size, both ways, never touches the window. */
	for (uint32_t k = 0; k < 3000; k++) {
		struct gvm_iov iov = {m, (k * 97) % t[0]->max_msg % sizeof(m)};

		memset(m, 0xee, sizeof(m));
		gvm_tp_send(t[k & 1], !(k & 1), &iov, 1);
		pump(t, 2, 2);
	}
	pump(t, 2, 100);
	CHECK(got[0] + got[1] == 3000);
	for (size_t i = 0; i < l1; i++)
		bad += w1[i] != (uint8_t)(i * 31 + 1);
	CHECK(bad == 0);
	/* The engine duplicates one page of the window elsewhere. */
	dup = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mremap(w0 + 8192, 0, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dup) == dup);
	dup[5] = 0x5a;
	CHECK(w1[8192 + 5] == 0x5a);
	munmap(dup, 4096);
	gvm_tp_close(t[0]);
	gvm_tp_close(t[1]);
}

static void window_only(void)
{
	struct gvm_transport *t[2] = {0}, *r = NULL;
	uint8_t m[8] = {0}, *w0, *w1;
	struct gvm_iov iov = {m, sizeof(m)};
	size_t l;
	char uri[128];

	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s?rings=0", path);
	CHECK(open_ep(0, 2, uri, NULL, &t[0]) == 0);
	CHECK(open_ep(1, 2, uri, NULL, &t[1]) == 0);
	CHECK(t[0]->caps == GVM_CAP_SHARED_WINDOW);
	CHECK(gvm_tp_send(t[0], 1, &iov, 1) == -EOPNOTSUPP);
	CHECK(t[0]->ops.window_map(t[0], (void **)&w0, &l) == 0 && l == 4u << 20);
	CHECK(t[1]->ops.window_map(t[1], (void **)&w1, &l) == 0);
	w0[100] = 42;
	CHECK(w1[100] == 42);
	/* The region is laid out without rings: a node asking for rings is refused. */
	snprintf(uri, sizeof(uri), "cxl:path=%s", path);
	logbuf[0] = 0;
	CHECK(open_ep(1, 3, uri, NULL, &r) == -EINVAL);
	CHECK(strstr(logbuf, "nodes=2") && strstr(logbuf, "asks for 3"));
	gvm_tp_close(t[0]);
	gvm_tp_close(t[1]);
	/* No window: no bit, and window_map says so. */
	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s?window=0", path);
	CHECK(open_ep(0, 2, uri, NULL, &t[0]) == 0);
	CHECK(!(t[0]->caps & GVM_CAP_SHARED_WINDOW));
	CHECK(t[0]->ops.window_map(t[0], (void **)&w0, &l) == -EOPNOTSUPP);
	gvm_tp_close(t[0]);
}

static void memfd_region(void)
{
	int fd = memfd_create("gvm-cxl-test", MFD_CLOEXEC);
	struct gvm_transport *t[2] = {0};
	uint8_t m[100] = {0};
	struct gvm_iov iov = {m, sizeof(m)};
	char uri[64];

	reset();
	snprintf(uri, sizeof(uri), "cxl:memfd=%d", fd);
	CHECK(open_ep(0, 2, uri, NULL, &t[0]) == 0);
	CHECK(open_ep(1, 2, uri, NULL, &t[1]) == 0);
	CHECK(gvm_tp_send(t[0], 1, &iov, 1) == 0);
	pump(t, 2, 100);
	CHECK(got[1] == 1);
	gvm_tp_close(t[0]);
	gvm_tp_close(t[1]);
	close(fd);
}

/* Four processes open a fresh region at once: it is laid out once. */
static void racing_openers(void)
{
	int go[2], ready[2];
	pid_t pid[4];
	char uri[128];
	int ok = 0;

	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s?slots=64", path);
	CHECK(pipe(go) == 0 && pipe(ready) == 0);
	for (int i = 0; i < 4; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct gvm_transport *t;
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 0 || open_ep((gvm_node_id)i, 4, uri, NULL, &t))
				_exit(1);
			/* Stay attached until all are, so no one lays it out again. */
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
	}
	close(go[1]); /* all start together */
	for (int i = 0; i < 4; i++) {
		char c;

		CHECK(read(ready[0], &c, 1) == 1);
	}
	{
		int fd = open(path, O_RDONLY);
		struct cxl_header h;

		CHECK(fd >= 0 && pread(fd, &h, sizeof(h), 0) == sizeof(h));
		CHECK(h.magic == CXL_MAGIC && h.epoch == 1 && h.nodes == 4);
		close(fd);
	}
	for (int i = 0; i < 4; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK(ok == 4);
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
}

static void refusals(void)
{
	static const char *const bad[] = {
		"cxl:path=%s?slots=100", "cxl:path=%s?window=1000",
		"cxl:path=%s?color=blue", "cxl:nowhere=%s", "cxl:path=%s?size=4096",
		"cxl:path=%s?flush=2",
	};
	struct gvm_transport *t = NULL, *u = NULL;
	char uri[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset();
		snprintf(uri, sizeof(uri), bad[i], path);
		CHECK(open_ep(0, 2, uri, NULL, &t) == -EINVAL);
		CHECK(logbuf[0]);
	}
	/* One id, two live processes (here: endpoints): refused, unless taken over. */
	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s", path);
	CHECK(open_ep(0, 2, uri, NULL, &t) == 0);
	CHECK(open_ep(0, 2, uri, NULL, &u) == -EBUSY && strstr(logbuf, "attached"));
	snprintf(uri, sizeof(uri), "cxl:path=%s?takeover=1", path);
	CHECK(open_ep(0, 2, uri, NULL, &u) == 0);
	gvm_tp_close(t); /* no longer its entry: leaves it to u */
	snprintf(uri, sizeof(uri), "cxl:path=%s", path);
	CHECK(open_ep(0, 2, uri, NULL, &t) == -EBUSY);
	gvm_tp_close(u);
}

/* No devdax device on this machine: a clear refusal, not a crash. */
static void dax_absent(void)
{
	struct gvm_transport *t = NULL;
	int err;

	reset();
	err = open_ep(0, 2, "cxl:dax=/dev/dax0.0", NULL, &t);
	printf("dax=/dev/dax0.0: %s", logbuf);
	if (access("/dev/dax0.0", F_OK) == 0) {
		printf("(this machine has /dev/dax0.0: the no-device case is not reachable)\n");
		if (!err)
			gvm_tp_close(t);
		return;
	}
	CHECK(err == -ENODEV || err == -ENOTSUP);
	CHECK(strstr(logbuf, "/dev/dax0.0") &&
	      (strstr(logbuf, "no dax devices") || strstr(logbuf, "no such dax device") ||
	       strstr(logbuf, "libdaxctl")));
}

struct later {
	struct gvm_transport *t;
};

static void *send_later(void *arg)
{
	struct later *l = arg;
	uint8_t m[8] = {0};
	struct gvm_iov iov = {m, sizeof(m)};

	usleep(150000);
	gvm_tp_send(l->t, 0, &iov, 1);
	return NULL;
}

/* An idle progress() sleeps (little CPU); a message wakes it at once. */
static void backoff(void)
{
	struct gvm_transport *t[2] = {0};
	struct rusage r0, r1;
	struct later l;
	pthread_t th;
	uint64_t t0, woke, cpu_us;
	char uri[128];

	reset();
	snprintf(uri, sizeof(uri), "cxl:path=%s?heartbeat_ms=50", path);
	CHECK(open_ep(0, 2, uri, NULL, &t[0]) == 0);
	CHECK(open_ep(1, 2, uri, NULL, &t[1]) == 0);
	pump(t, 2, 5);
	l.t = t[1];
	getrusage(RUSAGE_THREAD, &r0);
	t0 = gvm_os_now_ns();
	pthread_create(&th, NULL, send_later, &l);
	while (!got[0] && gvm_os_now_ns() - t0 < 2000000000ull)
		gvm_tp_poll(t[0], 1000000000, 20000, 200000);
	woke = gvm_os_now_ns() - t0;
	getrusage(RUSAGE_THREAD, &r1);
	pthread_join(th, NULL);
	cpu_us = (uint64_t)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000 +
		 (uint64_t)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
		 (uint64_t)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000 +
		 (uint64_t)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
	printf("idle wait: woke after %llu ms, %llu us of CPU\n",
	       (unsigned long long)(woke / 1000000), (unsigned long long)cpu_us);
	CHECK(got[0] == 1);
	CHECK(woke < 190000000ull);  /* the doorbell, not the next heartbeat */
	CHECK(cpu_us < 60000);       /* of 150 ms idle */
	gvm_tp_close(t[0]);
	gvm_tp_close(t[1]);
}

int main(void)
{
	gvm_os_log_set_sink(capture);
	snprintf(path, sizeof(path), "/dev/shm/gvm-unit-cxl-%d", (int)getpid());
	hello_refused();
	window();
	window_only();
	memfd_region();
	racing_openers();
	refusals();
	dax_absent();
	backoff();
	unlink(path);
	return test_exit("cxl backend");
}
