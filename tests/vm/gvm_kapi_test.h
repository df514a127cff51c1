/* SPDX-License-Identifier: MIT */
/* gvm_kapi_test.h - the ioctl of /dev/gvm_kapi_test (gvm_kapi_test.c). */
#ifndef GVM_KAPI_TEST_H
#define GVM_KAPI_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Acquire page of the node behind fd (a /dev/gvm_dsm fd of the caller; the
 * first call binds this file to that node), write value to or read it
 * from the page's first word, release. Returns the notifier's counts.
 */
struct gvm_kapi_touch {
	__s32 fd;
	__u32 write;         /* 0 read, 1 write */
	__u64 page;
	__u64 value;
	__u64 invalidations; /* out */
	__u64 downgrades;    /* out */
};

#define GVM_KAPI_TOUCH _IOWR(0xD6, 1, struct gvm_kapi_touch)

#endif /* GVM_KAPI_TEST_H */
