/* SPDX-License-Identifier: MIT */
/*
 * gvm_dsm_kapi.h - what gvm_dsm.ko exports to other kernel code: the
 * engine's acquire/release on a node created through /dev/gvm_dsm, for a
 * hypervisor's fault path (kmod/README.md, "KVM").
 *
 *	kd = gvm_kdsm_from_fd(fd);             // QEMU hands the fd over
 *	err = gvm_kdsm_acquire(kd, page, true, &kaddr);   // sleeps
 *	... map virt_to_page(kaddr) (EPT), or copy ...
 *	gvm_kdsm_release(kd, page);            // after the mapping is in place
 *	gvm_kdsm_put(kd);
 *
 * Between acquire and release the page is pinned: no invalidation,
 * downgrade or transfer takes effect, so a mapping installed in that
 * window is coherent. Whoever maps the frame elsewhere (an EPT) must also
 * hear when the right goes: gvm_kdsm_set_notifier().
 */
#ifndef GVM_DSM_KAPI_H
#define GVM_DSM_KAPI_H

#include <linux/types.h>

struct gvm_kdsm;
struct gvm_frontend_ops;

/* The node behind an open /dev/gvm_dsm fd; a reference, or ERR_PTR(-errno). */
struct gvm_kdsm *gvm_kdsm_from_fd(int fd);
void gvm_kdsm_put(struct gvm_kdsm *kd);

/*
 * Blocking acquire of page for reading or writing; *kaddr receives the
 * frame (1 << gvm_kdsm_page_shift() bytes, page aligned; lowmem, or the
 * vmalloc'ed window slot of a promoted page). Returns 0 with the page
 * pinned, -ENOTCONN before JOIN, -EINVAL for a bad page, -EHOSTDOWN if the
 * page was lost with a node, -EINTR if the calling task is being killed
 * (the wait is killable, like a KVM vCPU's).
 */
int gvm_kdsm_acquire(struct gvm_kdsm *kd, u64 page, bool write, void **kaddr);
/* Unpin; deferred invalidations and remote requests proceed. */
void gvm_kdsm_release(struct gvm_kdsm *kd, u64 page);

unsigned int gvm_kdsm_page_shift(struct gvm_kdsm *kd);
u64 gvm_kdsm_npages(struct gvm_kdsm *kd);

/*
 * Be told, after the device has unmapped the page from user space and
 * before the engine gives the right away, that a page is invalidated or
 * downgraded (engine lock held: do not call back into the engine; the
 * writeback argument is the frame itself and needs no copy). ops == NULL
 * removes it; when this returns no call to the old ops is in progress.
 */
void gvm_kdsm_set_notifier(struct gvm_kdsm *kd,
			   const struct gvm_frontend_ops *ops, void *arg);

#endif /* GVM_DSM_KAPI_H */
