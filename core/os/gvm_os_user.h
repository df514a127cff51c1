/* SPDX-License-Identifier: MIT */
/* gvm_os_user.h - userspace half of gvm_os.h (pthreads, libc). */
#ifndef GVM_OS_USER_H
#define GVM_OS_USER_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define gvm_memcpy memcpy
#define gvm_memset memset
#define gvm_memcmp memcmp

typedef pthread_mutex_t gvm_os_mutex_t;
typedef pthread_cond_t gvm_os_cond_t;

static inline void *gvm_os_zalloc(size_t size)
{
	return calloc(1, size);
}

static inline void gvm_os_free(void *p)
{
	free(p);
}

/* Grow (or shrink) p, allocated here, from old to size bytes; NULL on failure. */
static inline void *gvm_os_realloc(void *p, size_t old, size_t size)
{
	(void)old;
	return realloc(p, size);
}

void *gvm_os_frame_alloc(size_t size);
void gvm_os_frame_free(void *p, size_t size);

static inline void gvm_os_mutex_init(gvm_os_mutex_t *m)
{
	pthread_mutex_init(m, NULL);
}

static inline void gvm_os_mutex_destroy(gvm_os_mutex_t *m)
{
	pthread_mutex_destroy(m);
}

static inline void gvm_os_mutex_lock(gvm_os_mutex_t *m)
{
	pthread_mutex_lock(m);
}

static inline void gvm_os_mutex_unlock(gvm_os_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

void gvm_os_cond_init(gvm_os_cond_t *c);

static inline void gvm_os_cond_destroy(gvm_os_cond_t *c)
{
	pthread_cond_destroy(c);
}

/* A thread here is never killed alone: the wait always completes. */
static inline int gvm_os_cond_wait(gvm_os_cond_t *c, gvm_os_mutex_t *m)
{
	pthread_cond_wait(c, m);
	return 0;
}

static inline void gvm_os_cond_broadcast(gvm_os_cond_t *c)
{
	pthread_cond_broadcast(c);
}

uint64_t gvm_os_now_ns(void);

/* In a busy-wait loop: let the sibling hyperthread (or hypervisor) run. */
static inline void gvm_os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Give the CPU to another runnable thread, if there is one. */
static inline void gvm_os_yield(void)
{
	sched_yield();
}

static inline uint32_t gvm_os_popcount64(uint64_t x)
{
	return (uint32_t)__builtin_popcountll(x);
}

void gvm_os_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Userspace only: the most verbose level printed (GVM_LOG_WARN unless the
 * environment says GVM_LOG=err|warn|info|debug), and where lines go.
 */
void gvm_os_log_set_level(int level);
void gvm_os_log_set_sink(void (*sink)(int level, const char *line));

#endif /* GVM_OS_USER_H */
