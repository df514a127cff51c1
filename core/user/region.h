/* SPDX-License-Identifier: MIT */
/* region.h - the mapped-region front end, inside libgvmdsm (see region.c). */
#ifndef GVM_REGION_H
#define GVM_REGION_H

#include <gvm/cluster.h>

struct gvm_region;

/* Engine callbacks for r (they differ with gvm_region_frames_mapped); their
 * argument is the region. */
const struct gvm_frontend_ops *gvm_region_frontend(const struct gvm_region *r);

/*
 * Map npages pages of page_size bytes and set up fault delivery in mode
 * (AUTO: a handler thread, or mprotect if userfaultfd is refused, said once
 * in the log). Returns 0 or -errno.
 */
int gvm_region_create(enum gvm_fault_mode mode, size_t page_size,
		      uint64_t npages, struct gvm_region **out);
struct gvm_progress;

/*
 * Start resolving faults through node (created with gvm_region_frontend(r));
 * the threads that wait for pages drive its transport through progress.
 */
int gvm_region_start(struct gvm_region *r, struct gvm_node *node,
		     struct gvm_progress *progress);
void gvm_region_destroy(struct gvm_region *r);

void *gvm_region_base(const struct gvm_region *r);
size_t gvm_region_len(const struct gvm_region *r);
enum gvm_fault_mode gvm_region_mode(const struct gvm_region *r);
/* Are the engine's frames the mapping's own memory (one copy of a page)? */
bool gvm_region_frames_mapped(const struct gvm_region *r);

#endif /* GVM_REGION_H */
