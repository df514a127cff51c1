/*
 * Stand-in for kmod/gvm_os_kernel.h: the gvm_os.h services declared as
 * plain external functions, with no libc and no kernel headers behind
 * them. Compiling core/ against this proves the engine needs nothing else;
 * the symbols it leaves undefined are then checked by check.sh.
 */
#ifndef KCOMPAT_GVM_OS_KERNEL_H
#define KCOMPAT_GVM_OS_KERNEL_H

#define EINVAL 22
#define EACCES 13
#define ENOMEM 12
#define EPROTO 71
#define EOPNOTSUPP 95
#define EINPROGRESS 115
#define ESHUTDOWN 108
#define EHOSTDOWN 112
#define ECONNRESET 104
#define EPIPE 32
#define ENETUNREACH 101
#define EINTR 4
#define EAGAIN 11

typedef struct { void *opaque[5]; } gvm_os_mutex_t;
typedef struct { void *opaque[6]; } gvm_os_cond_t;

void *gvm_os_zalloc(size_t size);
void gvm_os_free(void *p);
void *gvm_os_realloc(void *p, size_t old, size_t size);
void *gvm_os_frame_alloc(size_t size);
void gvm_os_frame_free(void *p, size_t size);
void gvm_os_mutex_init(gvm_os_mutex_t *m);
void gvm_os_mutex_destroy(gvm_os_mutex_t *m);
void gvm_os_mutex_lock(gvm_os_mutex_t *m);
void gvm_os_mutex_unlock(gvm_os_mutex_t *m);
void gvm_os_cond_init(gvm_os_cond_t *c);
void gvm_os_cond_destroy(gvm_os_cond_t *c);
int gvm_os_cond_wait(gvm_os_cond_t *c, gvm_os_mutex_t *m);
void gvm_os_cond_broadcast(gvm_os_cond_t *c);
uint64_t gvm_os_now_ns(void);
void gvm_os_cpu_relax(void);
void gvm_os_yield(void);
void gvm_os_log(int level, const char *fmt, ...);
uint32_t gvm_os_popcount64(uint64_t x);

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#define gvm_memcpy memcpy
#define gvm_memset memset
#define gvm_memcmp memcmp

#endif
