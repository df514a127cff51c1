// SPDX-License-Identifier: MIT
/*
 * tp_lat.c - transport ping-pong latency (half round trip), next to a raw
 * socket ping-pong of the same sizes on the same path, in the same run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gvm/cluster.h>
#include <gvm/transport.h>

#include "bench.h"

struct side {
	struct gvm_transport *tp;
	bool echo;
	volatile uint64_t got;
};

static int on_recv(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	struct side *s = arg;

	s->got++;
	if (s->echo) {
		struct gvm_iov iov = {msg, len};

		gvm_tp_send(s->tp, src, &iov, 1);
	}
	return 0;
}

static int open_side(const struct bench_opts *o, const char *addrs, int lfd,
		     gvm_node_id self, struct side *s)
{
	const struct gvm_transport_ops *ops = gvm_transport_find(o->transport);
	char uri[768];
	struct gvm_transport_params p = {
		.self = self, .nodes = 2, .uri = uri, .recv = on_recv, .recv_arg = s,
	};

	if (!ops) {
		fprintf(stderr, "gvm-bench: no transport '%s' in this build\n", o->transport);
		return -ENOENT;
	}
	const char *extra = o->tp_opts;

	snprintf(uri, sizeof(uri), "%s:%s?listen_fd=%d&linger_ms=100%s%s", o->transport,
		 addrs, lfd, extra ? "&" : "", extra ? extra : "");
	return gvm_transport_open(ops, &p, &s->tp);
}

static void pump_until(struct side *s, uint64_t count)
{
	while (s->got < count)
		gvm_tp_progress(s->tp, 0);
}

int cmd_tp_lat(const struct bench_opts *o)
{
	int lfd[2];
	char addrs[128] = "";
	uint64_t per_size = o->iters + o->warmup, total = per_size * (uint64_t)o->nsizes;
	struct side s = {0};
	size_t max = 0;
	uint8_t *buf;
	pid_t pid;
	int st;

	for (int i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	if (gvm_loopback_listeners(2, lfd, addrs, sizeof(addrs)))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) { /* node 1 echoes everything back */
		close(lfd[0]);
		s.echo = true;
		if (open_side(o, addrs, lfd[1], 1, &s))
			_exit(1);
		pump_until(&s, total);
		gvm_tp_close(s.tp);
		_exit(0);
	}
	close(lfd[1]);
	buf = calloc(1, max ? max : 1);
	if (!buf || open_side(o, addrs, lfd[0], 0, &s))
		return 1;
	table_header("tp-lat: half round trip, 2 processes on loopback", "transport");
	for (int k = 0; k < o->nsizes; k++) {
		struct samples lat = {0}, raw = {0};
		struct gvm_iov iov = {buf, o->sizes[k]};
		uint64_t raw_med;
		char label[64];

		for (uint64_t i = 0; i < per_size; i++) {
			uint64_t t0 = bench_now_ns(), before = s.got;

			gvm_tp_send(s.tp, 1, &iov, 1);
			pump_until(&s, before + 1);
			if (i >= o->warmup)
				samples_add(&lat, (bench_now_ns() - t0) / 2);
		}
		if (raw_tcp_pingpong(o->sizes[k], o->sizes[k], o->iters, o->warmup, &raw))
			fprintf(stderr, "gvm-bench: raw baseline failed\n");
		for (uint64_t i = 0; i < raw.n; i++)
			raw.ns[i] /= 2;
		raw_med = samples_q(&raw, 500);
		snprintf(label, sizeof(label), "%s", o->transport);
		table_row(label, o->sizes[k], &lat, raw_med, "raw socket");
		table_row("raw socket", o->sizes[k], &raw, 0, "");
		samples_free(&lat);
		samples_free(&raw);
	}
	gvm_tp_close(s.tp);
	waitpid(pid, &st, 0);
	free(buf);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
}
