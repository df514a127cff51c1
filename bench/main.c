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
#include <stdbool.h>
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
"  tp-lat       transport ping-pong, half round trip, vs a raw ping-pong on its medium\n"
"  tp-bw        streaming bandwidth and message rate with a window, vs a raw stream\n"
"  tp-read, tp-write  one-sided transfers, where the backend offers them (GVM_CAP_RMA)\n"
"  dsm-read     remote read fault on 2 nodes, vs the yardstick: a raw userfaultfd\n"
"               fault whose handler fetches the page with one raw round trip\n"
"  dsm-write    write fault with k = 1..N-1 sharers (invalidation fan-out), vs the yardstick\n"
"  dsm-pingpong two nodes alternately writing one page, vs the yardstick\n"
"  dsm-mix      threads x nodes loading and storing for a while: accesses/s, faults/s\n"
"  dsm-scale    the dsm-mix workload on 1, 2, 4 and 8 nodes, vs 1 node\n"
"  dsm-boot     a booting guest's mix (many cold pages, a few very hot shared\n"
"               ones), without and with hot-page promotion\n"
"  dsm-mem      resident memory for the pages a node holds (node 0 writes every\n"
"               page of a 64 MiB region, node 1 reads every one)\n"
"  dsm-scan     node 0 reads every page node 1 wrote, in order and at random,\n"
"               without and with the readahead policy: pages/s, faults/s\n"
"  all          all of them with their defaults (what `make bench` runs)\n"
"  A,B,...      several, into one set of result files (tp-lat,dsm-read)\n"
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
"  -c, --cpu LIST         pin this process (and its nodes) to CPUs, e.g. 0-1; one CPU\n"
"                         is refused for ping-pongs and baselines (both ends on one CPU)\n"
"      --breakdown[=FILE] dsm-read: where each fault's time goes, phase by\n"
"                         phase (the engines' traces; bench/README.md), as extra rows;\n"
"                         FILE: the median fault's phases as CSV (plot.sh stacks them)\n"
"      --window W         tp-bw: messages in flight (default 64)\n"
"      --json FILE        also write the results, configuration and machine as JSON\n"
"      --csv FILE         ... as CSV (one row per measurement)\n"
"      --markdown FILE    ... as a markdown summary\n"
"      --cdf FILE         latency quantiles of every latency row, as CSV (for CDF plots)\n"
"  -h, --help\n"
"\n"
"When stderr is a terminal, a progress line says what runs.\n"
"Output: perftest-style rows, times in microseconds:\n"
"  #bytes #iters t_min t_median t_avg t_p99 t_p99.9 t_max, then the median\n"
"  as a multiple of the baseline it names, and that baseline's median.\n"
"  DSM rows are followed by the CPU time and context switches per fault of\n"
"  every node's threads together.\n"
"Raw counterparts: tcp has a raw socket, cxl raw shared memory; a figure and\n"
"its baseline run in alternating blocks, 10 of each, in the same run.\n"
"Environment: GVM_SECRET_FILE (and GVM_MAC=0) authenticate every pair and\n"
"node (tp-* and dsm-*) and tag their messages over tcp; the result files\n"
"say which (config.auth). README: Authentication.\n");
}

/* --cpu 0 or 0-1 or 0,1: pin this process (children inherit it). Returns
 * the number of CPUs, or -1. */
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
	if (!CPU_COUNT(&set) || sched_setaffinity(0, sizeof(set), &set))
		return -1;
	return CPU_COUNT(&set);
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

/* Whether every command in the list is one of the throughput runs. */
static bool only_throughput(const char *list)
{
	static const char *const runs[] = {"dsm-mix", "dsm-scale", "dsm-boot"};
	char *copy = strdup(list), *name, *save;
	bool only = true;

	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save))
		only = only && (!strcmp(name, runs[0]) || !strcmp(name, runs[1]) ||
				!strcmp(name, runs[2]));
	free(copy);
	return only;
}

static const struct command {
	const char *name;
	int (*run)(const struct bench_opts *o);
} commands[] = {
	{"tp-lat", cmd_tp_lat},           {"tp-bw", cmd_tp_bw},
	{"tp-read", cmd_tp_read},         {"tp-write", cmd_tp_write},
	{"dsm-read", cmd_dsm_read},       {"dsm-write", cmd_dsm_write},
	{"dsm-pingpong", cmd_dsm_pingpong}, {"dsm-mix", cmd_dsm_mix},
	{"dsm-scale", cmd_dsm_scale},     {"dsm-boot", cmd_dsm_boot},
	{"dsm-mem", cmd_dsm_mem},         {"dsm-scan", cmd_dsm_scan},
};

/* "all", one command, or several joined by commas (one result file for
 * them all). Returns the commands' exit codes or'ed, -1 for a bad name. */
static int run_commands(const char *list, const struct bench_opts *o)
{
	char *copy = strdup(strcmp(list, "all") ? list :
			    "tp-lat,tp-bw,dsm-read,dsm-write,dsm-pingpong,dsm-mix,dsm-scale,dsm-boot,dsm-mem,dsm-scan");
	char *name, *save;
	int rc = 0;

	for (name = strtok_r(copy, ",", &save); name && rc >= 0; name = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < sizeof(commands) / sizeof(commands[0]) && strcmp(commands[i].name, name))
			i++;
		rc = i < sizeof(commands) / sizeof(commands[0]) ? rc | commands[i].run(o) : -1;
	}
	free(copy);
	return rc;
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
		{"policy", 1, NULL, 'Y'},     {"cdf", 1, NULL, 'F'},
		{"breakdown", 2, NULL, 'B'},
		{"help", 0, NULL, 'h'},      {0, 0, 0, 0},
	};
	struct bench_opts o = {.transport = "tcp", .iters = 2000, .warmup = 200, .nodes = 4,
			       .threads = 2, .pattern = "zipf", .share_pct = 20,
			       .write_pct = 30, .duration_ms = 1000};
	const char *cmd, *json = NULL, *csv = NULL, *markdown = NULL, *cdf = NULL;
	const char *breakdown_csv = NULL;
	const char *optarg_cpu = NULL;
	int c, rc, ncpus = 0;

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
		case 'F': cdf = optarg; break;
		case 'T': o.threads = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': o.pattern = optarg; break;
		case 'S': o.share_pct = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'R': o.write_pct = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'D': o.duration_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'H': o.hot_pages = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'L': o.own_pages = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'Y': o.policy = optarg; break;
		case 'B':
			o.breakdown = true;
			breakdown_csv = optarg;
			break;
		case 'c':
			optarg_cpu = optarg;
			ncpus = pin_cpus(optarg);
			if (ncpus < 0) {
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
	/* Both ends of a ping-pong (and of every baseline) busy-poll: on one
	 * CPU each waits out the other's time slice, and the figure measures
	 * the scheduler. Throughput runs (dsm-mix, dsm-scale, dsm-boot) may. */
	if (ncpus == 1 && !only_throughput(cmd)) {
		fprintf(stderr, "gvm-bench: --cpu %s is one CPU: %s and its baselines would "
			"measure the scheduler, not the medium; give two or more\n", optarg_cpu, cmd);
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
			json = csv = markdown = cdf = NULL;
		}
	}
	printf("gvm-bench %s: transport %s, %llu iterations after %llu warm-up\n", cmd,
	       o.transport, (unsigned long long)o.iters, (unsigned long long)o.warmup);
	/* A machine state, not ours: every figure and baseline moves with it. */
	bench_line_ns[0] = raw_line_handoff_ns();
	if (bench_line_ns[0])
		printf("machine: a cache line handed between two CPUs in %.2f us\n",
		       (double)bench_line_ns[0] / 1000.0);
	rc = run_commands(cmd, &o);
	bench_line_ns[1] = raw_line_handoff_ns();
	if (bench_line_ns[1])
		printf("\nmachine: a cache line handed between two CPUs in %.2f us at the end\n",
		       (double)bench_line_ns[1] / 1000.0);
	if (rc >= 0) {
		if (write_results(&o, json, csv, markdown, cdf) ||
		    (breakdown_csv && fault_trace_write(breakdown_csv)))
			fprintf(stderr, "gvm-bench: cannot write the result files\n");
		return rc;
	}
	fprintf(stderr, "gvm-bench: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
