/* SPDX-License-Identifier: MIT */
/*
 * gvm_os_kernel.h - kernel half of core/os/gvm_os.h: the services the
 * engine uses, over mutexes, wait queues, the page allocator, ktime and
 * printk. Found on the include path (-I kmod/) when __KERNEL__ is defined.
 */
#ifndef GVM_OS_KERNEL_H
#define GVM_OS_KERNEL_H

#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

#define gvm_memcpy memcpy
#define gvm_memset memset
#define gvm_memcmp memcmp

typedef struct mutex gvm_os_mutex_t;

/*
 * A condition variable: a wait queue and a generation. A waiter notes the
 * generation under the caller's mutex, so a broadcast after that is never
 * missed.
 */
typedef struct {
	wait_queue_head_t wq;
	unsigned long gen;
} gvm_os_cond_t;

static inline void *gvm_os_zalloc(size_t size)
{
	/* Page tables and copysets scale with the region: may be large. */
	return kvzalloc(size, GFP_KERNEL);
}

static inline void gvm_os_free(void *p)
{
	kvfree(p);
}

static inline void *gvm_os_realloc(void *p, size_t old, size_t size)
{
	return kvrealloc(p, old, size, GFP_KERNEL);
}

void *gvm_os_frame_alloc(size_t size);
void gvm_os_frame_free(void *p, size_t size);

static inline void gvm_os_mutex_init(gvm_os_mutex_t *m)
{
	mutex_init(m);
}

static inline void gvm_os_mutex_destroy(gvm_os_mutex_t *m)
{
	mutex_destroy(m);
}

static inline void gvm_os_mutex_lock(gvm_os_mutex_t *m)
{
	mutex_lock(m);
}

static inline void gvm_os_mutex_unlock(gvm_os_mutex_t *m)
{
	mutex_unlock(m);
}

static inline void gvm_os_cond_init(gvm_os_cond_t *c)
{
	init_waitqueue_head(&c->wq);
	c->gen = 0;
}

static inline void gvm_os_cond_destroy(gvm_os_cond_t *c)
{
}

int gvm_os_cond_wait(gvm_os_cond_t *c, gvm_os_mutex_t *m);
void gvm_os_cond_broadcast(gvm_os_cond_t *c);

static inline uint64_t gvm_os_now_ns(void)
{
	return ktime_get_ns();
}

static inline void gvm_os_cpu_relax(void)
{
	cpu_relax();
}

static inline void gvm_os_yield(void)
{
	cond_resched();
}

static inline uint32_t gvm_os_popcount64(uint64_t x)
{
	return hweight64(x);
}

__printf(2, 3) void gvm_os_log(int level, const char *fmt, ...);

#endif /* GVM_OS_KERNEL_H */
