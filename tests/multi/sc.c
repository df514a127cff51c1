// SPDX-License-Identifier: MIT
/*
 * Description: a random read/write history on mapped DSM memory is
 * sequentially consistent.
 *
 *	gvmrun -n N -- multi-sc [ops-per-node]
 *
 * Every node does random loads and atomic increments (lock xadd) on words
 * spread over shared pages, some words sharing a page, some alone. Because
 * each write is an increment, a word's values number its writes: the value
 * a write returns gives the coherence order, and the value a load sees
 * names the write it read from. Each node logs its operations into its own
 * part of the region; node 0 then builds program order, reads-from,
 * coherence and from-read edges over every node's log and checks that the
 * graph has no cycle (a cycle is exactly a violation of sequential
 * consistency), and that no write was lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gvm/cluster.h>

#define PAGE 4096
#define WORDS 16            /* 0..7 share page 0; 8..15 have a page each */
#define MAX_OPS 4096
#define LOG_BASE (16 * PAGE) /* logs start here, one slot per node */

struct op {
	uint32_t word;
	uint32_t is_write;
	uint64_t value; /* load: value seen; write: value before the increment */
};

static volatile uint64_t *word_addr(uint8_t *base, uint32_t w)
{
	if (w < 8)
		return (volatile uint64_t *)(base + w * 64);
	return (volatile uint64_t *)(base + (w - 7) * PAGE);
}

/* Graph check over all logs: nodes are operations, numbered node-major. */
struct graph {
	uint32_t n;
	uint32_t *indeg;
	uint32_t **adj;
	uint32_t *deg, *cap;
};

static void edge(struct graph *g, uint32_t a, uint32_t b)
{
	if (g->deg[a] == g->cap[a]) {
		g->cap[a] = g->cap[a] ? 2 * g->cap[a] : 4;
		g->adj[a] = realloc(g->adj[a], g->cap[a] * sizeof(uint32_t));
		if (!g->adj[a])
			abort();
	}
	g->adj[a][g->deg[a]++] = b;
	g->indeg[b]++;
}

static int check(struct op **logs, const uint32_t *counts, uint32_t nodes)
{
	uint32_t total = 0, *first, done = 0, *stack, top = 0;
	/* writer[w][v]: the op that wrote value v + 1 of word w */
	uint32_t *writer[WORDS];
	uint64_t final[WORDS] = {0};
	struct graph g;

	first = calloc(nodes + 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < nodes; i++) {
		first[i] = total;
		total += counts[i];
	}
	first[nodes] = total;
	for (uint32_t i = 0; i < nodes; i++)
		for (uint32_t k = 0; k < counts[i]; k++)
			if (logs[i][k].is_write && logs[i][k].value + 1 > final[logs[i][k].word])
				final[logs[i][k].word] = logs[i][k].value + 1;
	for (uint32_t w = 0; w < WORDS; w++) {
		writer[w] = malloc((final[w] + 1) * sizeof(uint32_t));
		for (uint64_t v = 0; v <= final[w]; v++)
			writer[w][v] = UINT32_MAX;
	}
	for (uint32_t i = 0; i < nodes; i++)
		for (uint32_t k = 0; k < counts[i]; k++) {
			struct op *o = &logs[i][k];

			if (!o->is_write)
				continue;
			if (writer[o->word][o->value] != UINT32_MAX) {
				printf("sc: word %u: two writes both saw %llu (an update was lost)\n",
				       o->word, (unsigned long long)o->value);
				return 1;
			}
			writer[o->word][o->value] = first[i] + k;
		}
	for (uint32_t w = 0; w < WORDS; w++)
		for (uint64_t v = 0; v < final[w]; v++)
			if (writer[w][v] == UINT32_MAX) {
				printf("sc: word %u reached %llu but no write saw %llu\n", w,
				       (unsigned long long)final[w], (unsigned long long)v);
				return 1;
			}
	g.n = total;
	g.indeg = calloc(total, sizeof(uint32_t));
	g.adj = calloc(total, sizeof(uint32_t *));
	g.deg = calloc(total, sizeof(uint32_t));
	g.cap = calloc(total, sizeof(uint32_t));
	for (uint32_t i = 0; i < nodes; i++)
		for (uint32_t k = 0; k < counts[i]; k++) {
			struct op *o = &logs[i][k];
			uint32_t me = first[i] + k;
			uint64_t v = o->value; /* the value this op read */

			if (k + 1 < counts[i])
				edge(&g, me, me + 1); /* program order */
			if (v > final[o->word]) {
				printf("sc: node %u read %llu from word %u, never written\n", i,
				       (unsigned long long)v, o->word);
				return 1;
			}
			/* reads-from (and, for a write, coherence from the one before) */
			if (v > 0)
				edge(&g, writer[o->word][v - 1], me);
			/* the next write of the word follows: coherence or from-read */
			if (o->is_write && v + 1 < final[o->word])
				edge(&g, me, writer[o->word][v + 1]);
			else if (!o->is_write && v < final[o->word])
				edge(&g, me, writer[o->word][v]);
		}
	stack = malloc(total * sizeof(uint32_t));
	for (uint32_t x = 0; x < total; x++)
		if (!g.indeg[x])
			stack[top++] = x;
	while (top) {
		uint32_t x = stack[--top];

		done++;
		for (uint32_t e = 0; e < g.deg[x]; e++)
			if (--g.indeg[g.adj[x][e]] == 0)
				stack[top++] = g.adj[x][e];
	}
	if (done != total) {
		printf("sc: the history has a cycle: %u of %u operations cannot be ordered\n",
		       total - done, total);
		return 1;
	}
	printf("sc: %u operations on %u nodes: sequentially consistent\n", total, nodes);
	return 0;
}

/*
 * --self-test: histories that are not sequentially consistent must be
 * caught, or the check proves nothing. Store buffering: each node writes
 * its word, then reads the other's as never written.
 */
static int self_test(void)
{
	struct op a[] = {{0, 1, 0}, {1, 0, 0}}; /* x++ (saw 0); read y = 0 */
	struct op b[] = {{1, 1, 0}, {0, 0, 0}}; /* y++ (saw 0); read x = 0 */
	struct op c[] = {{0, 1, 0}};            /* x++ (saw 0) too: lost update */
	struct op ok1[] = {{0, 1, 0}, {1, 0, 1}};
	struct op ok2[] = {{1, 1, 0}, {0, 0, 1}};
	struct op *sb[] = {a, b}, *lost[] = {a, c}, *fine[] = {ok1, ok2};
	uint32_t two[] = {2, 2}, lost_n[] = {2, 1};

	if (!check(sb, two, 2) || !check(lost, lost_n, 2) || check(fine, two, 2)) {
		printf("sc: self-test FAILED: the checker misjudges known histories\n");
		return 1;
	}
	printf("sc: self-test: store buffering and a lost update are caught\n");
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t ops;
	struct gvm_cluster *c;
	uint32_t self, nodes, *counts;
	struct op *mine, **logs;
	uint64_t seed;
	uint8_t *base;
	size_t len;
	int rc = 0;

	if (argc > 1 && !strcmp(argv[1], "--self-test"))
		return self_test();
	ops = argc > 1 ? (uint32_t)atoi(argv[1]) : 2000;
	if (ops == 0 || ops > MAX_OPS) {
		fprintf(stderr, "usage: multi-sc [ops-per-node 1..%d]\n", MAX_OPS);
		return 2;
	}
	if (gvm_cluster_open(NULL, &c))
		return 1;
	base = gvm_dsm_map(c, &len);
	self = gvm_cluster_self(c);
	nodes = gvm_cluster_nodes(c);
	if (LOG_BASE + (size_t)nodes * (MAX_OPS * sizeof(struct op) + PAGE) > len) {
		fprintf(stderr, "sc: region too small\n");
		return 2;
	}
	/* Each node's log slot: a count, then its operations. */
	counts = (uint32_t *)(base + LOG_BASE + (size_t)self * (MAX_OPS * sizeof(struct op) + PAGE));
	mine = (struct op *)((uint8_t *)counts + PAGE);
	seed = 0x9e3779b97f4a7c15ull * (self + 1) + 12345;
	gvm_cluster_barrier(c);
	for (uint32_t k = 0; k < ops; k++) {
		struct op o;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		o.word = (uint32_t)(seed % WORDS);
		o.is_write = (seed >> 32) % 2;
		if (o.is_write)
			o.value = __atomic_fetch_add(word_addr(base, o.word), 1, __ATOMIC_SEQ_CST);
		else
			o.value = *word_addr(base, o.word);
		mine[k] = o; /* our own log pages: no remote traffic */
	}
	*counts = ops;
	gvm_cluster_barrier(c);
	if (self == 0) {
		uint32_t n[64];

		logs = calloc(nodes, sizeof(*logs));
		for (uint32_t i = 0; i < nodes && i < 64; i++) {
			uint8_t *slot = base + LOG_BASE + (size_t)i * (MAX_OPS * sizeof(struct op) + PAGE);

			n[i] = *(uint32_t *)slot;
			logs[i] = malloc(n[i] * sizeof(struct op));
			memcpy(logs[i], slot + PAGE, n[i] * sizeof(struct op));
		}
		rc = check(logs, n, nodes);
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
