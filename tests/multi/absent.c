// SPDX-License-Identifier: MIT
/*
 * Description: a node that never comes up is not waited for forever. Run
 * with a launcher where one node exits at once without joining; the others
 * pass the barrier once node 0's dial to it fails (connect_timeout_ms).
 *
 *	gvmrun -n 3 -- sh -c '[ $GVM_NODE_ID = 2 ] || exec multi-absent'
 *
 * Each node that joins prints "absent: node I passed the barrier in T ms".
 * An argument S keeps the node up S seconds after the barrier (a peer for
 * tests/vm's killable-fault check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <gvm/cluster.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	long long t0 = now_ms();
	int err;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	err = gvm_cluster_barrier(c);
	printf("absent: node %u passed the barrier in %lld ms (%d)\n", gvm_cluster_self(c),
	       now_ms() - t0, err);
	fflush(stdout);
	if (argc > 1)
		sleep((unsigned int)atoi(argv[1]));
	gvm_cluster_close(c);
	return err ? 1 : 0;
}
