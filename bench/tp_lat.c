// SPDX-License-Identifier: MIT
/*
 * tp_lat.c - transport ping-pong latency (half round trip) against the raw
 * counterpart of the transport's own medium (a socket for tcp, shared
 * memory for cxl), the two measured in alternating blocks of each size,
 * the processes of the one not measured stopped (SIGSTOP) meanwhile; with
 * the CPU time both ends spend per round trip in our blocks: ours from the
 * thread's clock around each block, the echoing child's from /proc once a
 * size (it is stopped through the raw blocks, and a /proc read between
 * blocks was measured to push it off its CPU: 0.7 context switches per
 * round trip and twice the latency at 64 B). Context switches are the
 * child's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gvm/transport.h>

#include "bench.h"

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int cmd_tp_lat(const struct bench_opts *o)
{
	uint64_t per_block = (o->iters + BENCH_BLOCKS - 1) / BENCH_BLOCKS;
	/* The run's warm-up opens the first block, BLOCK_WARMUP the others. */
	uint64_t per_size = o->warmup + (BENCH_BLOCKS - 1) * BLOCK_WARMUP +
			    per_block * BENCH_BLOCKS;
	struct raw_peer *raw = NULL;
	enum raw_medium medium;
	bool has_raw = !raw_medium_of(o->transport, &medium);
	struct placement place;
	struct tp_side s;
	size_t max = 0;
	uint8_t *buf;
	pid_t child;

	for (int i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	buf = calloc(1, max ? max : 1);
	if (!buf || (has_raw && raw_open(medium, max, &raw)))
		return 1;
	if (pair_start(o, true, 0, per_size * (uint64_t)o->nsizes, &s, &child))
		return 1;
	usage_track(&child, 1);
	bench_place(&place, child, raw_pid(raw));
	table_header("tp-lat", "tp-lat: half round trip, 2 processes on loopback", "transport");
	bench_has_raw(o);
	for (int k = 0; k < o->nsizes; k++) {
		struct samples lat = {0}, base = {0};
		struct gvm_iov iov = {buf, o->sizes[k]};
		struct usage used, start;
		uint64_t trips = 0, ours = 0;

		usage_sample(&start);

		for (int b = 0; b < BENCH_BLOCKS; b++) {
			uint64_t warm = b ? BLOCK_WARMUP : o->warmup;

			uint64_t cpu0 = thread_cpu_ns();

			for (uint64_t i = 0; i < warm + per_block; i++) {
				uint64_t t0 = bench_now_ns(), before = s.got;

				gvm_tp_send(s.tp, 1, &iov, 1);
				pair_pump_until(&s, before + 1);
				if (i >= warm)
					samples_add(&lat, (bench_now_ns() - t0) / 2);
			}
			ours += thread_cpu_ns() - cpu0;
			trips += warm + per_block;
			/* Every block of ours is followed by one of the raw
			 * medium, our child stopped meanwhile. */
			if (!raw)
				continue;
			bench_freeze(&child, 1);
			if (raw_pingpong_block(raw, o->sizes[k], o->sizes[k], BLOCK_WARMUP,
					       per_block, 2, &base))
				fprintf(stderr, "gvm-bench: raw baseline failed\n");
			bench_thaw(&child, 1);
		}
		table_row(o->transport, o->sizes[k], &lat, samples_q(&base, 500),
			  raw ? raw_medium_name(medium) : "");
		usage_since(&used, &start);
		if (used.cpu_ns)
			used.cpu_ns += ours;
		table_row_usage(&used, trips, "round trip");
		if (raw)
			table_row(raw_medium_name(medium), o->sizes[k], &base, 0, "");
		samples_free(&lat);
		samples_free(&base);
	}
	usage_track(NULL, 0);
	free(buf);
	bench_unplace(&place);
	raw_close(raw);
	return pair_finish(&s, child) ? 1 : 0;
}
