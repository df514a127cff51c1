// SPDX-License-Identifier: MIT
/*
 * tp_lat.c - transport ping-pong latency (half round trip), next to a raw
 * socket ping-pong of the same sizes on the same path, in the same run, and
 * a raw shared-memory ping-pong (the floor a shared-memory transport has).
 */
#include <stdio.h>
#include <stdlib.h>

#include <gvm/transport.h>

#include "bench.h"

int cmd_tp_lat(const struct bench_opts *o)
{
	uint64_t per_size = o->iters + o->warmup;
	struct tp_side s;
	size_t max = 0;
	uint8_t *buf;
	int child;

	for (int i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	buf = calloc(1, max ? max : 1);
	if (!buf || pair_start(o, true, 0, per_size * (uint64_t)o->nsizes, &s, &child))
		return 1;
	table_header("tp-lat", "tp-lat: half round trip, 2 processes on loopback", "transport");
	for (int k = 0; k < o->nsizes; k++) {
		struct samples lat = {0}, raw = {0}, shm = {0};
		struct gvm_iov iov = {buf, o->sizes[k]};
		uint64_t raw_med;

		for (uint64_t i = 0; i < per_size; i++) {
			uint64_t t0 = bench_now_ns(), before = s.got;

			gvm_tp_send(s.tp, 1, &iov, 1);
			pair_pump_until(&s, before + 1);
			if (i >= o->warmup)
				samples_add(&lat, (bench_now_ns() - t0) / 2);
		}
		if (raw_tcp_pingpong(o->sizes[k], o->sizes[k], o->iters, o->warmup, &raw))
			fprintf(stderr, "gvm-bench: raw baseline failed\n");
		for (uint64_t i = 0; i < raw.n; i++)
			raw.ns[i] /= 2;
		raw_med = samples_q(&raw, 500);
		raw_shm_pingpong(o->sizes[k], o->iters, o->warmup, &shm);
		/* A backend that offers shared memory is held to its floor. */
		if (s.tp->caps & GVM_CAP_SHARED_WINDOW)
			table_row(o->transport, o->sizes[k], &lat, samples_q(&shm, 500),
				  "raw shared memory");
		else
			table_row(o->transport, o->sizes[k], &lat, raw_med, "raw socket");
		table_row("raw socket", o->sizes[k], &raw, 0, "");
		table_row("raw shared memory", o->sizes[k], &shm, 0, "");
		samples_free(&lat);
		samples_free(&raw);
		samples_free(&shm);
	}
	free(buf);
	return pair_finish(&s, child) ? 1 : 0;
}
