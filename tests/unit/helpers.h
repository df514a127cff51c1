/* SPDX-License-Identifier: MIT */
/* helpers.h - tiny assertion kit for unit tests (exit 0 pass, 1 fail, 77 skip). */
#ifndef GVM_TEST_HELPERS_H
#define GVM_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>

static int test_failures;

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                             \
			test_failures++;                                      \
		}                                                             \
	} while (0)

static inline int test_exit(const char *name)
{
	printf("%s: %s\n", name, test_failures ? "FAIL" : "ok");
	return test_failures ? 1 : 0;
}

#endif
