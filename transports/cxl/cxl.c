// SPDX-License-Identifier: MIT
/*
 * cxl.c - the CXL shared-memory backend: nodes that map one region (a
 * devdax device, a file on /dev/shm or hugetlbfs, or an inherited memfd)
 * talk through polled single-producer / single-consumer rings in it, one
 * per ordered pair (ring.h), and share a page window the engine may place
 * pages in (window_map). Layout: layout.h.
 *
 * Joining. The region is laid out by the first node to open it, under
 * flock, or again by a node that finds no live node attached (what an
 * earlier run left). Every other node checks the geometry it asks for
 * against the header and claims its entry in the node table: a generation
 * number, its pid and its hello. A peer is seen once its entry is UP and
 * its hello matches ours; a mismatch is refused on both sides, naming the
 * field and both values.
 *
 * Sending copies the message into the ring. When the ring is full the
 * message waits in a private queue that progress() and later sends flush,
 * so send never blocks on a slow receiver (blocking there, under the
 * engine's lock, could deadlock two nodes sending to each other).
 *
 * Receiving. progress() checks the next slot of each live peer's ring and
 * copies a ready message out before delivering it: the peer cannot change
 * what the engine is reading. A malformed message closes that peer with a
 * logged reason. A thread with nothing to do sleeps (arm, then wait) on a
 * futex doorbell in its node entry that senders ring when the entry says
 * the node sleeps; how long it polls first is the caller's choice.
 *
 * Liveness. Each node bumps a heartbeat counter in its entry; a peer whose
 * counter stands still past the timeout is down, one that leaves in order
 * (LEFT) is drained and then reported as gone. Closing a peer raises a flag
 * in both rings of the pair, so the peer learns it was cut off.
 *
 * Threads. progress(), arm() and wait() are run by one thread at a time;
 * send(), connect(), close_peer() and kick() may be called from any
 * thread (a per-peer lock guards the sending side). Stop every thread that
 * drives the endpoint before close().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <gvm/transport.h>

#include "os/gvm_os.h"
#include "dax.h"
#include "layout.h"
#include "ring.h"

#define CXL_DEFAULT_SLOTS   512u       /* 32 KiB of slots a ring */
#define CXL_DEFAULT_PAYLOAD (256u << 10) /* max_msg 128 KiB: a 64 KiB page fits */
#define CXL_DEFAULT_WINDOW  (4u << 20)
#define CXL_BATCH          64         /* messages from one peer per round */

enum cxl_source { CXL_SRC_PATH, CXL_SRC_DAX, CXL_SRC_MEMFD };

struct cxl_peer {
	pthread_spinlock_t lock; /* the sending side: tx, the queue, down */
	struct cxl_ring tx;      /* our messages to it */
	struct cxl_ring rx;      /* its messages to us: progress thread only */
	uint8_t *q;              /* messages waiting for room: u32 length, bytes */
	size_t q_off, q_len, q_cap;
	/* Progress thread only. */
	bool seen;
	uint64_t gen, beat, beat_ns;
	bool down_reported;
	/* Under lock; read without it through atomics. */
	bool down;
	bool closed_here; /* by close_peer: the caller has said why already */
	int down_reason;
};

struct cxl_ep {
	struct gvm_transport base;
	struct gvm_hello hello;
	bool check_hello;
	char source[96];
	uint8_t *map;
	size_t map_len;
	struct cxl_header *hdr;
	struct cxl_header geom; /* the layout as checked: the header may change */
	struct cxl_node *table, *me;
	uint64_t my_gen;
	struct cxl_peer *peers;
	gvm_node_id *active; /* peers seen and not down, polled in order */
	uint32_t nactive;
	uint8_t *rxbuf;
	enum cxl_sync sync;
	bool rings, futex;
	bool fence_send; /* no membarrier: senders pay the sleeper's fence */
	uint32_t pending; /* queues to flush or downs to report */
	uint32_t calls;   /* of progress(), for the housekeeping clock */
	uint64_t heartbeat_ns, timeout_ns, linger_ns;
	uint32_t armed_bell; /* the doorbell's value when arm() looked */
	uint64_t connect_timeout_ns, opened_ns; /* a peer must attach by then */
	uint64_t next_hk_ns;
	uint64_t last_hk_ns; /* of the last housekeeping pass, 0 before it */
};

struct cxl_opts {
	enum cxl_source src;
	char arg[80];
	uint64_t size, window;
	uint32_t slots, payload;
	bool flush, takeover;
};

static inline struct cxl_ep *to_cxl_ep(struct gvm_transport *t)
{
	return (struct cxl_ep *)t;
}

static uint64_t now_ns(void)
{
	return gvm_os_now_ns();
}

/* Good to a few ms and cheap enough to read on every idle poll. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int futex_wait(uint32_t *addr, uint32_t val, uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};

	/* Not FUTEX_PRIVATE_FLAG: the word is in a mapping other processes share. */
	return (int)syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/*
 * A sender publishes a message and then reads the receiver's sleeping
 * flag; a receiver going to sleep sets the flag and then looks at its
 * rings. Each side needs a full fence between its store and its load, or
 * both may miss the other. With membarrier the sleeper fences for both:
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED runs a barrier on every running thread
 * of the processes registered here, so sends stay fence-free.
 */
static bool membarrier_register(void)
{
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	return q > 0 && q & MEMBARRIER_CMD_GLOBAL_EXPEDITED &&
	       !syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
}

/* ==== Options ==== */

/* "123", "64K", "4M", "1G". */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * uri: "cxl:SOURCE[?opt=val&...]", SOURCE one of path=FILE, dax=/dev/daxX.Y,
 * memfd=FD. Options: size, slots, payload, window, rings, flush, heartbeat_ms,
 * timeout_ms, linger_ms, futex, takeover
 * (transports/cxl/README.md).
 */
static int parse_uri(struct cxl_ep *ep, const char *uri, struct cxl_opts *o)
{
	char *copy, *opts, *tok, *save, *eq;
	int err = 0;

	if (!uri || strncmp(uri, "cxl:", 4))
		return -EINVAL;
	copy = strdup(uri + 4);
	if (!copy)
		return -ENOMEM;
	opts = strchr(copy, '?');
	if (opts)
		*opts++ = 0;
	eq = strchr(copy, '=');
	if (!eq || !eq[1] || strlen(eq + 1) >= sizeof(o->arg)) {
		err = -EINVAL;
		goto out;
	}
	*eq++ = 0;
	if (!strcmp(copy, "path"))
		o->src = CXL_SRC_PATH;
	else if (!strcmp(copy, "dax"))
		o->src = CXL_SRC_DAX;
	else if (!strcmp(copy, "memfd"))
		o->src = CXL_SRC_MEMFD;
	else
		err = -EINVAL;
	snprintf(o->arg, sizeof(o->arg), "%s", eq);
	for (tok = opts ? strtok_r(opts, "&", &save) : NULL; tok && !err;
	     tok = strtok_r(NULL, "&", &save)) {
		uint64_t v;

		eq = strchr(tok, '=');
		if (!eq || parse_size(eq + 1, &v)) {
			gvm_log_err("cxl: bad option '%s' (want NAME=NUMBER)", tok);
			err = -EINVAL;
			break;
		}
		*eq = 0;
		if (!strcmp(tok, "size"))
			o->size = v;
		else if (!strcmp(tok, "slots") && v >= 2 && v <= (1u << 24) && !(v & (v - 1)))
			o->slots = (uint32_t)v;
		else if (!strcmp(tok, "payload") && !(v % CXL_LINE) && v <= (1u << 30))
			o->payload = (uint32_t)v;
		else if (!strcmp(tok, "window") && !(v % CXL_PAGE))
			o->window = v;
		else if (!strcmp(tok, "rings") && v <= 1)
			ep->rings = v;
		else if (!strcmp(tok, "flush") && v <= 1)
			o->flush = v;
		else if (!strcmp(tok, "takeover") && v <= 1)
			o->takeover = v;
		else if (!strcmp(tok, "futex") && v <= 1)
			ep->futex = v;
		else if (!strcmp(tok, "heartbeat_ms") && v)
			ep->heartbeat_ns = v * 1000000ull;
		else if (!strcmp(tok, "timeout_ms") && v)
			ep->timeout_ns = v * 1000000ull;
		else if (!strcmp(tok, "connect_timeout_ms") && v)
			ep->connect_timeout_ns = v * 1000000ull;
		else if (!strcmp(tok, "linger_ms"))
			ep->linger_ns = v * 1000000ull;
		else {
			gvm_log_err("cxl: unknown option or bad value '%s=%s' (slots: a power of two; payload: a multiple of 64; window: a multiple of 4096; flags: 0 or 1)",
				    tok, eq + 1);
			err = -EINVAL;
		}
	}
out:
	free(copy);
	return err;
}

/* ==== The region ==== */

/* Where everything goes for these options (a zero size: the minimum). */
static void plan(struct cxl_header *h, uint32_t nodes, const struct cxl_opts *o)
{
	uint64_t rings = o->slots ? (uint64_t)nodes * (nodes - 1) : 0;

	memset(h, 0, sizeof(*h));
	h->version = CXL_VERSION;
	h->nodes = nodes;
	h->slots = o->slots;
	h->flags = o->flush ? CXL_F_FLUSH : 0;
	h->node_off = CXL_PAGE;
	h->ring_off = align_up(CXL_PAGE + (uint64_t)nodes * sizeof(struct cxl_node), CXL_PAGE);
	h->payload = o->slots ? o->payload : 0;
	h->ring_stride = o->slots ? align_up(cxl_ring_bytes(o->slots, o->payload), CXL_LINE) : 0;
	h->window_off = align_up(h->ring_off + rings * h->ring_stride, CXL_PAGE);
	h->window_len = o->window;
	h->size = h->window_off + h->window_len;
}

static void *ring_base(const struct cxl_ep *ep, gvm_node_id from, gvm_node_id to)
{
	uint64_t n = ep->geom.nodes;
	uint64_t idx = from * (n - 1) + to - (to > from);

	return ep->map + ep->geom.ring_off + idx * ep->geom.ring_stride;
}

/* Is any node attached and alive? A pid is only checked on this host. */
static bool region_in_use(const struct cxl_ep *ep, bool same_host)
{
	const struct cxl_header *h = ep->hdr;
	uint32_t nodes = __atomic_load_n(&h->nodes, __ATOMIC_RELAXED);

	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != CXL_MAGIC ||
	    h->version != CXL_VERSION || h->node_off != CXL_PAGE ||
	    CXL_PAGE + (uint64_t)nodes * sizeof(struct cxl_node) > ep->map_len)
		return false;
	for (uint32_t i = 0; i < nodes; i++) {
		const struct cxl_node *e = &ep->table[i];
		pid_t pid = (pid_t)__atomic_load_n(&e->pid, __ATOMIC_RELAXED);

		if (cxl_status_state(__atomic_load_n(&e->status, __ATOMIC_ACQUIRE)) != CXL_NODE_UP)
			continue;
		if (!same_host || pid <= 0 || !kill(pid, 0) || errno == EPERM)
			return true;
	}
	return false;
}

/* Returns 0, or -EINVAL naming the first field that differs. */
static int region_check(const struct cxl_ep *ep, const struct cxl_header *want)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
#define F(n, f) {n, offsetof(struct cxl_header, f), sizeof(((struct cxl_header *)0)->f)}
		F("nodes", nodes), F("slots", slots), F("payload", payload), F("flush", flags),
		F("window", window_len), F("size", size), F("ring_off", ring_off),
		F("window_off", window_off),
#undef F
	};
	const uint8_t *have = (const uint8_t *)ep->hdr;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint64_t a = 0, b = 0;

		memcpy(&a, have + fields[i].off, fields[i].size);
		memcpy(&b, (const uint8_t *)want + fields[i].off, fields[i].size);
		if (a != b) {
			gvm_log_err("cxl: %s is laid out for %s=%llu, node %u asks for %llu (every node must use the same options)",
				    ep->source, fields[i].name, (unsigned long long)a,
				    ep->base.self, (unsigned long long)b);
			return -EINVAL;
		}
	}
	return 0;
}

static void region_format(struct cxl_ep *ep, const struct cxl_header *want)
{
	uint64_t epoch = ep->hdr->magic == CXL_MAGIC ? ep->hdr->epoch : 0;

	__atomic_store_n(&ep->hdr->magic, 0, __ATOMIC_RELEASE);
	memset(ep->map + sizeof(*ep->hdr), 0, want->size - sizeof(*ep->hdr));
	memcpy(ep->hdr, want, sizeof(*want));
	ep->hdr->magic = 0;
	ep->hdr->epoch = epoch + 1;
	cxl_write_back(ep->sync, ep->map, want->size);
	__atomic_store_n(&ep->hdr->magic, CXL_MAGIC, __ATOMIC_RELEASE);
	cxl_write_back(ep->sync, ep->hdr, CXL_LINE);
}

/* Claim our node entry. */
static int region_join(struct cxl_ep *ep, bool takeover, bool same_host)
{
	struct cxl_node *e = ep->me;
	uint64_t st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
	pid_t pid = (pid_t)e->pid;
	uint8_t hello[GVM_HELLO_LEN];

	if (cxl_status_state(st) == CXL_NODE_UP && !takeover &&
	    (!same_host || pid <= 0 || !kill(pid, 0) || errno == EPERM)) {
		gvm_log_err("cxl: node %u is attached to %s already (pid %d); a region left by a crashed run? remove it, or pass takeover=1",
			    ep->base.self, ep->source, (int)pid);
		return -EBUSY;
	}
	ep->my_gen = cxl_status_gen(st) + 1;
	gvm_hello_encode(&ep->hello, hello);
	memcpy(e->hello, hello, sizeof(hello));
	__atomic_store_n(&e->pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&e->sleeping, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->status, cxl_status(ep->my_gen, CXL_NODE_UP), __ATOMIC_RELEASE);
	cxl_write_back(ep->sync, e, sizeof(*e));
	return 0;
}

/* Open the source and map the region; lay it out or join it. */
static int region_open(struct cxl_ep *ep, const struct cxl_opts *o)
{
	struct cxl_header want;
	uint64_t map_len, align = CXL_PAGE;
	struct stat st;
	char why[256];
	bool same_host = o->src != CXL_SRC_DAX;
	int fd, err = 0;
	void *base;

	plan(&want, ep->base.nodes, o);
	if (o->size) {
		if (o->size < want.size) {
			gvm_log_err("cxl: size=%llu is too small: %u nodes, %u slots a ring and a %llu-byte window need %llu",
				    (unsigned long long)o->size, want.nodes, want.slots,
				    (unsigned long long)want.window_len,
				    (unsigned long long)want.size);
			return -EINVAL;
		}
	}
	switch (o->src) {
	case CXL_SRC_PATH:
		fd = open(o->arg, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		break;
	case CXL_SRC_MEMFD:
		fd = fcntl(atoi(o->arg), F_DUPFD_CLOEXEC, 0);
		break;
	default:
		err = cxl_dax_check(o->arg, &map_len, &align, why, sizeof(why));
		if (err) {
			gvm_log_err("cxl: %s", why);
			return err;
		}
		if (map_len < want.size) {
			gvm_log_err("cxl: %s holds %llu bytes, the layout needs %llu",
				    o->arg, (unsigned long long)map_len,
				    (unsigned long long)want.size);
			return -ENOSPC;
		}
		fd = open(o->arg, O_RDWR | O_CLOEXEC);
		break;
	}
	if (fd < 0) {
		err = -errno;
		gvm_log_err("cxl: cannot open %s: %s", ep->source, strerror(errno));
		return err;
	}
	/* One opener at a time lays out or joins (racing creators, same host). */
	if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	/* hugetlbfs: whole huge pages, mapped at their alignment. */
	if (o->src == CXL_SRC_PATH && st.st_blksize > (blksize_t)CXL_PAGE &&
	    !(st.st_blksize & (st.st_blksize - 1)))
		align = (uint64_t)st.st_blksize;
	map_len = align_up(o->size > want.size ? o->size : want.size, align);
	if (o->src != CXL_SRC_DAX) {
		if ((uint64_t)st.st_size > map_len)
			map_len = (uint64_t)st.st_size;
		/* Reserve now: tmpfs running out later would be a SIGBUS. */
		err = -posix_fallocate(fd, 0, (off_t)map_len);
		if (err) {
			gvm_log_err("cxl: cannot size %s to %llu bytes: %s", ep->source,
				    (unsigned long long)map_len, strerror(-err));
			goto out_close;
		}
	}
	base = mmap(NULL, map_len + align - CXL_PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	/* devdax wants a mapping aligned to the device's alignment. */
	ep->map = (uint8_t *)align_up((uintptr_t)base, align);
	if (ep->map != base)
		munmap(base, (size_t)(ep->map - (uint8_t *)base));
	if (align > CXL_PAGE)
		munmap(ep->map + map_len, align - CXL_PAGE - (size_t)(ep->map - (uint8_t *)base));
	if (mmap(ep->map, map_len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
		err = -errno;
		munmap(ep->map, map_len);
		ep->map = NULL;
		gvm_log_err("cxl: cannot map %s: %s", ep->source, strerror(-err));
		goto out_close;
	}
	ep->map_len = map_len;
	ep->hdr = (struct cxl_header *)ep->map;
	ep->table = (struct cxl_node *)(ep->map + CXL_PAGE);
	cxl_invalidate(ep->sync, ep->map, CXL_PAGE + (size_t)want.nodes * sizeof(struct cxl_node));
	if (!region_in_use(ep, same_host)) {
		region_format(ep, &want);
		gvm_log_info("cxl: node %u laid out %s: %u nodes, %u slots a ring, %llu-byte window",
			     ep->base.self, ep->source, want.nodes, want.slots,
			     (unsigned long long)want.window_len);
	} else {
		err = region_check(ep, &want);
	}
	ep->geom = want;
	ep->me = &ep->table[ep->base.self];
	if (!err)
		err = region_join(ep, o->takeover, same_host);
out_close:
	/* Explicitly: the mapping holds the open file, and with it the lock. */
	flock(fd, LOCK_UN);
	close(fd);
	return err;
}

/* ==== Peers ==== */

static void ring_doorbell(struct cxl_ep *ep, gvm_node_id id)
{
	struct cxl_node *e = &ep->table[id];

	if (!ep->futex)
		return;
	if (ep->fence_send)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the sleeper fences */
	if (__atomic_load_n(&e->sleeping, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&e->doorbell, 1, __ATOMIC_RELEASE);
		futex_wake(&e->doorbell);
	}
}

/*
 * Mark a peer down (any thread, its lock held): stop both rings of the
 * pair, so the peer learns it too; progress() reports it.
 */
static void peer_mark_down(struct cxl_ep *ep, gvm_node_id id, int reason)
{
	struct cxl_peer *p = &ep->peers[id];

	if (p->down)
		return;
	p->down_reason = reason;
	__atomic_store_n(&p->down, true, __ATOMIC_RELEASE);
	p->q_len = p->q_off = 0;
	__atomic_store_n(&p->tx.ctl->prod_closed, (uint32_t)-reason, __ATOMIC_RELEASE);
	__atomic_store_n(&p->rx.ctl->cons_closed, (uint32_t)-reason, __ATOMIC_RELEASE);
	cxl_write_back(ep->sync, &p->tx.ctl->prod_closed, sizeof(uint32_t));
	cxl_write_back(ep->sync, &p->rx.ctl->cons_closed, sizeof(uint32_t));
	__atomic_store_n(&ep->pending, 1, __ATOMIC_RELEASE);
	ring_doorbell(ep, id);
	ring_doorbell(ep, ep->base.self); /* our progress() reports it */
}

static void peer_fail(struct cxl_ep *ep, gvm_node_id id, int reason,
		      const char *why)
{
	struct cxl_peer *p = &ep->peers[id];

	pthread_spin_lock(&p->lock);
	if (!p->down && why)
		gvm_log_warn("cxl: node %u: closing peer %u: %s", ep->base.self, id, why);
	peer_mark_down(ep, id, reason);
	pthread_spin_unlock(&p->lock);
}

/* Progress thread: report a down peer once and stop polling it. */
static void peer_report(struct cxl_ep *ep, gvm_node_id id)
{
	struct cxl_peer *p = &ep->peers[id];
	int reason = p->down_reason;

	p->down_reported = true;
	for (uint32_t k = 0; k < ep->nactive; k++)
		if (ep->active[k] == id) {
			ep->active[k] = ep->active[--ep->nactive];
			break;
		}
	if (reason == -ESHUTDOWN)
		gvm_log_info("cxl: node %u: peer %u left", ep->base.self, id);
	else if (p->closed_here)
		gvm_log_debug("cxl: node %u: closed peer %u: %s", ep->base.self, id,
			      strerror(-reason));
	else
		gvm_log_warn("cxl: node %u: peer %u is down: %s", ep->base.self, id,
			     strerror(-reason));
	if (ep->base.peer_down)
		ep->base.peer_down(ep->base.peer_down_arg, id, reason);
}

/* ==== Sending ==== */

static int queue_msg(struct cxl_peer *p, const struct gvm_iov *iov,
		     unsigned int iovcnt, size_t len)
{
	uint32_t l = (uint32_t)len;

	if (p->q_len + sizeof(l) + len > p->q_cap) {
		size_t cap = p->q_cap ? p->q_cap : 65536;
		uint8_t *q;

		while (cap < p->q_len + sizeof(l) + len)
			cap *= 2;
		q = realloc(p->q, cap);
		if (!q)
			return -ENOMEM;
		p->q = q;
		p->q_cap = cap;
	}
	memcpy(p->q + p->q_len, &l, sizeof(l));
	p->q_len += sizeof(l);
	for (unsigned int i = 0; i < iovcnt; i++)
		if (iov[i].len) {
			memcpy(p->q + p->q_len, iov[i].base, iov[i].len);
			p->q_len += iov[i].len;
		}
	return 0;
}

/* Move queued messages into the ring while it has room (lock held). */
static int flush_queue(struct cxl_ep *ep, gvm_node_id id)
{
	struct cxl_peer *p = &ep->peers[id];
	const char *why;
	bool moved = false;
	int err = 0;

	while (p->q_off < p->q_len) {
		uint32_t l;
		struct gvm_iov iov;

		memcpy(&l, p->q + p->q_off, sizeof(l));
		iov = (struct gvm_iov){p->q + p->q_off + sizeof(l), l};
		err = cxl_ring_send(&p->tx, &iov, 1, l, &why);
		if (err)
			break;
		p->q_off += sizeof(l) + l;
		moved = true;
	}
	if (p->q_off == p->q_len) {
		p->q_off = p->q_len = 0;
	} else if (p->q_off > p->q_cap / 2) { /* keep a long queue from growing */
		memmove(p->q, p->q + p->q_off, p->q_len - p->q_off);
		p->q_len -= p->q_off;
		p->q_off = 0;
	}
	if (moved)
		ring_doorbell(ep, id);
	if (err == -EPROTO) {
		gvm_log_warn("cxl: node %u: closing peer %u: %s", ep->base.self, id, why);
		peer_mark_down(ep, id, -EPROTO);
	}
	return err == -EAGAIN ? 0 : err;
}

static int cxl_send(struct gvm_transport *t, gvm_node_id dst,
		    const struct gvm_iov *iov, unsigned int iovcnt)
{
	struct cxl_ep *ep = to_cxl_ep(t);
	struct cxl_peer *p;
	const char *why;
	size_t len = 0;
	int err;

	if (!ep->rings)
		return -EOPNOTSUPP;
	if (dst >= t->nodes || dst == t->self)
		return -EINVAL;
	for (unsigned int i = 0; i < iovcnt; i++)
		len += iov[i].len;
	if (len > t->max_msg)
		return -EMSGSIZE;
	p = &ep->peers[dst];
	pthread_spin_lock(&p->lock);
	if (!p->down && p->q_len)
		flush_queue(ep, dst); /* older messages first */
	if (p->down) {
		err = -EHOSTDOWN;
	} else if (p->q_len) {
		err = queue_msg(p, iov, iovcnt, len); /* behind the others */
	} else {
		err = cxl_ring_send(&p->tx, iov, iovcnt, len, &why);
		if (!err) {
			ring_doorbell(ep, dst);
		} else if (err == -EAGAIN) {
			err = queue_msg(p, iov, iovcnt, len);
			__atomic_store_n(&ep->pending, 1, __ATOMIC_RELEASE);
		} else if (err == -EPROTO) {
			gvm_log_warn("cxl: node %u: closing peer %u: %s", ep->base.self, dst, why);
			peer_mark_down(ep, dst, -EPROTO);
			err = -EHOSTDOWN;
		}
	}
	pthread_spin_unlock(&p->lock);
	return err;
}

static int cxl_connect(struct gvm_transport *t, gvm_node_id peer)
{
	struct cxl_ep *ep = to_cxl_ep(t);

	if (!ep->rings)
		return -EOPNOTSUPP;
	if (peer >= t->nodes || peer == t->self)
		return -EINVAL;
	/* The rings are there from the start; nothing to dial. */
	return __atomic_load_n(&ep->peers[peer].down, __ATOMIC_ACQUIRE) ? -EHOSTDOWN : 0;
}

static int cxl_close_peer(struct gvm_transport *t, gvm_node_id peer, int reason)
{
	struct cxl_ep *ep = to_cxl_ep(t);
	struct cxl_peer *p;

	if (!ep->rings)
		return -EOPNOTSUPP;
	if (peer >= t->nodes || peer == t->self)
		return -EINVAL;
	p = &ep->peers[peer];
	pthread_spin_lock(&p->lock);
	if (!p->down)
		p->closed_here = true;
	peer_mark_down(ep, peer, reason ? reason : -ECONNABORTED);
	pthread_spin_unlock(&p->lock);
	return 0;
}

/* ==== Receiving ==== */

/* Deliver what one peer's ring holds (up to a batch). */
static int drain_peer(struct cxl_ep *ep, gvm_node_id id)
{
	struct cxl_peer *p = &ep->peers[id];
	const char *why;
	size_t len;
	int n = 0;

	while (n < CXL_BATCH && !__atomic_load_n(&p->down, __ATOMIC_ACQUIRE)) {
		int rc = cxl_ring_recv(&p->rx, ep->rxbuf, &len, &why);

		if (rc == 0)
			break;
		if (rc < 0) {
			peer_fail(ep, id, -EPROTO, why);
			break;
		}
		n++;
		/* A refused message has already closed its peer. */
		if (ep->base.recv(ep->base.recv_arg, id, ep->rxbuf, len) < 0)
			break;
	}
	return n;
}

static int poll_rings(struct cxl_ep *ep)
{
	int n = 0;

	for (uint32_t k = 0; k < ep->nactive; k++) {
		gvm_node_id id = ep->active[k];

		if (cxl_ring_ready(&ep->peers[id].rx))
			n += drain_peer(ep, id);
	}
	return n;
}

/* A peer's entry, first sight: is it one of us? */
static void peer_meet(struct cxl_ep *ep, gvm_node_id id, uint64_t gen)
{
	struct cxl_peer *p = &ep->peers[id];
	uint8_t buf[GVM_HELLO_LEN];
	struct gvm_hello h;
	const char *why, *field;
	uint64_t ours, theirs;

	memcpy(buf, ep->table[id].hello, sizeof(buf));
	if (gvm_hello_decode(buf, sizeof(buf), &h, &why) || h.node != id) {
		gvm_log_err("cxl: node %u refuses node %u: its entry holds no valid hello",
			    ep->base.self, id);
		peer_fail(ep, id, -EPROTO, NULL);
		return;
	}
	if (ep->check_hello &&
	    gvm_hello_compare(&ep->hello, &h, &field, &ours, &theirs)) {
		gvm_log_err("cxl: node %u refuses node %u: %s: %llu at node %u, %llu at node %u",
			    ep->base.self, id, field, (unsigned long long)ours,
			    ep->base.self, (unsigned long long)theirs, id);
		peer_fail(ep, id, -EPROTO, NULL);
		return;
	}
	p->seen = true;
	p->gen = gen;
	p->beat = __atomic_load_n(&ep->table[id].beat, __ATOMIC_RELAXED);
	p->beat_ns = coarse_ns();
	ep->active[ep->nactive++] = id;
}

/*
 * Heartbeat, and what the node table says of each peer. While some peer
 * has not attached yet, look every few ms, so it is met soon after (or,
 * past connect_timeout_ms from our open, reported down). Silence counts
 * unless we were the silent one (gvm_liveness_pass_late).
 */
static void housekeeping(struct cxl_ep *ep, uint64_t now)
{
	bool unseen = false;
	bool stalled = gvm_liveness_pass_late(&ep->last_hk_ns, now, ep->timeout_ns);

	__atomic_store_n(&ep->me->beat, ep->me->beat + 1, __ATOMIC_RELEASE);
	cxl_write_back(ep->sync, &ep->me->beat, sizeof(ep->me->beat));
	for (gvm_node_id id = 0; id < ep->base.nodes; id++) {
		struct cxl_peer *p = &ep->peers[id];
		struct cxl_node *e = &ep->table[id];
		uint64_t st, beat;
		uint32_t closed;

		if (id == ep->base.self || __atomic_load_n(&p->down, __ATOMIC_ACQUIRE))
			continue;
		cxl_invalidate(ep->sync, e, CXL_LINE);
		st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
		if (!p->seen) {
			unseen = true;
			if (cxl_status_state(st) == CXL_NODE_FREE &&
			    now - ep->opened_ns > ep->connect_timeout_ns) {
				/* As a refused dial is for TCP: nobody waits for it. */
				peer_fail(ep, id, -EHOSTUNREACH, "it never attached");
				continue;
			}
			if (cxl_status_state(st) == CXL_NODE_FREE)
				continue;
			peer_meet(ep, id, cxl_status_gen(st));
			if (!p->seen)
				continue;
		}
		if (cxl_status_gen(st) != p->gen) {
			peer_fail(ep, id, -ECONNRESET, "it attached again (a new process took its id)");
			continue;
		}
		if (cxl_status_state(st) == CXL_NODE_LEFT) {
			/* It said all it had to say before leaving. */
			while (drain_peer(ep, id) == CXL_BATCH)
				;
			peer_fail(ep, id, -ESHUTDOWN, NULL);
			continue;
		}
		cxl_invalidate(ep->sync, &p->tx.ctl->cons_closed, sizeof(uint32_t));
		cxl_invalidate(ep->sync, &p->rx.ctl->prod_closed, sizeof(uint32_t));
		closed = __atomic_load_n(&p->tx.ctl->cons_closed, __ATOMIC_ACQUIRE) |
			 __atomic_load_n(&p->rx.ctl->prod_closed, __ATOMIC_ACQUIRE);
		if (closed) {
			peer_fail(ep, id, -ECONNRESET, "it closed the connection");
			continue;
		}
		beat = __atomic_load_n(&e->beat, __ATOMIC_RELAXED);
		if (beat != p->beat || stalled) {
			p->beat = beat;
			p->beat_ns = now;
		} else if (now - p->beat_ns > ep->timeout_ns) {
			gvm_log_warn("cxl: node %u: peer %u silent for over %llu ms",
				     ep->base.self, id,
				     (unsigned long long)(ep->timeout_ns / 1000000));
			peer_fail(ep, id, -ETIMEDOUT, NULL);
		}
	}
	ep->next_hk_ns = now + (unseen && ep->heartbeat_ns > 2000000 ? 2000000 : ep->heartbeat_ns);
}

/* Queues to flush, downs to report. */
static void service(struct cxl_ep *ep)
{
	bool again = false;

	__atomic_store_n(&ep->pending, 0, __ATOMIC_RELAXED);
	for (gvm_node_id id = 0; id < ep->base.nodes; id++) {
		struct cxl_peer *p = &ep->peers[id];

		if (id == ep->base.self)
			continue;
		if (p->q_len) {
			pthread_spin_lock(&p->lock);
			if (p->q_len)
				flush_queue(ep, id);
			again |= p->q_len != 0;
			pthread_spin_unlock(&p->lock);
		}
		if (__atomic_load_n(&p->down, __ATOMIC_ACQUIRE) && !p->down_reported)
			peer_report(ep, id);
	}
	if (again)
		__atomic_store_n(&ep->pending, 1, __ATOMIC_RELAXED);
}

static int round_once(struct cxl_ep *ep)
{
	int n = poll_rings(ep);

	if (__atomic_load_n(&ep->pending, __ATOMIC_ACQUIRE))
		service(ep);
	return n;
}

static int cxl_progress(struct gvm_transport *t)
{
	struct cxl_ep *ep = to_cxl_ep(t);
	uint64_t c;
	int n;

	if (!ep->rings)
		return 0;
	n = round_once(ep);
	/* Even the coarse clock costs a busy poll loop: look every 16 calls. */
	if (ep->calls++ & 15)
		return n;
	c = coarse_ns();
	if (c >= ep->next_hk_ns) {
		housekeeping(ep, c);
		if (__atomic_load_n(&ep->pending, __ATOMIC_ACQUIRE))
			service(ep);
	}
	return n;
}

static bool any_ready(struct cxl_ep *ep)
{
	for (uint32_t k = 0; k < ep->nactive; k++)
		if (cxl_ring_ready(&ep->peers[ep->active[k]].rx))
			return true;
	return __atomic_load_n(&ep->pending, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Tell senders we are about to sleep on our doorbell, then look once more:
 * a message stamped before they saw the flag would ring no bell. The
 * doorbell's value now is what wait() sleeps against.
 */
static int cxl_arm(struct gvm_transport *t)
{
	struct cxl_ep *ep = to_cxl_ep(t);

	if (!ep->rings || !ep->futex)
		return 0;
	ep->armed_bell = __atomic_load_n(&ep->me->doorbell, __ATOMIC_ACQUIRE);
	__atomic_store_n(&ep->me->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!ep->fence_send)
		syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
	if (any_ready(ep)) {
		__atomic_store_n(&ep->me->sleeping, 0, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	return 0;
}

/*
 * Sleep on the doorbell until a sender or kick() rings it, the timeout, or
 * the next housekeeping pass. Without a shared futex (rings across hosts)
 * peers cannot wake us: nap briefly instead.
 */
static int cxl_wait(struct gvm_transport *t, int64_t timeout_ns)
{
	struct cxl_ep *ep = to_cxl_ep(t);
	uint64_t c = coarse_ns(), wake;

	if (c >= ep->next_hk_ns)
		housekeeping(ep, c);
	wake = ep->next_hk_ns > c ? ep->next_hk_ns - c : 0;
	if (timeout_ns >= 0 && (uint64_t)timeout_ns < wake)
		wake = (uint64_t)timeout_ns;
	if (!ep->rings) {
		nanosleep(&(struct timespec){0, wake > 100000000 ? 100000000 : (long)wake}, NULL);
		return 0;
	}
	if (!ep->futex) {
		nanosleep(&(struct timespec){0, wake < 50000 ? (long)wake : 50000}, NULL);
		return 0;
	}
	if (wake)
		futex_wait(&ep->me->doorbell, ep->armed_bell, wake);
	__atomic_store_n(&ep->me->sleeping, 0, __ATOMIC_RELAXED);
	return 0;
}

static void cxl_kick(struct gvm_transport *t)
{
	struct cxl_ep *ep = to_cxl_ep(t);

	if (!ep->me)
		return;
	__atomic_fetch_add(&ep->me->doorbell, 1, __ATOMIC_RELEASE);
	if (ep->futex)
		futex_wake(&ep->me->doorbell);
}

/* ==== The window ==== */

static int cxl_window_map(struct gvm_transport *t, void **base, size_t *len)
{
	struct cxl_ep *ep = to_cxl_ep(t);

	if (!ep->geom.window_len)
		return -EOPNOTSUPP;
	*base = ep->map + ep->geom.window_off;
	*len = ep->geom.window_len;
	return 0;
}

/* ==== Open and close ==== */

/* Wait (up to linger) for queued messages to find room in their rings. */
static void flush_all(struct cxl_ep *ep)
{
	uint64_t deadline = now_ns() + ep->linger_ns;

	for (gvm_node_id id = 0; id < ep->base.nodes; id++) {
		struct cxl_peer *p = &ep->peers[id];

		if (id == ep->base.self)
			continue;
		pthread_spin_lock(&p->lock);
		while (p->q_len && !p->down && !flush_queue(ep, id) && p->q_len &&
		       now_ns() < deadline) {
			pthread_spin_unlock(&p->lock);
			nanosleep(&(struct timespec){0, 100000}, NULL);
			pthread_spin_lock(&p->lock);
		}
		pthread_spin_unlock(&p->lock);
	}
}

static void cxl_close(struct gvm_transport *t)
{
	struct cxl_ep *ep = to_cxl_ep(t);

	if (ep->me && ep->my_gen) {
		uint64_t up = cxl_status(ep->my_gen, CXL_NODE_UP);

		if (ep->rings && ep->peers)
			flush_all(ep);
		/* Only if the entry is still ours: a successor may hold the id. */
		if (__atomic_compare_exchange_n(&ep->me->status, &up,
						cxl_status(ep->my_gen, CXL_NODE_LEFT), false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			cxl_write_back(ep->sync, &ep->me->status, sizeof(uint64_t));
			for (gvm_node_id id = 0; ep->rings && id < t->nodes; id++)
				if (id != t->self)
					ring_doorbell(ep, id);
		}
	}
	for (gvm_node_id id = 0; ep->peers && id < t->nodes; id++) {
		free(ep->peers[id].q);
		pthread_spin_destroy(&ep->peers[id].lock);
	}
	if (ep->map)
		munmap(ep->map, ep->map_len);
	free(ep->peers);
	free(ep->active);
	free(ep->rxbuf);
	free(ep);
}

static int cxl_open(const struct gvm_transport_params *prm,
		    struct gvm_transport **out)
{
	struct cxl_ep *ep = calloc(1, sizeof(*ep));
	struct cxl_opts o = {.slots = CXL_DEFAULT_SLOTS, .payload = CXL_DEFAULT_PAYLOAD,
			     .window = CXL_DEFAULT_WINDOW};
	int err;

	if (!ep)
		return -ENOMEM;
	gvm_transport_init_base(&ep->base, prm);
	ep->rings = ep->futex = true;
	ep->heartbeat_ns = 200 * 1000000ull;
	ep->timeout_ns = 3000 * 1000000ull;
	ep->connect_timeout_ns = 10000 * 1000000ull;
	ep->opened_ns = coarse_ns();
	ep->linger_ns = 1000 * 1000000ull;
	if (prm->hello) {
		ep->hello = *prm->hello;
		ep->check_hello = true;
	} else {
		ep->hello = (struct gvm_hello){.nodes = prm->nodes, .node = prm->self};
	}
	snprintf(ep->source, sizeof(ep->source), "%s", prm->uri ? prm->uri : "(none)");
	err = parse_uri(ep, prm->uri, &o);
	if (err) {
		gvm_log_err("cxl: bad address '%s' (want cxl:path=FILE, cxl:dax=/dev/daxX.Y or cxl:memfd=FD, then ?opt=N&...)",
			    prm->uri ? prm->uri : "(none)");
		goto out_close;
	}
	snprintf(ep->source, sizeof(ep->source), "%s", o.arg);
	if (!ep->rings)
		o.slots = 0;
	if (prm->nodes < 1 || prm->self >= prm->nodes ||
	    (ep->rings && (prm->nodes < 2 || prm->nodes > 1024))) {
		gvm_log_err("cxl: %u nodes: rings are for 2 to 1024 nodes", prm->nodes);
		err = -EINVAL;
		goto out_close;
	}
	if (o.flush) {
		ep->sync = cxl_sync_detect();
		ep->futex = false; /* hosts without coherence share no futex */
		if (ep->sync == CXL_SYNC_NONE) {
			gvm_log_err("cxl: flush=1, but this CPU has no cache-line flush instruction");
			err = -EOPNOTSUPP;
			goto out_close;
		}
	}
	if (ep->futex)
		ep->fence_send = !membarrier_register();
	err = region_open(ep, &o);
	if (err)
		goto out_close;
	ep->base.caps = ep->geom.window_len ? GVM_CAP_SHARED_WINDOW : 0;
	if (ep->rings) {
		ep->base.caps |= GVM_CAP_ORDERED | GVM_CAP_PEER_DOWN;
		ep->base.max_msg = cxl_ring_max_msg(o.slots, o.payload);
		ep->peers = calloc(prm->nodes, sizeof(*ep->peers));
		ep->active = calloc(prm->nodes, sizeof(*ep->active));
		ep->rxbuf = malloc(ep->base.max_msg);
		if (!ep->peers || !ep->active || !ep->rxbuf) {
			err = -ENOMEM;
			goto out_close;
		}
		for (gvm_node_id i = 0; i < prm->nodes; i++) {
			pthread_spin_init(&ep->peers[i].lock, PTHREAD_PROCESS_PRIVATE);
			if (i == prm->self)
				continue;
			cxl_ring_attach(&ep->peers[i].tx, ring_base(ep, prm->self, i), o.slots,
					o.payload, ep->sync);
			cxl_ring_attach(&ep->peers[i].rx, ring_base(ep, i, prm->self), o.slots,
					o.payload, ep->sync);
		}
	}
	*out = &ep->base;
	return 0;

out_close:
	cxl_close(&ep->base);
	return err;
}

const struct gvm_transport_ops cxl_ops = {
	.size = sizeof(struct gvm_transport_ops),
	.abi_version = GVM_TRANSPORT_ABI_VERSION,
	.name = "cxl",
	.open = cxl_open,
	.close = cxl_close,
	.send = cxl_send,
	.progress = cxl_progress,
	.arm = cxl_arm,
	.wait = cxl_wait,
	.kick = cxl_kick,
	.close_peer = cxl_close_peer,
	.connect = cxl_connect,
	.window_map = cxl_window_map,
};

GVM_TRANSPORT_REGISTER(cxl, cxl_ops)
