// SPDX-License-Identifier: MIT
/*
 * gvm-cxl-info - what the CXL backend sees: the dax devices libdaxctl
 * lists, or the layout of a region file (header, node table, rings).
 *
 *   gvm-cxl-info --dax          list dax devices; exit 1 if there are none
 *   gvm-cxl-info FILE           print a region's header, nodes and rings
 *
 * It only reads; a region in use keeps running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../transports/cxl/dax.h"
#include "../transports/cxl/layout.h"

static const char *const states[] = {"free", "up", "left", "?"};

static int show_region(const char *path)
{
	int fd = open(path, O_RDONLY);
	const struct cxl_header *h;
	struct stat st;
	uint8_t *map;

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "gvm-cxl-info: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((uint64_t)st.st_size < CXL_PAGE) {
		fprintf(stderr, "gvm-cxl-info: %s: too small for a region (%lld bytes)\n",
			path, (long long)st.st_size);
		return 1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "gvm-cxl-info: %s: %s\n", path, strerror(errno));
		return 1;
	}
	h = (const struct cxl_header *)map;
	if (h->magic != CXL_MAGIC || h->version != CXL_VERSION) {
		fprintf(stderr, "gvm-cxl-info: %s: not a gvm-dsm CXL region (magic %#llx, version %u)\n",
			path, (unsigned long long)h->magic, h->version);
		return 1;
	}
	printf("%s: version %u, epoch %llu, %u nodes, %u slots a ring, flags %#x\n",
	       path, h->version, (unsigned long long)h->epoch, h->nodes, h->slots, h->flags);
	printf("  size %llu, nodes at %llu, rings at %llu (stride %llu, payload %llu), window at %llu (%llu bytes)\n",
	       (unsigned long long)h->size, (unsigned long long)h->node_off,
	       (unsigned long long)h->ring_off, (unsigned long long)h->ring_stride,
	       (unsigned long long)h->payload,
	       (unsigned long long)h->window_off, (unsigned long long)h->window_len);
	if (h->node_off + (uint64_t)h->nodes * sizeof(struct cxl_node) > (uint64_t)st.st_size ||
	    h->ring_off + (uint64_t)h->nodes * (h->nodes ? h->nodes - 1 : 0) * h->ring_stride >
		    (uint64_t)st.st_size) {
		fprintf(stderr, "gvm-cxl-info: %s: the header describes more than the file holds\n", path);
		return 1;
	}
	for (uint32_t i = 0; i < h->nodes; i++) {
		const struct cxl_node *e = (const struct cxl_node *)(map + h->node_off) + i;

		printf("  node %u: %s, generation %llu, pid %u, heartbeat %llu%s\n", i,
		       states[cxl_status_state(e->status)],
		       (unsigned long long)cxl_status_gen(e->status), e->pid,
		       (unsigned long long)e->beat, e->sleeping ? ", sleeping" : "");
	}
	for (uint32_t i = 0; h->slots && i < h->nodes; i++)
		for (uint32_t j = 0; j < h->nodes; j++) {
			const struct cxl_ring_ctl *c;

			if (i == j)
				continue;
			c = (const struct cxl_ring_ctl *)(map + h->ring_off +
				(i * (h->nodes - 1) + j - (j > i)) * h->ring_stride);
			if (c->tail || c->head || c->prod_closed || c->cons_closed)
				printf("  ring %u->%u: %llu slots written, %llu read%s\n", i, j,
				       (unsigned long long)c->tail, (unsigned long long)c->head,
				       c->prod_closed || c->cons_closed ? ", closed" : "");
		}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--dax")) {
		int n = cxl_dax_list(stdout);

		if (n == 0)
			printf("no dax devices: libdaxctl lists none on this machine (no CXL or persistent memory configured as devdax)\n");
		return n > 0 ? 0 : 1;
	}
	if (argc == 2 && argv[1][0] != '-')
		return show_region(argv[1]);
	fprintf(stderr, "usage: gvm-cxl-info --dax | gvm-cxl-info REGION-FILE\n");
	return 2;
}
