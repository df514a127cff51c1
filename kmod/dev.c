// SPDX-License-Identifier: MIT
/*
 * dev.c - /dev/gvm_dsm: each open file is one node of a cluster; its
 * regions mmap DSM memory whose faults run the engine.
 *
 * Mapping. A node's mappings show the engine's frames themselves: a fault
 * acquires the page (pinned), inserts the frame's struct page with
 * vm_insert_page and only then releases it, so an invalidation can never
 * slip between "granted" and "mapped" (region.c pins for the same reason).
 * The VMA is VM_MIXEDMAP with normal, refcounted pages, so get_user_pages
 * (process_vm_readv, O_DIRECT, KVM's hva_to_pfn) works on it.
 *
 *	INVALID   no PTE
 *	SHARED    read-only PTE (shared mappings with page_mkwrite start so)
 *	MODIFIED  writable PTE, made so by page_mkwrite
 *	PROMOTED  the page's slot of a shared window, mapped the same way
 *
 * Windows. Nodes of this kernel that name one window id at join share a
 * vmalloc'ed window (the promotion target of core/PROTOCOL.md): a promoted
 * page's PTEs, in every node's mappings, point at its slot's pages. It is
 * freed with the last node using it.
 *
 * Invalidation and downgrade both zap the page's PTEs in every mapping of
 * the node (unmap_mapping_range on the node's own address_space, which
 * covers forked children and fires MMU notifiers, so KVM drops its EPT
 * entries too). A downgraded page is then faulted back read-only on the
 * next read: one local fault, no message. Because the mapping is the frame,
 * the engine's writeback frame needs no copy.
 *
 * page_mkwrite acquires the page for writing, but the PTE is made writable
 * by the mm after it returns, when the pin is gone. The mm re-checks the
 * PTE under its lock and retries if a zap came first; and page_mkwrite
 * returns with the page locked, which faults take before inserting, so a
 * zap followed by a fresh read-only insert cannot look like the old PTE.
 *
 * Lifetime. A node (struct gvm_kdsm) is referenced by its file, which every
 * VMA holds, and by in-kernel users (gvm_dsm_kapi.h). The module cannot be
 * unloaded while a file is open or a region mapped (the file's module
 * reference). The last reference stops the progress kthread, destroys the
 * engine node and closes the transport, in the order userspace uses.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/net.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <net/sock.h>

#include <gvm/auth.h>
#include <gvm/dsm.h>

#include "os/gvm_os.h"
#include "gvm_dsm_kapi.h"
#include "gvm_dsm_uapi.h"
#include "tcp/tcp_kern.h"

static_assert(GVM_DSM_KEY_LEN == GVM_AUTH_KEY_LEN);

#define GVM_DSM_FS_MAGIC 0x67766d64 /* "gvmd" */
#define GVM_DSM_MAX_NODES 1024u
#define GVM_DSM_MAX_BYTES (16ull << 30)

struct gvm_kregion {
	u64 first, npages; /* engine pages; npages 0: slot free */
};

struct gvm_kwindow {
	struct list_head link; /* gvm_windows */
	u64 cluster_id;        /* a window is one cluster's: id alone could clash */
	u32 id, pages, users;
	void *base;            /* vmalloc_user: zeroed, mappable */
};

static LIST_HEAD(gvm_windows); /* under gvm_nodes_lock */

struct gvm_kdsm {
	struct kref ref;
	struct list_head link;   /* gvm_nodes */
	u32 handle;
	struct inode *inode;     /* our own address_space for the mappings */
	struct mutex lock;       /* joining and regions */
	bool joined;
	struct gvm_config cfg;
	unsigned int sub_shift;  /* engine page = 1 << sub_shift pages */
	struct gvm_transport *tp;
	struct gvm_node *node;
	struct task_struct *progress;
	struct gvm_kwindow *window;
	char *policy;            /* "name[:options]" as joined, NULL: never */
	struct gvm_kregion regions[GVM_DSM_MAX_REGIONS];
	struct rw_semaphore notify_sem;
	const struct gvm_frontend_ops *notify;
	void *notify_arg;
	atomic64_t vm_faults, vm_mkwrites, zaps, sigbus;
};

static LIST_HEAD(gvm_nodes);
static DEFINE_MUTEX(gvm_nodes_lock);
static u32 gvm_next_handle = 1;

static struct vfsmount *gvm_mnt;
static int gvm_mnt_count;

/* ==== A pseudo filesystem: one inode, one address_space, per node ==== */

static int gvm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, GVM_DSM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type gvm_fs_type = {
	.name = "gvm_dsm",
	.owner = THIS_MODULE,
	.init_fs_context = gvm_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* ==== Engine callbacks (engine lock held) ==== */

static void zap(struct gvm_kdsm *kd, gvm_page_t p)
{
	loff_t size = (loff_t)PAGE_SIZE << kd->sub_shift;

	unmap_mapping_range(kd->inode->i_mapping, (loff_t)p * size, size, 1);
	atomic64_inc(&kd->zaps);
}

/* Zap first, then tell a kernel user (gvm_kdsm_set_notifier) with its op. */
static void kdev_take_right(struct gvm_kdsm *kd, gvm_page_t p, void *writeback,
			    bool downgrade)
{
	void (*op)(void *arg, gvm_page_t page, void *writeback) = NULL;

	zap(kd, p);
	down_read(&kd->notify_sem);
	if (kd->notify)
		op = downgrade ? kd->notify->downgrade : kd->notify->invalidate;
	if (op)
		op(kd->notify_arg, p, writeback);
	up_read(&kd->notify_sem);
}

static void kdev_invalidate(void *arg, gvm_page_t p, void *writeback)
{
	kdev_take_right(arg, p, writeback, false);
}

static void kdev_downgrade(void *arg, gvm_page_t p, void *writeback)
{
	kdev_take_right(arg, p, writeback, true);
}

static const struct gvm_frontend_ops kdev_frontend = {
	.invalidate = kdev_invalidate,
	.downgrade = kdev_downgrade,
};

/* ==== Nodes ==== */

static int progress_main(void *arg)
{
	struct gvm_kdsm *kd = arg;
	u64 last_tick = 0;

	while (!kthread_should_stop()) {
		u64 now;

		/* Sleep until something comes: a kernel thread does not spin. */
		gvm_tp_poll(kd->tp, 10 * NSEC_PER_MSEC, 0, 0);
		now = ktime_get_ns();
		if (now - last_tick >= NSEC_PER_MSEC) { /* the policy's clock */
			gvm_node_tick(kd->node, now);
			last_tick = now;
		}
	}
	return 0;
}

/* The window named id in cluster, shared with its other nodes in this kernel. */
static struct gvm_kwindow *window_get(u64 cluster, u32 id, u32 pages, int *err)
{
	struct gvm_kwindow *w;

	mutex_lock(&gvm_nodes_lock);
	list_for_each_entry(w, &gvm_windows, link)
		if (w->id == id && w->cluster_id == cluster) {
			*err = w->pages == pages ? 0 : -EINVAL;
			if (!*err)
				w->users++;
			goto out_unlock;
		}
	*err = -ENOMEM;
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		goto out_unlock;
	w->base = vmalloc_user((unsigned long)pages << PAGE_SHIFT);
	if (!w->base) {
		kfree(w);
		w = NULL;
		goto out_unlock;
	}
	w->cluster_id = cluster;
	w->id = id;
	w->pages = pages;
	w->users = 1;
	list_add(&w->link, &gvm_windows);
	*err = 0;
out_unlock:
	mutex_unlock(&gvm_nodes_lock);
	return *err ? NULL : w;
}

static void window_put(struct gvm_kwindow *w)
{
	if (!w)
		return;
	mutex_lock(&gvm_nodes_lock);
	if (--w->users == 0) {
		list_del(&w->link);
		vfree(w->base);
		kfree(w);
	}
	mutex_unlock(&gvm_nodes_lock);
}

/* The struct page behind an address of a frame or of a window slot. */
static struct page *frame_page(const void *addr)
{
	return is_vmalloc_addr(addr) ? vmalloc_to_page(addr) : virt_to_page(addr);
}

static struct gvm_kdsm *kdsm_new(void)
{
	struct gvm_kdsm *kd = kzalloc(sizeof(*kd), GFP_KERNEL);
	int err;

	if (!kd)
		return ERR_PTR(-ENOMEM);
	kref_init(&kd->ref);
	mutex_init(&kd->lock);
	init_rwsem(&kd->notify_sem);
	err = simple_pin_fs(&gvm_fs_type, &gvm_mnt, &gvm_mnt_count);
	if (err) {
		kfree(kd);
		return ERR_PTR(err);
	}
	kd->inode = alloc_anon_inode(gvm_mnt->mnt_sb);
	if (IS_ERR(kd->inode)) {
		err = PTR_ERR(kd->inode);
		simple_release_fs(&gvm_mnt, &gvm_mnt_count);
		kfree(kd);
		return ERR_PTR(err);
	}
	mutex_lock(&gvm_nodes_lock);
	kd->handle = gvm_next_handle++;
	list_add_tail(&kd->link, &gvm_nodes);
	mutex_unlock(&gvm_nodes_lock);
	return kd;
}

/* Stop and free an engine node and its transport (join's undo). */
static void kdsm_leave(struct gvm_kdsm *kd)
{
	if (kd->progress)
		kthread_stop(kd->progress);
	kd->progress = NULL;
	gvm_node_destroy(kd->node);
	kd->node = NULL;
	if (kd->tp)
		gvm_tp_close(kd->tp);
	kd->tp = NULL;
	window_put(kd->window); /* no mapping is left: the file is going */
	kd->window = NULL;
	kfree(kd->policy);
	kd->policy = NULL;
}

static void kdsm_free(struct kref *ref)
{
	struct gvm_kdsm *kd = container_of(ref, struct gvm_kdsm, ref);

	mutex_lock(&gvm_nodes_lock);
	list_del(&kd->link);
	mutex_unlock(&gvm_nodes_lock);
	kdsm_leave(kd);
	iput(kd->inode);
	simple_release_fs(&gvm_mnt, &gvm_mnt_count);
	kfree(kd);
}

/* A listening TCP socket the caller passes by fd (gvmrun makes them). */
static struct socket *listen_socket(int fd, int *err)
{
	struct socket *sock = sockfd_lookup(fd, err);

	if (!sock)
		return NULL;
	if (sock->type != SOCK_STREAM || sock->sk->sk_protocol != IPPROTO_TCP ||
	    (sock->sk->sk_family != AF_INET && sock->sk->sk_family != AF_INET6) ||
	    sock->sk->sk_state != TCP_LISTEN) {
		sockfd_put(sock);
		*err = -EINVAL;
		return NULL;
	}
	return sock;
}

static int check_join(const struct gvm_ioc_join *j)
{
	if (j->flags & ~(GVM_JOIN_EAGER | GVM_JOIN_TAGS | GVM_JOIN_INSECURE) || j->reserved0 ||
	    j->reserved1 || (j->flags & GVM_JOIN_TAGS && !j->key))
		return -EINVAL;
	if (!j->window_id != !j->window_pages || j->window_pages > GVM_DSM_MAX_WINDOW_PAGES)
		return -EINVAL;
	if (!j->policy != !j->policy_len || j->policy_len > GVM_DSM_MAX_POLICY_LEN)
		return -EINVAL;
	if (!j->nodes || j->nodes > GVM_DSM_MAX_NODES || j->self >= j->nodes)
		return -EINVAL;
	if (j->page_shift < PAGE_SHIFT || j->page_shift > GVM_PAGE_SHIFT_MAX)
		return -EINVAL;
	if (!j->npages || j->npages > GVM_DSM_MAX_BYTES >> j->page_shift)
		return -EINVAL;
	if (j->manager < GVM_MANAGER_FIXED || j->manager > GVM_MANAGER_CENTRAL)
		return -EINVAL;
	if (j->listen_fd < -1 || j->heartbeat_ms > 60000 || j->timeout_ms > 600000)
		return -EINVAL;
	if (j->peers_len < 2 || j->peers_len > GVM_DSM_MAX_PEERS_LEN || !j->peers)
		return -EINVAL;
	return 0;
}

/* The policy ("name[:options]") and the window a join asks for. */
static int join_promotion(struct gvm_kdsm *kd, const struct gvm_ioc_join *j)
{
	char *colon;
	int err = 0;

	if (j->policy) {
		kd->policy = memdup_user((void __user *)(uintptr_t)j->policy, j->policy_len);
		if (IS_ERR(kd->policy)) {
			err = PTR_ERR(kd->policy);
			kd->policy = NULL;
			return err;
		}
		if (strnlen(kd->policy, j->policy_len) != j->policy_len - 1)
			return -EINVAL;
		colon = strchr(kd->policy, ':');
		if (colon)
			*colon = 0;
		kd->cfg.policy = gvm_policy_find(kd->policy);
		kd->cfg.policy_options = colon ? colon + 1 : NULL;
		if (!kd->cfg.policy)
			return -EINVAL;
	}
	if (j->window_id) {
		kd->window = window_get(j->cluster_id, j->window_id, j->window_pages, &err);
		if (err)
			return err;
		kd->cfg.window = kd->window->base;
		kd->cfg.window_len = (u64)j->window_pages << PAGE_SHIFT;
	}
	return 0;
}

static int kdsm_join(struct gvm_kdsm *kd, const struct gvm_ioc_join *j)
{
	struct gvm_transport_params tp = {};
	struct socket *lsock = NULL;
	struct gvm_hello hello;
	struct gvm_auth auth = {};
	char *peers, *uri;
	int err;

	if (j->key) {
		if (copy_from_user(auth.key, (void __user *)(uintptr_t)j->key, GVM_DSM_KEY_LEN))
			return -EFAULT;
		auth.flags = j->flags & GVM_JOIN_TAGS ? GVM_AUTH_TAGS : 0;
	}

	peers = memdup_user((void __user *)(uintptr_t)j->peers, j->peers_len);
	if (IS_ERR(peers))
		return PTR_ERR(peers);
	/* One NUL, at the end; the options are ours to add. */
	if (strnlen(peers, j->peers_len) != j->peers_len - 1 || strchr(peers, '?')) {
		kfree(peers);
		return -EINVAL;
	}
	uri = kasprintf(GFP_KERNEL, "tcp:%s?heartbeat_ms=%u&timeout_ms=%u", peers,
			j->heartbeat_ms ? j->heartbeat_ms : 200,
			j->timeout_ms ? j->timeout_ms : 3000);
	kfree(peers);
	if (!uri)
		return -ENOMEM;
	if (j->listen_fd >= 0) {
		lsock = listen_socket(j->listen_fd, &err);
		if (!lsock)
			goto out_free;
	}
	kd->cfg = (struct gvm_config){
		.cluster_id = j->cluster_id,
		.self = j->self,
		.nodes = j->nodes,
		.page_shift = j->page_shift,
		.npages = j->npages,
		.manager = j->manager,
		.frontend = &kdev_frontend,
		.frontend_arg = kd,
	};
	kd->sub_shift = j->page_shift - PAGE_SHIFT;
	err = join_promotion(kd, j);
	if (err) {
		if (lsock)
			sockfd_put(lsock);
		goto out_leave;
	}
	gvm_config_hello(&kd->cfg, &hello);
	tp.self = j->self;
	tp.nodes = j->nodes;
	tp.uri = uri;
	tp.ctx = lsock; /* the endpoint owns it now, even on failure */
	tp.hello = &hello;
	tp.auth = j->key ? &auth : NULL; /* the endpoint keeps a copy */
	tp.insecure_ok = j->flags & GVM_JOIN_INSECURE;
	tp.recv = gvm_node_recv;
	tp.peer_down = gvm_node_peer_down;
	err = gvm_transport_open(&gvm_tcp_kern_ops, &tp, &kd->tp);
	memzero_explicit(&auth, sizeof(auth));
	if (err)
		goto out_free;
	err = gvm_node_create(&kd->cfg, kd->tp, &kd->node);
	if (err)
		goto out_leave;
	/* Nothing is delivered before the progress thread runs. */
	kd->tp->recv_arg = kd->node;
	kd->tp->peer_down_arg = kd->node;
	kd->progress = kthread_run(progress_main, kd, "gvm_dsm/%u:%u", kd->handle, j->self);
	if (IS_ERR(kd->progress)) {
		err = PTR_ERR(kd->progress);
		kd->progress = NULL;
		goto out_leave;
	}
	for (gvm_node_id i = 0; j->flags & GVM_JOIN_EAGER && i < j->nodes; i++) {
		if (i == j->self)
			continue;
		err = kd->tp->ops.connect(kd->tp, i);
		if (err)
			goto out_leave;
	}
	gvm_log_info("node %u of %u up (handle %u): %s manager, %llu pages of %lu B",
		     j->self, j->nodes, kd->handle, gvm_manager_name(j->manager),
		     (unsigned long long)j->npages, 1ul << j->page_shift);
	kfree(uri);
	return 0;

out_leave:
	kdsm_leave(kd);
out_free:
	kfree(uri);
	return err;
}

/* ==== ioctl ==== */

/* Copy in a versioned struct: its first u32 must be its size. */
static int copy_struct_in(void *dst, size_t size, unsigned long arg)
{
	u32 claimed;

	if (get_user(claimed, (u32 __user *)arg))
		return -EFAULT;
	if (claimed != size)
		return -EINVAL;
	return copy_from_user(dst, (void __user *)arg, size) ? -EFAULT : 0;
}

static long ioc_join(struct gvm_kdsm *kd, unsigned long arg)
{
	struct gvm_ioc_join j;
	int err = copy_struct_in(&j, sizeof(j), arg);

	if (!err)
		err = check_join(&j);
	if (err)
		return err;
	mutex_lock(&kd->lock);
	if (kd->joined)
		err = -EISCONN;
	else
		err = kdsm_join(kd, &j);
	if (!err) /* after the node exists: lock-free readers load-acquire it */
		smp_store_release(&kd->joined, true);
	mutex_unlock(&kd->lock);
	return err;
}

static long ioc_region(struct gvm_kdsm *kd, unsigned long arg)
{
	struct gvm_ioc_region r;
	int err = copy_struct_in(&r, sizeof(r), arg);
	int slot = -1;

	if (err)
		return err;
	if (r.id || r.offset || r.reserved[0] || r.reserved[1] || !r.npages)
		return -EINVAL;
	mutex_lock(&kd->lock);
	err = -ENOTCONN;
	if (!kd->joined)
		goto out_unlock;
	err = -EINVAL;
	if (r.first_page >= kd->cfg.npages || r.npages > kd->cfg.npages - r.first_page)
		goto out_unlock;
	for (int i = 0; i < GVM_DSM_MAX_REGIONS; i++) {
		struct gvm_kregion *g = &kd->regions[i];

		if (!g->npages) {
			if (slot < 0)
				slot = i;
		} else if (r.first_page < g->first + g->npages &&
			   g->first < r.first_page + r.npages) {
			goto out_unlock; /* overlaps */
		}
	}
	err = -ENOSPC;
	if (slot < 0)
		goto out_unlock;
	kd->regions[slot] = (struct gvm_kregion){r.first_page, r.npages};
	r.id = slot;
	r.offset = r.first_page << kd->cfg.page_shift;
	err = copy_to_user((void __user *)arg, &r, sizeof(r)) ? -EFAULT : 0;
	if (err)
		kd->regions[slot].npages = 0;
out_unlock:
	mutex_unlock(&kd->lock);
	return err;
}

/* Lower bound (ns) of the histogram bucket holding the pct-th percentile. */
static u64 lat_bucket(const struct gvm_stats *s, unsigned int pct)
{
	u64 total = 0, seen = 0;

	for (int i = 0; i < GVM_LAT_BUCKETS; i++)
		total += s->fault_lat_log2[i];
	for (int i = 0; total && i < GVM_LAT_BUCKETS; i++) {
		seen += s->fault_lat_log2[i];
		if (seen * 100 >= total * pct)
			return 1ull << i;
	}
	return 0;
}

static void fill_info(struct gvm_kdsm *kd, struct gvm_ioc_info *info)
{
	struct gvm_stats *s;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->handle = kd->handle;
	info->users = kref_read(&kd->ref);
	info->c.vm_faults = atomic64_read(&kd->vm_faults);
	info->c.vm_mkwrites = atomic64_read(&kd->vm_mkwrites);
	info->c.zaps = atomic64_read(&kd->zaps);
	info->c.sigbus = atomic64_read(&kd->sigbus);
	mutex_lock(&kd->lock);
	if (!kd->joined)
		goto out_unlock;
	info->joined = 1;
	info->cluster_id = kd->cfg.cluster_id;
	info->self = kd->cfg.self;
	info->nodes = kd->cfg.nodes;
	info->page_shift = kd->cfg.page_shift;
	info->manager = kd->cfg.manager;
	info->npages = kd->cfg.npages;
	for (int i = 0; i < GVM_DSM_MAX_REGIONS; i++)
		info->nregions += kd->regions[i].npages != 0;
	s = kmalloc(sizeof(*s), GFP_KERNEL); /* too big for the stack */
	if (!s)
		goto out_unlock;
	gvm_node_stats(kd->node, s);
	info->c.faults_read = s->faults_read;
	info->c.faults_write = s->faults_write;
	info->c.faults_upgrade = s->faults_upgrade;
	info->c.hits = s->hits;
	info->c.faults_failed = s->faults_failed;
	info->c.msgs_sent = s->msgs_sent;
	info->c.msgs_recv = s->msgs_recv;
	info->c.bytes_sent = s->bytes_sent;
	info->c.bytes_recv = s->bytes_recv;
	info->c.inv_sent = s->inv_sent;
	info->c.inv_recv = s->inv_recv;
	info->c.inv_deferred = s->inv_deferred;
	info->c.protocol_errors = s->protocol_errors;
	info->c.promotions = s->promotions;
	info->c.demotions = s->demotions;
	info->c.window_full = s->window_full;
	info->c.fault_p50_ns = lat_bucket(s, 50);
	info->c.fault_p99_ns = lat_bucket(s, 99);
	kfree(s);
out_unlock:
	mutex_unlock(&kd->lock);
}

static long ioc_info(struct gvm_kdsm *kd, unsigned long arg)
{
	struct gvm_ioc_info *info;
	int err;

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	err = copy_struct_in(info, sizeof(*info), arg);
	if (!err) {
		fill_info(kd, info);
		err = copy_to_user((void __user *)arg, info, sizeof(*info)) ? -EFAULT : 0;
	}
	kfree(info);
	return err;
}

static long ioc_list(unsigned long arg)
{
	struct gvm_ioc_list l;
	struct gvm_ioc_info *info;
	struct gvm_kdsm *kd;
	u32 n = 0;
	int err = copy_struct_in(&l, sizeof(l), arg);

	if (err)
		return err;
	if (l.count && !l.infos)
		return -EINVAL;
	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	mutex_lock(&gvm_nodes_lock);
	list_for_each_entry(kd, &gvm_nodes, link) {
		if (n < l.count) {
			fill_info(kd, info);
			if (copy_to_user((void __user *)(uintptr_t)(l.infos + n * sizeof(*info)),
					 info, sizeof(*info))) {
				err = -EFAULT;
				break;
			}
		}
		n++;
	}
	mutex_unlock(&gvm_nodes_lock);
	kfree(info);
	l.count = n;
	if (!err && copy_to_user((void __user *)arg, &l, sizeof(l)))
		err = -EFAULT;
	return err;
}

static struct gvm_kdsm *kdsm_by_handle(u32 handle)
{
	struct gvm_kdsm *kd, *found = NULL;

	mutex_lock(&gvm_nodes_lock);
	list_for_each_entry(kd, &gvm_nodes, link)
		if (kd->handle == handle && kref_get_unless_zero(&kd->ref)) {
			found = kd;
			break;
		}
	mutex_unlock(&gvm_nodes_lock);
	return found;
}

/* Reads a page the way a hypervisor would: the exported API. */
static long ioc_peek(struct gvm_kdsm *self, unsigned long arg)
{
	struct gvm_ioc_peek p;
	struct gvm_kdsm *kd = self;
	void *frame;
	int err = copy_struct_in(&p, sizeof(p), arg);

	if (err)
		return err;
	if (p.handle) {
		kd = kdsm_by_handle(p.handle);
		if (!kd)
			return -ENOENT;
	}
	err = -ENOTCONN;
	if (!gvm_kdsm_page_shift(kd))
		goto out_put;
	err = -EINVAL;
	if (!p.len || !p.buf || p.len > (1ull << gvm_kdsm_page_shift(kd)))
		goto out_put;
	err = gvm_kdsm_acquire(kd, p.page, false, &frame);
	if (err)
		goto out_put;
	err = copy_to_user((void __user *)(uintptr_t)p.buf, frame, p.len) ? -EFAULT : 0;
	gvm_kdsm_release(kd, p.page);
out_put:
	if (kd != self)
		gvm_kdsm_put(kd);
	return err;
}

static long gvm_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct gvm_kdsm *kd = f->private_data;

	switch (cmd) {
	case GVM_IOC_JOIN:
		return ioc_join(kd, arg);
	case GVM_IOC_REGION:
		return ioc_region(kd, arg);
	case GVM_IOC_BARRIER:
		if (!smp_load_acquire(&kd->joined))
			return -ENOTCONN;
		return gvm_barrier(kd->node);
	case GVM_IOC_INFO:
		return ioc_info(kd, arg);
	case GVM_IOC_LIST:
		return ioc_list(arg);
	case GVM_IOC_PEEK:
		return ioc_peek(kd, arg);
	default:
		return -ENOTTY;
	}
}

/* ==== Mappings ==== */

static vm_fault_t gvm_vm_fault(struct vm_fault *vmf)
{
	struct gvm_kdsm *kd = vmf->vma->vm_private_data;
	gvm_page_t p = vmf->pgoff >> kd->sub_shift;
	unsigned long sub = vmf->pgoff & ((1ul << kd->sub_shift) - 1);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	struct page *page;
	vm_fault_t ret;
	void *frame;
	int err;

	atomic64_inc(&kd->vm_faults);
	err = gvm_acquire(kd->node, p, write ? GVM_ACCESS_WRITE : GVM_ACCESS_READ,
			  &frame);
	if (err == -EINTR) /* killed while the page was away: it dies anyway */
		return VM_FAULT_SIGBUS;
	if (err) {
		atomic64_inc(&kd->sigbus);
		gvm_log_err("node %u: fault on page %llu failed: error %d; SIGBUS",
			    kd->cfg.self, (unsigned long long)p, err);
		return VM_FAULT_SIGBUS;
	}
	page = frame_page((char *)frame + (sub << PAGE_SHIFT));
	/* Waits out a page_mkwrite that has let go of its pin (see top). */
	lock_page(page);
	ret = vmf_insert_page(vmf->vma, vmf->address & PAGE_MASK, page);
	unlock_page(page);
	gvm_release(kd->node, p);
	return ret;
}

static vm_fault_t gvm_vm_mkwrite(struct vm_fault *vmf)
{
	struct gvm_kdsm *kd = vmf->vma->vm_private_data;
	gvm_page_t p = vmf->pgoff >> kd->sub_shift;
	void *frame;
	int err;

	atomic64_inc(&kd->vm_mkwrites);
	err = gvm_acquire(kd->node, p, GVM_ACCESS_WRITE, &frame);
	if (err == -EINTR)
		return VM_FAULT_SIGBUS;
	if (err) {
		atomic64_inc(&kd->sigbus);
		gvm_log_err("node %u: write fault on page %llu failed: error %d; SIGBUS",
			    kd->cfg.self, (unsigned long long)p, err);
		return VM_FAULT_SIGBUS;
	}
	/* Frames never move: vmf->page is this page's frame. */
	lock_page(vmf->page);
	gvm_release(kd->node, p);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct gvm_vm_ops = {
	.fault = gvm_vm_fault,
	.page_mkwrite = gvm_vm_mkwrite,
};

static int gvm_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct gvm_kdsm *kd = f->private_data;
	u64 first = vma->vm_pgoff, n = vma_pages(vma);
	int err = -EINVAL;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL; /* a private copy would not stay coherent */
	mutex_lock(&kd->lock);
	if (!kd->joined) {
		err = -ENOTCONN;
		goto out_unlock;
	}
	for (int i = 0; i < GVM_DSM_MAX_REGIONS; i++) {
		struct gvm_kregion *g = &kd->regions[i];
		u64 start = g->first << kd->sub_shift, len = g->npages << kd->sub_shift;

		if (g->npages && first >= start && first - start < len &&
		    n <= len - (first - start)) {
			err = 0;
			break;
		}
	}
	if (err)
		goto out_unlock;
	vma->vm_flags |= VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &gvm_vm_ops;
	vma->vm_private_data = kd;
out_unlock:
	mutex_unlock(&kd->lock);
	return err;
}

/* ==== Files ==== */

static int gvm_open(struct inode *inode, struct file *f)
{
	struct gvm_kdsm *kd = kdsm_new();

	if (IS_ERR(kd))
		return PTR_ERR(kd);
	f->private_data = kd;
	/* Every mapping of this node in one place, for unmap_mapping_range. */
	f->f_mapping = kd->inode->i_mapping;
	return 0;
}

static int gvm_release_file(struct inode *inode, struct file *f)
{
	gvm_kdsm_put(f->private_data);
	return 0;
}

static const struct file_operations gvm_fops = {
	.owner = THIS_MODULE,
	.open = gvm_open,
	.release = gvm_release_file,
	.unlocked_ioctl = gvm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = gvm_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice gvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gvm_dsm",
	.fops = &gvm_fops,
	/* Nodes bind ports and map other nodes' pages (PEEK): root's call. */
	.mode = 0600,
};

/* ==== Exported in-kernel API (gvm_dsm_kapi.h) ==== */

struct gvm_kdsm *gvm_kdsm_from_fd(int fd)
{
	struct file *f = fget(fd);
	struct gvm_kdsm *kd;

	if (!f)
		return ERR_PTR(-EBADF);
	if (f->f_op != &gvm_fops) {
		fput(f);
		return ERR_PTR(-EINVAL);
	}
	kd = f->private_data;
	kref_get(&kd->ref);
	fput(f);
	return kd;
}
EXPORT_SYMBOL_GPL(gvm_kdsm_from_fd);

void gvm_kdsm_put(struct gvm_kdsm *kd)
{
	kref_put(&kd->ref, kdsm_free);
}
EXPORT_SYMBOL_GPL(gvm_kdsm_put);

int gvm_kdsm_acquire(struct gvm_kdsm *kd, u64 page, bool write, void **kaddr)
{
	if (!smp_load_acquire(&kd->joined))
		return -ENOTCONN;
	return gvm_acquire(kd->node, page, write ? GVM_ACCESS_WRITE : GVM_ACCESS_READ,
			   kaddr);
}
EXPORT_SYMBOL_GPL(gvm_kdsm_acquire);

void gvm_kdsm_release(struct gvm_kdsm *kd, u64 page)
{
	gvm_release(kd->node, page);
}
EXPORT_SYMBOL_GPL(gvm_kdsm_release);

unsigned int gvm_kdsm_page_shift(struct gvm_kdsm *kd)
{
	return smp_load_acquire(&kd->joined) ? kd->cfg.page_shift : 0;
}
EXPORT_SYMBOL_GPL(gvm_kdsm_page_shift);

u64 gvm_kdsm_npages(struct gvm_kdsm *kd)
{
	return smp_load_acquire(&kd->joined) ? kd->cfg.npages : 0;
}
EXPORT_SYMBOL_GPL(gvm_kdsm_npages);

void gvm_kdsm_set_notifier(struct gvm_kdsm *kd,
			   const struct gvm_frontend_ops *ops, void *arg)
{
	down_write(&kd->notify_sem);
	kd->notify = ops;
	kd->notify_arg = arg;
	up_write(&kd->notify_sem);
}
EXPORT_SYMBOL_GPL(gvm_kdsm_set_notifier);

/* ==== Module ==== */

static int __init gvm_dsm_init(void)
{
	return misc_register(&gvm_misc);
}

static void __exit gvm_dsm_exit(void)
{
	misc_deregister(&gvm_misc);
}

module_init(gvm_dsm_init);
module_exit(gvm_dsm_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("gvm-dsm: IVY distributed shared memory, /dev/gvm_dsm");
