// SPDX-License-Identifier: MIT
/*
 * Description: the transport conformance suite. The same cases run against
 * every backend named on the command line; a case a backend cannot take
 * (a capability bit it lacks, a fixture hook it has no use for) is skipped
 * and says why.
 *
 *   conformance [-v] BACKEND...      (exit 0 pass, 1 fail, 77 all skipped)
 *
 * A backend takes part through a fixture below: how to open N endpoints in
 * this process, how to pump them, and (optionally) how to inject raw bytes
 * and how to run a peer in a child process.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>
#include <gvm/transport.h>

#include "os/gvm_os.h"
#include "../../transports/cxl/ring.h"
#include "../../transports/sim/sim.h"

#define MAXN 8

static bool verbose;

/* ==== What the endpoints received ==== */

struct inbox {
	gvm_node_id self;
	uint64_t next_seq[MAXN]; /* expected sequence number per source */
	uint64_t count;
	uint64_t bytes;
	uint64_t errors;
	bool down[MAXN];
	char first_error[160];
};

struct fix;

struct backend {
	const char *name;
	int (*open)(struct fix *f, uint32_t n);
	void (*pump)(struct fix *f);
	void (*close_all)(struct fix *f);
	/* Optional: connect to dst as node `as` and write raw bytes. */
	int (*inject)(struct fix *f, gvm_node_id dst, gvm_node_id as,
		      const void *bytes, size_t len);
	/* Optional: run endpoint `id` in a child that sends `msgs` to node 0
	 * and then waits to be killed; returns its pid. */
	pid_t (*spawn)(struct fix *f, gvm_node_id id, int msgs);
	const char *options; /* appended to the backend's address */
	const char *registered; /* name it registers under, if not name */
	uint32_t timeout_ms; /* the peer timeout the fixture sets, 0: none */
	bool waits;          /* wait() really sleeps (not in virtual time) */
};

struct fix {
	const struct backend *be;
	uint32_t n;
	struct gvm_transport *tp[MAXN];
	struct inbox box[MAXN];
	struct sim_world *world;
	const struct gvm_hello *hello[MAXN]; /* each endpoint's, or NULL */
	int listen_fd[MAXN];
	uint16_t port[MAXN];
	char uri[512];
};

static void fail_box(struct inbox *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_box(struct inbox *b, const char *fmt, ...)
{
	va_list ap;

	if (b->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof(b->first_error), fmt, ap);
	va_end(ap);
}

/* Messages carry: u64 sequence, u32 source, then bytes (seq + i) & 0xff. */
static int on_recv(void *arg, gvm_node_id src, const void *msg, size_t len)
{
	struct inbox *b = arg;
	const uint8_t *p = msg;
	uint64_t seq;
	uint32_t from;

	b->count++;
	b->bytes += len;
	if (len == 0)
		return 0;
	if (len < 12) {
		fail_box(b, "node %u: %zu-byte message from %u", b->self, len, src);
		return 0;
	}
	memcpy(&seq, p, 8);
	memcpy(&from, p + 8, 4);
	if (from != src || src >= MAXN)
		fail_box(b, "node %u: message claims source %u, came from %u",
			 b->self, from, src);
	else if (seq != b->next_seq[src])
		fail_box(b, "node %u: from %u got #%" PRIu64 ", expected #%" PRIu64,
			 b->self, src, seq, b->next_seq[src]);
	else
		b->next_seq[src]++;
	for (size_t i = 12; i < len; i++)
		if (p[i] != (uint8_t)(seq + i)) {
			fail_box(b, "node %u: byte %zu of #%" PRIu64 " from %u corrupted",
				 b->self, i, seq, src);
			break;
		}
	return 0;
}

static void on_down(void *arg, gvm_node_id peer, int reason)
{
	struct inbox *b = arg;

	(void)reason;
	if (peer < MAXN)
		b->down[peer] = true;
}

/* ==== Fixtures ==== */

static int sim_open_all(struct fix *f, uint32_t n)
{
	struct sim_params sp = {.nodes = n, .seed = 42};
	int err = sim_world_create(&sp, &f->world);

	for (uint32_t i = 0; !err && i < n; i++) {
		err = sim_endpoint_open(f->world, i, on_recv, &f->box[i], &f->tp[i]);
		if (!err) {
			f->tp[i]->peer_down = on_down;
			f->tp[i]->peer_down_arg = &f->box[i];
		}
	}
	return err;
}

static void sim_pump(struct fix *f)
{
	for (int i = 0; i < 64 && sim_world_step(f->world); i++)
		;
}

static void sim_close_all(struct fix *f)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->tp[i])
			gvm_tp_close(f->tp[i]);
	sim_world_destroy(f->world);
}

/* TCP endpoints on 127.0.0.1, each with a listening socket made here and
 * passed in by fd, so no port can be taken by someone else in between. */
static int tcp_listeners(struct fix *f, uint32_t n)
{
	size_t off = (size_t)snprintf(f->uri, sizeof(f->uri), "tcp:");
	int err = gvm_loopback_listeners(n, f->listen_fd, f->uri + off,
					 sizeof(f->uri) - off);

	for (uint32_t i = 0; !err && i < n; i++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);

		getsockname(f->listen_fd[i], (struct sockaddr *)&a, &al);
		f->port[i] = ntohs(a.sin_port);
	}
	return err;
}

/*
 * GVM_SECRET_FILE (and GVM_MAC) in the environment: the tcp fixture's
 * endpoints authenticate each other and tag their frames, so every case
 * runs over the handshake of gvm/auth.h too.
 */
static const struct gvm_auth *fixture_auth(void)
{
	static struct gvm_auth auth;
	static int state = -1; /* unread; then 1 loaded, 0 none */
	char err[256];

	if (state < 0) {
		state = gvm_cluster_auth_env(&auth, err, sizeof(err));
		if (state < 0) {
			fprintf(stderr, "conformance: %s\n", err);
			exit(2);
		}
	}
	return state ? &auth : NULL;
}

static int tcp_open_one(struct fix *f, gvm_node_id i)
{
	char uri[600];
	struct gvm_transport_params p = {
		.self = i, .nodes = f->n, .uri = uri, .hello = f->hello[i],
		.auth = fixture_auth(),
		.recv = on_recv, .recv_arg = &f->box[i],
		.peer_down = on_down, .peer_down_arg = &f->box[i],
	};

	snprintf(uri, sizeof(uri), "%s?listen_fd=%d&heartbeat_ms=50&timeout_ms=1500&linger_ms=100%s%s",
		 f->uri, f->listen_fd[i], f->be->options ? "&" : "",
		 f->be->options ? f->be->options : "");
	return gvm_transport_open(gvm_transport_find("tcp"), &p, &f->tp[i]);
}

static int tcp_open_all(struct fix *f, uint32_t n)
{
	int err = tcp_listeners(f, n);

	for (uint32_t i = 0; !err && i < n; i++)
		err = tcp_open_one(f, i);
	return err;
}

static void tcp_pump(struct fix *f)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->tp[i])
			gvm_tp_progress(f->tp[i]);
}

static void tcp_close_all(struct fix *f)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->tp[i])
			gvm_tp_close(f->tp[i]);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Offer, read dst's answer (pumping it), prove the secret: as a member. */
static int tcp_handshake(struct fix *f, gvm_node_id dst, int fd, const struct gvm_hello *h)
{
	struct gvm_handshake hs;
	struct gvm_hello peer;
	uint8_t buf[8 + GVM_ANSWER_LEN];
	uint32_t proof_len;
	const char *why;
	size_t got = 0;
	int err;

	put32le(buf, gvm_handshake_offer(&hs, fixture_auth(), h, buf + 8));
	buf[4] = 1; /* HELLO */
	memset(buf + 5, 0, 3);
	if (write(fd, buf, 8 + GVM_OFFER_LEN) != 8 + GVM_OFFER_LEN)
		return -EIO;
	for (int i = 0; i < 2000 && got < sizeof(buf); i++) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			return -ECONNRESET;
		tcp_pump(f);
		(void)dst;
	}
	if (got != sizeof(buf))
		return -ETIMEDOUT;
	err = gvm_handshake_finish(&hs, buf + 8, GVM_ANSWER_LEN, &peer, buf + 8, &proof_len, &why);
	gvm_handshake_end(&hs);
	if (err)
		return err;
	put32le(buf, proof_len);
	buf[4] = 6; /* PROOF */
	return write(fd, buf, 8 + proof_len) == (ssize_t)(8 + proof_len) ? 0 : -EIO;
}

static int tcp_inject(struct fix *f, gvm_node_id dst, gvm_node_id as,
		      const void *bytes, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons(f->port[dst])};
	struct gvm_hello h = {.nodes = f->n, .node = as};
	uint8_t hello[8 + GVM_HELLO_LEN] = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	if (as != GVM_NODE_NONE && fixture_auth()) { /* the whole handshake */
		if (tcp_handshake(f, dst, fd, &h))
			return -EIO;
	} else if (as != GVM_NODE_NONE) { /* introduce ourselves properly first */
		put32le(hello, GVM_HELLO_LEN);
		hello[4] = 1; /* HELLO */
		gvm_hello_encode(&h, hello + 8);
		if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello))
			return -EIO;
	}
	if (len && write(fd, bytes, len) != (ssize_t)len)
		return -EIO;
	/* Let dst read it all before it sees the close. */
	for (int i = 0; i < 20; i++)
		tcp_pump(f);
	close(fd);
	return 0;
}

/* A spawned peer's life: send msgs numbered messages to node 0, then
 * serve until killed. */
static __attribute__((noreturn)) void child_run(struct fix *f, gvm_node_id id,
						int msgs)
{
	for (int k = 0; k < msgs; k++) {
		uint8_t m[12];
		uint64_t seq = (uint64_t)k;
		struct gvm_iov iov = {m, sizeof(m)};

		memcpy(m, &seq, 8);
		memcpy(m + 8, &id, 4);
		if (gvm_tp_send(f->tp[id], 0, &iov, 1))
			_exit(4);
	}
	for (;;)
		gvm_tp_poll(f->tp[id], 100000000, 0, 0);
}

static pid_t tcp_spawn(struct fix *f, gvm_node_id id, int msgs)
{
	int lfd = dup(f->listen_fd[id]);
	pid_t pid = fork();

	if (pid) {
		close(lfd);
		return pid;
	}
	/* Child: be node `id` alone, on the listening socket the URI names. */
	f->listen_fd[id] = lfd;
	for (uint32_t i = 0; i < f->n; i++) {
		if (f->tp[i])
			gvm_tp_close(f->tp[i]);
		f->tp[i] = NULL;
	}
	if (tcp_open_one(f, id))
		_exit(3);
	child_run(f, id, msgs);
}

/* CXL endpoints over one fresh file on /dev/shm, unlinked when they close. */
static const char *cxl_path(const struct fix *f)
{
	return f->uri + strlen("cxl:path=");
}

static int cxl_open_one(struct fix *f, gvm_node_id i, const char *extra)
{
	char uri[600];
	struct gvm_transport_params p = {
		.self = i, .nodes = f->n, .uri = uri, .hello = f->hello[i],
		.recv = on_recv, .recv_arg = &f->box[i],
		.peer_down = on_down, .peer_down_arg = &f->box[i],
	};

	snprintf(uri, sizeof(uri), "%s?heartbeat_ms=20&timeout_ms=500&linger_ms=100%s%s%s",
		 f->uri, extra, f->be->options ? "&" : "",
		 f->be->options ? f->be->options : "");
	return gvm_transport_open(gvm_transport_find("cxl"), &p, &f->tp[i]);
}

static int cxl_open_all(struct fix *f, uint32_t n)
{
	static unsigned int runs;
	int err = 0;

	snprintf(f->uri, sizeof(f->uri), "cxl:path=/dev/shm/gvm-conformance-%d-%u",
		 (int)getpid(), runs++);
	for (uint32_t i = 0; !err && i < n; i++)
		err = cxl_open_one(f, i, "");
	return err;
}

static void cxl_close_all(struct fix *f)
{
	tcp_close_all(f);
	unlink(cxl_path(f));
}

/*
 * A bad peer writes the region directly: it attaches as node `as` (fresh
 * generation, valid hello) and puts bytes in the first slot of its ring to
 * dst, stamped as a message: bytes[0..8) are the slot's header (length,
 * kind, reserved, as in a TCP frame). As GVM_NODE_NONE, it attaches as the
 * last node with the bytes where its hello should be.
 */
static int cxl_inject(struct fix *f, gvm_node_id dst, gvm_node_id as,
		      const void *bytes, size_t len)
{
	gvm_node_id who = as == GVM_NODE_NONE ? f->n - 1 : as;
	struct gvm_hello h = {.nodes = f->n, .node = who};
	int fd = open(cxl_path(f), O_RDWR);
	struct cxl_header *hdr;
	struct cxl_node *e;
	struct stat st;
	uint8_t *map;

	if (fd < 0 || fstat(fd, &st) || len > CXL_SLOT_DATA)
		return -EINVAL;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	hdr = (struct cxl_header *)map;
	e = (struct cxl_node *)(map + hdr->node_off) + who;
	gvm_hello_encode(&h, e->hello);
	if (as == GVM_NODE_NONE)
		memcpy(e->hello, bytes, len < sizeof(e->hello) ? len : sizeof(e->hello));
	e->pid = (uint32_t)getpid();
	if (as != GVM_NODE_NONE) {
		struct cxl_ring_ctl *ctl = (struct cxl_ring_ctl *)
			(map + hdr->ring_off +
			 (as * (f->n - 1) + dst - (dst > as)) * hdr->ring_stride);
		uint8_t *slot = (uint8_t *)(ctl + 1) + (ctl->tail & (hdr->slots - 1)) * CXL_SLOT;
		uint32_t stamp = cxl_stamp_next(ctl->tail_stamp);

		memcpy(slot, bytes, len);
		__atomic_store_n((uint32_t *)(slot + CXL_SLOT_DATA), stamp, __ATOMIC_RELEASE);
		ctl->tail++;
		ctl->tail_stamp = stamp;
	}
	__atomic_store_n(&e->status, cxl_status(cxl_status_gen(e->status) + 1, CXL_NODE_UP),
			 __ATOMIC_RELEASE);
	munmap(map, (size_t)st.st_size);
	return 0;
}

/*
 * The child takes node `id` over (takeover=1: a new generation of it) and
 * leaves the endpoints it inherited alone: closing them would end those
 * nodes for everyone. The parent waits until the child has attached.
 */
static pid_t cxl_spawn(struct fix *f, gvm_node_id id, int msgs)
{
	int pfd[2];
	pid_t pid;
	char c = 0;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			c = 0;
		close(pfd[0]);
		return pid;
	}
	close(pfd[0]);
	if (cxl_open_one(f, id, "&takeover=1") || write(pfd[1], "!", 1) != 1)
		_exit(3);
	child_run(f, id, msgs);
}

static const struct backend backends[] = {
	{"sim", sim_open_all, sim_pump, sim_close_all, NULL, NULL, NULL, NULL, 0, false},
	{"tcp", tcp_open_all, tcp_pump, tcp_close_all, tcp_inject, tcp_spawn,
	 "io=epoll", NULL, 1500, true},
	{"tcp-uring", tcp_open_all, tcp_pump, tcp_close_all, tcp_inject, tcp_spawn,
	 "io=uring", "tcp", 1500, true},
	{"cxl", cxl_open_all, tcp_pump, cxl_close_all, cxl_inject, cxl_spawn,
	 NULL, NULL, 500, true},
};

/* ==== Helpers for cases ==== */

/* Open n endpoints; hello[i], if given, is what endpoint i must match. */
static int fix_open_hello(struct fix *f, const struct backend *be, uint32_t n,
			  const struct gvm_hello *const *hello)
{
	memset(f, 0, sizeof(*f));
	f->be = be;
	f->n = n;
	for (uint32_t i = 0; i < n; i++) {
		f->box[i].self = i;
		f->listen_fd[i] = -1;
		f->hello[i] = hello ? hello[i] : NULL;
	}
	return be->open(f, n);
}

static int fix_open(struct fix *f, const struct backend *be, uint32_t n)
{
	return fix_open_hello(f, be, n, NULL);
}

static uint64_t now_ms(void)
{
	return gvm_os_now_ns() / 1000000;
}

/* Pump until cond holds or ms pass; returns whether it held. */
#define PUMP_UNTIL(f, cond, ms)                                               \
	({                                                                    \
		uint64_t _end = now_ms() + (ms);                              \
		while (!(cond) && now_ms() < _end)                            \
			(f)->be->pump(f);                                     \
		(cond);                                                       \
	})

static int send_seq(struct fix *f, gvm_node_id src, gvm_node_id dst,
		    uint64_t seq, size_t len, uint8_t *scratch)
{
	struct gvm_iov iov[2];

	memcpy(scratch, &seq, 8);
	memcpy(scratch + 8, &src, 4);
	for (size_t i = 12; i < len; i++)
		scratch[i] = (uint8_t)(seq + i);
	/* Two iovs when there is a body: the engine's header + payload shape. */
	iov[0] = (struct gvm_iov){scratch, len < 12 ? len : 12};
	iov[1] = (struct gvm_iov){scratch + 12, len > 12 ? len - 12 : 0};
	return gvm_tp_send(f->tp[src], dst, iov, len > 12 ? 2 : 1);
}

static uint64_t total_errors(struct fix *f, char *why, size_t len)
{
	uint64_t e = 0;

	for (uint32_t i = 0; i < f->n; i++) {
		if (f->box[i].errors && !e)
			snprintf(why, len, "%s", f->box[i].first_error);
		e += f->box[i].errors;
	}
	return e;
}

/* ==== Cases: each returns 0 pass, 1 fail, 77 skip, with a note ==== */

static char note[256];

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(note, sizeof(note), __VA_ARGS__);                    \
		rc = 1;                                                       \
		goto out;                                                     \
	} while (0)

/* All-to-all streams of numbered messages arrive complete and in order. */
static int all_to_all(const struct backend *be, uint32_t n, int per_pair)
{
	struct fix f;
	uint8_t buf[256];
	uint64_t expect = (uint64_t)n * (n - 1) * (uint64_t)per_pair;
	uint64_t got = 0;
	int rc = 0;

	if (fix_open(&f, be, n))
		FAIL("open failed");
	for (int k = 0; k < per_pair; k++)
		for (gvm_node_id s = 0; s < n; s++)
			for (gvm_node_id d = 0; d < n; d++)
				if (s != d && send_seq(&f, s, d, (uint64_t)k,
						       12 + (size_t)(k % 200), buf))
					FAIL("send %u->%u failed", s, d);
	PUMP_UNTIL(&f, ({ got = 0; for (uint32_t i = 0; i < n; i++) got += f.box[i].count; got >= expect; }), 10000);
	if (got != expect)
		FAIL("%" PRIu64 " of %" PRIu64 " messages arrived", got, expect);
	if (total_errors(&f, note, sizeof(note)))
		rc = 1;
out:
	be->close_all(&f);
	return rc;
}

static int case_ordering(const struct backend *be)
{
	return all_to_all(be, 2, 2000);
}

static int case_peers(const struct backend *be)
{
	static const uint32_t ns[] = {3, 5, 8};

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int rc = all_to_all(be, ns[i], 100);

		if (rc) {
			char inner[sizeof(note)];

			memcpy(inner, note, sizeof(note));
			snprintf(note, sizeof(note), "%u peers: %.200s", ns[i], inner);
			return rc;
		}
	}
	return 0;
}

/* Sizes from 0 to the backend's maximum (capped at 64 MiB). */
static int case_sizes(const struct backend *be)
{
	struct fix f;
	uint8_t *buf = NULL;
	size_t max = 0, sizes[16];
	int nsizes = 0, rc = 0;
	uint64_t seq = 0;

	if (fix_open(&f, be, 2))
		FAIL("open failed");
	max = f.tp[0]->max_msg;
	if (max > (64u << 20))
		max = 64u << 20;
	sizes[nsizes++] = 0;
	for (size_t s = 12; s < max; s *= 7)
		sizes[nsizes++] = s;
	sizes[nsizes++] = max;
	buf = malloc(max);
	if (!buf)
		FAIL("no memory");
	for (int i = 0; i < nsizes; i++) {
		uint64_t before = f.box[1].count;

		if (sizes[i] == 0) {
			struct gvm_iov iov = {buf, 0};

			if (gvm_tp_send(f.tp[0], 1, &iov, 1))
				FAIL("empty send failed");
		} else if (send_seq(&f, 0, 1, seq++, sizes[i], buf)) {
			FAIL("send of %zu bytes failed", sizes[i]);
		}
		if (!PUMP_UNTIL(&f, f.box[1].count == before + 1, 20000))
			FAIL("a %zu-byte message never arrived", sizes[i]);
		if (f.box[1].errors)
			break;
	}
	if (total_errors(&f, note, sizeof(note)))
		rc = 1;
	else
		snprintf(note, sizeof(note), "%d sizes, 0..%zu bytes", nsizes, max);
out:
	free(buf);
	be->close_all(&f);
	return rc;
}

/*
 * A sender far faster than its receiver: nothing lost, order kept. 32 MiB
 * wait for the receiver, half of what a backend may bound a peer that
 * reads nothing to (tcp: 64 MiB).
 */
static int case_slow_receiver(const struct backend *be)
{
	enum { MSGS = 8192, LEN = 4096 };
	struct fix f;
	uint8_t buf[LEN];
	int rc = 0;

	if (fix_open(&f, be, 2))
		FAIL("open failed");
	for (uint64_t k = 0; k < MSGS; k++)
		if (send_seq(&f, 0, 1, k, LEN, buf))
			FAIL("send #%" PRIu64 " failed", k);
	if (!PUMP_UNTIL(&f, f.box[1].count == MSGS, 30000))
		FAIL("%" PRIu64 " of %d arrived", f.box[1].count, MSGS);
	if (total_errors(&f, note, sizeof(note)))
		rc = 1;
	else
		snprintf(note, sizeof(note), "%d x %d B sent before the receiver ran", MSGS, LEN);
out:
	be->close_all(&f);
	return rc;
}

static int case_one_sided(const struct backend *be)
{
	struct fix f;
	int rc = 77;

	if (fix_open(&f, be, 2)) {
		snprintf(note, sizeof(note), "open failed");
		return 1;
	}
	if (!(f.tp[0]->caps & GVM_CAP_RMA)) {
		snprintf(note, sizeof(note), "no GVM_CAP_RMA");
		/* What it does not offer must say so, not crash. */
		if (f.tp[0]->ops.rma_read(f.tp[0], 1, NULL, 0, 0, 0) != -EOPNOTSUPP) {
			snprintf(note, sizeof(note), "rma_read without GVM_CAP_RMA did not return -EOPNOTSUPP");
			rc = 1;
		}
	}
	be->close_all(&f);
	return rc;
}

/* A peer that closes is reported down; the others carry on. */
static int case_peer_close(const struct backend *be)
{
	struct fix f;
	uint8_t buf[64];
	int rc = 0;

	if (fix_open(&f, be, 3))
		FAIL("open failed");
	if (!(f.tp[0]->caps & GVM_CAP_PEER_DOWN)) {
		snprintf(note, sizeof(note), "no GVM_CAP_PEER_DOWN");
		rc = 77;
		goto out;
	}
	for (gvm_node_id s = 0; s < 3; s++)
		for (gvm_node_id d = 0; d < 3; d++)
			if (s != d)
				send_seq(&f, s, d, 0, 16, buf);
	PUMP_UNTIL(&f, f.box[0].count == 2 && f.box[1].count == 2 && f.box[2].count == 2, 5000);
	gvm_tp_close(f.tp[2]);
	f.tp[2] = NULL;
	if (!PUMP_UNTIL(&f, f.box[0].down[2] && f.box[1].down[2], 5000))
		FAIL("closed peer not reported down");
	send_seq(&f, 0, 1, 1, 16, buf);
	if (!PUMP_UNTIL(&f, f.box[1].count == 3, 5000))
		FAIL("survivors stopped talking");
	if (f.box[0].down[1] || f.box[1].down[0])
		FAIL("a live peer was reported down");
out:
	be->close_all(&f);
	return rc;
}

/* A peer process killed with SIGKILL is reported down within the timeout. */
static int case_peer_crash(const struct backend *be)
{
	struct fix f;
	uint64_t t0;
	pid_t pid = -1;
	int rc = 0;

	if (!be->spawn) {
		snprintf(note, sizeof(note), "fixture cannot run a peer in a child");
		return 77;
	}
	if (fix_open(&f, be, 2))
		FAIL("open failed");
	/* Node 1 lives in the child only. */
	pid = be->spawn(&f, 1, 5);
	gvm_tp_close(f.tp[1]);
	f.tp[1] = NULL;
	if (!PUMP_UNTIL(&f, f.box[0].count == 5, 5000))
		FAIL("child's messages did not arrive");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	pid = -1;
	t0 = now_ms();
	if (!PUMP_UNTIL(&f, f.box[0].down[1], 5000))
		FAIL("killed peer not reported down");
	snprintf(note, sizeof(note), "reported %" PRIu64 " ms after SIGKILL", now_ms() - t0);
	if (total_errors(&f, note, sizeof(note)))
		rc = 1;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	be->close_all(&f);
	return rc;
}

/* Malformed frames close that peer with a logged reason; others go on. */
static int case_malformed(const struct backend *be)
{
	static const struct {
		const char *what;
		uint8_t bytes[12];
		size_t len;
	} bad[] = {
		{"bad length", {0xff, 0xff, 0xff, 0x7f, 3, 0, 0, 0}, 8},
		{"bad type", {4, 0, 0, 0, 99, 0, 0, 0, 1, 2, 3, 4}, 12},
		{"reserved byte", {0, 0, 0, 0, 3, 0, 1, 0}, 8},
		{"truncated", {100, 0, 0, 0, 3, 0, 0, 0, 1, 2}, 10},
		{"garbage before hello", {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}, 8},
	};
	uint8_t buf[64];
	int rc = 0;

	if (!be->inject) {
		snprintf(note, sizeof(note), "no raw framing to corrupt");
		return 77;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fix f;
		bool hello = i != 4;

		if (fix_open(&f, be, 3))
			FAIL("open failed");
		/* Node 2 is the impostor; 0 and 1 keep talking. */
		gvm_tp_close(f.tp[2]);
		f.tp[2] = NULL;
		if (be->inject(&f, 0, hello ? 2 : GVM_NODE_NONE, bad[i].bytes, bad[i].len))
			FAIL("%s: could not inject", bad[i].what);
		if (hello && !PUMP_UNTIL(&f, f.box[0].down[2], 3000)) {
			be->close_all(&f);
			FAIL("%s: peer not closed", bad[i].what);
		}
		send_seq(&f, 1, 0, 0, 40, buf);
		if (!PUMP_UNTIL(&f, f.box[0].count == 1, 3000) || f.box[0].errors) {
			be->close_all(&f);
			FAIL("%s: node 0 stopped serving others", bad[i].what);
		}
		be->close_all(&f);
	}
	snprintf(note, sizeof(note), "%zu kinds of bad frame", sizeof(bad) / sizeof(bad[0]));
out:
	return rc;
}

/* A hello that disagrees is refused, naming the field and both values. */
static char last_log[200];

static void capture(int level, const char *line)
{
	(void)level;
	if (strstr(line, "refuses") && !last_log[0])
		snprintf(last_log, sizeof(last_log), "%s", line);
	if (verbose)
		fprintf(stderr, "  log: %s\n", line);
}

static int case_handshake(const struct backend *be)
{
	struct gvm_hello h0 = {.proto = 1, .cluster_id = 7, .nodes = 2, .node = 0,
			       .page_shift = 12, .manager = 1};
	struct gvm_hello h1 = h0;
	const struct gvm_hello *hello[2] = {&h0, &h1};
	struct fix f;
	int rc = 0;

	if (!be->inject) {
		snprintf(note, sizeof(note), "no handshake");
		return 77;
	}
	h1.node = 1;
	h1.page_shift = 13;
	if (fix_open_hello(&f, be, 2, hello))
		FAIL("open failed");
	last_log[0] = 0;
	send_seq(&f, 1, 0, 0, 16, (uint8_t[16]){0});
	if (!PUMP_UNTIL(&f, f.box[1].down[0] && last_log[0], 3000))
		FAIL("mismatched peer not refused");
	if (!strstr(last_log, "page size") || !strstr(last_log, "4096") ||
	    !strstr(last_log, "8192"))
		FAIL("refusal does not name the field and both values: %s", last_log);
	if (f.box[0].count)
		FAIL("a message from a refused peer was delivered");
	snprintf(note, sizeof(note), "%s", last_log);
out:
	be->close_all(&f);
	return rc;
}

/*
 * A process that stops calling progress() for longer than the peer timeout
 * (stopped, starved of CPU, a paused VM) must not declare its peers dead
 * when it comes back: it was the silent one.
 */
static int case_stall(const struct backend *be)
{
	struct fix f;
	uint8_t buf[64];
	int rc = 0;

	if (!be->timeout_ms) {
		snprintf(note, sizeof(note), "no peer timeout");
		return 77;
	}
	if (fix_open(&f, be, 2))
		FAIL("open failed");
	send_seq(&f, 0, 1, 0, 16, buf);
	send_seq(&f, 1, 0, 0, 16, buf);
	if (!PUMP_UNTIL(&f, f.box[0].count == 1 && f.box[1].count == 1, 5000))
		FAIL("first messages did not arrive");
	usleep(2 * be->timeout_ms * 1000);
	send_seq(&f, 0, 1, 1, 16, buf);
	send_seq(&f, 1, 0, 1, 16, buf);
	if (!PUMP_UNTIL(&f, f.box[0].count == 2 && f.box[1].count == 2, 5000))
		FAIL("messages after the stall did not arrive");
	if (f.box[0].down[1] || f.box[1].down[0])
		FAIL("a peer was declared down after our own stall");
	snprintf(note, sizeof(note), "both endpoints stalled %u ms (timeout %u ms)",
		 2 * be->timeout_ms, be->timeout_ms);
out:
	be->close_all(&f);
	return rc;
}

struct kicker {
	struct gvm_transport *t;
	unsigned int after_us;
};

static void *kick_later(void *arg)
{
	struct kicker *k = arg;

	usleep(k->after_us);
	k->t->ops.kick(k->t);
	return NULL;
}

/* How long one wait() on endpoint 0 slept, in ms; -1 if arm() refused. */
static int64_t timed_wait(struct fix *f, int *armed)
{
	uint64_t t0 = gvm_os_now_ns();

	*armed = f->tp[0]->ops.arm(f->tp[0]);
	if (*armed == 0)
		f->tp[0]->ops.wait(f->tp[0], 1000000000);
	return (int64_t)((gvm_os_now_ns() - t0) / 1000000);
}

/*
 * The driving contract (progress, arm, wait, kick): an armed wait() returns
 * when a message comes, when another thread kicks, and at once for a kick
 * that came after arm(); a message already there when arm() looks makes it
 * refuse (-EAGAIN) or wait() return at once. Heartbeats every 2 s: a
 * wait() that missed its wake-up would sleep until the next one, far past
 * the limit.
 */
static int case_arm_wait(const struct backend *be)
{
	struct backend slow = *be;
	char opts[128];
	struct fix f;
	uint8_t buf[64];
	int rc = 0, armed, fd;
	const int64_t limit = 100;
	int64_t ms;
	struct kicker k;
	pthread_t th;

	if (!be->waits) {
		snprintf(note, sizeof(note), "skip: no real waiting (virtual time)");
		return 77;
	}
	snprintf(opts, sizeof(opts), "%s%sheartbeat_ms=2000&timeout_ms=20000",
		 be->options ? be->options : "", be->options ? "&" : "");
	slow.options = opts;
	be = &slow;
	if (fix_open(&f, be, 2))
		FAIL("open failed");
	send_seq(&f, 1, 0, 0, 16, buf);
	if (!PUMP_UNTIL(&f, f.box[0].count == 1, 5000))
		FAIL("first message did not arrive");
	/* Quiet for a while (a backend looks more often while it connects),
	 * so arm() must say sleep and only the 2 s housekeeping remains. */
	PUMP_UNTIL(&f, false, 30);
	k = (struct kicker){f.tp[0], 2000};
	pthread_create(&th, NULL, kick_later, &k);
	ms = timed_wait(&f, &armed);
	pthread_join(th, NULL);
	if (armed)
		FAIL("arm() with nothing pending returned %d", armed);
	if (ms >= limit)
		FAIL("a kick from another thread after 2 ms woke wait() after %lld ms",
		     (long long)ms);
	f.tp[0]->ops.arm(f.tp[0]);
	f.tp[0]->ops.kick(f.tp[0]);
	ms = (int64_t)gvm_os_now_ns();
	f.tp[0]->ops.wait(f.tp[0], 1000000000);
	ms = ((int64_t)gvm_os_now_ns() - ms) / 1000000;
	if (ms >= limit)
		FAIL("a kick between arm() and wait() left wait() sleeping %lld ms",
		     (long long)ms);
	for (int i = 0; i < 200; i++)
		gvm_tp_progress(f.tp[0]);
	/* A message sent while endpoint 0 sleeps: from another process's
	 * point of view, the peer's send; here, endpoint 1 in a thread. */
	{
		uint64_t t0 = gvm_os_now_ns();

		armed = f.tp[0]->ops.arm(f.tp[0]);
		if (armed)
			FAIL("arm() with nothing pending returned %d", armed);
		send_seq(&f, 1, 0, 1, 16, buf);
		for (int i = 0; i < 20; i++)
			gvm_tp_progress(f.tp[1]); /* flush what waits to be sent */
		f.tp[0]->ops.wait(f.tp[0], 1000000000);
		ms = (int64_t)((gvm_os_now_ns() - t0) / 1000000);
		if (ms >= limit)
			FAIL("a message sent after arm() woke wait() after %lld ms",
			     (long long)ms);
	}
	if (!PUMP_UNTIL(&f, f.box[0].count == 2, 5000))
		FAIL("the message that woke wait() was not delivered");
	send_seq(&f, 1, 0, 2, 16, buf);
	for (int i = 0; i < 20; i++)
		gvm_tp_progress(f.tp[1]);
	usleep(20000); /* it has arrived: arm() must see it */
	ms = timed_wait(&f, &armed);
	if (armed && armed != -EAGAIN)
		FAIL("arm() returned %d", armed);
	if (!armed && ms >= limit)
		FAIL("a message there before arm() left wait() sleeping %lld ms",
		     (long long)ms);
	if (!PUMP_UNTIL(&f, f.box[0].count == 3, 5000))
		FAIL("the message there before arm() was not delivered");
	/* wait_fd(), where there is one: quiet after arm(), readable once a
	 * message is sent, and wait(0) then delivers it. */
	fd = f.tp[0]->ops.wait_fd(f.tp[0]);
	if (fd >= 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		PUMP_UNTIL(&f, false, 30);
		if (f.tp[0]->ops.arm(f.tp[0]))
			FAIL("arm() with nothing pending refused");
		if (poll(&pfd, 1, 0) != 0)
			FAIL("wait_fd() readable with nothing pending");
		send_seq(&f, 1, 0, 3, 16, buf);
		for (int i = 0; i < 20; i++)
			gvm_tp_progress(f.tp[1]);
		if (poll(&pfd, 1, (int)limit) != 1)
			FAIL("wait_fd() not readable %lld ms after a message was sent",
			     (long long)limit);
		f.tp[0]->ops.wait(f.tp[0], 0);
		if (!PUMP_UNTIL(&f, f.box[0].count == 4, 5000))
			FAIL("the message that made wait_fd() readable was not delivered");
	} else if (fd != -EOPNOTSUPP) {
		FAIL("wait_fd() returned %d", fd);
	}
	snprintf(note, sizeof(note), "a message already there: arm() %s; %s",
		 armed ? "refused" : "armed, wait() returned at once",
		 fd >= 0 ? "wait_fd() polled" : "no wait_fd()");
out:
	be->close_all(&f);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(const struct backend *be);
} cases[] = {
	{"per-pair ordering, 2 x 2000 messages", case_ordering},
	{"all-to-all with 3, 5 and 8 peers", case_peers},
	{"message sizes 0..max", case_sizes},
	{"sender much faster than receiver", case_slow_receiver},
	{"one-sided operations where advertised", case_one_sided},
	{"peer close detected, others continue", case_peer_close},
	{"peer crash (SIGKILL) detected", case_peer_crash},
	{"malformed frames close that peer only", case_malformed},
	{"handshake mismatch refused with both values", case_handshake},
	{"our own stall past the timeout blames no peer", case_stall},
	{"arm/wait: a message or a kick wakes an armed wait", case_arm_wait},
};

int main(int argc, char **argv)
{
	int pass = 0, failn = 0, skip = 0;

	signal(SIGPIPE, SIG_IGN);
	gvm_os_log_set_sink(capture);
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = true;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: conformance [-v] BACKEND...  (");
		for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++)
			fprintf(stderr, "%s%s", b ? " " : "", backends[b].name);
		fprintf(stderr, ")\n");
		return 2;
	}
	for (int a = 1; a < argc; a++) {
		const struct backend *be = NULL;

		for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++)
			if (!strcmp(backends[b].name, argv[a]))
				be = &backends[b];
		if (!be || !gvm_transport_find(be->registered ? be->registered : be->name)) {
			fprintf(stderr, "conformance: no backend '%s' built here\n", argv[a]);
			return 2;
		}
		{
			struct fix probe;
			int err = fix_open(&probe, be, 2);

			be->close_all(&probe);
			if (err == -ENOSYS) {
				printf("skip %s: not in this build\n", be->name);
				printf("conformance: 0 passed, 0 failed, %zu skipped\n",
				       sizeof(cases) / sizeof(cases[0]));
				return 77;
			}
		}
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			uint64_t t0 = now_ms();
			int rc;

			note[0] = 0;
			rc = cases[c].fn(be);
			printf("%-4s %-4s %-48s %5" PRIu64 " ms  %s\n",
			       rc == 0 ? "ok" : rc == 77 ? "skip" : "FAIL", be->name,
			       cases[c].name, now_ms() - t0, note);
			if (rc == 0)
				pass++;
			else if (rc == 77)
				skip++;
			else
				failn++;
		}
	}
	printf("conformance: %d passed, %d failed, %d skipped\n", pass, failn, skip);
	return failn ? 1 : pass ? 0 : 77;
}
