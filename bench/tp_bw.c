// SPDX-License-Identifier: MIT
/*
 * tp_bw.c - streaming bandwidth and message rate: node 0 keeps up to a
 * window of messages in flight, node 1 acknowledges every window; next to a
 * raw TCP stream of the same bytes in the same run.
 */
#include <stdio.h>
#include <stdlib.h>

#include <gvm/transport.h>

#include "bench.h"

int cmd_tp_bw(const struct bench_opts *o)
{
	uint64_t window = o->window ? o->window : 64;
	uint64_t msgs = o->iters - o->iters % window, total = 0;
	struct tp_side s;
	size_t max = 0;
	uint8_t *buf;
	int child;

	if (!msgs)
		msgs = window;
	for (int i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	buf = calloc(1, max ? max : 1);
	/* The child sees every size's warm-up window and messages. */
	if (!buf || pair_start(o, false, window, (msgs + window) * (uint64_t)o->nsizes,
			       &s, &child))
		return 1;
	table_header("tp-bw", "tp-bw: streaming, window of messages in flight, 2 processes", "transport");
	for (int k = 0; k < o->nsizes; k++) {
		struct gvm_iov iov = {buf, o->sizes[k]};
		uint64_t t0 = 0, ns, raw_ns = 0;

		for (uint64_t i = 0; i < msgs + window; i++) {
			if (i == window)
				t0 = bench_now_ns(); /* the first window warms up */
			gvm_tp_send(s.tp, 1, &iov, 1);
			if ((i + 1) % window == 0)
				pair_pump_until(&s, ++total);
		}
		ns = bench_now_ns() - t0;
		raw_tcp_stream(o->sizes[k], msgs, &raw_ns);
		table_bw_row(o->transport, o->sizes[k], msgs, ns,
			     raw_ns ? (double)(o->sizes[k] * msgs) * 1000.0 / (double)raw_ns : 0,
			     "raw stream");
		table_bw_row("raw stream", o->sizes[k], msgs, raw_ns, 0, "");
	}
	free(buf);
	return pair_finish(&s, child) ? 1 : 0;
}
