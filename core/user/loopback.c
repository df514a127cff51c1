// SPDX-License-Identifier: MIT
/*
 * loopback.c - what local launchers (gvmrun, gvm-bench, the tests) share:
 * listening sockets on 127.0.0.1 made before any node starts, so nodes
 * inherit them and no port can be taken between choosing and binding it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
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
