// SPDX-License-Identifier: MIT
/*
 * gvm-bench - transport and DSM microbenchmarks.
 *
 *	gvm-bench tp-lat   [--transport tcp] [--sizes 8,64,4096] [--iters N]
 *	gvm-bench dsm-read [--transport tcp] [--fault-mode M] [--iters N]
 *
 * Every figure comes with a raw baseline measured in the same run and is
 * printed as a ratio against it: this machine's noise moves both alike.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: gvm-bench COMMAND [options]\n"
"\n"
"commands:\n"
"  tp-lat     transport ping-pong, half round trip, vs a raw socket ping-pong\n"
"  dsm-read   remote read fault on 2 nodes, vs raw userfaultfd fault + raw round trip\n"
"  all        both, with their defaults (what `make bench` runs)\n"
"\n"
"options:\n"
"  -t, --transport NAME   backend (default tcp)\n"
"  -s, --sizes LIST       message sizes for tp-lat, e.g. 8,64,4096 (default 8,64,512,4096,65536)\n"
"  -n, --iters N          measured iterations or faults (default 2000)\n"
"  -w, --warmup N         unmeasured iterations first (default 200)\n"
"  -f, --fault-mode M     thread | sigbus | mprotect (dsm-read; default: each)\n"
"  -m, --manager M        fixed | dynamic | central (dsm-*; default fixed)\n"
"  -o, --tp-opts OPTS     extra transport options for tp-lat, e.g. io=uring\n"
"  -h, --help\n"
"\n"
"Output: perftest-style rows, times in microseconds:\n"
"  #bytes #iters t_min t_median t_avg t_p99 t_p99.9 t_max, then the median\n"
"  as a multiple of the row's raw baseline.\n");
}

static int parse_sizes(const char *s, struct bench_opts *o)
{
	char *copy = strdup(s), *tok, *save;

	o->nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok && o->nsizes < 32;
	     tok = strtok_r(NULL, ",", &save))
		o->sizes[o->nsizes++] = strtoull(tok, NULL, 0);
	free(copy);
	return o->nsizes ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"transport", 1, NULL, 't'}, {"sizes", 1, NULL, 's'},
		{"iters", 1, NULL, 'n'},     {"warmup", 1, NULL, 'w'},
		{"fault-mode", 1, NULL, 'f'}, {"manager", 1, NULL, 'm'},
		{"tp-opts", 1, NULL, 'o'},
		{"help", 0, NULL, 'h'},      {0, 0, 0, 0},
	};
	struct bench_opts o = {.transport = "tcp", .iters = 2000, .warmup = 200};
	const char *cmd;
	int c;

	parse_sizes("8,64,512,4096,65536", &o);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "t:s:n:w:f:m:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o.transport = optarg; break;
		case 's':
			if (parse_sizes(optarg, &o)) {
				fprintf(stderr, "gvm-bench: bad --sizes '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n': o.iters = strtoull(optarg, NULL, 0); break;
		case 'w': o.warmup = strtoull(optarg, NULL, 0); break;
		case 'f': o.fault_mode = optarg; break;
		case 'm': o.manager = optarg; break;
		case 'o': o.tp_opts = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.iters) {
		fprintf(stderr, "gvm-bench: --iters must be > 0\n");
		return 2;
	}
	printf("gvm-bench %s: transport %s, %llu iterations after %llu warm-up\n", cmd,
	       o.transport, (unsigned long long)o.iters, (unsigned long long)o.warmup);
	if (!strcmp(cmd, "tp-lat"))
		return cmd_tp_lat(&o);
	if (!strcmp(cmd, "dsm-read"))
		return cmd_dsm_read(&o);
	if (!strcmp(cmd, "all"))
		return cmd_tp_lat(&o) | cmd_dsm_read(&o);
	fprintf(stderr, "gvm-bench: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
