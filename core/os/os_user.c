// SPDX-License-Identifier: MIT
/* os_user.c - userspace implementation of the services gvm_os.h promises. */
#include "gvm_os.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void *gvm_os_frame_alloc(size_t size)
{
	void *p = NULL;

	/* A frame may be handed to mmap-style interfaces: keep it aligned. */
	if (posix_memalign(&p, size < 4096 ? size : 4096, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

void gvm_os_frame_free(void *p, size_t size)
{
	(void)size;
	free(p);
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

		/* Monotonic seconds: lines from several nodes sort by time. */
		fprintf(stderr, "gvm: [%llu.%03llu] %s: %s\n",
			(unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
			tags[level & 3], line);
	}
}
