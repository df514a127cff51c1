// SPDX-License-Identifier: MIT
/*
 * gvm_kapi_test.c - a second module that uses gvm_dsm.ko's exported API
 * the way a hypervisor's fault path would: take the node behind a
 * /dev/gvm_dsm fd, register a notifier, acquire a page, touch its frame,
 * release it; the notifier counts the invalidations and downgrades the
 * engine announces. Driven by tests/vm/kapi.c through /dev/gvm_kapi_test.
 */
#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <gvm/dsm.h>

#include "gvm_dsm_kapi.h"
#include "gvm_kapi_test.h"

struct kapi_user {
	struct mutex lock; /* kd */
	struct gvm_kdsm *kd;
	atomic64_t invalidations, downgrades;
};

/* Engine lock held: count only (an EPT would be zapped here). */
static void on_invalidate(void *arg, gvm_page_t page, void *writeback)
{
	struct kapi_user *u = arg;

	atomic64_inc(&u->invalidations);
}

static void on_downgrade(void *arg, gvm_page_t page, void *writeback)
{
	struct kapi_user *u = arg;

	atomic64_inc(&u->downgrades);
}

static const struct gvm_frontend_ops kapi_notifier = {
	.invalidate = on_invalidate,
	.downgrade = on_downgrade,
};

static long kapi_touch(struct kapi_user *u, struct gvm_kapi_touch *t)
{
	void *frame;
	int err;

	mutex_lock(&u->lock);
	if (!u->kd) {
		struct gvm_kdsm *kd = gvm_kdsm_from_fd(t->fd);

		if (IS_ERR(kd)) {
			mutex_unlock(&u->lock);
			return PTR_ERR(kd);
		}
		u->kd = kd;
		gvm_kdsm_set_notifier(kd, &kapi_notifier, u);
	}
	mutex_unlock(&u->lock);
	err = gvm_kdsm_acquire(u->kd, t->page, t->write, &frame);
	if (err)
		return err;
	if (t->write)
		WRITE_ONCE(*(u64 *)frame, t->value);
	else
		t->value = READ_ONCE(*(u64 *)frame);
	gvm_kdsm_release(u->kd, t->page);
	t->invalidations = atomic64_read(&u->invalidations);
	t->downgrades = atomic64_read(&u->downgrades);
	return 0;
}

static long kapi_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct gvm_kapi_touch t;
	long err;

	if (cmd != GVM_KAPI_TOUCH)
		return -ENOTTY;
	if (copy_from_user(&t, (void __user *)arg, sizeof(t)))
		return -EFAULT;
	if (t.write > 1)
		return -EINVAL;
	err = kapi_touch(f->private_data, &t);
	if (!err && copy_to_user((void __user *)arg, &t, sizeof(t)))
		err = -EFAULT;
	return err;
}

static int kapi_open(struct inode *inode, struct file *f)
{
	struct kapi_user *u = kzalloc(sizeof(*u), GFP_KERNEL);

	if (!u)
		return -ENOMEM;
	mutex_init(&u->lock);
	f->private_data = u;
	return 0;
}

static int kapi_release(struct inode *inode, struct file *f)
{
	struct kapi_user *u = f->private_data;

	if (u->kd) {
		gvm_kdsm_set_notifier(u->kd, NULL, NULL);
		gvm_kdsm_put(u->kd);
	}
	kfree(u);
	return 0;
}

static const struct file_operations kapi_fops = {
	.owner = THIS_MODULE,
	.open = kapi_open,
	.release = kapi_release,
	.unlocked_ioctl = kapi_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kapi_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gvm_kapi_test",
	.fops = &kapi_fops,
	.mode = 0600,
};

module_misc_device(kapi_misc);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("gvm-dsm: a user of gvm_dsm.ko's exported API, for tests");
