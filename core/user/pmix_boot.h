/* SPDX-License-Identifier: MIT */
/*
 * pmix_boot.h - bootstrap through PMIx when a launcher (mpirun, srun)
 * started us: each rank publishes where it listens, a fence exchanges the
 * addresses, and the result lands in the GVM_* variables gvmrun would set.
 */
#ifndef GVM_PMIX_BOOT_H
#define GVM_PMIX_BOOT_H

#include <stddef.h>

#ifdef GVM_HAVE_PMIX
/* Returns 1 if it configured us, 0 if not under PMIx (or GVM_NODE_ID is
 * already set), -errno with a reason in err. */
int gvm_pmix_bootstrap(char *err, size_t errlen);
void gvm_pmix_finalize(void);
#else
#include <stdlib.h>

#include "os/gvm_os.h"

static inline int gvm_pmix_bootstrap(char *err, size_t errlen)
{
	(void)err, (void)errlen;
	if (getenv("PMIX_RANK") && !getenv("GVM_NODE_ID"))
		gvm_log_warn("started by a PMIx launcher, but built without libpmix "
			     "(install libpmix-dev and rebuild, or set GVM_* yourself)");
	return 0;
}

static inline void gvm_pmix_finalize(void)
{
}
#endif

#endif /* GVM_PMIX_BOOT_H */
