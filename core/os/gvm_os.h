/* SPDX-License-Identifier: MIT */
/*
 * gvm_os.h - the engine's only window onto its operating system.
 *
 * core/ sources compile unchanged in the kernel module and in userspace.
 * They include this header and nothing else from an OS; it is the only file
 * in core/ that tests __KERNEL__. Each world supplies the same small set of
 * services (locks, waiting, allocation, time, logging, memory helpers):
 * userspace in gvm_os_user.h + os_user.c, the kernel in kmod/.
 */
#ifndef GVM_OS_H
#define GVM_OS_H

#include <gvm/types.h>

#ifdef __KERNEL__
#include "gvm_os_kernel.h"
#else
#include "gvm_os_user.h"
#endif

enum gvm_log_level {
	GVM_LOG_ERR = 0,
	GVM_LOG_WARN = 1,
	GVM_LOG_INFO = 2,
	GVM_LOG_DEBUG = 3,
};

/*
 * Every world provides:
 *   void *gvm_os_zalloc(size_t size);       zeroed, NULL on failure
 *   void  gvm_os_free(void *p);
 *   void *gvm_os_realloc(void *p, size_t old, size_t size);  NULL on failure
 *   void *gvm_os_frame_alloc(size_t size);   zeroed, aligned to size
 *   void  gvm_os_frame_free(void *p, size_t size);
 *   gvm_os_mutex_t, gvm_os_mutex_{init,destroy,lock,unlock}()
 *   gvm_os_cond_t,  gvm_os_cond_{init,destroy,broadcast}()
 *   int gvm_os_cond_wait(c, m);              0, or -EINTR if the waiting
 *                                            task is being killed (kernel)
 *   uint64_t gvm_os_now_ns(void);            monotonic
 *   void gvm_os_cpu_relax(void);             in a busy-wait loop
 *   void gvm_os_yield(void);                 let other runnable threads run
 *   uint32_t gvm_os_popcount64(uint64_t);    (kernel: hweight64, no libgcc)
 *   void gvm_os_log(int level, const char *fmt, ...);
 *   gvm_memcpy, gvm_memset, gvm_memcmp
 * and, below, the crypto core/auth.c is built on.
 */

/*
 * HMAC-SHA256 under one key (userspace: OpenSSL's libcrypto; kernel: the
 * crypto API's "hmac(sha256)"). new may sleep and returns NULL on failure;
 * one caller at a time per object; gvm_os_hmac writes 32 bytes to out and
 * returns 0 or -errno.
 */
struct gvm_iov;
void *gvm_os_hmac_new(const void *key, size_t len);
void gvm_os_hmac_free(void *h);
int gvm_os_hmac(void *h, const struct gvm_iov *iov, unsigned int n, uint8_t *out);
/* Unpredictable bytes (getrandom, get_random_bytes). */
void gvm_os_random(void *buf, size_t len);

#define gvm_log_err(...)   gvm_os_log(GVM_LOG_ERR, __VA_ARGS__)
#define gvm_log_warn(...)  gvm_os_log(GVM_LOG_WARN, __VA_ARGS__)
#define gvm_log_info(...)  gvm_os_log(GVM_LOG_INFO, __VA_ARGS__)
#define gvm_log_debug(...) gvm_os_log(GVM_LOG_DEBUG, __VA_ARGS__)

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef container_of
#define container_of(ptr, type, member)                                       \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif /* GVM_OS_H */
