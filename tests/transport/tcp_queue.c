// SPDX-License-Identifier: MIT
/*
 * Description: a TCP peer that completes its handshake and then reads
 * nothing (it heartbeats, or the kernel's buffers still take bytes) cannot
 * make a node queue without bound: past TCP_QUEUE_MAX unsent bytes for it,
 * sends to it fail with -ENOBUFS and it is reported down, and the node's
 * memory stays near that bound.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gvm/cluster.h>
#include <gvm/transport.h>

#include "../self.h"
#include "../unit/helpers.h"
#include "../../transports/tcp/frame.h"

static bool down[2];
static int reason;

static int on_recv(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	(void)arg, (void)src, (void)msg, (void)len;
	return 0;
}

static void on_down(void *arg, gvm_node_id peer, int why)
{
	(void)arg;
	if (peer < 2) {
		down[peer] = true;
		reason = why;
	}
}

int main(void)
{
	int fds[2];
	char peers[256], uri[400];
	struct gvm_transport *tp[2];
	static uint8_t page[4096];
	struct gvm_iov iov = {page, sizeof(page)};
	long before;
	int err = 0;
	size_t sent = 0;

	CHECK(gvm_loopback_listeners(2, fds, peers, sizeof(peers)) == 0);
	for (gvm_node_id i = 0; i < 2; i++) {
		struct gvm_transport_params p = {
			.self = i, .nodes = 2, .uri = uri, .recv = on_recv,
			.peer_down = on_down,
		};

		snprintf(uri, sizeof(uri), "tcp:%s?listen_fd=%d&timeout_ms=30000", peers, fds[i]);
		CHECK(gvm_transport_open(gvm_transport_find("tcp"), &p, &tp[i]) == 0);
	}
	/* The handshake: node 0 dials, node 1 answers. */
	CHECK(gvm_tp_send(tp[0], 1, &iov, 1) == 0);
	for (int r = 0; r < 200; r++) {
		gvm_tp_progress(tp[1]);
		gvm_tp_progress(tp[0]);
		usleep(1000);
	}
	before = self_rss_kib();
	/* Node 1 reads nothing from now on. */
	while (sent < 2 * (size_t)TCP_QUEUE_MAX && !err) {
		err = gvm_tp_send(tp[0], 1, &iov, 1);
		sent += sizeof(page);
		if (!(sent & ((1u << 20) - 1)))
			gvm_tp_progress(tp[0]);
	}
	CHECK(err == -ENOBUFS || err == -EHOSTDOWN);
	CHECK(sent > TCP_QUEUE_MAX && sent < TCP_QUEUE_MAX + (32u << 20));
	for (int r = 0; r < 10 && !down[1]; r++)
		gvm_tp_progress(tp[0]);
	CHECK(down[1] && reason == -ENOBUFS);
	CHECK(self_rss_kib() - before < (long)(TCP_QUEUE_MAX / 1024) * 2 + 16384);
	printf("tcp_queue: %zu MiB sent before the cut-off, RSS grew %ld MiB\n",
	       sent >> 20, (self_rss_kib() - before) >> 10);
	gvm_tp_close(tp[0]);
	gvm_tp_close(tp[1]);
	return test_exit("unit-tcp-queue");
}
