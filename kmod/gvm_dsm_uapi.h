/* SPDX-License-Identifier: MIT */
/*
 * gvm_dsm_uapi.h - the ioctl interface of /dev/gvm_dsm, shared by the
 * module, gvmctl and tests.
 *
 * Each open file is one node. JOIN makes it a member of a cluster (its
 * own TCP endpoint, progress thread and engine); REGION names a window of
 * the node's page space and returns the offset at which to mmap it
 * (MAP_SHARED). Every struct starts with its size, which is its version:
 * the module refuses sizes it does not know and non-zero reserved fields
 * with -EINVAL.
 */
#ifndef GVM_DSM_UAPI_H
#define GVM_DSM_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GVM_DSM_DEVICE "/dev/gvm_dsm"

#define GVM_JOIN_EAGER (1u << 0) /* connect to every peer before returning */
#define GVM_JOIN_TAGS (1u << 1)  /* with a key: tag every message (GVM_MAC) */
#define GVM_JOIN_INSECURE (1u << 2) /* no key, yet listen beyond loopback */

#define GVM_DSM_MAX_PEERS_LEN 65536u /* bytes of the peer list, NUL included */
#define GVM_DSM_MAX_REGIONS 16u
#define GVM_DSM_MAX_WINDOW_PAGES 65536u /* 256 MiB of 4 KiB pages */
#define GVM_DSM_MAX_POLICY_LEN 256u

struct gvm_ioc_join {
	__u32 size;        /* sizeof(struct gvm_ioc_join) */
	__u32 flags;       /* GVM_JOIN_* */
	__u64 cluster_id;  /* nodes of different clusters refuse each other */
	__u32 self;        /* 0..nodes-1 */
	__u32 nodes;       /* 1..1024 */
	__u32 page_shift;  /* PAGE_SHIFT..21 */
	__u32 manager;     /* 1 fixed, 2 dynamic, 3 central (enum gvm_manager) */
	__u64 npages;      /* the page space, at most 16 GiB of pages */
	__s32 listen_fd;   /* a listening TCP socket of the caller, or -1 */
	__u32 heartbeat_ms; /* 0: 200 */
	__u32 timeout_ms;  /* 0: 3000 */
	__u32 peers_len;   /* bytes at peers, the NUL included */
	__u64 peers;       /* "IP:PORT,IP:PORT,..." one per node, in id order */
	/*
	 * Hot-page promotion (core/PROTOCOL.md "Promotion"): a shared window
	 * of this kernel's memory, which every node of this kernel naming the
	 * same window_id maps (the first one's window_pages wins; the others
	 * must give the same), and the policy that fills it.
	 */
	__u32 window_id;    /* 0: no window */
	__u32 window_pages; /* system pages, at most GVM_DSM_MAX_WINDOW_PAGES */
	__u64 policy;       /* "name[:key=value,...]", NUL-terminated; 0: never */
	__u32 policy_len;   /* bytes at policy, the NUL included */
	__u32 reserved0;
	/*
	 * The cluster key (GVM_DSM_KEY_LEN bytes, core/include/gvm/auth.h),
	 * derived by gvmctl from GVM_SECRET_FILE: the module never reads the
	 * secret itself. 0: no secret.
	 */
	__u64 key;
	__u64 reserved1;
};

#define GVM_DSM_KEY_LEN 32u

struct gvm_ioc_region {
	__u32 size;        /* sizeof(struct gvm_ioc_region) */
	__u32 id;          /* out */
	__u64 first_page;  /* in: engine pages [first_page, first_page + npages) */
	__u64 npages;
	__u64 offset;      /* out: pass to mmap */
	__u64 reserved[2];
};

struct gvm_ioc_counters {
	/* The engine's (struct gvm_stats). */
	__u64 faults_read, faults_write, faults_upgrade, hits, faults_failed;
	__u64 msgs_sent, msgs_recv, bytes_sent, bytes_recv;
	__u64 inv_sent, inv_recv, inv_deferred, protocol_errors;
	__u64 promotions, demotions, window_full;
	/* The device's. */
	__u64 vm_faults, vm_mkwrites, zaps, sigbus;
	/* Engine fault latency, from its log2 histogram: the bucket (a power
	 * of two, in ns) holding the median and the 99th percentile; 0 before
	 * the first fault. */
	__u64 fault_p50_ns, fault_p99_ns;
	__u64 reserved[2];
};

struct gvm_ioc_info {
	__u32 size;        /* sizeof(struct gvm_ioc_info) */
	__u32 handle;      /* module-wide name of this node (gvmctl peek) */
	__u64 cluster_id;
	__u32 self, nodes, page_shift, manager;
	__u64 npages;
	__u32 joined;
	__u32 nregions;
	__u32 users;       /* references: open files, mappings' files, kernel users */
	__u32 reserved0;
	struct gvm_ioc_counters c;
};

struct gvm_ioc_list {
	__u32 size;        /* sizeof(struct gvm_ioc_list) */
	__u32 count;       /* in: room at infos; out: nodes in the module */
	__u64 infos;       /* struct gvm_ioc_info[count] */
};

/* Read a page through the exported in-kernel API (acquire, copy, release). */
struct gvm_ioc_peek {
	__u32 size;        /* sizeof(struct gvm_ioc_peek) */
	__u32 handle;      /* node, from LIST; 0: this file's node */
	__u64 page;
	__u64 buf;         /* user buffer */
	__u64 len;         /* bytes to copy, at most the page size */
};

#define GVM_IOC_MAGIC 0xD5
#define GVM_IOC_JOIN    _IOW(GVM_IOC_MAGIC, 1, struct gvm_ioc_join)
#define GVM_IOC_REGION  _IOWR(GVM_IOC_MAGIC, 2, struct gvm_ioc_region)
#define GVM_IOC_BARRIER _IO(GVM_IOC_MAGIC, 3)
#define GVM_IOC_INFO    _IOWR(GVM_IOC_MAGIC, 4, struct gvm_ioc_info)
#define GVM_IOC_LIST    _IOWR(GVM_IOC_MAGIC, 5, struct gvm_ioc_list)
#define GVM_IOC_PEEK    _IOW(GVM_IOC_MAGIC, 6, struct gvm_ioc_peek)

#endif /* GVM_DSM_UAPI_H */
