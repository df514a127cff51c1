// SPDX-License-Identifier: MIT
/*
 * Description: system calls on DSM memory that is not resident: the
 * kernel's own accesses fault into the engine like the program's. Two
 * nodes (gvmrun -n 2, thread mode):
 *
 *  - write(2) from a page node 0 filled: node 1's kernel reads it;
 *  - read(2) into a page node 0 owns: node 1's kernel writes it, node 0
 *    then sees what was read;
 *  - a process-shared pthread mutex in DSM memory, contended by two
 *    threads of node 1 (futex calls on the word) while node 0 keeps
 *    reading the page, so the futex word is invalidated and write-protected
 *    under them; the counter it guards must come out exact.
 *
 * Each node prints "syscalls: node I ok" or what went wrong. With a
 * userfaultfd for user-mode faults only, the first call fails with EFAULT:
 * run with GVM_TEST_UFFD_USER_ONLY=1 and the argument "efault" to check
 * exactly that (the limit the README documents).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gvm/cluster.h>

#define PAGE 4096
#define ROUNDS 2000

struct shared {
	uint8_t filled[PAGE];   /* node 0 writes; node 1 write(2)s it out */
	uint8_t read_into[PAGE]; /* node 0 owns; node 1 read(2)s into it */
	pthread_mutex_t lock;   /* on a page of its own, with what it guards */
	uint64_t counter;
	uint8_t pad[PAGE - sizeof(pthread_mutex_t) - sizeof(uint64_t)];
	volatile uint32_t done; /* node 1's threads have finished */
};

static struct shared *sh;

static void *contend(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		if (pthread_mutex_lock(&sh->lock))
			return (void *)1;
		sh->counter++;
		pthread_mutex_unlock(&sh->lock);
	}
	return NULL;
}

static int node1(bool expect_efault)
{
	uint8_t buf[PAGE];
	int pfd[2];
	ssize_t n;
	pthread_t th[2];
	void *ret[2];

	if (pipe(pfd))
		return 1;
	errno = 0;
	n = write(pfd[1], sh->filled, PAGE);
	if (expect_efault) {
		printf("syscalls: node 1: write(2) from a page not resident: %s\n",
		       n < 0 ? strerror(errno) : "it worked");
		return n < 0 && errno == EFAULT ? 0 : 1;
	}
	if (n != PAGE || read(pfd[0], buf, PAGE) != PAGE) {
		printf("syscalls: node 1: write(2) from DSM memory: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < PAGE; i++)
		if (buf[i] != (uint8_t)(i * 7 + 1)) {
			printf("syscalls: node 1: write(2) sent byte %d as %u\n", i, buf[i]);
			return 1;
		}
	memset(buf, 0x5a, PAGE);
	if (write(pfd[1], buf, PAGE) != PAGE ||
	    read(pfd[0], sh->read_into, PAGE) != PAGE) {
		printf("syscalls: node 1: read(2) into DSM memory: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, contend, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], &ret[i]);
	if (ret[0] || ret[1]) {
		printf("syscalls: node 1: pthread_mutex_lock failed\n");
		return 1;
	}
	sh->done = 1;
	return 0;
}

static int node0(void)
{
	uint64_t seen = 0;

	/* Until node 1's threads are done, keep taking the lock's page back. */
	while (!sh->done) {
		uint64_t c = __atomic_load_n(&sh->counter, __ATOMIC_RELAXED);

		if (c < seen) {
			printf("syscalls: node 0: the counter went back from %llu to %llu\n",
			       (unsigned long long)seen, (unsigned long long)c);
			return 1;
		}
		seen = c;
		usleep(50);
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool expect_efault = argc > 1 && !strcmp(argv[1], "efault");
	struct gvm_cluster *c;
	pthread_mutexattr_t a;
	int rc = 0;

	if (gvm_cluster_open(NULL, &c))
		return 1;
	sh = gvm_dsm_map(c, NULL);
	if (gvm_cluster_self(c) == 0) {
		for (int i = 0; i < PAGE; i++)
			sh->filled[i] = (uint8_t)(i * 7 + 1);
		memset(sh->read_into, 0, PAGE);
		pthread_mutexattr_init(&a);
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_mutex_init(&sh->lock, &a);
	}
	gvm_cluster_barrier(c);
	if (gvm_cluster_self(c) == 1)
		rc = node1(expect_efault);
	else if (!expect_efault)
		rc = node0();
	gvm_cluster_barrier(c);
	if (!rc && !expect_efault && gvm_cluster_self(c) == 0) {
		for (int i = 0; i < PAGE; i++)
			if (sh->read_into[i] != 0x5a) {
				printf("syscalls: node 0: byte %d of what node 1 read(2) is %u\n",
				       i, sh->read_into[i]);
				rc = 1;
				break;
			}
		if (sh->counter != 2 * ROUNDS) {
			printf("syscalls: node 0: counter %llu, want %d\n",
			       (unsigned long long)sh->counter, 2 * ROUNDS);
			rc = 1;
		}
	}
	if (!rc)
		printf("syscalls: node %u ok\n", gvm_cluster_self(c));
	gvm_cluster_barrier(c);
	gvm_cluster_close(c);
	return rc;
}
