/* SPDX-License-Identifier: MIT */
/*
 * self.h - what a test reads of its own process in /proc, to check that
 * what a peer did to it left its memory and descriptors bounded.
 */
#ifndef GVM_TEST_SELF_H
#define GVM_TEST_SELF_H

#include <dirent.h>
#include <stdio.h>

/* Resident memory (VmRSS), or -1. */
static inline long self_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Entries of /proc/self/fd: the open descriptors, plus a constant few. */
static inline int self_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

#endif
