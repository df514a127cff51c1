// SPDX-License-Identifier: MIT
/*
 * gvm-bench - transport and DSM microbenchmarks.
 *
 *	gvm-bench tp-lat   [--transport tcp] [--sizes 8,64,4096] [--iters N]
 *	gvm-bench dsm-read [--transport tcp] [--fault-mode M] [--iters N]
 *	gvm-bench all --json F --csv F --markdown F
 *
 * Every figure comes with a raw baseline measured in the same run and is
 * printed as a ratio against it: this machine's noise moves both alike.
 */
#include <getopt.h>
#include <sched.h>
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
"  tp-lat       transport ping-pong, half round trip, vs a raw socket ping-pong\n"
"  tp-bw        streaming bandwidth and message rate with a window, vs a raw TCP stream\n"
"  tp-read, tp-write  one-sided transfers, where the backend offers them (GVM_CAP_RMA)\n"
"  dsm-read     remote read fault on 2 nodes, vs raw userfaultfd fault + raw round trip\n"
"  dsm-write    write fault with k = 1..N-1 sharers (invalidation fan-out)\n"
"  dsm-pingpong two nodes alternately writing one page, vs a raw 4 KiB ping-pong\n"
"  dsm-mix      threads x nodes loading and storing for a while: accesses/s, faults/s\n"
"  dsm-scale    the dsm-mix workload on 1, 2, 4 and 8 nodes, vs 1 node\n"
"  dsm-boot     a booting guest's mix (many cold pages, a few very hot shared\n"
"               ones), without and with hot-page promotion\n"
"  all          all of them with their defaults (what `make bench` runs)\n"
"\n"
"options:\n"
"  -t, --transport NAME   backend (default tcp)\n"
"  -s, --sizes LIST       message sizes for tp-*: 8,64,4096 or powers of two 8:65536 (default 8,64,512,4096,65536)\n"
"  -n, --iters N          measured iterations or faults (default 2000)\n"
"  -w, --warmup N         unmeasured iterations first (default 200)\n"
"  -f, --fault-mode M     thread | sigbus | mprotect (dsm-read; default: each)\n"
"  -m, --manager M        fixed | dynamic | central (dsm-*; default fixed)\n"
"  -o, --tp-opts OPTS     extra transport options for tp-*, e.g. io=uring\n"
"  -N, --nodes N          nodes for dsm-write and dsm-mix (default 4)\n"
"  -T, --threads T        dsm-mix: threads per node (default 2)\n"
"  -P, --pattern P        dsm-mix: seq | uniform | zipf over the shared pages (default zipf)\n"
"      --share PCT        dsm-mix: percent of accesses to shared pages (default 20)\n"
"      --write-ratio PCT  dsm-mix: percent of accesses that store (default 30)\n"
"      --duration-ms MS   dsm-mix: how long each run lasts (default 1000)\n"
"      --hot N            dsm-mix/-boot: shared pages, 1..64 (default 64; boot 4)\n"
"      --cold N           dsm-mix/-boot: private pages a node (default 64; boot 1024)\n"
"      --policy P[:OPTS]  dsm-pingpong/-boot: the promotion policy of their\n"
"                         promoted run (default hotpage; see core/policy/)\n"
"  -c, --cpu LIST         pin this process (and its nodes) to CPUs, e.g. 0 or 0-1\n"
"      --window W         tp-bw: messages in flight (default 64)\n"
"      --json FILE        also write the results, configuration and machine as JSON\n"
"      --csv FILE         ... as CSV (one row per measurement)\n"
"      --markdown FILE    ... as a markdown summary\n"
"  -h, --help\n"
"\n"
"When stderr is a terminal, a progress line says what runs.\n"
"Output: perftest-style rows, times in microseconds:\n"
"  #bytes #iters t_min t_median t_avg t_p99 t_p99.9 t_max, then the median\n"
"  as a multiple of the row's raw baseline.\n");
}

/* --cpu 0 or 0-1 or 0,1: pin this process (children inherit it). */
static int pin_cpus(const char *list)
{
	cpu_set_t set;
	char *copy = strdup(list), *tok, *save;

	CPU_ZERO(&set);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned a, b;

		if (sscanf(tok, "%u-%u", &a, &b) == 2)
			for (unsigned c = a; c <= b && c < CPU_SETSIZE; c++)
				CPU_SET(c, &set);
		else if (sscanf(tok, "%u", &a) == 1 && a < CPU_SETSIZE)
			CPU_SET(a, &set);
	}
	free(copy);
	return CPU_COUNT(&set) ? sched_setaffinity(0, sizeof(set), &set) : -1;
}

/* --sizes 8,64,4096 or ranges of powers of two, 8:65536, mixed freely. */
static int parse_sizes(const char *s, struct bench_opts *o)
{
	char *copy = strdup(s), *tok, *save;
	int err = 0;

	o->nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t lo = strtoull(tok, NULL, 0);
		uint64_t hi = colon ? strtoull(colon + 1, NULL, 0) : lo;

		if (colon && (lo == 0 || hi < lo))
			err = -1;
		for (uint64_t v = lo; !err && v <= hi; v = v ? v * 2 : 1) {
			if (o->nsizes == 32) {
				err = -1;
				break;
			}
			o->sizes[o->nsizes++] = v;
			if (!colon)
				break;
		}
	}
	free(copy);
	return err || !o->nsizes ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"transport", 1, NULL, 't'}, {"sizes", 1, NULL, 's'},
		{"iters", 1, NULL, 'n'},     {"warmup", 1, NULL, 'w'},
		{"fault-mode", 1, NULL, 'f'}, {"manager", 1, NULL, 'm'},
		{"tp-opts", 1, NULL, 'o'},   {"nodes", 1, NULL, 'N'},
		{"window", 1, NULL, 'W'},    {"json", 1, NULL, 'J'},
		{"csv", 1, NULL, 'C'},       {"markdown", 1, NULL, 'M'},
		{"threads", 1, NULL, 'T'},   {"pattern", 1, NULL, 'P'},
		{"share", 1, NULL, 'S'},     {"write-ratio", 1, NULL, 'R'},
		{"duration-ms", 1, NULL, 'D'}, {"cpu", 1, NULL, 'c'},
		{"hot", 1, NULL, 'H'},       {"cold", 1, NULL, 'L'},
		{"policy", 1, NULL, 'Y'},
		{"help", 0, NULL, 'h'},      {0, 0, 0, 0},
	};
	struct bench_opts o = {.transport = "tcp", .iters = 2000, .warmup = 200, .nodes = 4,
			       .threads = 2, .pattern = "zipf", .share_pct = 20,
			       .write_pct = 30, .duration_ms = 1000};
	const char *cmd, *json = NULL, *csv = NULL, *markdown = NULL;
	int c, rc;

	parse_sizes("8,64,512,4096,65536", &o);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "t:s:n:w:f:m:o:N:T:P:c:h", longopts, NULL)) != -1) {
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
		case 'N': o.nodes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'W': o.window = strtoull(optarg, NULL, 0); break;
		case 'J': json = optarg; break;
		case 'C': csv = optarg; break;
		case 'M': markdown = optarg; break;
		case 'T': o.threads = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': o.pattern = optarg; break;
		case 'S': o.share_pct = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'R': o.write_pct = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'D': o.duration_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'H': o.hot_pages = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'L': o.own_pages = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'Y': o.policy = optarg; break;
		case 'c':
			if (pin_cpus(optarg)) {
				fprintf(stderr, "gvm-bench: bad --cpu '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.iters) {
		fprintf(stderr, "gvm-bench: --iters must be > 0\n");
		return 2;
	}
	if (getenv("PMIX_RANK")) {
		/* Under mpirun the DSM tests span the job's ranks; rank 0 reports. */
		if (strncmp(cmd, "dsm-", 4) || !strcmp(cmd, "dsm-scale")) {
			fprintf(stderr, "gvm-bench: under a launcher only dsm-read, dsm-write, "
				"dsm-pingpong and dsm-mix run (across its ranks)\n");
			return 2;
		}
		if (strcmp(getenv("PMIX_RANK"), "0")) {
			if (!freopen("/dev/null", "w", stdout))
				return 1;
			json = csv = markdown = NULL;
		}
	}
	printf("gvm-bench %s: transport %s, %llu iterations after %llu warm-up\n", cmd,
	       o.transport, (unsigned long long)o.iters, (unsigned long long)o.warmup);
	if (!strcmp(cmd, "tp-lat"))
		rc = cmd_tp_lat(&o);
	else if (!strcmp(cmd, "tp-bw"))
		rc = cmd_tp_bw(&o);
	else if (!strcmp(cmd, "tp-read") || !strcmp(cmd, "tp-write"))
		rc = cmd_tp_rma(&o, cmd);
	else if (!strcmp(cmd, "dsm-read"))
		rc = cmd_dsm_read(&o);
	else if (!strcmp(cmd, "dsm-write"))
		rc = cmd_dsm_write(&o);
	else if (!strcmp(cmd, "dsm-pingpong"))
		rc = cmd_dsm_pingpong(&o);
	else if (!strcmp(cmd, "dsm-mix"))
		rc = cmd_dsm_mix(&o);
	else if (!strcmp(cmd, "dsm-scale"))
		rc = cmd_dsm_scale(&o);
	else if (!strcmp(cmd, "dsm-boot"))
		rc = cmd_dsm_boot(&o);
	else if (!strcmp(cmd, "all"))
		rc = cmd_tp_lat(&o) | cmd_tp_bw(&o) | cmd_dsm_read(&o) |
		     cmd_dsm_write(&o) | cmd_dsm_pingpong(&o) | cmd_dsm_mix(&o) |
		     cmd_dsm_scale(&o) | cmd_dsm_boot(&o);
	else
		rc = -1;
	if (rc >= 0) {
		if (write_results(&o, json, csv, markdown))
			fprintf(stderr, "gvm-bench: cannot write the result files\n");
		return rc;
	}
	fprintf(stderr, "gvm-bench: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
