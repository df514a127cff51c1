// SPDX-License-Identifier: MIT
/* shared.c - statistics, tables, clusters of child processes, raw baselines. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool bench_reporter(void)
{
	const char *rank = getenv("PMIX_RANK");

	return !rank || !strcmp(rank, "0");
}

void samples_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->ns = realloc(s->ns, s->cap * sizeof(*s->ns));
		if (!s->ns)
			abort();
	}
	s->ns[s->n++] = ns;
}

void samples_free(struct samples *s)
{
	free(s->ns);
	*s = (struct samples){0};
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t samples_q(struct samples *s, unsigned permille)
{
	if (!s->n)
		return 0;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	return s->ns[(s->n - 1) * permille / 1000];
}

/* ==== Promotion ==== */

void promotion_env(const struct bench_opts *o, bool on)
{
	static char file[64];
	char window[160];

	if (file[0]) {
		unlink(file);
		file[0] = 0;
	}
	unsetenv("GVM_POLICY");
	unsetenv("GVM_WINDOW");
	if (!on)
		return;
	setenv("GVM_POLICY", o->policy ? o->policy : "hotpage", 1);
	if (!strcmp(o->transport, "cxl"))
		return; /* its own region has the window */
	snprintf(file, sizeof(file), "/dev/shm/gvm-bench-window-%d", getpid());
	snprintf(window, sizeof(window), "cxl:path=%s?rings=0&window=1M", file);
	setenv("GVM_WINDOW", window, 1);
}

/* ==== A cluster of child processes ==== */

int spawn_cluster(uint32_t n, const struct bench_opts *o,
		  int (*fn)(uint32_t node, void *arg), void *arg)
{
	const char *rank = getenv("PMIX_RANK");

	/*
	 * Started by mpirun (or srun): this process is one node of the job's
	 * cluster, which gvm_cluster_open bootstraps through PMIx.
	 */
	if (rank) {
		if (o->fault_mode)
			setenv("GVM_FAULT_MODE", o->fault_mode, 1);
		if (o->manager)
			setenv("GVM_MANAGER", o->manager, 1);
		setenv("GVM_TRANSPORT", o->transport, 1);
		return fn((uint32_t)atoi(rank), arg) ? -ECHILD : 0;
	}

	char peers[4096] = "", num[32];
	int lfd[64];
	pid_t pid[64];
	int rc = 0;

	if (n > 64 || gvm_loopback_peers(o->transport, n, lfd, peers, sizeof(peers)))
		return -EINVAL;
	setenv("GVM_PEERS", peers, 1);
	snprintf(num, sizeof(num), "%u", n);
	setenv("GVM_NODES", num, 1);
	snprintf(num, sizeof(num), "%d", getpid());
	setenv("GVM_CLUSTER_ID", num, 1);
	setenv("GVM_TRANSPORT", o->transport, 1);
	if (o->fault_mode)
		setenv("GVM_FAULT_MODE", o->fault_mode, 1);
	if (o->manager)
		setenv("GVM_MANAGER", o->manager, 1);
	fflush(stdout);
	for (uint32_t i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			return -errno;
		if (pid[i] == 0) {
			gvm_loopback_become(i, n, lfd);
			_exit(fn(i, arg));
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		int st;

		if (lfd[i] >= 0)
			close(lfd[i]);
		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = -ECHILD;
	}
	gvm_loopback_done(peers);
	return rc;
}

/* ==== Raw TCP ping-pong on loopback ==== */

/* Busy-polls like the transports under test (and perftest) do, so the
 * baseline does not pay a scheduler wake-up they avoid. */
static int full_io(int fd, void *buf, size_t len, bool out)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = out ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) :
				  recv(fd, p, len, MSG_DONTWAIT);

		if (r <= 0) {
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Round trips of req bytes out and resp bytes back, one sample per trip. */
int raw_tcp_pingpong(size_t req, size_t resp, uint64_t iters, uint64_t warmup,
		     struct samples *out)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1, st;
	size_t max = req > resp ? req : resp;
	uint8_t *buf = calloc(1, max ? max : 1);
	pid_t pid;

	if (lfd < 0 || !buf || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &al))
		return -errno;
	pid = fork();
	if (pid == 0) {
		fd = accept(lfd, NULL, NULL);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (uint64_t i = 0; i < iters + warmup; i++)
			if (full_io(fd, buf, req, false) || full_io(fd, buf, resp, true))
				_exit(1);
		_exit(0);
	}
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (uint64_t i = 0; i < iters + warmup; i++) {
		uint64_t t0 = bench_now_ns();

		if (full_io(fd, buf, req, true) || full_io(fd, buf, resp, false))
			break;
		if (i >= warmup)
			samples_add(out, bench_now_ns() - t0);
	}
	close(fd);
	waitpid(pid, &st, 0);
	free(buf);
	return out->n == iters ? 0 : -EIO;
}

/* A raw TCP stream of msgs writes of len bytes, timed until the receiver
 * has read them all and said so. */
int raw_tcp_stream(size_t len, uint64_t msgs, uint64_t *ns)
{
	char peers[64];
	int lfd, fd, one = 1, st;
	uint8_t *buf = calloc(1, len ? len : 1), ack = 0;
	pid_t pid;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	uint64_t t0;

	if (!buf || gvm_loopback_listeners(1, &lfd, peers, sizeof(peers)) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		return -EIO;
	pid = fork();
	if (pid == 0) {
		fd = accept(lfd, NULL, NULL);
		for (uint64_t left = len * msgs; left;) {
			ssize_t r = recv(fd, buf, left < len ? left : (len ? len : 1), 0);

			if (r <= 0)
				_exit(1);
			left -= (uint64_t)r;
		}
		_exit(send(fd, &ack, 1, 0) == 1 ? 0 : 1);
	}
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < msgs; i++)
		if (len && send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	if (recv(fd, &ack, 1, MSG_WAITALL) == 1)
		*ns = bench_now_ns() - t0;
	close(fd);
	waitpid(pid, &st, 0);
	free(buf);
	return *ns ? 0 : -EIO;
}

/*
 * Raw shared-memory ping-pong: two processes, one cache-line flag each way
 * and a buffer of len bytes copied on every turn, busy-polling: what a CXL
 * or shared-memory ring transport could at best achieve on this host.
 * Samples are half round trips.
 */
int raw_shm_pingpong(size_t len, uint64_t iters, uint64_t warmup,
		     struct samples *out)
{
	struct shm {
		volatile uint64_t ping __attribute__((aligned(64)));
		volatile uint64_t pong __attribute__((aligned(64)));
	} *sh;
	size_t size = sizeof(*sh) + 2 * (len ? len : 1);
	uint8_t *data, *local = calloc(1, len ? len : 1);
	pid_t pid;
	int st;

	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || !local)
		return -ENOMEM;
	data = (uint8_t *)(sh + 1);
	pid = fork();
	if (pid == 0) {
		for (uint64_t i = 1; i <= iters + warmup; i++) {
			while (sh->ping != i)
				__builtin_ia32_pause();
			memcpy(local, data, len);            /* take the message */
			memcpy(data + len, local, len);      /* send it back */
			__atomic_store_n(&sh->pong, i, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	for (uint64_t i = 1; i <= iters + warmup; i++) {
		uint64_t t0 = bench_now_ns();

		memcpy(data, local, len);
		__atomic_store_n(&sh->ping, i, __ATOMIC_RELEASE);
		while (sh->pong != i)
			__builtin_ia32_pause();
		memcpy(local, data + len, len);
		if (i > warmup)
			samples_add(out, (bench_now_ns() - t0) / 2);
	}
	waitpid(pid, &st, 0);
	munmap(sh, size);
	free(local);
	return 0;
}

/* ==== Raw userfaultfd fault with local data ==== */

struct uffd_server {
	int uffd;
	void *src;
	size_t page;
	uint64_t todo;
};

static void *uffd_serve(void *arg)
{
	struct uffd_server *s = arg;
	struct pollfd pfd = {.fd = s->uffd, .events = POLLIN};

	while (s->todo) {
		struct uffd_msg m;
		struct uffdio_copy c;

		if (poll(&pfd, 1, 1000) <= 0 || read(s->uffd, &m, sizeof(m)) != sizeof(m))
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		c = (struct uffdio_copy){
			.dst = m.arg.pagefault.address & ~(uint64_t)(s->page - 1),
			.src = (uint64_t)(uintptr_t)s->src,
			.len = s->page,
		};
		ioctl(s->uffd, UFFDIO_COPY, &c);
		s->todo--;
	}
	return NULL;
}

/* First touch of fresh pages resolved by a handler thread with UFFDIO_COPY
 * of a local page: what a DSM read fault costs without the network. */
int raw_uffd_fault(size_t page, uint64_t iters, struct samples *out)
{
	struct uffd_server s = {.page = page, .todo = iters};
	struct uffdio_api api = {.api = UFFD_API};
	size_t len = page * iters;
	uint8_t *region;
	pthread_t th;

	s.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s.uffd < 0 || ioctl(s.uffd, UFFDIO_API, &api))
		return -errno;
	region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s.src = calloc(1, page);
	if (region == MAP_FAILED || !s.src)
		return -ENOMEM;
	{
		struct uffdio_register reg = {
			.range = {(uint64_t)(uintptr_t)region, len},
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(s.uffd, UFFDIO_REGISTER, &reg))
			return -errno;
	}
	pthread_create(&th, NULL, uffd_serve, &s);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = bench_now_ns();

		(void)*(volatile uint8_t *)(region + i * page);
		samples_add(out, bench_now_ns() - t0);
	}
	pthread_join(th, NULL);
	munmap(region, len);
	free(s.src);
	close(s.uffd);
	return 0;
}
