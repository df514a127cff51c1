// SPDX-License-Identifier: MIT
/*
 * tp_rma.c - tp-read / tp-write: one-sided transfers. They run only on a
 * backend that advertises GVM_CAP_RMA; none of those built here does yet
 * (the verbs, libfabric and UCX backends will), so this says so plainly
 * rather than print numbers that mean nothing.
 */
#include <stdio.h>

#include <gvm/transport.h>

#include "bench.h"

static int tp_rma(const struct bench_opts *o, const char *which)
{
	struct tp_side s;
	pid_t child;
	int rc;

	if (pair_start(o, false, 0, 0, &s, &child))
		return 1;
	if (!(s.tp->caps & GVM_CAP_RMA))
		printf("\n# %s: transport %s offers no one-sided operations (no GVM_CAP_RMA): skipped\n",
		       which, o->transport);
	else
		printf("\n# %s: transport %s advertises RMA, but gvm-bench does not measure it yet\n",
		       which, o->transport);
	rc = pair_finish(&s, child);
	return rc ? 1 : 0;
}

int cmd_tp_read(const struct bench_opts *o)
{
	return tp_rma(o, "tp-read");
}

int cmd_tp_write(const struct bench_opts *o)
{
	return tp_rma(o, "tp-write");
}
