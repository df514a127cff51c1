// SPDX-License-Identifier: MIT
/* os_user.c - userspace implementation of the services gvm_os.h promises. */
#include "gvm_os.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/*
 * Frames are carved from 2 MiB chunks mapped and populated up front, and
 * recycled through a free list per size: a frame's first use costs no
 * page fault on the fault path (measured: 4.5 us of a remote read fault
 * went to posix_memalign, memset and the kernel filling the new page),
 * and 4 KiB frames carry no alignment slack (posix_memalign's doubled
 * their footprint). Freed frames stay for reuse. Frames of a chunk or more
 * are mapped one by one.
 */
#define FRAME_CHUNK (2ul << 20)
#define FRAME_SHIFTS 22 /* sizes 1 .. 2 MiB, powers of two */

struct free_frame {
	struct free_frame *next;
};

static struct {
	pthread_mutex_t lock;
	struct free_frame *free[FRAME_SHIFTS];
	uint8_t *cur[FRAME_SHIFTS];
	size_t left[FRAME_SHIFTS];
} frames = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned int frame_shift(size_t size)
{
	unsigned int s = 0;

	while (((size_t)1 << s) < size)
		s++;
	return s;
}

void *gvm_os_frame_alloc(size_t size)
{
	unsigned int s = frame_shift(size);
	size_t len = (size_t)1 << s;
	void *p = NULL;

	if (len >= FRAME_CHUNK) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (len < sizeof(struct free_frame))
		len = sizeof(struct free_frame);
	pthread_mutex_lock(&frames.lock);
	if (frames.free[s]) {
		p = frames.free[s];
		frames.free[s] = frames.free[s]->next;
		pthread_mutex_unlock(&frames.lock);
		memset(p, 0, len);
		return p;
	}
	if (frames.left[s] < len) {
		void *c = mmap(NULL, FRAME_CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (c == MAP_FAILED) {
			pthread_mutex_unlock(&frames.lock);
			return NULL;
		}
		frames.cur[s] = c;
		frames.left[s] = FRAME_CHUNK;
	}
	p = frames.cur[s];
	frames.cur[s] += len;
	frames.left[s] -= len;
	pthread_mutex_unlock(&frames.lock);
	return p; /* never used: zero */
}

void gvm_os_frame_free(void *p, size_t size)
{
	unsigned int s = frame_shift(size);
	struct free_frame *f = p;

	if (!p)
		return;
	if (((size_t)1 << s) >= FRAME_CHUNK) {
		munmap(p, (size_t)1 << s);
		return;
	}
	pthread_mutex_lock(&frames.lock);
	f->next = frames.free[s];
	frames.free[s] = f;
	pthread_mutex_unlock(&frames.lock);
}

void gvm_os_cond_init(gvm_os_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

uint64_t gvm_os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int log_level = -1;
static void (*log_sink)(int level, const char *line);

static int log_level_from_env(void)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};
	const char *e = getenv("GVM_LOG");

	for (int i = 0; e && i < 4; i++)
		if (!strcmp(e, names[i]))
			return i;
	return GVM_LOG_WARN;
}

void gvm_os_log_set_level(int level)
{
	log_level = level;
}

void gvm_os_log_set_sink(void (*sink)(int level, const char *line))
{
	log_sink = sink;
}

void gvm_os_log(int level, const char *fmt, ...)
{
	static const char *const tags[] = {"error", "warning", "info", "debug"};
	char line[512];
	va_list ap;

	if (log_level < 0)
		log_level = log_level_from_env();
	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_sink) {
		log_sink(level, line);
	} else {
		uint64_t ms = gvm_os_now_ns() / 1000000;
		char out[600];
		int len;

		/*
		 * Monotonic seconds: lines from several nodes sort by time. One
		 * write(2), not stdio: a fault can come inside the program's own
		 * fwrite(stderr) and log from its signal handler, and a line of
		 * each node stays whole.
		 */
		len = snprintf(out, sizeof(out), "gvm: [%llu.%03llu] %s: %s\n",
			       (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
			       tags[level & 3], line);
		if (len > (int)sizeof(out) - 1)
			len = (int)sizeof(out) - 1;
		if (write(STDERR_FILENO, out, (size_t)len) < 0)
			return; /* nowhere left to say it */
	}
}
