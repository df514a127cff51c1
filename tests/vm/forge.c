// SPDX-License-Identifier: MIT
/*
 * Description: a peer that passes the handshake and then sends engine
 * messages of random bytes is cut off by a kernel node, which logs why
 * and goes on (the harness checks dmesg for oopses).
 *
 *	vm-forge HOST:PORT CLUSTER NODES ID SEED
 *
 * Dials the node at HOST:PORT with a correct hello claiming node ID of
 * NODES in CLUSTER (4 KiB pages, fixed manager), waits for its hello, then
 * sends up to 30 MSG frames of random length and contents (xorshift from
 * SEED) until the node closes the connection. An odd SEED sends random
 * bytes; an even one a well-formed engine header (version, a valid type,
 * the right length, a page in range) over a random body, which reaches the
 * engine's checks past the header. Exit 0 either way (the harness judges
 * the node); 1 if there was no handshake.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gvm/dsm.h>

int main(int argc, char **argv)
{
	struct gvm_config cfg = {.page_shift = 12, .npages = 1, .manager = GVM_MANAGER_FIXED};
	struct sockaddr_in a = {.sin_family = AF_INET};
	uint8_t hello[8 + GVM_HELLO_LEN] = {GVM_HELLO_LEN, 0, 0, 0, 1}, buf[8 + 528];
	struct gvm_hello h;
	uint64_t seed;
	char host[64];
	int port, fd, sent = 0;
	bool structured;

	if (argc != 6 || sscanf(argv[1], "%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "usage: vm-forge HOST:PORT CLUSTER NODES ID SEED\n");
		return 2;
	}
	cfg.cluster_id = strtoull(argv[2], NULL, 0);
	cfg.nodes = (uint32_t)atoi(argv[3]);
	cfg.self = (uint32_t)atoi(argv[4]);
	seed = strtoull(argv[5], NULL, 0);
	structured = !(seed & 1);
	seed |= 1;
	gvm_config_hello(&cfg, &h);
	gvm_hello_encode(&h, hello + 8);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello) ||
	    read(fd, buf, sizeof(hello)) != (ssize_t)sizeof(hello) || buf[4] != 1) {
		fprintf(stderr, "forge: no handshake with %s\n", argv[1]);
		return 1;
	}
	for (int round = 0; round < 30; round++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint32_t len;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		len = (structured ? 16 : 1) + (uint32_t)(seed % 512);
		for (uint32_t k = 0; k < len; k++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			buf[8 + k] = (uint8_t)seed;
		}
		if (structured) {
			uint32_t body = len - 16;

			buf[8] = 1;                 /* wire version */
			buf[9] = 1 + buf[9] % 12;   /* a message type */
			buf[10] = buf[11] = 0;      /* no flags */
			memcpy(buf + 12, &body, 4); /* little endian hosts */
			memset(buf + 18, 0, 6);     /* page < 65536 */
		}
		buf[0] = (uint8_t)len, buf[1] = (uint8_t)(len >> 8), buf[2] = buf[3] = 0;
		buf[4] = 3, buf[5] = buf[6] = buf[7] = 0; /* MSG */
		if (write(fd, buf, 8 + len) < 0)
			break; /* reset: it closed */
		sent++;
		/* Heartbeats come too; the close is a read of 0 or an error. */
		for (int waited = 0; waited < 300 && poll(&p, 1, 50) >= 0; waited += 50) {
			ssize_t r = p.revents ? read(fd, buf, sizeof(buf)) : 1;

			if (r <= 0) {
				printf("forge: cut off after %d random message(s)\n", sent);
				return 0;
			}
		}
	}
	printf("forge: %d random messages, still connected\n", sent);
	return 0;
}
