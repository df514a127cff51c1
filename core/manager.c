// SPDX-License-Identifier: MIT
/*
 * manager.c - the manager role of the FIXED and CENTRAL managers.
 *
 * A manager routes each request for a page it manages to the page's owner.
 * It routes a WRITE only to a settled owner and then holds every further
 * request until the new owner confirms (OWNED): so it always knows the
 * owner and at most one transfer in flight, which is what it needs to
 * decide, when a node dies, whether the page survived (core/PROTOCOL.md,
 * "Lost peers").
 */
#include "bitmap.h"
#include "ivy_impl.h"

int gvm_mgr_init(struct gvm_node *n)
{
	bool manages = false;

	if (n->cfg.manager == GVM_MANAGER_DYNAMIC)
		return 0;
	for (gvm_page_t p = 0; p < n->cfg.npages && !manages; p++)
		manages = gvm_page_home(n, p) == n->cfg.self;
	if (!manages)
		return 0;
	n->mgr = gvm_os_zalloc(n->cfg.npages * sizeof(*n->mgr));
	if (!n->mgr)
		return -ENOMEM;
	for (gvm_page_t p = 0; p < n->cfg.npages; p++) {
		n->mgr[p].owner = gvm_page_home(n, p);
		n->mgr[p].pending = GVM_NODE_NONE;
		n->mgr[p].asked = GVM_NODE_NONE;
	}
	return 0;
}

static void free_queue(struct gvm_mgr_page *mg)
{
	while (mg->queue) {
		struct gvm_req *r = mg->queue;

		mg->queue = r->next;
		gvm_os_free(r);
	}
	mg->queue_tail = NULL;
}

void gvm_mgr_fini(struct gvm_node *n)
{
	for (gvm_page_t p = 0; n->mgr && p < n->cfg.npages; p++)
		free_queue(&n->mgr[p]);
	gvm_os_free(n->mgr);
	n->mgr = NULL;
}

static bool held(const struct gvm_mgr_page *mg)
{
	return mg->pending != GVM_NODE_NONE || mg->asked != GVM_NODE_NONE;
}

static void route(struct gvm_node *n, gvm_page_t p, const struct gvm_req *r)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	n->stats.forwards++;
	gvm_send_req(n, mg->owner, p, r, GVM_WF_ROUTED);
	if (r->access == GVM_ACCESS_WRITE)
		mg->pending = r->requester;
}

static int enqueue(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		   const struct gvm_req *r)
{
	struct gvm_mgr_page *mg = &n->mgr[p];
	struct gvm_req *q;

	/*
	 * A node has one transaction per page: a newer request (a retry, or
	 * a new fault after one that failed) replaces what it left here.
	 */
	for (q = mg->queue; q; q = q->next)
		if (q->requester == r->requester && q->probe == r->probe) {
			struct gvm_req *next = q->next;

			*q = *r;
			q->next = next;
			return 0;
		}
	q = gvm_os_zalloc(sizeof(*q));
	if (!q)
		return gvm_peer_error(n, src, p, "out of memory for its request");
	*q = *r;
	q->next = NULL;
	if (mg->queue_tail)
		mg->queue_tail->next = q;
	else
		mg->queue = q;
	mg->queue_tail = q;
	n->stats.queued++;
	return 0;
}

static bool is_queued(const struct gvm_mgr_page *mg, gvm_node_id requester)
{
	for (const struct gvm_req *q = mg->queue; q; q = q->next)
		if (q->requester == requester && !q->probe)
			return true;
	return false;
}

/* The page is gone with node dead: everyone waiting for it learns so. */
static void declare_lost(struct gvm_node *n, gvm_page_t p, gvm_node_id dead)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	gvm_log_debug("node %u: page %llu lost with its owner", n->cfg.self,
		      (unsigned long long)p);
	mg->lost = true;
	mg->lost_with = dead;
	mg->pending = mg->asked = mg->owner = GVM_NODE_NONE;
	for (struct gvm_req *q = mg->queue; q; q = q->next)
		gvm_send_simple(n, q->requester, GVM_MSG_NACK, p, q->req_id, dead);
	free_queue(mg);
}

/* Route what waited, in order, until a WRITE makes us wait again. */
static void drain(struct gvm_node *n, gvm_page_t p)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	while (mg->queue && !held(mg)) {
		struct gvm_req *r = mg->queue;

		mg->queue = r->next;
		if (!mg->queue)
			mg->queue_tail = NULL;
		if (r->probe) /* its request may have died with a node: resend */
			gvm_send_simple(n, r->requester, GVM_MSG_RETRY, p,
					r->req_id, GVM_NODE_NONE);
		else if (!peer_closed(n, r->requester) && r->requester != mg->owner)
			route(n, p, r); /* (an owner got the page another way) */
		gvm_os_free(r);
	}
}

int gvm_mgr_request(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		    const struct gvm_req *r)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	if (mg->lost) {
		gvm_send_simple(n, src, GVM_MSG_NACK, p, r->req_id, mg->lost_with);
		return 0;
	}
	/*
	 * Held: even the owner we know of may have passed the page on. The
	 * pending writer itself may ask again: its write found the page
	 * promoted (the owner's KEPT is on its way) and a demotion followed.
	 */
	if (held(mg))
		return enqueue(n, src, p, r);
	if (mg->owner == r->requester)
		return gvm_peer_error(n, src, p, "owner asked for its own page");
	route(n, p, r);
	return 0;
}

int gvm_mgr_owned(struct gvm_node *n, gvm_node_id src, gvm_page_t p)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	if (mg->asked == src) {
		/* The answer to our RECLAIM: src holds the page. */
		mg->owner = src;
		mg->asked = mg->pending = GVM_NODE_NONE;
	} else if (mg->pending == src) {
		mg->owner = src;
		mg->pending = GVM_NODE_NONE;
	} else {
		/* A confirmation that also answered a RECLAIM, repeated. */
		return 0;
	}
	drain(n, p);
	return 0;
}

int gvm_mgr_kept(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		 gvm_node_id requester)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	/* The owner kept the page (it is promoted): the writer we routed
	 * there got its window slot, and no transfer will confirm. */
	if (mg->owner != src || mg->pending != requester)
		return gvm_peer_error(n, src, p, "kept a page for a write not routed to it");
	mg->pending = GVM_NODE_NONE;
	drain(n, p);
	return 0;
}

int gvm_mgr_lost(struct gvm_node *n, gvm_node_id src, gvm_page_t p)
{
	struct gvm_mgr_page *mg = &n->mgr[p];

	/* Only the node we asked can tell us the page is gone. */
	if (mg->asked == src) /* the transfer went to, or came from, the dead */
		declare_lost(n, p, mg->lost_with);
	return 0;
}

int gvm_mgr_probe(struct gvm_node *n, gvm_node_id src, gvm_page_t p,
		  uint32_t req_id)
{
	struct gvm_mgr_page *mg = &n->mgr[p];
	struct gvm_req probe = {.requester = src, .probe = true, .req_id = req_id};

	if (mg->lost) {
		gvm_send_simple(n, src, GVM_MSG_NACK, p, req_id, mg->lost_with);
		return 0;
	}
	if (is_queued(mg, src))
		return 0; /* it will be routed */
	if (mg->asked != GVM_NODE_NONE)
		return enqueue(n, src, p, &probe); /* answered once we know */
	gvm_send_simple(n, src, GVM_MSG_RETRY, p, req_id, GVM_NODE_NONE);
	return 0;
}

/*
 * A node died (or left: its pages go with it all the same): for every page
 * we manage, decide at once (owner gone, no
 * transfer: lost) or ask the live end of a transfer that involved it.
 */
void gvm_mgr_peer_down(struct gvm_node *n, gvm_node_id dead, bool left)
{
	uint64_t lost = 0, asked = 0;

	for (gvm_page_t p = 0; n->mgr && p < n->cfg.npages; p++) {
		struct gvm_mgr_page *mg = &n->mgr[p];
		struct gvm_req **pp = &mg->queue;

		if (mg->lost)
			continue;
		/* Its own requests die with it. */
		mg->queue_tail = NULL;
		while (*pp) {
			if ((*pp)->requester == dead) {
				struct gvm_req *r = *pp;

				*pp = r->next;
				gvm_os_free(r);
				continue;
			}
			mg->queue_tail = *pp;
			pp = &(*pp)->next;
		}
		if (mg->asked == dead ||
		    (mg->owner == dead && mg->pending == GVM_NODE_NONE)) {
			declare_lost(n, p, mg->asked == dead ? mg->lost_with : dead);
			lost++;
		} else if (mg->owner == dead || mg->pending == dead) {
			mg->asked = mg->owner == dead ? mg->pending : mg->owner;
			mg->lost_with = dead; /* if the live end says LOST */
			gvm_send_simple(n, mg->asked, GVM_MSG_RECLAIM, p, 0, dead);
			asked++;
		}
	}
	if (lost || asked)
		gvm_os_log(left ? GVM_LOG_INFO : GVM_LOG_WARN,
			   "node %u: node %u took %llu of the pages we manage with it; asking after %llu more",
			   n->cfg.self, dead, (unsigned long long)lost,
			   (unsigned long long)asked);
}
