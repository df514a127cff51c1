// SPDX-License-Identifier: MIT
/*
 * report.c - the perftest-style table on stdout, and the same rows as JSON,
 * CSV and a markdown summary, with the configuration and machine facts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <gvm/transport.h>

#include "bench.h"

#ifndef GVM_VERSION
#define GVM_VERSION "unknown"
#endif
uint64_t bench_line_ns[2];
static struct result results[512];
static unsigned nresults;
static char current_test[16];

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* What runs now, on stderr when it is a terminal: long runs show life. */
static void progress(const char *what)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(2);
	if (tty && *what)
		fprintf(stderr, "[gvm-bench] running %s ...\n", what);
}

void table_header(const char *test, const char *title, const char *first_column)
{
	snprintf(current_test, sizeof(current_test), "%s", test);
	progress(test);
	printf("\n# %s\n", title);
	if (!strcmp(test, "dsm-mix") || !strcmp(test, "dsm-scale") || !strcmp(test, "dsm-boot") ||
	    !strcmp(test, "dsm-scan")) {
		printf("%-22s %16s %16s  %s\n", first_column, "accesses/s", "faults/s",
		       "accesses/s / baseline's (its accesses/s)");
		return;
	}
	if (!strcmp(test, "dsm-mem")) {
		printf("%-22s %14s %18s  %s\n", first_column, "pages held", "resident",
		       "resident / pages held");
		return;
	}
	if (!strcmp(test, "tp-bw")) {
		printf("%-22s %8s %8s %17s %16s  %s\n", first_column, "#bytes", "#msgs",
		       "bandwidth", "message rate", "time / baseline's (its bandwidth)");
		return;
	}
	printf("%-22s %8s %8s %9s %9s %9s %9s %9s %9s  %s\n", first_column, "#bytes",
	       "#iters", "t_min", "t_median", "t_avg", "t_p99", "t_p99.9", "t_max",
	       "median / baseline's median (its median)");
}

static unsigned cdf_permille(int i)
{
	return i <= 100 ? (unsigned)i * 10 : i == 101 ? 995 : 999;
}

/* s is sorted (table_row has taken its quantiles). */
static void keep_cdf(struct result *r, const struct samples *s)
{
	for (int i = 0; i < CDF_POINTS; i++)
		r->cdf[i] = s->ns[(s->n - 1) * cdf_permille(i) / 1000];
}

static struct result *new_result(const char *label, uint64_t bytes)
{
	struct result *r = &results[nresults < 512 ? nresults++ : 511];

	memset(r, 0, sizeof(*r));
	snprintf(r->test, sizeof(r->test), "%s", current_test);
	snprintf(r->label, sizeof(r->label), "%s", label);
	r->bytes = bytes;
	return r;
}

void table_row(const char *label, uint64_t bytes, struct samples *s,
	       uint64_t baseline_median_ns, const char *baseline_name)
{
	struct result *r;
	uint64_t sum = 0;
	char ratio[128] = "";

	if (!s->n)
		return;
	r = new_result(label, bytes);
	r->kind = RESULT_LATENCY;
	for (uint64_t i = 0; i < s->n; i++)
		sum += s->ns[i];
	r->iters = s->n;
	r->median = samples_q(s, 500); /* sorts */
	r->p99 = samples_q(s, 990);
	r->p999 = samples_q(s, 999);
	r->min = s->ns[0];
	r->max = s->ns[s->n - 1];
	r->avg = sum / s->n;
	keep_cdf(r, s);
	if (baseline_median_ns) {
		r->ratio = (double)r->median / (double)baseline_median_ns;
		r->baseline_median = baseline_median_ns;
		snprintf(r->baseline, sizeof(r->baseline), "%s", baseline_name);
		snprintf(ratio, sizeof(ratio), "%.3g x %s (%.2f)", r->ratio, baseline_name,
			 us(baseline_median_ns));
	}
	printf("%-22s %8" PRIu64 " %8" PRIu64 " %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n",
	       label, bytes, r->iters, us(r->min), us(r->median), us(r->avg), us(r->p99),
	       us(r->p999), us(r->max), ratio);
	fflush(stdout);
}

void table_row_usage(const struct usage *u, uint64_t ops, const char *op)
{
	struct result *r = nresults ? &results[nresults - 1] : NULL;

	if (!r || !ops || !u->cpu_ns)
		return;
	r->cpu_ns = u->cpu_ns / ops;
	r->ctxsw = (double)u->ctxsw / (double)ops;
	printf("%-22s cpu %.2f us and %.2f context switches per %s (every node's threads)\n",
	       "", us(r->cpu_ns), r->ctxsw, op);
	fflush(stdout);
}

void table_bw_row(const char *label, uint64_t bytes, uint64_t msgs, uint64_t ns,
		  double baseline_mbps, const char *baseline_name)
{
	struct result *r = new_result(label, bytes);

	r->kind = RESULT_BANDWIDTH;
	r->iters = msgs;
	r->mbps = ns ? (double)(bytes * msgs) * 1000.0 / (double)ns : 0;
	r->rate = ns ? (double)msgs * 1e9 / (double)ns : 0;
	printf("%-22s %8" PRIu64 " %8" PRIu64 " %12.1f MB/s %12.0f msg/s", label, bytes,
	       msgs, r->mbps, r->rate);
	if (baseline_mbps > 0 && r->mbps > 0) {
		/* For bandwidth the ratio is of times, baseline / ours: >1 is slower. */
		r->ratio = baseline_mbps / r->mbps;
		r->baseline_mbps = baseline_mbps;
		snprintf(r->baseline, sizeof(r->baseline), "%s", baseline_name);
		printf("  %.2f x %s (%.1f MB/s)", r->ratio, baseline_name, baseline_mbps);
	}
	printf("\n");
	fflush(stdout);
}

void table_mem_row(const char *label, uint64_t held, uint64_t resident)
{
	struct result *r = new_result(label, held);

	r->kind = RESULT_MEMORY;
	r->resident = resident;
	r->ratio = held ? (double)resident / (double)held : 0;
	snprintf(r->baseline, sizeof(r->baseline), "pages held");
	printf("%-22s %10.1f MiB %14.1f MiB  %.3g x pages held\n", label,
	       (double)held / 1048576.0, (double)resident / 1048576.0, r->ratio);
	fflush(stdout);
}

void table_rate_row(const char *label, double accesses_per_s, double faults_per_s,
		    double baseline_aps, const char *baseline_name)
{
	struct result *r = new_result(label, 0);

	r->kind = RESULT_THROUGHPUT;
	r->rate = accesses_per_s;
	r->fault_rate = faults_per_s;
	printf("%-22s %16.0f %16.0f", label, accesses_per_s, faults_per_s);
	if (baseline_aps > 0) {
		r->ratio = accesses_per_s / baseline_aps;
		r->baseline_rate = baseline_aps;
		snprintf(r->baseline, sizeof(r->baseline), "%s", baseline_name);
		printf("  %.3g x %s (%.0f/s)", r->ratio, baseline_name, baseline_aps);
	}
	printf("\n");
	fflush(stdout);
}

static void machine(FILE *f, bool json)
{
	struct utsname u;
	char cpu[128] = "unknown", line[256];
	FILE *ci = fopen("/proc/cpuinfo", "r");

	while (ci && fgets(line, sizeof(line), ci))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
			cpu[strcspn(cpu, "\n")] = 0;
			break;
		}
	if (ci)
		fclose(ci);
	uname(&u);
	if (json) {
		const struct gvm_transport_entry *e = NULL;

		fprintf(f, "  \"machine\": {\"cores\": %ld, \"kernel\": \"%s\", \"cpu\": \"%s\""
			", \"line_handoff_ns\": [%" PRIu64 ", %" PRIu64 "]},\n",
			sysconf(_SC_NPROCESSORS_ONLN), u.release, cpu, bench_line_ns[0], bench_line_ns[1]);
		fprintf(f, "  \"software\": {\"gvm_dsm\": \"%s\", \"backends\": [", GVM_VERSION);
		while ((e = gvm_transport_next(e)))
			fprintf(f, "\"%s\"%s", e->ops->name, gvm_transport_next(e) ? ", " : "");
		/* The optional features, as scripts/configure.sh found them. */
		fprintf(f, "], %s},\n", GVM_FEATURES_JSON);
	}
	else
		fprintf(f, "Machine: %ld cores, Linux %s, %s; a cache line handed between two "
			"CPUs in %.2f us at the start, %.2f us at the end.\n\n",
			sysconf(_SC_NPROCESSORS_ONLN), u.release, cpu, us(bench_line_ns[0]),
			us(bench_line_ns[1]));
}

static const char *const kind_name[] = {"latency", "bandwidth", "throughput", "memory"};

int write_results(const struct bench_opts *o, const char *json, const char *csv,
		  const char *markdown, const char *cdf)
{
	FILE *f;

	progress("");

	if (json) {
		f = fopen(json, "w");
		if (!f)
			return -errno;
		fprintf(f, "{\n  \"tool\": \"gvm-bench\",\n  \"format\": 2,\n  \"date\": %ld,\n",
			(long)time(NULL));
		fprintf(f, "  \"config\": {\"transport\": \"%s\", \"iters\": %" PRIu64
			", \"warmup\": %" PRIu64 ", \"blocks\": %d, \"manager\": \"%s\", \"tp_opts\": \"%s\""
			", \"auth\": \"%s\"},\n",
			o->transport, o->iters, o->warmup, BENCH_BLOCKS,
			o->manager ? o->manager : "fixed", o->tp_opts ? o->tp_opts : "",
			bench_auth_mode());
		machine(f, true);
		fprintf(f, "  \"results\": [\n");
		for (unsigned i = 0; i < nresults; i++) {
			const struct result *r = &results[i];

			fprintf(f, "    {\"test\": \"%s\", \"label\": \"%s\", \"kind\": \"%s\", \"bytes\": %" PRIu64
				", \"iters\": %" PRIu64 ", \"min_ns\": %" PRIu64 ", \"median_ns\": %" PRIu64
				", \"avg_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"p999_ns\": %" PRIu64
				", \"max_ns\": %" PRIu64 ", \"mbps\": %.1f, \"rate\": %.0f"
				", \"fault_rate\": %.0f, \"baseline\": \"%s\", \"ratio\": %.4g"
				", \"baseline_median_ns\": %" PRIu64 ", \"baseline_mbps\": %.1f"
				", \"baseline_rate\": %.0f, \"cpu_ns_per_op\": %" PRIu64
				", \"ctxsw_per_op\": %.3f, \"resident_bytes\": %" PRIu64 "}%s\n",
				r->test, r->label, kind_name[r->kind], r->bytes, r->iters, r->min,
				r->median, r->avg, r->p99, r->p999, r->max, r->mbps, r->rate,
				r->fault_rate, r->baseline, r->ratio, r->baseline_median,
				r->baseline_mbps, r->baseline_rate, r->cpu_ns, r->ctxsw,
				r->resident, i + 1 < nresults ? "," : "");
		}
		fprintf(f, "  ]\n}\n");
		fclose(f);
	}
	if (csv) {
		f = fopen(csv, "w");
		if (!f)
			return -errno;
		fprintf(f, "test,label,kind,bytes,iters,min_ns,median_ns,avg_ns,p99_ns,p999_ns,max_ns,"
			   "mbps,rate,fault_rate,baseline,ratio,baseline_median_ns,baseline_mbps,baseline_rate,"
			   "cpu_ns_per_op,ctxsw_per_op,resident_bytes\n");
		for (unsigned i = 0; i < nresults; i++) {
			const struct result *r = &results[i];

			fprintf(f, "%s,%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.1f,%.0f,%.0f,%s,%.3f,%" PRIu64
				",%.1f,%.0f,%" PRIu64 ",%.3f,%" PRIu64 "\n",
				r->test, r->label, kind_name[r->kind], r->bytes, r->iters, r->min,
				r->median, r->avg, r->p99, r->p999, r->max, r->mbps, r->rate,
				r->fault_rate, r->baseline, r->ratio, r->baseline_median,
				r->baseline_mbps, r->baseline_rate, r->cpu_ns, r->ctxsw, r->resident);
		}
		fclose(f);
	}
	if (cdf) {
		f = fopen(cdf, "w");
		if (!f)
			return -errno;
		fprintf(f, "test,label,bytes,permille,ns\n");
		for (unsigned i = 0; i < nresults; i++)
			for (int k = 0; results[i].kind == RESULT_LATENCY && k < CDF_POINTS; k++)
				fprintf(f, "%s,%s,%" PRIu64 ",%u,%" PRIu64 "\n", results[i].test,
					results[i].label, results[i].bytes, cdf_permille(k),
					results[i].cdf[k]);
		fclose(f);
	}
	if (markdown) {
		f = fopen(markdown, "w");
		if (!f)
			return -errno;
		fprintf(f, "# gvm-bench results\n\n");
		machine(f, false);
		fprintf(f, "Each ratio divides by the row it names, measured in the same run, "
			   "in blocks alternating with ours (%d of each); its own figure is in "
			   "the last column.\n\n", BENCH_BLOCKS);
		fprintf(f, "| test | what | bytes | median us | p99 us | MB/s | per second | ratio | divided by | its figure |\n"
			   "|---|---|---|---|---|---|---|---|---|---|\n");
		for (unsigned i = 0; i < nresults; i++) {
			const struct result *r = &results[i];
			char bytes[24] = "", median[24] = "", p99[24] = "", mbps[24] = "";
			char rate[24] = "", ratio[24] = "", theirs[32] = "";

			if (r->bytes || r->kind != RESULT_THROUGHPUT)
				snprintf(bytes, sizeof(bytes), "%" PRIu64, r->bytes);
			if (r->kind == RESULT_LATENCY) {
				snprintf(median, sizeof(median), "%.2f", us(r->median));
				snprintf(p99, sizeof(p99), "%.2f", us(r->p99));
			}
			if (r->kind == RESULT_BANDWIDTH)
				snprintf(mbps, sizeof(mbps), "%.1f", r->mbps);
			if (r->kind == RESULT_BANDWIDTH || r->kind == RESULT_THROUGHPUT)
				snprintf(rate, sizeof(rate), "%.0f", r->rate);
			if (r->baseline[0]) {
				snprintf(ratio, sizeof(ratio), "%.3g", r->ratio);
				if (r->kind == RESULT_LATENCY)
					snprintf(theirs, sizeof(theirs), "%.2f us", us(r->baseline_median));
				else if (r->kind == RESULT_BANDWIDTH)
					snprintf(theirs, sizeof(theirs), "%.1f MB/s", r->baseline_mbps);
				else if (r->kind == RESULT_MEMORY)
					snprintf(theirs, sizeof(theirs), "%.1f MiB", (double)r->bytes / 1048576.0);
				else
					snprintf(theirs, sizeof(theirs), "%.0f/s", r->baseline_rate);
			}
			fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->test,
				r->label, bytes, median, p99, mbps, rate, ratio, r->baseline, theirs);
		}
		fclose(f);
	}
	return 0;
}
