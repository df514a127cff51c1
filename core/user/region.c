// SPDX-License-Identifier: MIT
/*
 * region.c - the mapped-region front end: ordinary memory whose pages fault
 * into the engine.
 *
 * The engine's frames hold page contents. Where the kernel allows it they
 * are the mapping's own memory: a memfd mapped twice, the application's
 * view and an alias that the engine uses as its frames (MINOR faults and
 * UFFDIO_CONTINUE map a page the engine filled; nothing is copied, and each
 * page is in memory once). Elsewhere (no MINOR faults on shmem, or no
 * UFFDIO_CONTINUE_MODE_WP: kernels before 6.4) the view is anonymous
 * memory that UFFDIO_COPY fills from the engine's own frames. Either way
 * the mapping is kept in step with each page's engine state:
 *
 *	INVALID   absent (MADV_DONTNEED, or PROT_NONE)
 *	SHARED    present, write-protected
 *	MODIFIED  present, writable
 *	PROMOTED  the page's slot of the shared window, mapped over the page
 *	          (mremap of the window's shared mapping): plain loads and
 *	          stores reach the one copy every node maps
 *
 * A fault acquires the page (pinned, so no invalidation can slip in), maps
 * the frame with the right protection, and releases it. When the engine
 * takes a right away it calls invalidate/downgrade here first: we unmap or
 * write-protect the page, and when frames are copied, write-protect first
 * (so no store can be lost) and copy a MODIFIED mapping back into the frame.
 *
 * Three ways of hearing about faults:
 *  THREAD    userfaultfd MISSING + WP, events read by a handler thread; each
 *            fault becomes an asynchronous acquire, so many threads may
 *            fault at once on the same or different pages, and the page is
 *            mapped from the completion itself, in whichever thread drives
 *            the transport (the handler, during a burst of faults).
 *  SIGBUS    UFFD_FEATURE_SIGBUS: the faulting thread gets SIGBUS and
 *            resolves its own fault (no thread hop).
 *  MPROTECT  no userfaultfd: the memfd and its alias, the application's
 *            view with mprotect() rights; SIGSEGV reports the faults.
 *
 * Whether a fault is a write comes from the event (userfaultfd flags) or,
 * in the signal modes, from the x86 page-fault error code; elsewhere a
 * signal fault is taken as a read first and a write on its retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "os/gvm_os.h"
#include "progress.h"
#include "region.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP /* Linux 6.4; Debian 12's headers are 6.1 */
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

/*
 * A page stays pinned after its fault until the faulting instruction can
 * have run: released at once, a queued remote request could take it back
 * before the instruction retries, and under contention a thread would
 * never get through (GiantVM's livelock). The pin is a lease of LEASE_NS,
 * ended by whichever thread drives the transport once it has run out
 * (lease_expire, on every round), or in the signal modes by the thread's
 * next fault. It replaces single-stepping the instruction with the trap
 * flag, which cost 11 us a fault here (a SIGTRAP and a second signal
 * return). 5 us: a signal handler's return and the retry take about 2;
 * in dsm-pingpong leases of 0 to 10 us gave the same handoff, 20 us a
 * slower one (tcp 45 against 55 us, cxl 27 against 38).
 */
#define MAX_LEASES 64
#define LEASE_NS 5000
#define LEASE_CLAIMED UINT64_MAX /* a slot being filled in */

struct lease {
	uint64_t page; /* + 1; 0: free */
	uint64_t since_ns;
};

/* A fault the handler thread is resolving. */
struct pending_fault {
	struct gvm_waiter w;
	struct gvm_region *r;
	pid_t tid; /* the faulting thread */
};

struct gvm_region {
	enum gvm_fault_mode mode;
	uint8_t *base;      /* the application's view */
	uint8_t *alias;     /* frames_mapped: the memfd's always-writable view */
	size_t len;
	size_t page_size;
	uint64_t npages;
	uint8_t *mapped;    /* per page: 0 absent, 1 read-only, 2 writable */
	uint8_t *frame_ready; /* frames_mapped, per page: the alias has its page */
	int uffd;
	int memfd;
	pthread_t handler;
	bool handler_running;
	bool signal_registered;
	bool kernel_faults; /* the uffd takes faults of system calls too */
	bool frames_mapped; /* the engine's frames are the alias (memfd) */
	volatile bool stopping;
	struct gvm_node *node;
	struct gvm_progress *progress;
	bool woke; /* THREAD: a fault was resolved since the handler looked
		    * (set by whoever drives, under the engine's lock; atomic) */
	struct lease leases[MAX_LEASES];
	uint32_t leases_held;
	/* Threads installing one page at once must agree on mapped[]. */
	pthread_mutex_t install_lock;
};

/* Signal modes: the regions a SIGBUS/SIGSEGV may belong to. */
#define MAX_SIGNAL_REGIONS 16
static struct gvm_region *signal_regions[MAX_SIGNAL_REGIONS];
static struct sigaction old_sigbus, old_sigsegv;

/* Signal modes: the lease this thread's last fault holds (lease_take). */
static __thread struct gvm_region *held_region
	__attribute__((tls_model("initial-exec")));
static __thread int held_lease __attribute__((tls_model("initial-exec")));
static __thread gvm_page_t held_page __attribute__((tls_model("initial-exec")));
static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;
/* The last SIGSEGV of this thread in a userfaultfd region, and its count. */
static __thread void *segv_addr __attribute__((tls_model("initial-exec")));
static __thread unsigned int segv_repeats __attribute__((tls_model("initial-exec")));

/*
 * mapped[] per page. RESTORING: a demoted page's slot mapping is being
 * replaced by a private one; an access meanwhile meets PROT_NONE and its
 * SIGSEGV waits for the state to change (see restore_private()).
 */
enum { MAP_ABSENT = 0, MAP_RO = 1, MAP_RW = 2, MAP_SLOT = 3, MAP_RESTORING = 4 };

static inline uint8_t *page_addr(struct gvm_region *r, gvm_page_t p)
{
	return r->base + p * r->page_size;
}

static void ioctl_failed(const char *what, gvm_page_t p)
{
	/* A failing ioctl here leaves a thread blocked forever: say so loudly. */
	gvm_log_err("region: %s on page %llu failed: %s", what,
		    (unsigned long long)p, strerror(errno));
}

static int uffd_wp(struct gvm_region *r, gvm_page_t p, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = {(uint64_t)(uintptr_t)page_addr(r, p), r->page_size},
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(r->uffd, UFFDIO_WRITEPROTECT, &wp);
}

static uint64_t register_mode(const struct gvm_region *r)
{
	return UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP |
	       (r->frames_mapped ? UFFDIO_REGISTER_MODE_MINOR : 0);
}

static void set_mapped(struct gvm_region *r, gvm_page_t p, uint8_t v)
{
	__atomic_store_n(&r->mapped[p], v, __ATOMIC_RELEASE);
}

/* Map a promoted page's window slot over the page (page pinned). */
static void map_slot(struct gvm_region *r, gvm_page_t p, void *slot)
{
	if (mremap(slot, 0, r->page_size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   page_addr(r, p)) == MAP_FAILED)
		ioctl_failed("mremap of the window slot", p);
	else
		set_mapped(r, p, MAP_SLOT);
}

/*
 * A demoted page goes back to the mapping its fault mode needs, atomically
 * replacing the slot so no access can reach stale shared memory or an
 * unregistered zero page: under userfaultfd, first PROT_NONE, then
 * registered, then accessible (a racing access waits in SIGSEGV); under
 * MPROTECT, the memfd page at PROT_NONE.
 */
static void restore_private(struct gvm_region *r, gvm_page_t p)
{
	uint8_t *addr = page_addr(r, p);
	struct uffdio_register reg = {
		.range = {(uint64_t)(uintptr_t)addr, r->page_size},
		.mode = register_mode(r),
	};
	void *m;

	set_mapped(r, p, MAP_RESTORING);
	if (r->frames_mapped)
		m = mmap(addr, r->page_size, PROT_NONE, MAP_SHARED | MAP_FIXED, r->memfd,
			 (off_t)(p * r->page_size));
	else
		m = mmap(addr, r->page_size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		ioctl_failed("mmap of the private page", p);
	else if (r->mode != GVM_FAULT_MPROTECT && ioctl(r->uffd, UFFDIO_REGISTER, &reg))
		ioctl_failed("UFFDIO_REGISTER", p);
	else if (r->mode != GVM_FAULT_MPROTECT &&
		 mprotect(addr, r->page_size, PROT_READ | PROT_WRITE))
		ioctl_failed("mprotect", p);
	set_mapped(r, p, MAP_ABSENT);
}

/* ==== Engine callbacks (engine lock held) ==== */

static void region_invalidate(void *arg, gvm_page_t p, void *writeback)
{
	struct gvm_region *r = arg;
	uint8_t *addr = page_addr(r, p);

	gvm_log_debug("region: invalidate page %llu (mapped %u, writeback %d)",
		      (unsigned long long)p, r->mapped[p], writeback != NULL);
	if (r->mapped[p] == MAP_ABSENT)
		return;
	if (r->mapped[p] == MAP_SLOT) { /* a demotion: the slot holds the data */
		restore_private(r, p);
		return;
	}
	if (r->mode == GVM_FAULT_MPROTECT) {
		mprotect(addr, r->page_size, PROT_NONE);
	} else if (r->frames_mapped) {
		/* A store racing the unmapping lands in the frame itself. */
		madvise(addr, r->page_size, MADV_DONTNEED);
	} else {
		if (r->mapped[p] == MAP_RW && uffd_wp(r, p, true))
			ioctl_failed("UFFDIO_WRITEPROTECT", p);
		if (writeback)
			memcpy(writeback, addr, r->page_size);
		madvise(addr, r->page_size, MADV_DONTNEED);
	}
	r->mapped[p] = MAP_ABSENT;
}

static void region_downgrade(void *arg, gvm_page_t p, void *writeback)
{
	struct gvm_region *r = arg;
	uint8_t *addr = page_addr(r, p);

	gvm_log_debug("region: downgrade page %llu (mapped %u, writeback %d)",
		      (unsigned long long)p, r->mapped[p], writeback != NULL);
	if (r->mapped[p] != MAP_RW)
		return;
	if (r->mode == GVM_FAULT_MPROTECT) {
		mprotect(addr, r->page_size, PROT_READ);
	} else {
		if (uffd_wp(r, p, true))
			ioctl_failed("UFFDIO_WRITEPROTECT", p);
		if (writeback && !r->frames_mapped)
			memcpy(writeback, addr, r->page_size);
	}
	r->mapped[p] = MAP_RO;
}

static bool install(struct gvm_region *r, gvm_page_t p, const void *frame,
		    enum gvm_page_state state);

/* A page fetched ahead: map it now, so the access finds it present. */
static void region_fill(void *arg, gvm_page_t p, const void *frame,
			enum gvm_page_state state)
{
	install(arg, p, frame, state);
}

static void *region_frame(void *arg, gvm_page_t p)
{
	struct gvm_region *r = arg;

	return r->alias + p * r->page_size;
}

static const struct gvm_frontend_ops frontend_copying = {
	.invalidate = region_invalidate,
	.downgrade = region_downgrade,
	.fill = region_fill,
};

static const struct gvm_frontend_ops frontend_mapped = {
	.invalidate = region_invalidate,
	.downgrade = region_downgrade,
	.fill = region_fill,
	.frame = region_frame,
};

const struct gvm_frontend_ops *gvm_region_frontend(const struct gvm_region *r)
{
	return r->frames_mapped ? &frontend_mapped : &frontend_copying;
}

/* ==== Installing a granted page (page pinned, engine lock not held) ==== */

/*
 * frames_mapped: map the memfd page the engine filled (UFFDIO_CONTINUE).
 * A page nobody ever wrote is a hole, which CONTINUE refuses: give it its
 * page of zeroes first. Returns true if the ioctl woke the blocked threads.
 */
static bool map_frame(struct gvm_region *r, gvm_page_t p, bool writable)
{
	struct uffdio_continue cont = {
		.range = {(uint64_t)(uintptr_t)page_addr(r, p), r->page_size},
		.mode = writable ? 0 : UFFDIO_CONTINUE_MODE_WP,
	};
	int err = ioctl(r->uffd, UFFDIO_CONTINUE, &cont);

	if (err && errno == EFAULT &&
	    !fallocate(r->memfd, 0, (off_t)(p * r->page_size), (off_t)r->page_size))
		err = ioctl(r->uffd, UFFDIO_CONTINUE, &cont);
	if (err && errno != EEXIST)
		ioctl_failed("UFFDIO_CONTINUE", p);
	return !err;
}

/*
 * Map a granted page's frame with the protection its state allows. Called
 * with the page pinned; from the engine's done callback (engine lock held)
 * or after an acquire. Takes only install_lock, a leaf lock. Returns true
 * if the ioctl that mapped it also woke the threads blocked on it (a
 * UFFDIO_COPY, or a write-protect lifted, without DONTWAKE).
 */
static bool install(struct gvm_region *r, gvm_page_t p, const void *frame,
		    enum gvm_page_state state)
{
	uint8_t *addr = page_addr(r, p);
	bool writable = state == GVM_PAGE_MODIFIED, woke = false;

	/*
	 * In the signal modes several threads install at once. Unserialised,
	 * one could record a page writable that another had just mapped
	 * read-only, and its thread would fault on it forever.
	 */
	pthread_mutex_lock(&r->install_lock);
	if (state == GVM_PAGE_PROMOTED) {
		if (r->mapped[p] != MAP_SLOT)
			map_slot(r, p, (void *)frame);
		pthread_mutex_unlock(&r->install_lock);
		return false;
	}
	if (r->mode == GVM_FAULT_MPROTECT) {
		mprotect(addr, r->page_size, writable ? PROT_READ | PROT_WRITE : PROT_READ);
	} else if (r->mapped[p] == MAP_ABSENT && r->frames_mapped) {
		woke = map_frame(r, p, writable);
	} else if (r->mapped[p] == MAP_ABSENT) {
		struct uffdio_copy copy = {
			.dst = (uint64_t)(uintptr_t)addr,
			.src = (uint64_t)(uintptr_t)frame,
			.len = r->page_size,
			.mode = writable ? 0 : UFFDIO_COPY_MODE_WP,
		};

		if (!ioctl(r->uffd, UFFDIO_COPY, &copy))
			woke = true;
		else if (errno != EEXIST)
			ioctl_failed("UFFDIO_COPY", p);
	} else if (writable && r->mapped[p] == MAP_RO) {
		if (!uffd_wp(r, p, false))
			woke = true;
		else
			ioctl_failed("UFFDIO_WRITEPROTECT", p);
	}
	set_mapped(r, p, writable ? MAP_RW : MAP_RO);
	pthread_mutex_unlock(&r->install_lock);
	return woke;
}


/*
 * frames_mapped: while our request is on the wire, give the frame its
 * page, so the grant is not copied into a hole (allocating a page on first
 * touch costs about as much as the wire here: 2.5 us). Contents stay.
 */
static void prepare_frame(struct gvm_region *r, gvm_page_t p)
{
	if (!r->frames_mapped || __atomic_load_n(&r->frame_ready[p], __ATOMIC_RELAXED))
		return;
	madvise(r->alias + p * r->page_size, r->page_size, MADV_POPULATE_WRITE);
	__atomic_store_n(&r->frame_ready[p], 1, __ATOMIC_RELAXED);
}

/*
 * Hold pinned page p under a lease: returns its slot, or -1 when none is
 * free (the caller then lets the pin go at once). Async-signal-safe, and
 * callable with the engine's lock held (it calls nothing of the engine).
 */
static int lease_take(struct gvm_region *r, gvm_page_t p)
{
	for (int i = 0; i < MAX_LEASES; i++) {
		uint64_t free_ = 0;

		/* Claimed first, then stamped, then published: lease_expire
		 * never sees a page with its predecessor's time. */
		if (!__atomic_load_n(&r->leases[i].page, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&r->leases[i].page, &free_, LEASE_CLAIMED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			__atomic_store_n(&r->leases[i].since_ns, gvm_os_now_ns(), __ATOMIC_RELAXED);
			__atomic_store_n(&r->leases[i].page, p + 1, __ATOMIC_RELEASE);
			__atomic_fetch_add(&r->leases_held, 1, __ATOMIC_RELEASE);
			return i;
		}
	}
	return -1;
}

/* End lease i if it still holds held (page + 1): whoever gets there first. */
static void lease_end(struct gvm_region *r, int i, uint64_t held)
{
	if (__atomic_compare_exchange_n(&r->leases[i].page, &held, 0, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		__atomic_fetch_sub(&r->leases_held, 1, __ATOMIC_RELEASE);
		gvm_release(r->node, held - 1);
	}
}

/*
 * After every round of whoever drives the transport: end the leases that
 * have run out. While none are held it reads one word: no clock, no write.
 */
static void lease_expire(void *arg)
{
	struct gvm_region *r = arg;
	uint64_t now;

	if (!__atomic_load_n(&r->leases_held, __ATOMIC_ACQUIRE))
		return;
	now = gvm_os_now_ns();
	for (int i = 0; i < MAX_LEASES; i++) {
		uint64_t held = __atomic_load_n(&r->leases[i].page, __ATOMIC_ACQUIRE);

		if (held && held != LEASE_CLAIMED &&
		    now - __atomic_load_n(&r->leases[i].since_ns, __ATOMIC_RELAXED) >= LEASE_NS)
			lease_end(r, i, held);
	}
}

/* Wake every thread blocked on page p (it may be installed already). */
static void wake(struct gvm_region *r, gvm_page_t p)
{
	struct uffdio_range range = {(uint64_t)(uintptr_t)page_addr(r, p),
				     r->page_size};

	if (r->mode != GVM_FAULT_MPROTECT)
		ioctl(r->uffd, UFFDIO_WAKE, &range);
}

/* ==== THREAD mode ==== */

/* Nothing to map: unblocked, the thread would fault forever. */
static void fail_fault(struct gvm_region *r, struct pending_fault *f, int err)
{
	gvm_log_err("region: fault on page %llu failed: %s (went with node %u); SIGBUS",
		    (unsigned long long)f->w.page, strerror(-err), f->w.lost_with);
	if (f->tid)
		syscall(SYS_tgkill, getpid(), f->tid, SIGBUS);
	wake(r, f->w.page);
	free(f);
}

/*
 * The engine granted a fault (its lock held, usually in the thread that
 * drives the transport): map the page right here, saving a hop back to the
 * handler thread, and keep it pinned under a lease (or not, if none is
 * free: returning false has the engine unpin it).
 */
static bool fault_done(struct gvm_waiter *w, int result)
{
	struct pending_fault *f = (struct pending_fault *)w;
	struct gvm_region *r = f->r;
	gvm_page_t p = w->page;

	if (result) {
		fail_fault(r, f, result);
		return false;
	}
	if (!install(r, p, w->frame, w->state))
		wake(r, p);
	__atomic_store_n(&r->woke, true, __ATOMIC_RELAXED);
	free(f);
	return lease_take(r, p) >= 0;
}

static void handle_uffd_event(struct gvm_region *r, const struct uffd_msg *m)
{
	uint64_t flags = m->arg.pagefault.flags;
	gvm_page_t p = (m->arg.pagefault.address - (uint64_t)(uintptr_t)r->base) /
		       r->page_size;
	pid_t tid = (pid_t)m->arg.pagefault.feat.ptid;
	struct pending_fault *f;
	int err;

	if (m->event != UFFD_EVENT_PAGEFAULT)
		return;
	f = calloc(1, sizeof(*f));
	if (!f) { /* fail the fault: dropped, its thread would wait forever */
		gvm_log_err("region: out of memory handling a fault on page %llu; SIGBUS",
			    (unsigned long long)p);
		if (tid)
			syscall(SYS_tgkill, getpid(), tid, SIGBUS);
		wake(r, p);
		return;
	}
	f->r = r;
	f->w.page = p;
	f->w.access = flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP) ?
			      GVM_ACCESS_WRITE : GVM_ACCESS_READ;
	f->w.done = fault_done;
	f->w.lost_with = GVM_NODE_NONE;
	f->tid = tid;
	err = gvm_acquire_async(r->node, &f->w);
	if (err == 0) { /* legal already: map it ourselves */
		if (!install(r, p, f->w.frame, f->w.state))
			wake(r, p);
		if (lease_take(r, p) < 0)
			gvm_release(r->node, p);
		free(f);
	} else if (err == -EINPROGRESS) {
		prepare_frame(r, p); /* f may be gone: fault_done frees it */
	} else {
		fail_fault(r, f, err);
	}
}

/* Returns how many events were handled. */
static int read_uffd(struct gvm_region *r)
{
	struct uffd_msg msgs[16];
	ssize_t n = read(r->uffd, msgs, sizeof(msgs));

	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(msgs[0]); i++)
		handle_uffd_event(r, &msgs[i]);
	return n > 0 ? (int)(n / (ssize_t)sizeof(msgs[0])) : 0;
}

/*
 * The handler thread is the driver of its own faults: from the first event
 * of a burst it polls the uffd and the transport in one loop, so the grant
 * is installed here and no thread sleeps on the way. Once nothing has
 * happened for the budget (spin, then yield) it hands the transport back
 * to the progress thread and sleeps on the uffd; a fault still in flight
 * then completes there.
 */
static void *handler_main(void *arg)
{
	struct gvm_region *r = arg;
	const struct gvm_progress_budget *b = gvm_progress_budget(r->progress);
	struct pollfd pfd = {.fd = r->uffd, .events = POLLIN};
	bool driving = false;
	struct gvm_idle idle;

	while (!r->stopping) {
		int n;

		if (!driving) {
			if (poll(&pfd, 1, 100) <= 0)
				continue;
			gvm_progress_enter(r->progress);
			driving = true;
			gvm_idle_start(&idle);
		}
		n = read_uffd(r);
		if (gvm_progress_poll(r->progress) > 0)
			n++;
		/*
		 * The thread whose fault we just resolved was woken here, on
		 * our CPU as a rule: give it the CPU now rather than at the end
		 * of our slice (on 2 cores: 18 us of a 36 us tcp read fault).
		 */
		if (__atomic_exchange_n(&r->woke, false, __ATOMIC_RELAXED))
			gvm_os_yield();
		if (gvm_idle_next(&idle, b, n > 0) == GVM_IDLE_SLEEP) {
			gvm_progress_leave(r->progress);
			driving = false;
		}
	}
	if (driving)
		gvm_progress_leave(r->progress);
	return NULL;
}

/* ==== Signal modes ==== */

static struct gvm_region *region_of(void *addr)
{
	for (int i = 0; i < MAX_SIGNAL_REGIONS; i++) {
		struct gvm_region *r = signal_regions[i];

		if (r && (uint8_t *)addr >= r->base &&
		    (uint8_t *)addr < r->base + r->len)
			return r;
	}
	return NULL;
}

/* This thread faults again: its last fault's instruction has run. */
static void release_held(void)
{
	struct gvm_region *r = held_region;

	/* Unless it ran out: then the slot may hold another fault's lease. */
	if (r) {
		held_region = NULL;
		lease_end(r, held_lease, held_page + 1);
	}
}

static bool fault_was_write(void *uctx)
{
#if defined(__x86_64__)
	const ucontext_t *uc = uctx;

	return uc->uc_mcontext.gregs[REG_ERR] & 2;
#else
	(void)uctx;
	return false;
#endif
}

static void chain(int sig, siginfo_t *si, void *uctx)
{
	const struct sigaction *old = sig == SIGBUS ? &old_sigbus : &old_sigsegv;

	if (old->sa_flags & SA_SIGINFO && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uctx);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Not ours: die of it as the program would have. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * A signal-mode fault in flight: on the handler's stack, so nothing is
 * allocated in a signal handler.
 */
struct signal_fault {
	struct gvm_waiter w;
	struct gvm_event done;
	int result;
};

static bool signal_fault_done(struct gvm_waiter *w, int result)
{
	struct signal_fault *f = container_of(w, struct signal_fault, w);

	f->result = result;
	gvm_event_set(&f->done);
	return true; /* pinned until the instruction has run */
}

/* Acquire p pinned and map it, this thread driving the transport until
 * it is ours. */
static int signal_acquire(struct gvm_region *r, gvm_page_t p,
			  enum gvm_access access)
{
	struct signal_fault f = {
		.w = {.page = p, .access = access, .done = signal_fault_done,
		      .lost_with = GVM_NODE_NONE},
	};
	int err;

	gvm_event_init(&f.done);
	err = gvm_acquire_async(r->node, &f.w);
	if (err == -EINPROGRESS) {
		prepare_frame(r, p);
		gvm_progress_until(r->progress, &f.done);
		err = f.result;
	}
	if (!err)
		install(r, p, f.w.frame, f.w.state);
	return err;
}

static void on_fault_signal(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno;
	struct gvm_region *r = region_of(si->si_addr);
	gvm_page_t p;
	enum gvm_access access;
	int err;

	if (r && sig == SIGSEGV && r->mode != GVM_FAULT_MPROTECT) {
		/*
		 * Under userfaultfd the region is never PROT_NONE but while a
		 * demoted page is restored (the restore may even be over by
		 * now): wait for it, and the access retries the usual way. The
		 * same address faulting on and on is a real SIGSEGV (a failed
		 * restore, code executed from the region): die of it.
		 */
		p = ((uint8_t *)si->si_addr - r->base) / r->page_size;
		if (si->si_addr != segv_addr)
			segv_repeats = 0;
		segv_addr = si->si_addr;
		if (++segv_repeats > 1000) {
			chain(sig, si, uctx);
			return;
		}
		while (__atomic_load_n(&r->mapped[p], __ATOMIC_ACQUIRE) == MAP_RESTORING)
			sched_yield();
		errno = saved;
		return;
	}
	if (!r || (sig == SIGBUS) != (r->mode == GVM_FAULT_SIGBUS)) {
		chain(sig, si, uctx);
		return;
	}
	p = ((uint8_t *)si->si_addr - r->base) / r->page_size;
	/* A fault on a present page can only be a write to a read-only one. */
	access = fault_was_write(uctx) || r->mapped[p] != MAP_ABSENT ?
			 GVM_ACCESS_WRITE : GVM_ACCESS_READ;
	/*
	 * One instruction touching two pages: let go of the first rather than
	 * hold it while waiting for the second (two nodes doing that in
	 * opposite orders would deadlock).
	 */
	release_held();
	err = signal_acquire(r, p, access);
	if (err) {
		struct gvm_page_info info;

		gvm_page_inspect(r->node, p, &info, NULL);
		gvm_log_err("region: fault on page %llu failed: %s (went with node %u); SIGBUS",
			    (unsigned long long)p, strerror(-err), info.lost_with);
		/* The program sees what a failed mapping gives: SIGBUS. */
		chain(SIGBUS, si, uctx);
		errno = saved;
		return;
	}
	held_lease = lease_take(r, p);
	held_page = p;
	if (held_lease >= 0)
		held_region = r;
	else
		gvm_release(r->node, p);
	errno = saved;
}

static int add_signal_region(struct gvm_region *r)
{
	struct sigaction sa = {.sa_sigaction = on_fault_signal,
			       .sa_flags = SA_SIGINFO | SA_NODEFER};
	int slot = -1, installed = 0;

	pthread_mutex_lock(&signal_lock);
	for (int i = 0; i < MAX_SIGNAL_REGIONS; i++) {
		if (signal_regions[i])
			installed++;
		else if (slot < 0)
			slot = i;
	}
	if (slot >= 0) {
		if (!installed) {
			sigemptyset(&sa.sa_mask);
			sigaction(SIGBUS, &sa, &old_sigbus);
			sigaction(SIGSEGV, &sa, &old_sigsegv);
		}
		signal_regions[slot] = r;
	}
	pthread_mutex_unlock(&signal_lock);
	return slot < 0 ? -ENOSPC : 0;
}

static void remove_signal_region(struct gvm_region *r)
{
	int left = 0;

	pthread_mutex_lock(&signal_lock);
	for (int i = 0; i < MAX_SIGNAL_REGIONS; i++) {
		if (signal_regions[i] == r)
			signal_regions[i] = NULL;
		else if (signal_regions[i])
			left++;
	}
	if (!left) {
		sigaction(SIGBUS, &old_sigbus, NULL);
		sigaction(SIGSEGV, &old_sigsegv, NULL);
	}
	pthread_mutex_unlock(&signal_lock);
}

/* ==== Setting up ==== */

static void explain_uffd_refusal(int err)
{
	static bool said;

	if (said)
		return;
	said = true;
	gvm_log_warn("userfaultfd is not available here (%s). To allow it: "
		     "sysctl vm.unprivileged_userfaultfd=1, or give this user "
		     "read/write access to /dev/userfaultfd, or use a kernel "
		     ">= 5.11 (UFFD_USER_MODE_ONLY needs no privilege). "
		     "Falling back to mprotect + SIGSEGV.", strerror(err));
}

static void explain_user_mode_only(void)
{
	static bool said;

	if (said)
		return;
	said = true;
	gvm_log_warn("userfaultfd: user-mode faults only (no privilege for more): a "
		     "system call on DSM memory that is not resident here (read() "
		     "into it, write() from it, a futex in it) fails with EFAULT. "
		     "To allow them: sysctl vm.unprivileged_userfaultfd=1, or give "
		     "this user read/write access to /dev/userfaultfd");
}

/*
 * Open a userfaultfd that also takes the kernel's own faults on the region
 * (a read() into it, a futex in it): the syscall, then /dev/userfaultfd;
 * failing both, one for user-mode faults only, which needs no privilege
 * since 5.11. Returns an fd or -errno of the first refusal.
 * GVM_TEST_NO_UFFD=1 makes it look refused and GVM_TEST_UFFD_USER_ONLY=1
 * takes user-mode faults only, so tests can exercise both as root.
 */
static int open_uffd(bool *kernel_faults)
{
	const char *no = getenv("GVM_TEST_NO_UFFD");
	const char *user_only = getenv("GVM_TEST_UFFD_USER_ONLY");
	int fd, first = -EPERM;

	if (no && *no == '1')
		return -EPERM;
	*kernel_faults = true;
	if (!user_only || *user_only != '1') {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			return fd;
		first = -errno;
		fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			int ufd = ioctl(fd, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);

			close(fd);
			if (ufd >= 0)
				return ufd;
		}
	}
	*kernel_faults = false;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd >= 0 ? fd : first;
}

/*
 * The region as a memfd mapped twice: the application's view (prot) and
 * an always-writable alias, the engine's frames.
 */
static int setup_memfd(struct gvm_region *r, int prot)
{
	r->memfd = memfd_create("gvm-region", MFD_CLOEXEC);
	if (r->memfd < 0 || ftruncate(r->memfd, (off_t)r->len))
		return -errno;
	r->base = mmap(NULL, r->len, prot, MAP_SHARED, r->memfd, 0);
	r->alias = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (r->base == MAP_FAILED || r->alias == MAP_FAILED) {
		r->base = r->base == MAP_FAILED ? NULL : r->base;
		r->alias = r->alias == MAP_FAILED ? NULL : r->alias;
		return -errno;
	}
	r->frames_mapped = true;
	return 0;
}

/* Undo the view (memfd or anonymous) and the uffd: for a fallback, or at the end. */
static void teardown_view(struct gvm_region *r)
{
	if (r->uffd >= 0)
		close(r->uffd);
	if (r->memfd >= 0)
		close(r->memfd);
	if (r->base)
		munmap(r->base, r->len);
	if (r->alias)
		munmap(r->alias, r->len);
	r->uffd = r->memfd = -1;
	r->base = r->alias = NULL;
	r->frames_mapped = false;
}

/*
 * Can this kernel map a frame read-only in one step (UFFDIO_CONTINUE with
 * MODE_WP, Linux 6.4)? Asked of page 0, a hole: EFAULT says the mode was
 * understood, EINVAL that it was not. (Mapping it writable and then
 * write-protecting it would let a store slip in between.)
 */
static bool continue_wp_works(struct gvm_region *r)
{
	struct uffdio_continue cont = {
		.range = {(uint64_t)(uintptr_t)r->base, r->page_size},
		.mode = UFFDIO_CONTINUE_MODE_WP | UFFDIO_CONTINUE_MODE_DONTWAKE,
	};

	return ioctl(r->uffd, UFFDIO_CONTINUE, &cont) == 0 || errno != EINVAL;
}

static int setup_uffd(struct gvm_region *r)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_THREAD_ID |
			    (r->mode == GVM_FAULT_SIGBUS ? UFFD_FEATURE_SIGBUS : 0) |
			    (r->frames_mapped ? UFFD_FEATURE_MINOR_SHMEM |
							UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0),
	};
	struct uffdio_register reg = {
		.range = {(uint64_t)(uintptr_t)r->base, r->len},
		.mode = register_mode(r),
	};
	int fd = open_uffd(&r->kernel_faults);

	if (fd < 0)
		return fd;
	r->uffd = fd;
	if (ioctl(fd, UFFDIO_API, &api)) {
		gvm_os_log(r->frames_mapped ? GVM_LOG_INFO : GVM_LOG_WARN,
			   "userfaultfd lacks write-protect%s%s support: %s",
			   r->mode == GVM_FAULT_SIGBUS ? " or SIGBUS" : "",
			   r->frames_mapped ? " or MINOR faults on shmem" : "",
			   strerror(errno));
		return -EOPNOTSUPP;
	}
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		gvm_os_log(r->frames_mapped ? GVM_LOG_INFO : GVM_LOG_WARN,
			   "userfaultfd cannot register the region: %s", strerror(errno));
		return -EOPNOTSUPP;
	}
	if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT))) {
		gvm_os_log(r->frames_mapped ? GVM_LOG_INFO : GVM_LOG_WARN,
			   "userfaultfd cannot write-protect %s memory here",
			   r->frames_mapped ? "shared" : "anonymous");
		return -EOPNOTSUPP;
	}
	if (r->frames_mapped && (!(reg.ioctls & (1ull << _UFFDIO_CONTINUE)) ||
				 !continue_wp_works(r))) {
		gvm_log_info("userfaultfd cannot map a page read-only with UFFDIO_CONTINUE "
			     "(Linux >= 6.4)");
		return -EOPNOTSUPP;
	}
	/* The signal modes' faults come as signals, which the kernel's own
	 * accesses never raise: there a system call gets EFAULT regardless. */
	if (!r->kernel_faults && r->mode == GVM_FAULT_THREAD)
		explain_user_mode_only();
	return 0;
}

/*
 * Under userfaultfd: frames mapped (memfd, MINOR faults) where the kernel
 * has all it takes, else anonymous memory and copied frames.
 * GVM_TEST_REGION_COPY=1 takes the copying path, so tests run both.
 */
static int setup_userfault(struct gvm_region *r)
{
	const char *copy = getenv("GVM_TEST_REGION_COPY");
	int err;

	if (!copy || *copy != '1') {
		err = setup_memfd(r, PROT_READ | PROT_WRITE);
		if (!err)
			err = setup_uffd(r);
		if (!err)
			return 0;
		teardown_view(r);
		if (err != -EOPNOTSUPP)
			return err;
		gvm_log_info("region: frames are copied into the mapping (no mapped frames here)");
	}
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		return -errno;
	}
	return setup_uffd(r);
}

void gvm_region_destroy(struct gvm_region *r)
{
	if (!r)
		return;
	r->stopping = true;
	if (r->handler_running)
		pthread_join(r->handler, NULL);
	for (int i = 0; r->node && i < MAX_LEASES; i++) {
		uint64_t held = __atomic_load_n(&r->leases[i].page, __ATOMIC_ACQUIRE);

		if (held && held != LEASE_CLAIMED)
			lease_end(r, i, held);
	}
	if (r->signal_registered)
		remove_signal_region(r);
	teardown_view(r);
	pthread_mutex_destroy(&r->install_lock);
	free(r->mapped);
	free(r->frame_ready);
	free(r);
}

int gvm_region_create(enum gvm_fault_mode mode, size_t page_size,
		      uint64_t npages, struct gvm_region **out)
{
	struct gvm_region *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->uffd = r->memfd = -1;
	r->page_size = page_size;
	r->npages = npages;
	r->len = page_size * npages;
	pthread_mutex_init(&r->install_lock, NULL);
	r->mapped = calloc(npages, 1);
	r->frame_ready = calloc(npages, 1);
	if (!r->mapped || !r->frame_ready) {
		err = -ENOMEM;
		goto out_destroy;
	}
	if (page_size % (size_t)sysconf(_SC_PAGESIZE)) {
		gvm_log_err("region: page size %zu is not a multiple of the system's %ld",
			    page_size, sysconf(_SC_PAGESIZE));
		err = -EINVAL;
		goto out_destroy;
	}
	r->mode = mode == GVM_FAULT_AUTO ? GVM_FAULT_THREAD : mode;
	if (r->mode != GVM_FAULT_MPROTECT) {
		err = setup_userfault(r);
		if (err && mode != GVM_FAULT_AUTO) {
			if (err == -EPERM || err == -EACCES || err == -ENOSYS)
				explain_uffd_refusal(-err);
			gvm_log_err("region: fault mode %s is not available",
				    gvm_fault_mode_name(mode));
			goto out_destroy;
		}
		if (err) {
			if (err == -EPERM || err == -EACCES || err == -ENOSYS)
				explain_uffd_refusal(-err);
			else
				gvm_log_warn("falling back to mprotect + SIGSEGV");
			teardown_view(r);
			r->mode = GVM_FAULT_MPROTECT;
		}
	}
	if (r->mode == GVM_FAULT_MPROTECT) {
		err = setup_memfd(r, PROT_NONE);
		if (err)
			goto out_destroy;
	}
	*out = r;
	return 0;

out_destroy:
	gvm_region_destroy(r);
	return err;
}

int gvm_region_start(struct gvm_region *r, struct gvm_node *node,
		     struct gvm_progress *progress)
{
	int err;

	r->node = node;
	r->progress = progress;
	gvm_progress_set_round_hook(progress, lease_expire, r);
	/* Every mode: a demotion in progress meets SIGSEGV (restore_private). */
	err = add_signal_region(r);
	if (err)
		return err;
	r->signal_registered = true;
	if (r->mode != GVM_FAULT_THREAD)
		return 0;
	if (pthread_create(&r->handler, NULL, handler_main, r))
		return -EAGAIN;
	r->handler_running = true;
	return 0;
}

void *gvm_region_base(const struct gvm_region *r)
{
	return r->base;
}

size_t gvm_region_len(const struct gvm_region *r)
{
	return r->len;
}

enum gvm_fault_mode gvm_region_mode(const struct gvm_region *r)
{
	return r->mode;
}

bool gvm_region_frames_mapped(const struct gvm_region *r)
{
	return r->frames_mapped;
}
