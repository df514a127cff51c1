// SPDX-License-Identifier: MIT
/*
 * secret.c - the cluster secret from a file: checked private, read, and
 * turned into the key (gvm/auth.h). A file of its own so that programs
 * with a cluster layer of their own (tests/vm/kshim.c, over the kernel
 * module) can take it from libgvmdsm.a without the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "secret.h"

/* A file holding a secret must be its owner's alone, as ssh asks of keys. */
int gvm_secret_file_private(const char *what, const char *path, int fd, char *err,
			 size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s=%s: %s", what, path, strerror(errno));
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s=%s holds the cluster secret but others may read it: chmod 600 %s",
			 what, path, path);
		return -EACCES;
	}
	return 0;
}

int gvm_cluster_secret_load(const char *path, bool tags, struct gvm_auth *out,
			    char *err, size_t errlen)
{
	uint8_t buf[4096];
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(err, errlen, "GVM_SECRET_FILE=%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	rc = gvm_secret_file_private("GVM_SECRET_FILE", path, fd, err, errlen);
	len = rc ? 0 : read(fd, buf, sizeof(buf));
	close(fd);
	if (rc)
		return rc;
	while (len > 0 && isspace(buf[len - 1]))
		len--;
	rc = len < 0 ? -EINVAL : gvm_auth_init(out, buf, (size_t)len, tags ? GVM_AUTH_TAGS : 0);
	memset(buf, 0, sizeof(buf));
	if (rc == -EINVAL)
		snprintf(err, errlen, "GVM_SECRET_FILE=%s: want at least %u bytes of secret (e.g. head -c 32 /dev/urandom | base64)",
			 path, GVM_SECRET_MIN);
	else if (rc)
		snprintf(err, errlen, "GVM_SECRET_FILE=%s: %s", path, strerror(-rc));
	return rc;
}

int gvm_cluster_auth_env(struct gvm_auth *out, char *err, size_t errlen)
{
	const char *file = getenv("GVM_SECRET_FILE"), *mac = getenv("GVM_MAC");
	int rc;

	if (!file)
		return 0;
	rc = gvm_cluster_secret_load(file, !mac || strcmp(mac, "0"), out, err, errlen);
	return rc ? rc : 1;
}
