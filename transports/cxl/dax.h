/* SPDX-License-Identifier: MIT */
/*
 * dax.h - devdax discovery through libdaxctl. Built only when pkg-config
 * finds libdaxctl (GVM_HAVE_LIBDAXCTL); otherwise these stubs say so.
 */
#ifndef GVM_CXL_DAX_H
#define GVM_CXL_DAX_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#ifdef GVM_HAVE_LIBDAXCTL
/*
 * Check that path (/dev/daxX.Y) is an enabled device in devdax mode; set
 * *size and *align (the mapping must be aligned to it). Returns 0, or
 * -ENODEV (no such device; the message lists what there is), -EINVAL (not
 * in devdax mode, or disabled), -errno from libdaxctl; why says which.
 */
int cxl_dax_check(const char *path, uint64_t *size, uint64_t *align,
		  char *why, size_t len);
/* Print every dax device libdaxctl sees to f; returns how many, or -errno. */
int cxl_dax_list(FILE *f);
#else
static inline int cxl_dax_check(const char *path, uint64_t *size,
				uint64_t *align, char *why, size_t len)
{
	(void)size, (void)align;
	snprintf(why, len, "%s: this build has no devdax support (libdaxctl was not found by pkg-config; Debian: libdaxctl-dev)",
		 path);
	return -ENOTSUP;
}

static inline int cxl_dax_list(FILE *f)
{
	fprintf(f, "this build has no devdax support (libdaxctl was not found by pkg-config; Debian: libdaxctl-dev)\n");
	return -ENOTSUP;
}
#endif

#endif /* GVM_CXL_DAX_H */
