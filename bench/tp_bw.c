// SPDX-License-Identifier: MIT
/*
 * tp_bw.c - streaming bandwidth and message rate: node 0 keeps up to a
 * window of messages in flight, node 1 acknowledges every window. Against
 * a best-effort raw stream of the same messages on the same medium (tcp:
 * big socket buffers, a window per writev; cxl: a shared-memory byte
 * ring), the two in alternating blocks.
 */
#include <stdio.h>
#include <stdlib.h>

#include <gvm/transport.h>

#include "bench.h"

int cmd_tp_bw(const struct bench_opts *o)
{
	uint64_t window = o->window ? o->window : 64;
	uint64_t windows = o->iters / window / BENCH_BLOCKS, total = 0;
	uint64_t per_block, msgs;
	struct raw_peer *raw = NULL;
	enum raw_medium medium;
	bool has_raw = !raw_medium_of(o->transport, &medium);
	struct placement place;
	struct tp_side s;
	size_t max = 0;
	uint8_t *buf;
	pid_t child;

	per_block = (windows ? windows : 1) * window;
	msgs = per_block * BENCH_BLOCKS;
	for (int i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	buf = calloc(1, max ? max : 1);
	if (!buf || (has_raw && raw_open(medium, max, &raw)))
		return 1;
	/* The child sees every block's warm-up window and messages. */
	if (pair_start(o, false, window,
		       (msgs + BENCH_BLOCKS * window) * (uint64_t)o->nsizes, &s, &child))
		return 1;
	bench_place(&place, child, raw_pid(raw));
	table_header("tp-bw", "tp-bw: streaming, window of messages in flight, 2 processes", "transport");
	bench_has_raw(o);
	for (int k = 0; k < o->nsizes; k++) {
		struct gvm_iov iov = {buf, o->sizes[k]};
		uint64_t ns = 0, raw_ns = 0;

		for (int b = 0; b < BENCH_BLOCKS; b++) {
			uint64_t t0 = 0;

			/* One window unmeasured (the child may just have been
			 * let go), then the block, acknowledged every window. */
			for (uint64_t i = 0; i < window + per_block; i++) {
				if (i == window)
					t0 = bench_now_ns();
				gvm_tp_send(s.tp, 1, &iov, 1);
				if ((i + 1) % window == 0)
					pair_pump_until(&s, ++total);
			}
			ns += bench_now_ns() - t0;
			if (raw) {
				uint64_t block_ns = 0;

				bench_freeze(&child, 1);
				if (raw_stream(raw, o->sizes[k], per_block, window, &block_ns))
					fprintf(stderr, "gvm-bench: raw stream failed\n");
				bench_thaw(&child, 1);
				raw_ns += block_ns;
			}
		}
		table_bw_row(o->transport, o->sizes[k], msgs, ns,
			     raw_ns ? (double)(o->sizes[k] * msgs) * 1000.0 / (double)raw_ns : 0,
			     raw ? "raw stream" : "");
		if (raw)
			table_bw_row("raw stream", o->sizes[k], msgs, raw_ns, 0, "");
	}
	free(buf);
	bench_unplace(&place);
	raw_close(raw);
	return pair_finish(&s, child) ? 1 : 0;
}
