/* SPDX-License-Identifier: MIT */
/*
 * progress.h - who drives a cluster's transport, inside libgvmdsm (see
 * progress.c): the thread that waits for a page drives it itself; the
 * progress thread serves peers while no one waits.
 */
#ifndef GVM_PROGRESS_H
#define GVM_PROGRESS_H

#include <stdint.h>

#include <gvm/dsm.h>
#include <gvm/transport.h>

struct gvm_progress;

/*
 * Budgets of a thread with nothing to do: spin_ns of busy polling, then
 * yield_ns of polling with sched_yield between rounds, then sleep on the
 * transport's wait object (GVM_SPIN_US, GVM_YIELD_US).
 */
struct gvm_progress_budget {
	uint64_t spin_ns, yield_ns;
};

/*
 * How a polling thread paces itself while nothing comes: busy polling
 * (with a sched_yield every few microseconds, so a thread woken on this CPU
 * - the faulting thread just resumed, a peer's serving thread - runs now,
 * not at the end of our slice: sched_yield returns at once when nobody else
 * wants the CPU), then yielding between rounds, then sleeping.
 */
enum gvm_idle_step { GVM_IDLE_SPIN, GVM_IDLE_YIELD, GVM_IDLE_SLEEP };
struct gvm_idle {
	uint64_t since, last_yield;
	uint32_t rounds;
	bool spinning;
};
void gvm_idle_start(struct gvm_idle *s);
/* After a round (busy: it found work). SPIN and YIELD have paused already;
 * SLEEP: the budget is spent, the caller sleeps. */
enum gvm_idle_step gvm_idle_next(struct gvm_idle *s, const struct gvm_progress_budget *b,
				 bool busy);

int gvm_progress_create(struct gvm_transport *tp, struct gvm_node *node,
			const struct gvm_progress_budget *b,
			struct gvm_progress **out);
/*
 * fn(arg) runs after every round of whichever thread drives the transport,
 * outside the engine's lock (the region ends its pin leases there): it
 * must be cheap when it has nothing to do (no clock read). Set before
 * gvm_progress_start.
 */
void gvm_progress_set_round_hook(struct gvm_progress *p, void (*fn)(void *arg),
				 void *arg);
/* Start the progress thread (it also runs the engine's 1 ms clock). */
int gvm_progress_start(struct gvm_progress *p);
/* Stop and join it (drivers may go on); then destroy, with no driver left. */
void gvm_progress_stop(struct gvm_progress *p);
void gvm_progress_destroy(struct gvm_progress *p);
const struct gvm_progress_budget *gvm_progress_budget(const struct gvm_progress *p);

/*
 * A thread that waits for the network becomes a driver between enter and
 * leave: while any thread is a driver the progress thread parks, and
 * drivers take turns to run the transport (gvm_progress_poll).
 */
void gvm_progress_enter(struct gvm_progress *p);
void gvm_progress_leave(struct gvm_progress *p);
/* One non-blocking round; returns > 0 if it delivered anything, 0, or
 * -EBUSY while another driver runs one. Between enter and leave only. */
int gvm_progress_poll(struct gvm_progress *p);

/*
 * One-shot completion of a waiter, set from an engine callback and waited
 * for by the thread that asked: it spins while it drives, then sleeps.
 */
struct gvm_event {
	uint32_t state; /* 0 pending, 1 done, 2 pending with a sleeper */
};

static inline void gvm_event_init(struct gvm_event *e)
{
	e->state = 0;
}

/* Async-signal-safe; wakes the waiter only if it sleeps. */
void gvm_event_set(struct gvm_event *e);
static inline bool gvm_event_done(const struct gvm_event *e)
{
	return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == 1;
}

/*
 * Drive the transport until e is set: spin, yield, then sleep on the
 * transport (or on e while another driver runs it). Async-signal-safe as
 * far as this file goes: no allocation, no lock but the engine's.
 */
void gvm_progress_until(struct gvm_progress *p, struct gvm_event *e);

#endif /* GVM_PROGRESS_H */
