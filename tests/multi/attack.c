// SPDX-License-Identifier: MIT
/*
 * Description: strangers attack a running cluster that has a secret, and
 * after each attack the cluster still computes a known result with every
 * page correct, while no node's memory or descriptors grow.
 *
 *	GVM_SECRET_FILE=F GVM_CONNECT=eager gvmrun -n N [-m M] -- attack
 *
 * Rounds: every node increments a counter under a DSM spinlock and stamps
 * its slot in every page of an array; then every node checks every slot of
 * every page and the counter, and its own RSS and open descriptors against
 * the first round's. Before each round after the first, node 0 plays one
 * stranger at every node's TCP port (its own included), frame by frame as
 * a real dialer would (transports/tcp/frame.h, gvm/auth.h):
 *
 *   no secret          an offer without a secret, engine messages after it
 *   wrong secret       a whole handshake with another key, then a DOWN
 *   replayed handshake a member's offer and proof, recorded and replayed
 *   DOWN injection     DOWN(k) as the first frame, and in place of a proof
 *   forged grants      write and read grants sweeping request ids 1..256
 *   hops=1             a request on behalf of another node, hops=1
 *   id squatting       offers claiming every id, one past the last too
 *   64 MiB claim       a frame header claiming 64 MiB before any hello
 *   1000 idle          1000 connections: half silent, half sending an offer
 *                      and never reading the answer
 *
 * Each stranger must be refused and closed (the node says why, and node 0
 * prints it). Nothing it sent may reach an engine: a DOWN or grant taken in
 * would cut a node off or change a page, and the next round would say so.
 * GVM_CONNECT=eager makes every node hold every peer's connection first,
 * so the replayed member is refused as "already connected" (its holder
 * keeps working). A member that heartbeats but never reads is
 * build/tests/tcp-queue.
 *
 *	GVM_SECRET_FILE=F gvmrun -n 2 -- attack mitm
 *
 * A man in the middle: node 1 dials node 0 through a proxy (a thread of
 * node 1) that flips one bit of that stream once FLIP_AT bytes have passed.
 * Node 1 writes pages, node 0 reads them and checks every byte. With tags
 * node 0 must find the flipped frame, cut node 1 off and fail the reads
 * that needed it; no page may ever be read wrong (exit 3 if one is). With
 * GVM_MAC=0 nothing checks the stream: node 0 reports what it read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "../../transports/tcp/frame.h"
#include "../self.h"
#include "wire.h"

#define INCREMENTS 200
#define STAMPED_PAGES 32
#define IDLE 1000
#define RSS_GROWTH_KIB (16 * 1024)

static struct gvm_cluster_config cfg;
static char addr[64][64];
static char refusal[TCP_REFUSAL_MAX + 1]; /* the last REFUSE a node sent us */
static struct gvm_auth wrong_key;
static struct gvm_wire_geom geom;

/* The uri's HOST:PORT list, before any '?options'. */
static int parse_peers(void)
{
	const char *s = cfg.uri;
	uint32_t n = 0;

	if (!strncmp(s, "tcp:", 4))
		s += 4;
	while (*s && *s != '?' && n < cfg.node.nodes) {
		size_t len = strcspn(s, ",?");

		if (len >= sizeof(addr[0]))
			return -1;
		memcpy(addr[n], s, len);
		addr[n++][len] = 0;
		s += len;
		if (*s == ',')
			s++;
	}
	return n == cfg.node.nodes ? 0 : -1;
}

static int dial(gvm_node_id target)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(addr[target], ':');
	int fd;

	if (!colon)
		return -1;
	memcpy(host, addr[target], (size_t)(colon - addr[target]));
	host[colon - addr[target]] = 0;
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	refusal[0] = 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Write all of buf, unless the node closes us or stops reading for 3 s. */
static void put(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&pfd, 1, 3000) != 1)
			return;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void put_frame(int fd, uint8_t kind, const void *body, uint32_t len)
{
	uint8_t h[TCP_HDR];

	tcp_frame_header(h, len, kind);
	put(fd, h, sizeof(h));
	put(fd, body, len);
}

/* Read exactly len bytes within ms; false on EOF, error or time out. */
static bool get(int fd, void *buf, size_t len, int ms)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, ms) != 1)
			return false;
		n = recv(fd, p, len, 0);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool get_frame(int fd, uint8_t *kind, uint8_t *body, uint32_t *len, int ms)
{
	uint8_t h[TCP_HDR];

	if (!get(fd, h, sizeof(h), ms) || !tcp_frame_parse(h, true, len, kind) ||
	    !get(fd, body, *len, ms))
		return false;
	if (*kind == TCP_REFUSE)
		snprintf(refusal, sizeof(refusal), "%.*s", (int)*len, (const char *)body);
	return true;
}

/*
 * Did the node close our connection within 3 s of its last word? Whatever
 * it sent is read (a refusal is kept in `refusal`).
 */
static bool closed_by_node(int fd)
{
	uint8_t body[TCP_HANDSHAKE_FRAME_MAX], kind, b;
	uint32_t len;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (get_frame(fd, &kind, body, &len, 3000))
		;
	/* At EOF, at a reset, at junk, or after 3 s of silence. */
	return poll(&pfd, 1, 0) == 1 && recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

static struct gvm_hello hello_of(gvm_node_id id)
{
	struct gvm_config n = cfg.node;
	struct gvm_hello h;

	n.self = id;
	gvm_config_hello(&n, &h);
	return h;
}

/* Our offer as node `as` (auth NULL: no secret); hs keeps its state. */
static void offer(int fd, struct gvm_handshake *hs, const struct gvm_auth *auth,
		  gvm_node_id as, uint8_t *copy, uint32_t *copy_len)
{
	uint8_t body[GVM_OFFER_LEN];
	struct gvm_hello h = hello_of(as);
	uint32_t len = gvm_handshake_offer(hs, auth, &h, body);

	put_frame(fd, TCP_HELLO, body, len);
	if (copy) {
		memcpy(copy, body, len);
		*copy_len = len;
	}
}

/* An engine message in a MSG frame, with a page of 0xee if payload. */
static void put_msg(int fd, const struct gvm_msg *m, bool payload)
{
	static uint8_t page[1u << 16];
	uint8_t buf[GVM_WIRE_FIXED_MAX + GVM_MAX_NODES / 8];
	uint32_t plen = payload ? geom.page_size : 0;
	size_t len = gvm_wire_encode(&geom, m, plen, buf);
	uint8_t h[TCP_HDR];

	memset(page, 0xee, plen);
	tcp_frame_header(h, (uint32_t)(len + plen), TCP_MSG);
	put(fd, h, sizeof(h));
	put(fd, buf, len);
	put(fd, page, plen);
}

static gvm_node_id other_than(gvm_node_id target, uint32_t k)
{
	return (target + 1 + k % (cfg.node.nodes - 1)) % cfg.node.nodes;
}

static const uint8_t no_copyset[GVM_MAX_NODES / 8];

/* The engine messages a stranger would like a node to take in. */
static void put_forgeries(int fd, gvm_node_id target)
{
	struct gvm_msg m = {.type = GVM_MSG_DOWN, .node = other_than(target, 0)};

	put_msg(fd, &m, false);
	for (uint32_t id = 1; id <= 256; id++) {
		m = (struct gvm_msg){.type = GVM_MSG_GRANT_WRITE, .page = 1 + id % STAMPED_PAGES,
				     .version = id, .req_id = id, .copyset = no_copyset};
		put_msg(fd, &m, true);
		m.type = GVM_MSG_GRANT_READ;
		put_msg(fd, &m, true);
	}
	m = (struct gvm_msg){.type = GVM_MSG_REQ, .page = 1, .node = other_than(target, 1),
			     .hops = 1, .access = GVM_ACCESS_WRITE, .req_id = 99};
	put_msg(fd, &m, false);
}

/*
 * The node must close fd, refusing it for the reason `expect` names (NULL:
 * a close without a word, as for bytes that are no handshake at all).
 */
static int refused(const char *attack, gvm_node_id target, int fd, const char *expect)
{
	bool closed = fd >= 0 && closed_by_node(fd);
	bool right = expect ? strstr(refusal, expect) != NULL : !refusal[0];

	if (fd >= 0)
		close(fd);
	printf("attack: %s at node %u: %s%s\n", attack, target,
	       !closed ? "the connection was kept open" :
	       refusal[0] ? refusal : "closed without a word",
	       closed && !right ? " (NOT the expected refusal)" : "");
	return !closed || !right;
}

/*
 * Offer with `auth` as node `as`, take the answer, send a proof of random
 * bytes (what a wrong key amounts to) unless !with_proof, then forgeries.
 */
static void handshake_then(int fd, const struct gvm_auth *auth, gvm_node_id as,
			   bool with_proof, gvm_node_id target)
{
	struct gvm_handshake hs = {0};
	uint8_t body[TCP_HANDSHAKE_FRAME_MAX], kind, proof[GVM_PROOF_LEN];
	uint32_t len;

	offer(fd, &hs, auth, as, NULL, NULL);
	if (!get_frame(fd, &kind, body, &len, 3000) || kind != TCP_HELLO)
		return; /* refused at the offer: refused() says why */
	for (size_t i = 0; i < sizeof(proof); i++)
		proof[i] = (uint8_t)rand();
	if (with_proof)
		put_frame(fd, TCP_PROOF, proof, sizeof(proof));
	put_forgeries(fd, target);
}

static int no_secret(gvm_node_id t)
{
	int fd = dial(t);

	offer(fd, &(struct gvm_handshake){0}, NULL, other_than(t, 0), NULL, NULL);
	put_forgeries(fd, t);
	return refused("no secret", t, fd, "has no cluster secret");
}

static int wrong_secret(gvm_node_id t)
{
	int fd = dial(t);

	handshake_then(fd, &wrong_key, other_than(t, 0), true, t);
	return refused("wrong secret", t, fd, "proof does not match");
}

/*
 * Record a member's handshake (node 0 holds the secret: it plays the
 * member an eavesdropper listened to), then replay its offer and proof on
 * a new connection. The recording itself claims a connected id: refused
 * as such, and the id's holder must not be blamed for it.
 */
static int replayed_handshake(gvm_node_id t)
{
	struct gvm_handshake hs = {0};
	uint8_t off[GVM_OFFER_LEN], body[TCP_HANDSHAKE_FRAME_MAX], kind;
	uint8_t proof[TCP_HDR + GVM_PROOF_LEN];
	uint32_t off_len, len, proof_len;
	char why[300];
	gvm_node_id as = other_than(t, 0);
	int fd = dial(t), rc;

	offer(fd, &hs, &cfg.auth, as, off, &off_len);
	if (!get_frame(fd, &kind, body, &len, 3000) ||
	    tcp_dialer_step(&hs, &(struct gvm_hello){0}, false, t, addr[t], kind, body, len,
			    proof, &proof_len, why, sizeof(why))) {
		printf("attack: a member's handshake at node %u failed: %s\n", t, why);
		close(fd);
		return 1;
	}
	put(fd, proof, proof_len);
	rc = refused("a member's second connection", t, fd, "already connected");
	fd = dial(t);
	put_frame(fd, TCP_HELLO, off, off_len);
	if (get_frame(fd, &kind, body, &len, 3000) && kind == TCP_HELLO) {
		put(fd, proof, proof_len);
		put_forgeries(fd, t);
	}
	return rc | refused("replayed handshake", t, fd, "proof does not match");
}

static int down_injection(gvm_node_id t)
{
	struct gvm_msg m = {.type = GVM_MSG_DOWN, .node = other_than(t, 0)};
	int fd = dial(t), rc;

	put_msg(fd, &m, false); /* before any hello */
	rc = refused("DOWN injection, no hello", t, fd, NULL);
	fd = dial(t);
	handshake_then(fd, &wrong_key, other_than(t, 1), false, t);
	return rc | refused("DOWN injection, in place of a proof", t, fd, "no proof");
}

static int forged_grants(gvm_node_id t)
{
	int fd = dial(t);
	int rc;

	put_forgeries(fd, t); /* no hello: a grant is larger than one */
	rc = refused("forged grants, no hello", t, fd, NULL);
	fd = dial(t);
	handshake_then(fd, &wrong_key, other_than(t, 0), true, t);
	return rc | refused("forged grants after a proof", t, fd, "proof does not match");
}

static int hops_one(gvm_node_id t)
{
	struct gvm_msg m = {.type = GVM_MSG_REQ, .page = 1, .node = other_than(t, 1),
			    .hops = 1, .access = GVM_ACCESS_WRITE, .req_id = 7};
	int fd = dial(t);

	handshake_then(fd, &wrong_key, other_than(t, 0), true, t);
	put_msg(fd, &m, false);
	return refused("hops=1", t, fd, "proof does not match");
}

static int id_squatting(gvm_node_id t)
{
	int rc = 0;

	for (gvm_node_id id = 0; id <= cfg.node.nodes; id++) {
		char name[40];
		int fd = dial(t);

		snprintf(name, sizeof(name), "id squatting as node %u", id);
		handshake_then(fd, &wrong_key, id, true, t);
		rc |= refused(name, t, fd, id == t ? "claim it" :
				     id < cfg.node.nodes ? "proof does not match" : NULL);
	}
	return rc;
}

static int big_claim(gvm_node_id t)
{
	uint8_t h[TCP_HDR];
	int fd = dial(t);

	tcp_frame_header(h, TCP_MAX_MSG, TCP_HELLO);
	put(fd, h, sizeof(h));
	return refused("64 MiB claim", t, fd, NULL);
}

/* Closed by the node by now? What it sent is read first. */
static bool closed_now(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t b[512];

	while (poll(&pfd, 1, 0) == 1)
		if (recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0)
			return true;
	return false;
}

static int idle(gvm_node_id t)
{
	static int fds[IDLE];
	int closed = 0;

	for (int i = 0; i < IDLE; i++) {
		fds[i] = dial(t);
		if (fds[i] >= 0 && i % 2)
			offer(fds[i], &(struct gvm_handshake){0}, &wrong_key,
			      other_than(t, 0), NULL, NULL);
	}
	usleep(500000);
	for (int i = 0; i < IDLE; i++) {
		/* Those that sent an offer were answered: reading that is ours
		 * to do, so only a close counts. */
		if (fds[i] >= 0 && closed_now(fds[i]))
			closed++;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	printf("attack: %d idle connections at node %u: %d closed by the node\n", IDLE, t,
	       closed);
	return closed < IDLE - TCP_UNIDENTIFIED_MAX;
}

static const struct {
	const char *name;
	int (*play)(gvm_node_id target);
} attacks[] = {
	{"no secret", no_secret},
	{"wrong secret", wrong_secret},
	{"replayed handshake", replayed_handshake},
	{"DOWN injection", down_injection},
	{"forged grants", forged_grants},
	{"hops=1", hops_one},
	{"id squatting", id_squatting},
	{"64 MiB claim", big_claim},
	{"1000 idle", idle},
};

struct shared {
	uint32_t lock;
	uint64_t counter;
};

/* One round of work; then every slot of every page is checked. */
static int compute(struct gvm_cluster *c, uint8_t *region, uint32_t round)
{
	struct shared *sh = (struct shared *)region;
	size_t page = 1ul << cfg.node.page_shift;
	uint32_t n = gvm_cluster_nodes(c), self = gvm_cluster_self(c);
	int bad = 0;

	for (int i = 0; i < INCREMENTS; i++) {
		while (__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE))
			;
		sh->counter++;
		__atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
	}
	for (uint32_t p = 1; p <= STAMPED_PAGES; p++)
		((uint64_t *)(region + p * page))[self] = (uint64_t)round << 32 | p;
	gvm_cluster_barrier(c);
	for (uint32_t p = 1; p <= STAMPED_PAGES; p++)
		for (uint32_t k = 0; k < n; k++)
			bad += ((uint64_t *)(region + p * page))[k] != ((uint64_t)round << 32 | p);
	if (sh->counter != (uint64_t)round * n * INCREMENTS || bad) {
		printf("attack: node %u, round %u: counter %llu (want %llu), %d wrong slots\n",
		       self, round, (unsigned long long)sh->counter,
		       (unsigned long long)round * n * INCREMENTS, bad);
		return 1;
	}
	gvm_cluster_barrier(c);
	return 0;
}

/* ==== A man in the middle ==== */

#define FLIP_AT (256u << 10)
#define MITM_ROUNDS 24
#define MITM_PAGES 32

struct proxy {
	int listen_fd;
	gvm_node_id to;
	uint64_t passed; /* dialer -> node `to` */
};

static int relay(int from, int to, struct proxy *px, bool flip)
{
	uint8_t buf[16384];
	ssize_t n = recv(from, buf, sizeof(buf), 0);

	if (n <= 0)
		return -1;
	if (flip && px->passed <= FLIP_AT && px->passed + (uint64_t)n > FLIP_AT)
		buf[FLIP_AT - px->passed] ^= 0x10;
	if (flip)
		px->passed += (uint64_t)n;
	put(to, buf, (size_t)n);
	return 0;
}

static void *proxy_run(void *arg)
{
	struct proxy *px = arg;
	int in = accept(px->listen_fd, NULL, NULL), out = dial(px->to);
	struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = out, .events = POLLIN}};

	while (in >= 0 && out >= 0 && poll(p, 2, -1) > 0) {
		if ((p[0].revents && relay(in, out, px, true)) ||
		    (p[1].revents && relay(out, in, px, false)))
			break;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return NULL;
}

/* Listen on loopback; name node `to`'s address in cfg.uri after us. */
static int proxy_start(struct proxy *px, gvm_node_id to)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	char uri[sizeof(cfg.uri)], *at = strstr(cfg.uri, addr[to]);
	pthread_t t;

	px->to = to;
	px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!at || px->listen_fd < 0 || bind(px->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(px->listen_fd, 1) || getsockname(px->listen_fd, (struct sockaddr *)&a, &len))
		return -1;
	snprintf(uri, sizeof(uri), "%.*s127.0.0.1:%u%s", (int)(at - cfg.uri), cfg.uri,
		 ntohs(a.sin_port), at + strlen(addr[to]));
	memcpy(cfg.uri, uri, sizeof(uri));
	return pthread_create(&t, NULL, proxy_run, px) ? -1 : pthread_detach(t);
}

static int mitm_main(void)
{
	static struct proxy px;
	struct gvm_cluster *c;
	struct gvm_node *node;
	size_t page = 1ul << cfg.node.page_shift;
	int right = 0, failed = 0, wrong = 0;

	if (cfg.node.self == 1 && proxy_start(&px, 0)) {
		perror("attack mitm: proxy");
		return 1;
	}
	if (gvm_cluster_open(&cfg, &c))
		return 1;
	node = gvm_cluster_node(c);
	for (uint32_t r = 0; r < MITM_ROUNDS && !failed; r++) {
		for (gvm_page_t p = 1; p <= MITM_PAGES && gvm_cluster_self(c) == 1; p++) {
			void *f;

			if (gvm_acquire(node, p, GVM_ACCESS_WRITE, &f))
				break;
			memset(f, (int)((r * 37 + p) & 0xff), page);
			gvm_release(node, p);
		}
		if (gvm_cluster_barrier(c))
			break;
		for (gvm_page_t p = 1; p <= MITM_PAGES && gvm_cluster_self(c) == 0; p++) {
			uint8_t want = (uint8_t)(r * 37 + p);
			const uint8_t *f;
			size_t i = 0;

			if (gvm_acquire(node, p, GVM_ACCESS_READ, (void **)&f)) {
				failed++;
				continue;
			}
			while (i < page && f[i] == want)
				i++;
			gvm_release(node, p);
			if (i < page) {
				printf("mitm: round %u, page %llu: byte %zu is 0x%02x, want 0x%02x\n",
				       r, (unsigned long long)p, i, f[i], want);
				wrong++;
			} else {
				right++;
			}
		}
		if (gvm_cluster_barrier(c))
			break;
	}
	if (gvm_cluster_self(c) == 0)
		printf("mitm: node 0 read %d pages right, %d failed, %d wrong\n", right, failed,
		       wrong);
	else
		printf("mitm: node 1 sent %llu bytes through the proxy\n",
		       (unsigned long long)px.passed);
	fflush(stdout);
	gvm_cluster_close(c);
	return wrong ? 3 : 0;
}

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	uint8_t *region;
	char err[256] = "";
	long rss0;
	int fds0, rc = 0;

	if (gvm_cluster_config_load(&cfg, err, sizeof(err)) ||
	    parse_peers() || cfg.node.nodes < 2 || cfg.node.nodes > 64 ||
	    cfg.node.npages <= STAMPED_PAGES || cfg.node.page_shift > 16) {
		fprintf(stderr, "attack: needs a tcp cluster of 2..64 nodes (%s)\n", err);
		return 2;
	}
	if (argc > 1 && !strcmp(argv[1], "mitm"))
		return mitm_main();
	if (!cfg.has_secret) {
		fprintf(stderr, "attack: needs a cluster secret (GVM_SECRET_FILE)\n");
		return 2;
	}
	geom = (struct gvm_wire_geom){.nodes = cfg.node.nodes,
				      .page_size = 1u << cfg.node.page_shift,
				      .npages = cfg.node.npages};
	if (gvm_auth_init(&wrong_key, "not the cluster's secret at all", 31, cfg.auth.flags) ||
	    gvm_cluster_open(&cfg, &c))
		return 1;
	region = gvm_dsm_map(c, NULL);
	gvm_cluster_barrier(c);
	rc |= compute(c, region, 1);
	rss0 = self_rss_kib();
	fds0 = self_open_fds();
	for (uint32_t a = 0; a < sizeof(attacks) / sizeof(attacks[0]); a++) {
		long rss;
		int fds;

		if (gvm_cluster_self(c) == 0)
			for (gvm_node_id t = 0; t < cfg.node.nodes; t++)
				rc |= attacks[a].play(t);
		fflush(stdout);
		gvm_cluster_barrier(c);
		rc |= compute(c, region, a + 2);
		usleep(200000); /* let the nodes close what the attacker closed */
		rss = self_rss_kib();
		fds = self_open_fds();
		if (rss > rss0 + RSS_GROWTH_KIB || fds > fds0 + 4) {
			printf("attack: node %u after %s: RSS %ld KiB (was %ld), %d fds (was %d)\n",
			       gvm_cluster_self(c), attacks[a].name, rss, rss0, fds, fds0);
			rc = 1;
		} else if (gvm_cluster_self(c) == 0) {
			printf("attack: %s: every page correct; node 0 RSS %+ld KiB, fds %+d\n",
			       attacks[a].name, rss - rss0, fds - fds0);
		}
		fflush(stdout);
	}
	printf("attack: node %u after every attack: RSS %+ld KiB, %+d fds\n",
	       gvm_cluster_self(c), self_rss_kib() - rss0, self_open_fds() - fds0);
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
