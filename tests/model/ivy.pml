/* SPDX-License-Identifier: MIT */
/*
 * ivy.pml - Promela model of the gvm-dsm page protocol (Kai Li's IVY,
 * write-invalidate, with a central or fixed-distributed manager).
 *
 * 3 nodes, NPAGES pages (1 by default). Every node runs one `node` process
 * that loops between starting a local operation (bounded: OPS per node)
 * and handling one message from one of its incoming FIFO channels. Each
 * handler is one d_step: in the engine a message is handled under the
 * page lock, so no other protocol step on that node interleaves with it.
 * After every step check() asserts the coherence invariants.
 *
 * Build options (spin -D...):
 *   CENTRAL   node 0 manages (and initially owns) every page   [default]
 *   FIXED     page p is managed (and initially owned) by node p % 3
 *   NPAGES    number of pages (1..3)                           [1]
 *   OPS       local operations per node                         [2]
 *   MUTANT    deliberately broken: a new owner skips one INV and counts
 *             it as acked; the checks must then find a violation.
 *   COVER=k   reachability probe k (see REACHED below).
 *
 * Message names and fields mirror core/wire.h:
 *   REQ          kind (READ/WRITE), requester, have_version, routed
 *   GRANT_READ   version, data
 *   GRANT_WRITE  version, data (NODATA = payload skipped), copyset
 *   INV          version, new_owner
 *   ACK          version
 *   OWNED        version (the granted one; new owner -> manager)
 *
 * Managers learn of ownership transfers: a manager routes a WRITE only to
 * the settled owner `mgr_owner`, records the requester in `mgr_pending`,
 * and queues every request for the page (FIFO, `mq`) until the new owner
 * confirms with OWNED, sent as soon as its GRANT_WRITE arrives. Only the
 * owner ever receives a routed REQ; it still defers them while it is
 * collecting acks.
 */

#ifndef NPAGES
#define NPAGES 1
#endif
#if NPAGES < 1 || NPAGES > 3
#error "NPAGES must be 1..3"
#endif
#ifndef OPS
#define OPS 2
#endif
#if !defined(CENTRAL) && !defined(FIXED)
#define CENTRAL
#endif
#if defined(CENTRAL) && defined(FIXED)
#error "choose one of CENTRAL and FIXED"
#endif

#define N      3          /* nodes */
#ifndef CAP
/* Per (src,dst) channel. At most 3 messages of one page ever share a
 * channel (e.g. the manager's self-channel: its own REQ plus two routed
 * ones); send() asserts the bound, so the real, unbounded channels are
 * faithfully modelled. CAP=2 with one page fails that assertion. */
#define CAP    (3 * NPAGES)
#endif
#define DQCAP  2          /* deferred queue: at most one request per other node */
#define MQCAP  2          /* manager queue: one request per node other than the
                           * pending one (the settled owner asks for nothing
                           * until it has served the routed WRITE) */

#ifdef CENTRAL
#define MGR(p) 0
#else
#define MGR(p) ((p) % N)
#endif
#define HOME(p) MGR(p)    /* the manager's node also starts as the owner */

/* page states */
#define INVALID  0
#define SHARED   1
#define MODIFIED 2
/* txn values; READ and WRITE double as the REQ kind */
#define NONE     0
#define READ     1
#define WRITE    2
#define UPGRADE  3

#define NODATA   255      /* GRANT_WRITE payload skipped (have_version hit) */
#define NOBODY   255

/* Reachability probes: built with -DCOVER=k, probe k fails when its
 * path is taken, proving the path (and the checks after it) is reached.
 * check.sh --coverage runs them all. */
#ifdef COVER
#define REACHED(k) assert(COVER != (k))
#else
#define REACHED(k) skip
#endif

#define IX(n,p)   ((n) * NPAGES + (p))
#define CH(s,d)   ch[(s) * N + (d)]
#define BIT(n)    (1 << (n))

mtype = { REQ, GRANT_READ, GRANT_WRITE, INV, ACK, OWNED };

/* one FIFO channel per ordered pair (src,dst), including src == dst */
chan ch[N * N] = [CAP] of { mtype, byte /*page*/, byte, byte, byte, byte };

/* ---- per node, per page (index IX(node,page)) ---- */
byte st[N * NPAGES];      /* INVALID / SHARED / MODIFIED */
bit  own[N * NPAGES];     /* is_owner */
byte ver[N * NPAGES];     /* version of the local copy */
byte dat[N * NPAGES];     /* data of the local copy */
byte wm[N * NPAGES];      /* inv_watermark: highest version invalidated here */
byte txn[N * NPAGES];     /* NONE / READ / WRITE / UPGRADE */
byte cs[N * NPAGES];      /* copyset (owner only): bitmask of nodes */
byte acks[N * NPAGES];    /* INV acks still expected */
/* deferred routed REQs: kind, requester, have_version */
chan dq[N * NPAGES] = [DQCAP] of { byte, byte, byte };

/* ---- per page, kept by the page's manager MGR(p) ---- */
byte mgr_owner[NPAGES];   /* the settled owner */
byte mgr_pending[NPAGES]; /* WRITE routed, OWNED not yet received; or NOBODY */
/* requests waiting at the manager while a transfer is unconfirmed:
 * kind, requester, have_version */
chan mq[NPAGES] = [MQCAP] of { byte, byte, byte };

/* ---- per page, ghosts ---- */
byte latest[NPAGES];      /* ghost: the last value written to the page */
byte gw_n[NPAGES];        /* ghost: GRANT_WRITE messages in flight */
byte gw_cs[NPAGES];       /* ghost: copyset carried by that grant */
byte gw_to[NPAGES];       /* ghost: its destination (the next owner) */
byte ow_n[NPAGES];        /* ghost: OWNED messages in flight */
#ifdef COVER
bit  srv[N * NPAGES];     /* ghost (probe 11): served a request since it
                           * last received a GRANT_WRITE */
#endif

/* ---- termination bookkeeping ---- */
byte opsleft[N];          /* local operations each node may still start */
byte opsleft_total;
byte ntxn;                /* transactions in progress, all nodes and pages */
byte nowned;              /* OWNED messages in flight, all pages */

/* scratch, only ever used inside one d_step, hence not part of the state */
hidden mtype m_t;
hidden byte m_pg, m_a, m_b, m_c, m_e, m_src;
hidden byte q_k, q_r, q_hv, q_moved;
hidden byte i, i_last, tmp;
hidden byte c_p, c_n, c_mod, c_sh, c_own, c_o, c_set, c_to, c_pd;

/* Channels are sized so that a send never blocks; if one would, that is a
 * modelling error, not a protocol deadlock, so say so. */
inline send(s, d, t, pg, a, b, c, e)
{
	assert(len(CH(s, d)) < CAP);
	CH(s, d) ! t, pg, a, b, c, e
}

/* ------------------------------------------------------------------ */
/* Safety invariants, per page. Called after every step.               */
/* ------------------------------------------------------------------ */
inline check()
{
	c_p = 0;
	do
	:: c_p < NPAGES ->
		c_mod = 0; c_sh = 0; c_own = 0; c_o = NOBODY;
		c_n = 0;
		do
		:: c_n < N ->
			if
			:: st[IX(c_n, c_p)] == MODIFIED -> c_mod++
			:: st[IX(c_n, c_p)] == SHARED -> c_sh++
			:: else
			fi;
			if
			:: own[IX(c_n, c_p)] -> c_own++; c_o = c_n
			:: else
			fi;
			c_n++
		:: else -> break
		od;
		/* I1 single writer */
		assert(c_mod <= 1);
		/* I2 while a node is MODIFIED, no node is SHARED */
		assert(c_mod == 0 || c_sh == 0);
		/* I3 exactly one owner, or ownership in transit in one grant */
		assert(c_own + gw_n[c_p] == 1);

		/* who must know about the SHARED copies: the owner's copyset,
		 * or while a GRANT_WRITE travels, the copyset it carries */
		if
		:: gw_n[c_p] == 0 -> c_set = cs[IX(c_o, c_p)]; c_to = c_o
		:: else -> c_set = gw_cs[c_p]; c_to = gw_to[c_p]
		fi;
		c_n = 0;
		do
		:: c_n < N ->
			if
			:: st[IX(c_n, c_p)] != INVALID ->
				/* I4 every valid copy holds the latest write */
				assert(dat[IX(c_n, c_p)] == latest[c_p]);
				/* I5 ... at the owner's version (not checked
				 *    while ownership travels in a GRANT_WRITE) */
				assert(gw_n[c_p] != 0 ||
				       ver[IX(c_n, c_p)] == ver[IX(c_o, c_p)])
			:: else
			fi;
			/* I6 no SHARED copy unknown to the (next) owner */
			assert(st[IX(c_n, c_p)] != SHARED || c_n == c_to ||
			       (c_set & BIT(c_n)) != 0);
			c_n++
		:: else -> break
		od;

		/* the manager's view (I7, I8) */
		c_pd = mgr_pending[c_p];
		assert(ow_n[c_p] <= 1);
		if
		:: c_pd == NOBODY ->
			/* I7 no transfer unconfirmed: the manager knows
			 * the owner, and nothing waits at the manager */
			assert(own[IX(mgr_owner[c_p], c_p)] &&
			       ow_n[c_p] == 0 && len(mq[c_p]) == 0)
		:: else ->
			/* I8 the pending node is the owner-to-be (its
			 * WRITE not yet served, or its grant in flight)
			 * or the owner whose OWNED is in flight */
			assert(c_pd < N && c_pd != mgr_owner[c_p]);
			if
			:: own[IX(c_pd, c_p)] ->
				assert(ow_n[c_p] == 1)
			:: else ->
				assert(ow_n[c_p] == 0 &&
				       txn[IX(c_pd, c_p)] == WRITE &&
				       (own[IX(mgr_owner[c_p], c_p)] ||
				        (gw_n[c_p] == 1 && gw_to[c_p] == c_pd)))
			fi
		fi;
		c_p++
	:: else -> break
	od;
	skip    /* a d_step must not end in a loop exit */
}

/* ------------------------------------------------------------------ */
/* Owner-side helpers                                                  */
/* ------------------------------------------------------------------ */

/* Drop the local copy. Version and data of an INVALID copy are never
 * read again (have_version is only sent for a SHARED copy), so they are
 * zeroed: the engine drops the frame, and the model saves states. */
inline invalidate(n, p)
{
	st[IX(n, p)] = INVALID;
	ver[IX(n, p)] = 0;
	dat[IX(n, p)] = 0
}

/* Owner sx serves routed request (sk, sr, shv) for page sp. */
inline serve(sx, sp, sk, sr, shv)
{
	assert(sr != sx);     /* an owner never asks for its own page */
#ifdef COVER
	srv[IX(sx, sp)] = 1;
#endif
	if
	:: sk == READ ->
		/* a reader appears: the owner keeps a read-only copy */
		if
		:: st[IX(sx, sp)] == MODIFIED -> st[IX(sx, sp)] = SHARED
		:: else
		fi;
		cs[IX(sx, sp)] = cs[IX(sx, sp)] | BIT(sr);
		send(sx, sr, GRANT_READ, sp, ver[IX(sx, sp)], dat[IX(sx, sp)], 0, 0)
	:: sk == WRITE ->
		/* hand ownership and the copyset over; the payload can be
		 * skipped when the requester already has this version */
		gw_cs[sp] = cs[IX(sx, sp)] & ~BIT(sr);
		gw_to[sp] = sr;
		gw_n[sp]++;
		tmp = (shv == ver[IX(sx, sp)] -> NODATA : dat[IX(sx, sp)]);
		send(sx, sr, GRANT_WRITE, sp, ver[IX(sx, sp)], tmp, gw_cs[sp], 0);
		invalidate(sx, sp);
		own[IX(sx, sp)] = 0;
		cs[IX(sx, sp)] = 0
	fi
}

/* Owner w sends INV(version, w) to every member of its copyset and
 * counts the acks it now waits for. mut: this is the GRANT_WRITE path,
 * where the MUTANT build drops one INV. */
inline send_invs(w, p, mut)
{
#ifdef MUTANT
	if
	:: mut ->
		i_last = NOBODY;
		i = 0;
		do
		:: i < N ->
			if
			:: (cs[IX(w, p)] & BIT(i)) != 0 -> i_last = i
			:: else
			fi;
			i++
		:: else -> break
		od;
		if
		:: i_last != NOBODY ->
			/* BUG on purpose: pretend the last member acked */
			cs[IX(w, p)] = cs[IX(w, p)] & ~BIT(i_last)
		:: else
		fi
	:: else
	fi;
#endif
	i = 0;
	do
	:: i < N ->
		if
		:: (cs[IX(w, p)] & BIT(i)) != 0 ->
			send(w, i, INV, p, ver[IX(w, p)], w, 0, 0);
			acks[IX(w, p)]++
		:: else
		fi;
		i++
	:: else -> break
	od;
	skip
}

/* All copies are gone: owner w makes the page writable, performs the
 * write its transaction was for, then serves what it deferred, in order. */
inline complete_write(w, p)
{
	assert(own[IX(w, p)] && st[IX(w, p)] == SHARED && cs[IX(w, p)] == 0);
	assert(txn[IX(w, p)] == WRITE || txn[IX(w, p)] == UPGRADE);
	st[IX(w, p)] = MODIFIED;
	ver[IX(w, p)]++;
	txn[IX(w, p)] = NONE;
	ntxn--;
	latest[p]++;                       /* the write itself */
	dat[IX(w, p)] = latest[p];
	q_moved = 0;
	do
	:: nempty(dq[IX(w, p)]) ->
		dq[IX(w, p)] ? q_k, q_r, q_hv;
		/* once a WRITE moved ownership on, the manager routes
		 * nothing more here: a leftover is a protocol error */
		assert(!q_moved);
		serve(w, p, q_k, q_r, q_hv);
		if
		:: q_k == WRITE -> q_moved = 1; REACHED(5)
		:: else
		fi
	:: empty(dq[IX(w, p)]) -> break
	od;
	skip
}

/* ------------------------------------------------------------------ */
/* Local operations of node `me` on page p                             */
/* ------------------------------------------------------------------ */
inline local_read(p)
{
	opsleft[me]--;
	opsleft_total--;
	if
	:: st[IX(me, p)] != INVALID ->
		/* read hit: must see the latest write */
		assert(dat[IX(me, p)] == latest[p])
	:: else ->
		/* read fault */
		txn[IX(me, p)] = READ;
		ntxn++;
		send(me, MGR(p), REQ, p, READ, me, 0, 0)
	fi
}

inline local_write(p)
{
	opsleft[me]--;
	opsleft_total--;
	if
	:: own[IX(me, p)] && st[IX(me, p)] == MODIFIED ->
		latest[p]++;
		dat[IX(me, p)] = latest[p]
	:: own[IX(me, p)] && st[IX(me, p)] == SHARED && cs[IX(me, p)] == 0 ->
		/* nobody else has a copy: upgrade in place */
		st[IX(me, p)] = MODIFIED;
		ver[IX(me, p)]++;
		latest[p]++;
		dat[IX(me, p)] = latest[p]
	:: own[IX(me, p)] && st[IX(me, p)] == SHARED && cs[IX(me, p)] != 0 ->
		/* UPGRADE: invalidate the readers first */
		REACHED(6);
		txn[IX(me, p)] = UPGRADE;
		ntxn++;
		send_invs(me, p, 0)
	:: !own[IX(me, p)] ->
		/* write fault: ask the manager for ownership */
		txn[IX(me, p)] = WRITE;
		ntxn++;
		/* have_version names a copy we hold, if any */
		tmp = (st[IX(me, p)] == SHARED -> ver[IX(me, p)] : 0);
		send(me, MGR(p), REQ, p, WRITE, me, tmp, 0)
	:: else -> assert(false)     /* an owner always holds a valid copy */
	fi
}

/* ------------------------------------------------------------------ */
/* Message handlers; the message is in m_t, m_pg, m_a..m_e, from m_src */
/* ------------------------------------------------------------------ */

/* Manager of page p, no transfer unconfirmed: route request (k, r, hv)
 * to the settled owner; a WRITE starts a transfer. */
inline mgr_route(p, k, r, hv)
{
	assert(mgr_pending[p] == NOBODY);
	/* the owner neither faults on its page nor asks for write access */
	assert(r != mgr_owner[p]);
	send(me, mgr_owner[p], REQ, p, k, r, hv, 1);
	if
	:: k == WRITE -> mgr_pending[p] = r   /* mgr_owner kept until OWNED */
	:: else
	fi
}

/* Manager: route the request, or queue it while a transfer is pending. */
inline on_req_at_manager()
{
	assert(me == MGR(m_pg));
	/* the pending node waits for its grant: it asks for nothing else */
	assert(m_b != mgr_pending[m_pg]);
	if
	:: mgr_pending[m_pg] != NOBODY ->
		REACHED(3);
		assert(len(mq[m_pg]) < MQCAP);
		mq[m_pg] ! m_a, m_b, m_c
	:: else ->
		mgr_route(m_pg, m_a, m_b, m_c)
	fi
}

/* Manager: the pending transfer is done. Route what waited, in order,
 * until a WRITE starts the next transfer. */
inline on_owned()
{
	assert(me == MGR(m_pg));
	assert(m_src == mgr_pending[m_pg]);
	ow_n[m_pg]--;
	nowned--;
	if
	:: txn[IX(m_src, m_pg)] == NONE -> REACHED(12)
	:: else
	fi;
#ifdef COVER
	if
	:: srv[IX(m_src, m_pg)] -> REACHED(11)
	:: else
	fi;
#endif
	mgr_owner[m_pg] = m_src;
	mgr_pending[m_pg] = NOBODY;
	do
	:: len(mq[m_pg]) > 0 && mgr_pending[m_pg] == NOBODY ->
		mq[m_pg] ? q_k, q_r, q_hv;
		mgr_route(m_pg, q_k, q_r, q_hv);
		if
		:: mgr_pending[m_pg] != NOBODY && len(mq[m_pg]) > 0 ->
			REACHED(13)   /* the rest waits for the next OWNED */
		:: else
		fi
	:: else -> break
	od;
	skip
}

/* Owner: serve the request, or defer it while collecting acks. */
inline on_routed_req()
{
	/* the manager routes only to the settled owner */
	assert(own[IX(me, m_pg)]);
	if
	:: txn[IX(me, m_pg)] != NONE ->
		/* invalidations in progress: defer */
		REACHED(4);
		if
		:: len(dq[IX(me, m_pg)]) > 0 -> REACHED(10)
		:: else
		fi;
		assert(len(dq[IX(me, m_pg)]) < DQCAP);
		dq[IX(me, m_pg)] ! m_a, m_b, m_c
	:: else ->
		serve(me, m_pg, m_a, m_b, m_c)
	fi
}

inline on_grant_read()
{
	assert(txn[IX(me, m_pg)] == READ);
	if
	:: m_a <= wm[IX(me, m_pg)] ->
		/* stale: an INV for this version overtook the grant on
		 * another channel. Drop it and ask again (txn stays READ). */
		REACHED(1);
		send(me, MGR(m_pg), REQ, m_pg, READ, me, 0, 0)
	:: else ->
		st[IX(me, m_pg)] = SHARED;
		ver[IX(me, m_pg)] = m_a;
		dat[IX(me, m_pg)] = m_b;
		txn[IX(me, m_pg)] = NONE;
		ntxn--;
		/* the faulting read is performed now: it must see the latest */
		assert(m_b == latest[m_pg])
	fi
}

inline on_grant_write()
{
	assert(txn[IX(me, m_pg)] == WRITE);
	gw_n[m_pg]--;
	own[IX(me, m_pg)] = 1;
#ifdef COVER
	srv[IX(me, m_pg)] = 0;
#endif
	/* tell the manager at once, before the INVs */
	send(me, MGR(m_pg), OWNED, m_pg, m_a, 0, 0, 0);
	ow_n[m_pg]++;
	nowned++;
	if
	:: m_b == NODATA ->
		/* payload skipped: our copy must be that very version */
		REACHED(2);
		assert(st[IX(me, m_pg)] == SHARED && ver[IX(me, m_pg)] == m_a)
	:: else ->
		dat[IX(me, m_pg)] = m_b
	fi;
	ver[IX(me, m_pg)] = m_a;          /* bumped when the write happens */
	st[IX(me, m_pg)] = SHARED;        /* valid, not yet writable */
	cs[IX(me, m_pg)] = m_c & ~BIT(me);
	if
	:: cs[IX(me, m_pg)] != 0 -> REACHED(7)
	:: else
	fi;
	send_invs(me, m_pg, 1);
	if
	:: acks[IX(me, m_pg)] == 0 -> complete_write(me, m_pg)
	:: else
	fi
}

inline on_inv()
{
	assert(m_b == m_src);             /* INV comes from the new owner */
	assert(!own[IX(me, m_pg)]);       /* ... and never reaches an owner */
	if
	:: st[IX(me, m_pg)] == SHARED && ver[IX(me, m_pg)] <= m_a ->
		invalidate(me, m_pg)
	:: st[IX(me, m_pg)] == SHARED ->
		REACHED(9)    /* a copy newer than the INV: kept */
	:: else ->
		REACHED(8)    /* no copy: only the watermark moves */
	fi;
	/* remembered even without a copy: a GRANT_READ of this version
	 * may still be on its way and must then be discarded */
	if
	:: m_a > wm[IX(me, m_pg)] -> wm[IX(me, m_pg)] = m_a
	:: else
	fi;
	send(me, m_src, ACK, m_pg, m_a, 0, 0, 0)
}

inline on_ack()
{
	assert(acks[IX(me, m_pg)] > 0);
	acks[IX(me, m_pg)]--;
	cs[IX(me, m_pg)] = cs[IX(me, m_pg)] & ~BIT(m_src);
	if
	:: acks[IX(me, m_pg)] == 0 -> complete_write(me, m_pg)
	:: else
	fi
}

inline handle()
{
	if
	:: m_t == REQ && m_e == 0 -> on_req_at_manager()
	:: m_t == REQ && m_e == 1 -> on_routed_req()
	:: m_t == GRANT_READ      -> on_grant_read()
	:: m_t == GRANT_WRITE     -> on_grant_write()
	:: m_t == INV             -> on_inv()
	:: m_t == ACK             -> on_ack()
	:: m_t == OWNED           -> on_owned()
	fi
}

/* receive one message from node s, handle it, check the invariants */
inline recv_from(s)
{
	d_step {
		CH(s, me) ? m_t, m_pg, m_a, m_b, m_c, m_e ->
		m_src = s;
		handle();
		check()
	}
}

/* start a local read or write on page p (no transaction open on it);
 * a macro, since it expands to two options of the node's main loop */
#define LOCAL_OPS(p) \
	:: d_step { opsleft[me] > 0 && txn[IX(me, p)] == NONE -> \
		local_read(p); check() } \
	:: d_step { opsleft[me] > 0 && txn[IX(me, p)] == NONE -> \
		local_write(p); check() }

proctype node(byte me)
{
	do
	LOCAL_OPS(0)
#if NPAGES > 1
	LOCAL_OPS(1)
#endif
#if NPAGES > 2
	LOCAL_OPS(2)
#endif
	:: d_step { opsleft[me] > 0 ->
		/* the node may stop early: "up to OPS operations". Without
		 * this a deadlock that only another node's later operation
		 * would break could go unnoticed. */
		opsleft_total = opsleft_total - opsleft[me];
		opsleft[me] = 0 }
	:: recv_from(0)
	:: recv_from(1)
	:: recv_from(2)
	:: d_step { opsleft_total == 0 && ntxn == 0 && nowned == 0 ->
		/* global quiescence: every operation everywhere completed,
		 * and every manager has heard of every transfer (an OWNED
		 * may still travel after its sender's write completed).
		 * Nothing may be left undelivered, or waiting at a manager. */
		assert(len(CH(0, me)) == 0 && len(CH(1, me)) == 0 &&
		       len(CH(2, me)) == 0);
		c_p = 0;
		do
		:: c_p < NPAGES ->
			assert(mgr_pending[c_p] == NOBODY &&
			       len(mq[c_p]) == 0);
			c_p++
		:: else -> break
		od;
		skip };
		break
	od;
	/* A node stuck in the loop with a transaction open and nothing to
	 * receive is an invalid end state: spin reports it as a deadlock. */
}

init
{
	d_step {
		c_p = 0;
		do
		:: c_p < NPAGES ->
			own[IX(HOME(c_p), c_p)] = 1;
			st[IX(HOME(c_p), c_p)] = MODIFIED;
			ver[IX(HOME(c_p), c_p)] = 1;
			dat[IX(HOME(c_p), c_p)] = 0;
			latest[c_p] = 0;
			mgr_owner[c_p] = HOME(c_p);
			mgr_pending[c_p] = NOBODY;
			c_p++
		:: else -> break
		od;
		c_n = 0;
		do
		:: c_n < N -> opsleft[c_n] = OPS; c_n++
		:: else -> break
		od;
		opsleft_total = N * OPS
	};
	atomic {
		run node(0);
		run node(1);
		run node(2)
	}
}
