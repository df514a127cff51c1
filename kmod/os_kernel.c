// SPDX-License-Identifier: MIT
/* os_kernel.c - kernel implementation of the services gvm_os.h promises. */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "os/gvm_os.h"

static int loglevel = GVM_LOG_WARN;
module_param(loglevel, int, 0644);
MODULE_PARM_DESC(loglevel, "engine messages printed: 0 err, 1 warn, 2 info, 3 debug");

/*
 * Frames of a page or more are whole pages, split so that each 4 KiB piece
 * has its own reference count: the device maps them into user space one by
 * one (vm_insert_page) and get_user_pages may hold them.
 */
void *gvm_os_frame_alloc(size_t size)
{
	struct page *pg;
	unsigned int order;

	if (size < PAGE_SIZE)
		return kzalloc(size, GFP_KERNEL); /* power of two: aligned */
	order = get_order(size);
	pg = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	if (!pg)
		return NULL;
	if (order)
		split_page(pg, order);
	return page_address(pg);
}

/* A piece still mapped or pinned somewhere lives until that reference goes. */
void gvm_os_frame_free(void *p, size_t size)
{
	if (size < PAGE_SIZE) {
		kfree(p);
		return;
	}
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		put_page(virt_to_page((char *)p + off));
}

/*
 * The engine waits in faults, ioctls and kthreads until a peer answers or
 * is declared down (heartbeat timeout): killable, so a process stuck on a
 * silent peer can still be killed, and NOLOAD like TASK_IDLE, so a long
 * wait neither counts as load nor trips the hung-task detector.
 */
int gvm_os_cond_wait(gvm_os_cond_t *c, gvm_os_mutex_t *m)
{
	unsigned long gen = READ_ONCE(c->gen);
	int err;

	mutex_unlock(m);
	err = ___wait_event(c->wq, READ_ONCE(c->gen) != gen,
			    (TASK_KILLABLE | TASK_NOLOAD), 0, 0, schedule());
	mutex_lock(m);
	return err ? -EINTR : 0;
}

void gvm_os_cond_broadcast(gvm_os_cond_t *c)
{
	WRITE_ONCE(c->gen, c->gen + 1);
	wake_up_all(&c->wq);
}

void gvm_os_log(int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;

	if (level > READ_ONCE(loglevel))
		return;
	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	switch (level) {
	case GVM_LOG_ERR:
		pr_err("gvm_dsm: %pV\n", &vaf);
		break;
	case GVM_LOG_WARN:
		pr_warn("gvm_dsm: %pV\n", &vaf);
		break;
	case GVM_LOG_INFO:
		pr_info("gvm_dsm: %pV\n", &vaf);
		break;
	default: /* printk, not pr_debug: loglevel alone decides */
		printk(KERN_DEBUG "gvm_dsm: %pV\n", &vaf);
		break;
	}
	va_end(ap);
}
