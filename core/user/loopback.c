// SPDX-License-Identifier: MIT
/*
 * loopback.c - what local launchers (gvmrun, gvm-bench, the tests) share:
 * listening sockets on 127.0.0.1 made before any node starts, so nodes
 * inherit them and no port can be taken between choosing and binding it;
 * or, for the cxl backend, a fresh /dev/shm region the nodes all map.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gvm/cluster.h>

int gvm_loopback_listeners(uint32_t n, int *fds, char *peers, size_t len)
{
	size_t off = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t al = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(fd, 1024) || getsockname(fd, (struct sockaddr *)&a, &al)) {
			err = -errno;
			if (fd >= 0)
				close(fd);
			while (i--)
				close(fds[i]);
			return err;
		}
		fds[i] = fd;
		off += (size_t)snprintf(peers + off, off < len ? len - off : 0,
					"%s127.0.0.1:%u", i ? "," : "", ntohs(a.sin_port));
	}
	if (off >= len) {
		for (uint32_t i = 0; i < n; i++)
			close(fds[i]);
		return -ENOSPC;
	}
	return 0;
}

int gvm_loopback_peers(const char *transport, uint32_t n, int *fds, char *peers,
		       size_t len)
{
	static unsigned int regions; /* one process may start several clusters */

	if (strcmp(transport, "cxl"))
		return gvm_loopback_listeners(n, fds, peers, len);
	for (uint32_t i = 0; i < n; i++)
		fds[i] = -1;
	if ((size_t)snprintf(peers, len, "path=/dev/shm/gvm-%d-%u", (int)getpid(),
			     regions++) >= len)
		return -ENOSPC;
	return 0;
}

void gvm_loopback_done(const char *peers)
{
	if (!strncmp(peers, "path=", 5))
		unlink(peers + 5);
}

void gvm_loopback_become(uint32_t i, uint32_t n, const int *fds)
{
	char num[16];

	for (uint32_t k = 0; k < n; k++)
		if (k != i && fds[k] >= 0)
			close(fds[k]);
	snprintf(num, sizeof(num), "%u", i);
	setenv("GVM_NODE_ID", num, 1);
	if (fds[i] < 0)
		return;
	fcntl(fds[i], F_SETFD, 0); /* survives an exec */
	snprintf(num, sizeof(num), "%d", fds[i]);
	setenv("GVM_LISTEN_FD", num, 1);
}
