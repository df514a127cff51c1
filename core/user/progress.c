// SPDX-License-Identifier: MIT
/*
 * progress.c - run to completion: the thread that waits for a page drives
 * the transport itself, instead of sleeping while a progress thread works
 * and wakes it.
 *
 * A remote fault used to cost four sleeps and wake-ups (faulting thread,
 * fault handler, the owner's progress thread, ours), each dearer than the
 * wire. Now a waiting thread becomes a driver: it polls the transport
 * (spin, then yield, then sleep on the transport's wait object), and the
 * grant that completes its fault is handled in that thread. The progress
 * thread serves peers while there is no driver and parks while there is
 * one, so a node has one polling thread at a time (on two cores, a second
 * spinner would take the CPU from the peer that must answer).
 *
 * Hand-over. The progress thread may be asleep in the transport's wait()
 * when a driver comes: the driver raises `drivers` and kicks the
 * transport; the progress thread wakes, sees the driver and parks on a
 * futex. The last driver to leave wakes it, if it parked. The request is
 * already on the wire during the hand-over, so the fault does not wait for
 * it. Only one thread at a time runs the transport: `token`, taken with a
 * compare-and-swap for one round.
 *
 * Both checks that decide whether to sleep (in_wait against drivers,
 * parked against drivers) are store-then-load pairs on both sides with
 * sequentially consistent atomics, so one side always sees the other.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os/gvm_os.h"
#include "progress.h"

#define TICK_NS 1000000ull /* the engine's clock (policies, demotion) */

struct gvm_progress {
	struct gvm_transport *tp;
	struct gvm_node *node;
	struct gvm_progress_budget budget;
	uint32_t token;    /* 1 while a thread runs the transport */
	uint32_t drivers;  /* threads between enter and leave */
	uint32_t in_wait;  /* the token holder sleeps in the transport */
	uint32_t parked;   /* the progress thread sleeps on park */
	uint32_t park;     /* futex word: bumped when the last driver leaves */
	uint32_t stopping;
	void (*round_hook)(void *arg);
	void *round_arg;
	pthread_t thread;
	bool running;
};

static long futex(uint32_t *word, int op, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = {(time_t)(timeout_ns / 1000000000ull),
			      (long)(timeout_ns % 1000000000ull)};

	return syscall(SYS_futex, word, op, val, timeout_ns ? &ts : NULL, NULL, 0);
}

static bool token_take(struct gvm_progress *p)
{
	uint32_t free_ = 0;

	return !__atomic_load_n(&p->token, __ATOMIC_RELAXED) &&
	       __atomic_compare_exchange_n(&p->token, &free_, 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void token_put(struct gvm_progress *p)
{
	__atomic_store_n(&p->token, 0, __ATOMIC_RELEASE);
}

/* Token held: arm and sleep unless a driver (or stop) wants the transport. */
static int sleep_in_transport(struct gvm_progress *p, int64_t timeout_ns,
			      bool for_driver)
{
	int err = p->tp->ops.arm(p->tp);

	if (err)
		return err == -EAGAIN ? 0 : err;
	__atomic_store_n(&p->in_wait, 1, __ATOMIC_SEQ_CST);
	/* The progress thread gives way to drivers; a driver to nobody. */
	if (for_driver || !__atomic_load_n(&p->drivers, __ATOMIC_SEQ_CST))
		err = p->tp->ops.wait(p->tp, timeout_ns);
	else
		err = p->tp->ops.wait(p->tp, 0); /* disarm */
	__atomic_store_n(&p->in_wait, 0, __ATOMIC_RELAXED);
	return err;
}

/* ==== Drivers ==== */

void gvm_progress_enter(struct gvm_progress *p)
{
	__atomic_fetch_add(&p->drivers, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->in_wait, __ATOMIC_SEQ_CST))
		p->tp->ops.kick(p->tp);
}

void gvm_progress_leave(struct gvm_progress *p)
{
	if (__atomic_sub_fetch(&p->drivers, 1, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&p->parked, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&p->park, 1, __ATOMIC_RELEASE);
		futex(&p->park, FUTEX_WAKE_PRIVATE, 1, 0);
	}
}

static void after_round(struct gvm_progress *p)
{
	if (p->round_hook)
		p->round_hook(p->round_arg);
}

int gvm_progress_poll(struct gvm_progress *p)
{
	int n;

	if (!token_take(p))
		return -EBUSY;
	n = gvm_tp_progress(p->tp);
	token_put(p);
	after_round(p);
	return n;
}

/*
 * Between enter and leave: sleep until the transport has something, for at
 * most timeout_ns; or return -EBUSY at once if another driver holds the
 * transport (the caller sleeps on its own event then).
 */
static int progress_sleep(struct gvm_progress *p, int64_t timeout_ns)
{
	int n;

	if (!token_take(p))
		return -EBUSY;
	n = gvm_tp_progress(p->tp);
	if (!n)
		n = sleep_in_transport(p, timeout_ns, true);
	token_put(p);
	after_round(p);
	return n;
}

void gvm_event_set(struct gvm_event *e)
{
	if (__atomic_exchange_n(&e->state, 1, __ATOMIC_RELEASE) == 2)
		futex(&e->state, FUTEX_WAKE_PRIVATE, 1, 0);
}

/* Sleep on e until it is set or the timeout; a set event never sleeps. */
static void event_sleep(struct gvm_event *e, uint64_t timeout_ns)
{
	uint32_t pending = 0;

	if (__atomic_compare_exchange_n(&e->state, &pending, 2, false,
					__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE) ||
	    pending == 2)
		futex(&e->state, FUTEX_WAIT_PRIVATE, 2, timeout_ns);
}

/*
 * A busy-polling thread yields this often. Measured (dsm-read and
 * dsm-pingpong, 3 runs each over tcp and cxl): every 2-5 us cost the
 * signal modes 40% (a system call each time on the fault path); never
 * yielding made the ping-pong 2-2.5x slower (a thread woken on a
 * spinner's CPU waits out its slice); every 20 us kept both.
 */
#define YIELD_EVERY_NS 20000

void gvm_idle_start(struct gvm_idle *s)
{
	s->since = s->last_yield = gvm_os_now_ns();
	s->spinning = false;
	s->rounds = 0;
}

/* While it spins and finds nothing, a thread looks at the clock every 8th
 * round only: a clock read is a third of a shared-memory round. */
#define IDLE_CLOCK_EVERY 8

enum gvm_idle_step gvm_idle_next(struct gvm_idle *s, const struct gvm_progress_budget *b,
				 bool busy)
{
	uint64_t now;

	if (!busy && s->spinning && ++s->rounds % IDLE_CLOCK_EVERY) {
		gvm_os_cpu_relax();
		return GVM_IDLE_SPIN;
	}
	now = gvm_os_now_ns();
	if (busy)
		s->since = now;
	s->spinning = now - s->since < b->spin_ns;
	if (s->spinning) {
		if (now - s->last_yield >= YIELD_EVERY_NS) {
			gvm_os_yield();
			s->last_yield = now;
		} else {
			gvm_os_cpu_relax();
		}
		return GVM_IDLE_SPIN;
	}
	if (now - s->since < b->spin_ns + b->yield_ns) {
		gvm_os_yield();
		return GVM_IDLE_YIELD;
	}
	return GVM_IDLE_SLEEP;
}

void gvm_progress_until(struct gvm_progress *p, struct gvm_event *e)
{
	struct gvm_idle idle;

	gvm_idle_start(&idle);
	gvm_progress_enter(p);
	while (!gvm_event_done(e)) {
		/* Something moved: the answer may be close. */
		int n = gvm_progress_poll(p);

		if (gvm_event_done(e))
			break;
		if (gvm_idle_next(&idle, &p->budget, n > 0) != GVM_IDLE_SLEEP)
			continue;
		if (progress_sleep(p, TICK_NS * 10) == -EBUSY) {
			/* Another driver runs the transport; it sets e. */
			gvm_progress_leave(p);
			event_sleep(e, TICK_NS * 10);
			gvm_progress_enter(p);
		}
	}
	gvm_progress_leave(p);
}

/* ==== The progress thread ==== */

/* Park until the drivers are gone (or a tick is due). */
static void park(struct gvm_progress *p)
{
	uint32_t seen = __atomic_load_n(&p->park, __ATOMIC_ACQUIRE);

	__atomic_store_n(&p->parked, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->drivers, __ATOMIC_SEQ_CST))
		futex(&p->park, FUTEX_WAIT_PRIVATE, seen, TICK_NS);
	__atomic_store_n(&p->parked, 0, __ATOMIC_RELAXED);
}

static void *progress_main(void *arg)
{
	struct gvm_progress *p = arg;
	struct gvm_idle idle;
	uint64_t last_tick = 0;
	uint32_t rounds = 0;

	gvm_idle_start(&idle);
	while (!__atomic_load_n(&p->stopping, __ATOMIC_ACQUIRE)) {
		int n;

		/* The 1 ms clock, looked at every 64 busy rounds (a few us). */
		if (!(rounds++ & 63)) {
			uint64_t now = gvm_os_now_ns();

			if (now - last_tick >= TICK_NS) {
				gvm_node_tick(p->node, now);
				last_tick = now;
			}
		}
		if (__atomic_load_n(&p->drivers, __ATOMIC_SEQ_CST)) {
			park(p);
			gvm_idle_start(&idle);
			rounds = 0;
			continue;
		}
		if (!token_take(p))
			continue;
		n = gvm_tp_progress(p->tp);
		token_put(p);
		after_round(p);
		if (gvm_idle_next(&idle, &p->budget, n > 0) != GVM_IDLE_SLEEP || !token_take(p))
			continue;
		if (sleep_in_transport(p, (int64_t)TICK_NS * 10, false) > 0)
			gvm_idle_start(&idle);
		token_put(p);
		after_round(p);
		rounds = 0;
	}
	return NULL;
}

int gvm_progress_create(struct gvm_transport *tp, struct gvm_node *node,
			const struct gvm_progress_budget *b,
			struct gvm_progress **out)
{
	struct gvm_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->tp = tp;
	p->node = node;
	p->budget = *b;
	*out = p;
	return 0;
}

void gvm_progress_set_round_hook(struct gvm_progress *p, void (*fn)(void *arg),
				 void *arg)
{
	p->round_hook = fn;
	p->round_arg = arg;
}

int gvm_progress_start(struct gvm_progress *p)
{
	if (pthread_create(&p->thread, NULL, progress_main, p))
		return -EAGAIN;
	p->running = true;
	return 0;
}

void gvm_progress_stop(struct gvm_progress *p)
{
	if (!p || !p->running)
		return;
	__atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
	p->tp->ops.kick(p->tp);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void gvm_progress_destroy(struct gvm_progress *p)
{
	gvm_progress_stop(p);
	free(p);
}

const struct gvm_progress_budget *gvm_progress_budget(const struct gvm_progress *p)
{
	return &p->budget;
}
