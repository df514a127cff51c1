/* SPDX-License-Identifier: MIT */
/*
 * flush.h - cache-line write-back and invalidation for hosts that share
 * memory without hardware coherence (flush=1). Writers write back what they
 * wrote (clwb, else clflushopt, else clflush) and fence; readers evict a
 * line before reading it, so the load goes to memory. With CXL_SYNC_NONE
 * (coherent hosts, the default) every call is a no-op branch.
 */
#ifndef GVM_CXL_FLUSH_H
#define GVM_CXL_FLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

enum cxl_sync {
	CXL_SYNC_NONE = 0,
	CXL_SYNC_CLWB,       /* write back, keep the line */
	CXL_SYNC_CLFLUSHOPT, /* write back and evict, weakly ordered */
	CXL_SYNC_CLFLUSH,    /* write back and evict, ordered */
};

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* The best instruction this CPU has, or CXL_SYNC_NONE if it has none. */
static inline enum cxl_sync cxl_sync_detect(void)
{
	unsigned int a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1u << 24))
			return CXL_SYNC_CLWB;
		if (b & (1u << 23))
			return CXL_SYNC_CLFLUSHOPT;
	}
	if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19)))
		return CXL_SYNC_CLFLUSH;
	return CXL_SYNC_NONE;
}

__attribute__((target("clwb"))) static inline void cxl_clwb(const void *p)
{
	__builtin_ia32_clwb(p);
}

__attribute__((target("clflushopt"))) static inline void
cxl_clflushopt(const void *p)
{
	__builtin_ia32_clflushopt(p);
}

static inline void cxl_line_op(enum cxl_sync s, const void *p)
{
	if (s == CXL_SYNC_CLWB)
		cxl_clwb(p);
	else if (s == CXL_SYNC_CLFLUSHOPT)
		cxl_clflushopt(p);
	else
		__builtin_ia32_clflush(p);
}

/* After writing [p, p + len): push the lines out and order them. */
static inline void cxl_write_back(enum cxl_sync s, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(CXL_LINE - 1);

	if (s == CXL_SYNC_NONE)
		return;
	for (; a < (uintptr_t)p + len; a += CXL_LINE)
		cxl_line_op(s, (const void *)a);
	__builtin_ia32_sfence();
}

/* Before reading [p, p + len): drop our copies so loads see memory. */
static inline void cxl_invalidate(enum cxl_sync s, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(CXL_LINE - 1);

	if (s == CXL_SYNC_NONE)
		return;
	/* clwb keeps the line: a reader must evict. */
	for (; a < (uintptr_t)p + len; a += CXL_LINE)
		cxl_line_op(s == CXL_SYNC_CLWB ? CXL_SYNC_CLFLUSHOPT : s,
			    (const void *)a);
	__builtin_ia32_mfence();
}

static inline void cxl_cpu_relax(void)
{
	__builtin_ia32_pause();
}
#else
static inline enum cxl_sync cxl_sync_detect(void)
{
	return CXL_SYNC_NONE;
}

static inline void cxl_write_back(enum cxl_sync s, const void *p, size_t len)
{
	(void)s, (void)p, (void)len;
}

static inline void cxl_invalidate(enum cxl_sync s, const void *p, size_t len)
{
	(void)s, (void)p, (void)len;
}

static inline void cxl_cpu_relax(void)
{
}
#endif

#endif /* GVM_CXL_FLUSH_H */
