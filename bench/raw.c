// SPDX-License-Identifier: MIT
/*
 * raw.c - the raw counterparts gvm-bench divides by: the medium a backend
 * runs on with nothing on top. A raw peer is a child process answering on
 * that medium (a TCP socket on loopback, or a shared-memory mapping with a
 * flag each way); the measuring side asks it for blocks of round trips or
 * a stream, interleaved with the blocks of the figure they anchor.
 *
 * Both ends busy-poll while a block runs, as the transports do and as
 * perftest does. Between its blocks a raw peer is stopped (SIGSTOP), as
 * the processes of the figure are while a baseline block runs
 * (bench_freeze): neither side's idle tail (a spin budget, a yield loop,
 * a housekeeping tick) can take a CPU from the other's block.
 *
 * The yardstick is a userfaultfd fault resolved by fetching the page with
 * one raw round trip (a request out, the page back, the peer
 * busy-polling) and installing it with UFFDIO_COPY, by a handler thread or
 * (SIGBUS mode) by the faulting thread itself: the least a remote read
 * fault can cost on this machine over that medium, in that fault mode
 * (shared/reference/ideal_fault.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "bench.h"

enum raw_op { RAW_ROUNDTRIPS = 1, RAW_STREAM, RAW_QUIT };

/* What the measuring side asks the peer for next. */
struct raw_ctl {
	uint32_t op;
	uint32_t pad;
	uint64_t req, resp; /* round trips: bytes each way; stream: message size */
	uint64_t count;     /* round trips, or messages */
};

struct raw_peer {
	enum raw_medium medium;
	size_t max;  /* largest message either way */
	pid_t child;
	uint8_t *buf;
	int fd;      /* tcp */
	struct raw_shm *sh; /* shm */
	size_t sh_len;
};

/* ==== Shared memory: a control word each way, a buffer each way ==== */

/* The stream's byte ring: as big as the cxl backend's payload area
 * (CXL_DEFAULT_PAYLOAD), the same footprint in the caches. */
#define SHM_RING (256u << 10)

struct raw_shm {
	/* Client to peer: ping counts requests (and control messages). */
	volatile uint32_t ping __attribute__((aligned(64)));
	volatile uint32_t pong __attribute__((aligned(64)));
	struct raw_ctl ctl __attribute__((aligned(64)));
	volatile uint64_t head __attribute__((aligned(64))); /* stream: bytes written */
	volatile uint64_t tail __attribute__((aligned(64))); /* stream: bytes read */
	uint8_t ring[SHM_RING] __attribute__((aligned(64)));
	/* then max bytes of request, max bytes of response */
};

static uint8_t *shm_req(struct raw_peer *p)
{
	return (uint8_t *)(p->sh + 1);
}

static uint8_t *shm_resp(struct raw_peer *p)
{
	return (uint8_t *)(p->sh + 1) + p->max;
}

/* The peer waits for ping to pass seen. It only ever runs inside a block
 * (stopped between them), so it spins and never sleeps. */
static uint32_t shm_wait_ping(struct raw_shm *sh, uint32_t seen)
{
	uint32_t v;

	while ((v = __atomic_load_n(&sh->ping, __ATOMIC_ACQUIRE)) == seen)
		__builtin_ia32_pause();
	return v;
}

static void shm_post(struct raw_shm *sh)
{
	__atomic_add_fetch(&sh->ping, 1, __ATOMIC_RELEASE);
}

static void shm_answer(struct raw_peer *p, uint32_t *seen)
{
	struct raw_shm *sh = p->sh;

	for (;;) {
		struct raw_ctl c;

		*seen = shm_wait_ping(sh, *seen);
		c = sh->ctl;
		if (c.op == RAW_ROUNDTRIPS) {
			__atomic_add_fetch(&sh->pong, 1, __ATOMIC_RELEASE); /* ready */
			for (uint64_t i = 0; i < c.count; i++) {
				*seen = shm_wait_ping(sh, *seen);
				memcpy(p->buf, shm_req(p), c.req);      /* take the request */
				memcpy(shm_resp(p), p->buf, c.resp);    /* answer */
				__atomic_add_fetch(&sh->pong, 1, __ATOMIC_RELEASE);
			}
		} else if (c.op == RAW_STREAM) {
			uint64_t got = sh->tail, end = got + c.req * c.count, msg = got;
			volatile uint8_t first = 0;

			__atomic_add_fetch(&sh->pong, 1, __ATOMIC_RELEASE);
			/*
			 * The reader is handed each message in place, as a
			 * transport hands its receive callback a pointer into
			 * the ring: it reads the message's first byte and
			 * copies nothing (tp-bw's callback copies nothing).
			 */
			while (got < end) {
				uint64_t h = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);

				if (h == got) {
					__builtin_ia32_pause();
					continue;
				}
				for (; msg < h; msg += c.req)
					first ^= sh->ring[msg % SHM_RING];
				got = h;
				__atomic_store_n(&sh->tail, got, __ATOMIC_RELEASE);
			}
			(void)first;
			__atomic_add_fetch(&sh->pong, 1, __ATOMIC_RELEASE);
		} else {
			return;
		}
	}
}

/* The client: publish a control message, wait until the peer has read it. */
static void shm_ctl(struct raw_peer *p, const struct raw_ctl *c)
{
	uint32_t pong = p->sh->pong;

	p->sh->ctl = *c;
	shm_post(p->sh);
	if (c->op == RAW_QUIT)
		return;
	while (__atomic_load_n(&p->sh->pong, __ATOMIC_ACQUIRE) == pong)
		__builtin_ia32_pause();
}

/* ==== TCP: one connection on loopback ==== */

/* Busy-polls, as the transports under test (and perftest) do; the peer
 * only runs inside a block, so neither end ever sleeps. */
static int tcp_io(int fd, void *buf, size_t len, bool out)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = out ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) :
				  recv(fd, p, len, MSG_DONTWAIT);

		if (r > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EINTR && errno != EAGAIN))
			return -1;
	}
	return 0;
}

static void tcp_answer(struct raw_peer *p)
{
	struct raw_ctl c;

	while (!tcp_io(p->fd, &c, sizeof(c), false) && c.op != RAW_QUIT) {
		if (c.op == RAW_ROUNDTRIPS) {
			for (uint64_t i = 0; i < c.count; i++)
				if (tcp_io(p->fd, p->buf, c.req, false) ||
				    tcp_io(p->fd, p->buf, c.resp, true))
					return;
		} else {
			/* A stream: say we are ready, then read all of it in the
			 * largest chunks we can, busy-polling (a reader woken
			 * per segment swung 5x between runs). */
			uint64_t left = c.req * c.count;
			uint8_t ack = 1;

			if (tcp_io(p->fd, &ack, 1, true))
				return;
			while (left) {
				size_t want = left < p->max ? left : p->max;
				ssize_t r = recv(p->fd, p->buf, want, MSG_DONTWAIT);

				if (r > 0)
					left -= (uint64_t)r;
				else if (r == 0 || (errno != EAGAIN && errno != EINTR))
					return;
			}
			if (tcp_io(p->fd, &ack, 1, true))
				return;
		}
	}
}

static int tcp_connect_pair(struct raw_peer *p)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char addr[64];
	int lfd, one = 1;
	/* Best effort for the stream: the largest buffers the kernel allows. */
	int big = 8 << 20;

	if (gvm_loopback_listeners(1, &lfd, addr, sizeof(addr)) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		return -EIO;
	p->child = fork();
	if (p->child < 0)
		return -errno;
	if (p->child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* stopped, it would outlive us */
		p->fd = accept(lfd, NULL, NULL);
		setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
			setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		tcp_answer(p);
		_exit(0);
	}
	close(lfd);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return 0;
}

/* ==== The medium-independent half ==== */

int raw_medium_of(const char *transport, enum raw_medium *m)
{
	if (!strcmp(transport, "tcp"))
		*m = RAW_MEDIUM_TCP;
	else if (!strcmp(transport, "cxl"))
		*m = RAW_MEDIUM_SHM;
	else
		return -ENOENT;
	return 0;
}

const char *raw_medium_name(enum raw_medium m)
{
	return m == RAW_MEDIUM_TCP ? "raw socket" : "raw shared memory";
}

int raw_open(enum raw_medium m, size_t max, struct raw_peer **out)
{
	struct raw_peer *p = calloc(1, sizeof(*p));
	int rc = 0;

	if (!p)
		return -ENOMEM;
	p->medium = m;
	p->max = max ? max : 1;
	p->buf = calloc(1, p->max);
	p->fd = -1;
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	if (m == RAW_MEDIUM_TCP) {
		rc = tcp_connect_pair(p);
	} else {
		p->sh_len = sizeof(*p->sh) + 2 * p->max;
		p->sh = mmap(NULL, p->sh_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p->sh == MAP_FAILED) {
			p->sh = NULL;
			rc = -ENOMEM;
		} else {
			p->child = fork();
			if (p->child == 0) {
				uint32_t seen = 0;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				shm_answer(p, &seen);
				_exit(0);
			}
			if (p->child < 0)
				rc = -errno;
		}
	}
	if (rc) {
		raw_close(p);
		return rc;
	}
	bench_freeze(&p->child, 1); /* until its first block */
	*out = p;
	return 0;
}

void raw_close(struct raw_peer *p)
{
	struct raw_ctl quit = {.op = RAW_QUIT};
	int st;

	if (!p)
		return;
	if (p->child > 0) {
		bench_thaw(&p->child, 1);
		if (p->medium == RAW_MEDIUM_TCP)
			tcp_io(p->fd, &quit, sizeof(quit), true);
		else
			shm_ctl(p, &quit);
		waitpid(p->child, &st, 0);
	}
	if (p->fd >= 0)
		close(p->fd);
	if (p->sh)
		munmap(p->sh, p->sh_len);
	free(p->buf);
	free(p);
}

void raw_begin(struct raw_peer *p, size_t req, size_t resp, uint64_t count)
{
	struct raw_ctl c = {.op = RAW_ROUNDTRIPS, .req = req, .resp = resp, .count = count};

	bench_thaw(&p->child, 1);
	if (p->medium == RAW_MEDIUM_TCP)
		tcp_io(p->fd, &c, sizeof(c), true);
	else
		shm_ctl(p, &c);
}

pid_t raw_pid(const struct raw_peer *p)
{
	return p ? p->child : 0;
}

void raw_end(struct raw_peer *p)
{
	bench_freeze(&p->child, 1);
}

int raw_exchange(struct raw_peer *p, const void *req, size_t req_len, void *resp,
		 size_t resp_len)
{
	uint32_t pong;

	if (p->medium == RAW_MEDIUM_TCP)
		return tcp_io(p->fd, (void *)req, req_len, true) ||
		       tcp_io(p->fd, resp, resp_len, false) ? -EIO : 0;
	pong = p->sh->pong;
	memcpy(shm_req(p), req, req_len);
	shm_post(p->sh);
	while (__atomic_load_n(&p->sh->pong, __ATOMIC_ACQUIRE) == pong)
		__builtin_ia32_pause();
	memcpy(resp, shm_resp(p), resp_len);
	return 0;
}

int raw_pingpong_block(struct raw_peer *p, size_t req, size_t resp, uint64_t warmup,
		       uint64_t n, unsigned divide, struct samples *out)
{
	uint8_t *buf = malloc(req > resp ? req : resp ? resp : 1);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0, req > resp ? req : resp ? resp : 1);
	raw_begin(p, req, resp, warmup + n);
	for (uint64_t i = 0; i < warmup + n && !rc; i++) {
		uint64_t t0 = bench_now_ns();

		rc = raw_exchange(p, buf, req, buf, resp);
		if (i >= warmup)
			samples_add(out, (bench_now_ns() - t0) / divide);
	}
	free(buf);
	raw_end(p);
	return rc;
}

int raw_stream(struct raw_peer *p, size_t len, uint64_t msgs, uint64_t window, uint64_t *ns)
{
	struct raw_ctl c = {.op = RAW_STREAM, .req = len, .count = msgs};
	uint64_t t0;

	if (!len || len > p->max)
		return -EINVAL;
	bench_thaw(&p->child, 1);
	if (p->medium == RAW_MEDIUM_TCP) {
		struct iovec iov[IOV_MAX];
		uint64_t batch = window < IOV_MAX ? window : IOV_MAX;
		uint8_t ack;

		for (uint64_t i = 0; i < batch; i++)
			iov[i] = (struct iovec){p->buf, len};
		/* The clock starts once the peer (just let go) is reading. */
		if (tcp_io(p->fd, &c, sizeof(c), true) || tcp_io(p->fd, &ack, 1, false))
			return -EIO;
		t0 = bench_now_ns();
		/* A window of messages per writev, as a best-effort sender would. */
		for (uint64_t sent = 0; sent < msgs;) {
			uint64_t k = msgs - sent < batch ? msgs - sent : batch;
			struct iovec *v = iov;
			int cnt = (int)k;
			ssize_t w;

			for (uint64_t left = k * len; left; left -= (uint64_t)w) {
				w = writev(p->fd, v, cnt);
				if (w <= 0)
					return -EIO;
				/* Partial write: skip what went, resume mid-iovec. */
				for (size_t done = (size_t)w; done;) {
					if (done >= v->iov_len) {
						done -= v->iov_len;
						v++, cnt--;
					} else {
						v->iov_base = (uint8_t *)v->iov_base + done;
						v->iov_len -= done;
						done = 0;
					}
				}
			}
			for (uint64_t i = 0; i < batch; i++)
				iov[i] = (struct iovec){p->buf, len};
			sent += k;
		}
		if (tcp_io(p->fd, &ack, 1, false))
			return -EIO;
	} else {
		struct raw_shm *sh = p->sh;
		uint32_t pong;
		uint64_t h;

		shm_ctl(p, &c);
		pong = sh->pong;
		h = sh->head;
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < msgs; i++) {
			/* A message is written whole once the ring has room for it. */
			for (size_t done = 0; done < len;) {
				size_t off = h % SHM_RING, n = len - done;
				uint64_t room = SHM_RING - (h - __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE));

				if (n > SHM_RING - off)
					n = SHM_RING - off;
				if (n > room)
					n = (size_t)room;
				if (!n) {
					__builtin_ia32_pause();
					continue;
				}
				memcpy(sh->ring + off, p->buf + done, n);
				done += n;
				h += n;
				__atomic_store_n(&sh->head, h, __ATOMIC_RELEASE);
			}
		}
		while (__atomic_load_n(&sh->pong, __ATOMIC_ACQUIRE) == pong)
			__builtin_ia32_pause();
	}
	*ns = bench_now_ns() - t0;
	bench_freeze(&p->child, 1);
	return 0;
}

/* ==== The yardstick: a userfaultfd fault resolved by a raw round trip ==== */

struct yardstick {
	struct raw_peer *peer;
	bool sigbus; /* the faulting thread resolves its own fault */
	size_t page;
	uint64_t npages, used;
	uint8_t *region, *reply;
	int uffd;
	pthread_t th;
	volatile int stop;
};

/* One round trip brings the page that addr lies in; UFFDIO_COPY installs
 * it (and wakes a thread waiting on it). Async-signal-safe. */
static int yardstick_fetch(struct yardstick *y, uint64_t addr)
{
	uint8_t req[YARDSTICK_REQ] = {0};
	struct uffdio_copy c = {
		.dst = addr & ~(uint64_t)(y->page - 1),
		.src = (uint64_t)(uintptr_t)(y->reply + YARDSTICK_HDR),
		.len = y->page,
	};

	memcpy(req, &addr, sizeof(addr));
	if (raw_exchange(y->peer, req, sizeof(req), y->reply, YARDSTICK_HDR + y->page))
		return -EIO;
	return ioctl(y->uffd, UFFDIO_COPY, &c) ? -errno : 0;
}

/* The handler thread sleeps in poll() until a fault comes (as a DSM's
 * handler thread would: spinning too, it and the raw peer would leave the
 * woken faulting thread no CPU of the two), then fetches the page. */
static void *yardstick_serve(void *arg)
{
	struct yardstick *y = arg;
	cpu_set_t near, far;

	/* On the faulting thread's CPU (bench_place): the two take turns. */
	if (bench_two_cpus(&near, &far))
		pthread_setaffinity_np(pthread_self(), sizeof(near), &near);
	while (!y->stop) {
		struct pollfd pfd = {.fd = y->uffd, .events = POLLIN};
		struct uffd_msg m;

		if (poll(&pfd, 1, 100) != 1 || read(y->uffd, &m, sizeof(m)) != sizeof(m))
			continue;
		if (m.event == UFFD_EVENT_PAGEFAULT && yardstick_fetch(y, m.arg.pagefault.address))
			break;
	}
	return NULL;
}

/* SIGBUS mode: the yardstick whose block runs; a signal handler has no
 * other way to it. Only one block runs at a time in a process. */
static struct yardstick *sigbus_block;

static void yardstick_on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	yardstick_fetch(sigbus_block, (uint64_t)(uintptr_t)si->si_addr);
}

int yardstick_open(struct raw_peer *peer, size_t page, uint64_t faults, bool sigbus,
		   struct yardstick **out)
{
	struct uffdio_api api = {.api = UFFD_API, .features = sigbus ? UFFD_FEATURE_SIGBUS : 0};
	struct yardstick *y = calloc(1, sizeof(*y));
	struct uffdio_register reg;

	if (!y)
		return -ENOMEM;
	y->peer = peer;
	y->sigbus = sigbus;
	y->page = page;
	y->npages = faults;
	y->reply = aligned_alloc(page, YARDSTICK_HDR + page + page);
	y->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (y->uffd < 0 || !y->reply || ioctl(y->uffd, UFFDIO_API, &api))
		goto out_free;
	y->region = mmap(NULL, page * faults, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (y->region == MAP_FAILED)
		goto out_free;
	reg = (struct uffdio_register){
		.range = {(uint64_t)(uintptr_t)y->region, page * faults},
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(y->uffd, UFFDIO_REGISTER, &reg) ||
	    (!sigbus && pthread_create(&y->th, NULL, yardstick_serve, y))) {
		munmap(y->region, page * faults);
		goto out_free;
	}
	*out = y;
	return 0;
out_free:
	if (y->uffd >= 0)
		close(y->uffd);
	free(y->reply);
	free(y);
	return -errno ? -errno : -EIO;
}

int yardstick_block(struct yardstick *y, uint64_t warmup, uint64_t n, struct samples *out)
{
	struct sigaction on_bus = {.sa_sigaction = yardstick_on_sigbus, .sa_flags = SA_SIGINFO},
			 before;
	struct placement place;

	if (y->used + warmup + n > y->npages)
		return -ENOSPC;
	/* Left to the scheduler, the woken faulting thread sometimes waits for
	 * the CPU the busy-polling peer holds: the yardstick then swings 3x
	 * from run to run (14 or 46 us over tcp here). */
	bench_place(&place, y->peer->child, 0);
	/* Whatever handled SIGBUS here before (a DSM region, under a launcher)
	 * gets it back after the block: no fault of its comes meanwhile. */
	if (y->sigbus) {
		sigbus_block = y;
		sigaction(SIGBUS, &on_bus, &before);
	}
	raw_begin(y->peer, YARDSTICK_REQ, YARDSTICK_HDR + y->page, warmup + n);
	for (uint64_t i = 0; i < warmup + n; i++) {
		uint64_t t0 = bench_now_ns();

		(void)*(volatile uint8_t *)(y->region + y->used++ * y->page);
		if (i >= warmup)
			samples_add(out, bench_now_ns() - t0);
	}
	raw_end(y->peer);
	if (y->sigbus)
		sigaction(SIGBUS, &before, NULL);
	bench_unplace(&place);
	return 0;
}

void yardstick_close(struct yardstick *y)
{
	if (!y)
		return;
	y->stop = 1;
	if (!y->sigbus)
		pthread_join(y->th, NULL);
	munmap(y->region, y->page * y->npages);
	close(y->uffd);
	free(y->reply);
	free(y);
}

const char *yardstick_name(enum raw_medium m, bool sigbus)
{
	static const char *const names[2][2] = {
		{"raw uffd fault + raw socket round trip",
		 "raw uffd fault (SIGBUS) + raw socket round trip"},
		{"raw uffd fault + raw shared-memory round trip",
		 "raw uffd fault (SIGBUS) + raw shared-memory round trip"},
	};

	return names[m == RAW_MEDIUM_SHM][sigbus];
}

uint64_t raw_line_handoff_ns(void)
{
	struct placement place;
	struct raw_peer *p;
	struct samples s = {0};
	uint64_t median = 0;
	cpu_set_t a, b;

	/* On one CPU the two ends would only take turns. */
	if (!bench_reporter() || !bench_two_cpus(&a, &b) || raw_open(RAW_MEDIUM_SHM, 8, &p))
		return 0;
	bench_place(&place, raw_pid(p), 0);
	if (!raw_pingpong_block(p, 8, 8, 200, 2000, 2, &s))
		median = samples_q(&s, 500);
	bench_unplace(&place);
	samples_free(&s);
	raw_close(p);
	return median;
}
