// SPDX-License-Identifier: MIT
/*
 * pair.c - two endpoints of a transport in two processes on loopback, for
 * the tp-* benchmarks: we are node 0, a child is node 1 and either echoes
 * every message (ping-pong) or acknowledges every Nth (streaming).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gvm/cluster.h>
#include <gvm/transport.h>

#include "bench.h"

static int on_recv(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	struct tp_side *s = arg;

	s->got++;
	if (s->echo) {
		struct gvm_iov iov = {msg, len};

		gvm_tp_send(s->tp, src, &iov, 1);
	} else if (s->ack_every && s->got % s->ack_every == 0) {
		uint64_t count = s->got;
		struct gvm_iov iov = {&count, sizeof(count)};

		gvm_tp_send(s->tp, src, &iov, 1);
	}
	return 0;
}

/*
 * GVM_SECRET_FILE (GVM_MAC): the key the DSM nodes read from the same
 * environment, so the tp-* pairs authenticate and tag as they do.
 */
const struct gvm_auth *bench_auth(void)
{
	static struct gvm_auth auth;
	static int state = -1; /* unread; then 1 keyed, 0 none */
	char err[256];

	if (state < 0) {
		state = gvm_cluster_auth_env(&auth, err, sizeof(err));
		if (state < 0) {
			fprintf(stderr, "gvm-bench: %s\n", err);
			exit(2);
		}
	}
	return state ? &auth : NULL;
}

const char *bench_auth_mode(void)
{
	const struct gvm_auth *a = bench_auth();

	return !a ? "none" : a->flags & GVM_AUTH_TAGS ? "tags" : "handshake";
}

static int open_side(const struct bench_opts *o, int lfd, gvm_node_id self,
		     struct tp_side *s)
{
	const struct gvm_transport_ops *ops = gvm_transport_find(o->transport);
	char uri[768];
	struct gvm_transport_params p = {
		.self = self, .nodes = 2, .uri = uri, .recv = on_recv, .recv_arg = s,
		.auth = bench_auth(),
	};

	if (!ops) {
		fprintf(stderr, "gvm-bench: no transport '%s' in this build\n", o->transport);
		return -1;
	}
	/* timeout_ms: node 0 runs no progress() while it measures baselines. */
	snprintf(uri, sizeof(uri), "%s:%s?linger_ms=100&timeout_ms=600000", o->transport,
		 s->addrs);
	if (lfd >= 0)
		snprintf(uri + strlen(uri), sizeof(uri) - strlen(uri), "&listen_fd=%d", lfd);
	if (o->tp_opts)
		snprintf(uri + strlen(uri), sizeof(uri) - strlen(uri), "&%s", o->tp_opts);
	return gvm_transport_open(ops, &p, &s->tp);
}

/*
 * Busy-poll as the raw counterparts do; a waiting child (wait_ns) backs off
 * to yielding and then sleeping, so it costs nothing once a run is over.
 */
void pair_pump_until(struct tp_side *s, uint64_t count)
{
	while (s->got < count)
		gvm_tp_poll(s->tp, s->wait_ns, 50000, 1000000);
}

int pair_start(const struct bench_opts *o, bool echo, uint64_t ack_every,
	       uint64_t child_total, struct tp_side *s, pid_t *child)
{
	int lfd[2];

	memset(s, 0, sizeof(*s));
	if (gvm_loopback_peers(o->transport, 2, lfd, s->addrs, sizeof(s->addrs)))
		return -1;
	fflush(stdout);
	*child = fork();
	if (*child == 0) {
		if (lfd[0] >= 0)
			close(lfd[0]);
		/* While a raw baseline runs the child is stopped: its waiting
		 * costs the baseline nothing either way. */
		s->wait_ns = 50000000;
		s->echo = echo;
		s->ack_every = ack_every;
		if (open_side(o, lfd[1], 1, s))
			_exit(1);
		pair_pump_until(s, child_total);
		gvm_tp_close(s->tp);
		_exit(0);
	}
	if (lfd[1] >= 0)
		close(lfd[1]);
	return open_side(o, lfd[0], 0, s);
}

int pair_finish(struct tp_side *s, pid_t child)
{
	int st;

	gvm_tp_close(s->tp);
	waitpid(child, &st, 0);
	gvm_loopback_done(s->addrs);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}
