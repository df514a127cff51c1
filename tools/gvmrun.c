// SPDX-License-Identifier: MIT
/*
 * gvmrun - start N local nodes of a program on loopback.
 *
 *	gvmrun -n 4 [options] -- ./prog args...
 *
 * Each node is a process with the environment libgvmdsm's
 * gvm_cluster_open() reads (GVM_NODE_ID, GVM_NODES, GVM_PEERS,
 * GVM_LISTEN_FD, GVM_CLUSTER_ID, ...). The listening sockets are made here
 * and inherited, so no port can be taken between choosing and binding it.
 * Exit status: 0 if every node exits 0, else that of the first to fail;
 * once one fails, the others get --grace seconds to finish before SIGKILL.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#define MAX_NODES 256

static void usage(FILE *f)
{
	fprintf(f,
"usage: gvmrun -n N [options] -- PROG [ARGS...]\n"
"Starts N processes of PROG as nodes 0..N-1 of one gvm-dsm cluster on 127.0.0.1.\n"
"\n"
"  -n, --nodes N          number of nodes (1..%d)\n"
"  -t, --transport NAME   transport (default tcp); cxl: the nodes share a fresh\n"
"                         /dev/shm region (rings and a window), removed at the end\n"
"  -m, --manager M        fixed | dynamic | central (default: GVM_MANAGER or fixed)\n"
"  -f, --fault-mode M     auto | thread | sigbus | mprotect\n"
"  -p, --page-size B      page size in bytes\n"
"  -r, --region-size S    region size (K, M, G suffixes)\n"
"      --timeout-ms T     peer timeout\n"
"      --eager            connect every pair at start\n"
"      --tag              prefix every output line with [node]\n"
"      --grace S          seconds the others get once a node failed (default 10)\n"
"  -h, --help\n"
"\n"
"Options not given are left to the environment (GVM_*), so a GVM_CONFIG file\n"
"or exported variables still apply.\n", MAX_NODES);
}

static void setenv_opt(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
}

/* Copy lines from fd to stdout, each prefixed with [node]. */
struct relay {
	int fd;
	int node;
	char buf[8192];
	size_t len;
};

static void relay_flush(struct relay *r, bool all)
{
	size_t start = 0;

	for (size_t i = 0; i < r->len; i++) {
		if (r->buf[i] != '\n')
			continue;
		printf("[%d] %.*s\n", r->node, (int)(i - start), r->buf + start);
		start = i + 1;
	}
	if (all && start < r->len) {
		printf("[%d] %.*s\n", r->node, (int)(r->len - start), r->buf + start);
		start = r->len;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	if (r->len == sizeof(r->buf))
		relay_flush(r, true);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"nodes", 1, NULL, 'n'},     {"transport", 1, NULL, 't'},
		{"manager", 1, NULL, 'm'},   {"fault-mode", 1, NULL, 'f'},
		{"page-size", 1, NULL, 'p'}, {"region-size", 1, NULL, 'r'},
		{"timeout-ms", 1, NULL, 'T'}, {"eager", 0, NULL, 'E'},
		{"tag", 0, NULL, 'G'},       {"grace", 1, NULL, 'g'},
		{"help", 0, NULL, 'h'},      {0, 0, 0, 0},
	};
	const char *transport = NULL, *manager = NULL, *mode = NULL;
	const char *page = NULL, *region = NULL, *timeout = NULL;
	int n = 0, grace = 10, c, status = 0, alive;
	bool tag = false, eager = false, failed = false;
	int lfd[MAX_NODES];
	pid_t pid[MAX_NODES];
	struct relay relays[MAX_NODES];
	char peers[MAX_NODES * 24] = "", num[32];
	time_t fail_time = 0;

	while ((c = getopt_long(argc, argv, "+n:t:m:f:p:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 't': transport = optarg; break;
		case 'm': manager = optarg; break;
		case 'f': mode = optarg; break;
		case 'p': page = optarg; break;
		case 'r': region = optarg; break;
		case 'T': timeout = optarg; break;
		case 'E': eager = true; break;
		case 'G': tag = true; break;
		case 'g': grace = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (n < 1 || n > MAX_NODES || optind >= argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (gvm_loopback_peers(transport ? transport : "tcp", (uint32_t)n, lfd, peers,
			       sizeof(peers))) {
		perror("gvmrun: listening sockets");
		return 1;
	}
	snprintf(num, sizeof(num), "%d", n);
	setenv("GVM_NODES", num, 1);
	setenv("GVM_PEERS", peers, 1);
	snprintf(num, sizeof(num), "%lu", (unsigned long)getpid() << 16 ^ (unsigned long)time(NULL));
	setenv("GVM_CLUSTER_ID", num, 1);
	setenv_opt("GVM_TRANSPORT", transport);
	setenv_opt("GVM_MANAGER", manager);
	setenv_opt("GVM_FAULT_MODE", mode);
	setenv_opt("GVM_PAGE_SIZE", page);
	setenv_opt("GVM_REGION_SIZE", region);
	setenv_opt("GVM_TIMEOUT_MS", timeout);
	if (eager)
		setenv("GVM_CONNECT", "eager", 1);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int pipefd[2] = {-1, -1};

		if (tag && pipe(pipefd)) {
			perror("gvmrun: pipe");
			return 1;
		}
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("gvmrun: fork");
			return 1;
		}
		if (pid[i] == 0) {
			gvm_loopback_become((uint32_t)i, (uint32_t)n, lfd);
			if (tag) {
				dup2(pipefd[1], 1);
				dup2(pipefd[1], 2);
				close(pipefd[0]);
				close(pipefd[1]);
			}
			execvp(argv[optind], argv + optind);
			fprintf(stderr, "gvmrun: %s: %s\n", argv[optind], strerror(errno));
			_exit(127);
		}
		if (lfd[i] >= 0)
			close(lfd[i]);
		relays[i] = (struct relay){.fd = tag ? pipefd[0] : -1, .node = i};
		if (tag)
			close(pipefd[1]);
	}
	for (alive = n; alive > 0;) {
		struct pollfd pfd[MAX_NODES];
		int np = 0, st;
		pid_t w;

		for (int i = 0; i < n; i++)
			if (relays[i].fd >= 0)
				pfd[np++] = (struct pollfd){.fd = relays[i].fd, .events = POLLIN};
		if (np)
			poll(pfd, (nfds_t)np, 100);
		else
			usleep(20000);
		for (int i = 0, k = 0; i < n; i++) {
			struct relay *r = &relays[i];
			ssize_t got;

			if (r->fd < 0)
				continue;
			if (!pfd[k++].revents)
				continue;
			got = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
			if (got <= 0) {
				relay_flush(r, true);
				close(r->fd);
				r->fd = -1;
			} else {
				r->len += (size_t)got;
				relay_flush(r, false);
			}
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			int i;

			for (i = 0; i < n && pid[i] != w; i++)
				;
			alive--;
			if (i < n)
				pid[i] = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				continue;
			fprintf(stderr, "gvmrun: node %d %s %d\n", i,
				WIFEXITED(st) ? "exited with status" : "killed by signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			if (!failed) {
				failed = true;
				fail_time = time(NULL);
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			}
		}
		if (failed && time(NULL) - fail_time > grace) {
			for (int i = 0; i < n; i++)
				if (pid[i] > 0) {
					fprintf(stderr, "gvmrun: node %d still running %ds after a failure: killing it\n",
						i, grace);
					kill(pid[i], SIGKILL);
				}
			fail_time = time(NULL) + 3600;
		}
	}
	gvm_loopback_done(peers);
	return status;
}
