/* SPDX-License-Identifier: MIT */
/* secret.h - core/user's check on a file that holds the cluster secret. */
#ifndef GVM_USER_SECRET_H
#define GVM_USER_SECRET_H

#include <stddef.h>

/*
 * 0 if fd (the file what=path) is its owner's alone, as ssh asks of keys;
 * else -EACCES or -EINVAL with a message in err.
 */
int gvm_secret_file_private(const char *what, const char *path, int fd, char *err,
			    size_t errlen);

#endif
