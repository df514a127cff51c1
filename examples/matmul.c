// SPDX-License-Identifier: MIT
/*
 * matmul - a blocked matrix multiply on DSM memory, with a known answer.
 *
 *	build/gvmrun -n 4 -- build/examples/matmul [n]
 *
 * Node 0 fills A and B in the shared region; every node then computes its
 * share of the row blocks of C = A x B, reading A and B (pages become
 * shared copies everywhere) and writing its rows of C (pages move to their
 * writer). Node 0 finally checks C against the closed form: with
 * A[i][k] = i + k and B[k][j] = k - j (mod 2^32 arithmetic),
 * C[i][j] = sum_k (i + k)(k - j).
 */
#include <stdio.h>
#include <stdlib.h>

#include <gvm/cluster.h>

#define BLOCK 16

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 128, self, nodes;
	uint32_t *a, *b, *m;
	size_t len;
	int rc = 0;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	m = gvm_dsm_map(c, &len);
	if (n == 0 || (size_t)n * n * 3 * sizeof(uint32_t) > len) {
		fprintf(stderr, "matmul: %u x %u does not fit a %zu-byte region (GVM_REGION_SIZE)\n",
			n, n, len);
		gvm_cluster_close(c);
		return 2;
	}
	a = m;
	b = a + (size_t)n * n;
	m = b + (size_t)n * n; /* C */
	self = gvm_cluster_self(c);
	nodes = gvm_cluster_nodes(c);
	if (self == 0)
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < n; k++) {
				a[(size_t)i * n + k] = i + k;
				b[(size_t)i * n + k] = i - k;
			}
	gvm_cluster_barrier(c);
	/* Row blocks dealt round-robin: each node writes its own C rows. */
	for (uint32_t ib = self * BLOCK; ib < n; ib += nodes * BLOCK)
		for (uint32_t i = ib; i < ib + BLOCK && i < n; i++)
			for (uint32_t j = 0; j < n; j++) {
				uint32_t s = 0;

				for (uint32_t k = 0; k < n; k++)
					s += a[(size_t)i * n + k] * b[(size_t)k * n + j];
				m[(size_t)i * n + j] = s;
			}
	gvm_cluster_barrier(c);
	if (self == 0) {
		uint64_t wrong = 0;

		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < n; j++) {
				uint32_t s = 0;

				for (uint32_t k = 0; k < n; k++)
					s += (i + k) * (k - j);
				wrong += m[(size_t)i * n + j] != s;
			}
		printf("matmul: %u x %u on %u nodes, %s faults: %llu wrong entries\n", n, n,
		       nodes, gvm_fault_mode_name(gvm_cluster_fault_mode(c)),
		       (unsigned long long)wrong);
		rc = wrong ? 1 : 0;
	}
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
