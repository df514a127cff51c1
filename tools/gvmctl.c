// SPDX-License-Identifier: MIT
/*
 * gvmctl - configure and inspect the gvm_dsm kernel module.
 *
 *	gvmctl status                       every node in the module, counters
 *	gvmctl join -i ID -n N -p PEERS [options] [-- PROG ARGS]
 *	gvmctl peek HANDLE PAGE [WORDS]     a page's first words, read in-kernel
 *
 * A node lives as long as its /dev/gvm_dsm file: `join` opens one, joins,
 * creates its regions (-r; one over the whole page space by default),
 * prints their mmap offsets, then runs PROG with the
 * file inherited as GVM_KDSM_FD (tests/vm/kshim.c maps it), or without
 * PROG holds the node until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gvm/cluster.h>

#include "gvm_dsm_uapi.h"

static const char usage_text[] =
"usage: gvmctl status\n"
"       gvmctl join -i ID -n N -p IP:PORT,IP:PORT,... [options] [-- PROG ARGS]\n"
"       gvmctl peek HANDLE PAGE [WORDS]\n"
"join options:\n"
"  -m, --manager fixed|dynamic|central   (default fixed)\n"
"  -P, --page-size BYTES                 (default 4096)\n"
"  -s, --size BYTES                      page space, K/M/G suffixes (default 64M)\n"
"  -c, --cluster ID                      (default 1)\n"
"  -l, --listen-fd FD                    an inherited listening socket\n"
"  -t, --timeout-ms MS                   peer silence before it is declared down\n"
"  -e, --eager                           connect to every peer before going on\n"
"  -r, --region FIRST:NPAGES             a region of engine pages (repeat; default:\n"
"                                        one over the whole page space)\n"
"  -y, --policy NAME[:OPTIONS]           hot-page promotion: never, always-after,\n"
"                                        hotpage (core/policy/README.md)\n"
"  -w, --window ID:PAGES                 a window of PAGES system pages that the\n"
"                                        nodes of this kernel naming ID share\n"
"With PROG, PROG runs with the node's fd in GVM_KDSM_FD; without, the node\n"
"stays up until gvmctl is interrupted.\n"
"Environment, as for userspace nodes: GVM_SECRET_FILE (the cluster secret;\n"
"gvmctl derives the key, the module never sees the file), GVM_MAC=0 (no\n"
"per-message tags), GVM_INSECURE=1 (no secret, yet listen beyond loopback).\n";

static int open_dev(void)
{
	int fd = open(GVM_DSM_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "gvmctl: %s: %s (is gvm_dsm loaded?)\n", GVM_DSM_DEVICE,
			strerror(errno));
	return fd;
}

static unsigned long long num(const char *s, const char *what)
{
	char *end;
	unsigned long long x = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': case 'k': x <<= 10; end++; break;
	case 'M': case 'm': x <<= 20; end++; break;
	case 'G': case 'g': x <<= 30; end++; break;
	default: break;
	}
	if (*end || end == s) {
		fprintf(stderr, "gvmctl: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return x;
}

static const char *manager_name(uint32_t m)
{
	return m == 1 ? "fixed" : m == 2 ? "dynamic" : m == 3 ? "central" : "?";
}

static void print_info(const struct gvm_ioc_info *i)
{
	const struct gvm_ioc_counters *c = &i->c;

	if (!i->joined) {
		printf("handle %u: not joined (%u users)\n", i->handle, i->users);
		return;
	}
	printf("handle %u: node %u of %u, cluster %llu, %s manager, %llu pages of %u B, "
	       "%u regions, %u users\n", i->handle, i->self, i->nodes,
	       (unsigned long long)i->cluster_id, manager_name(i->manager),
	       (unsigned long long)i->npages, 1u << i->page_shift, i->nregions, i->users);
	printf("  faults: read %llu write %llu upgrade %llu hits %llu failed %llu\n",
	       (unsigned long long)c->faults_read, (unsigned long long)c->faults_write,
	       (unsigned long long)c->faults_upgrade, (unsigned long long)c->hits,
	       (unsigned long long)c->faults_failed);
	printf("  messages: sent %llu (%llu B) received %llu (%llu B); invalidations sent %llu "
	       "received %llu deferred %llu; protocol errors %llu\n",
	       (unsigned long long)c->msgs_sent, (unsigned long long)c->bytes_sent,
	       (unsigned long long)c->msgs_recv, (unsigned long long)c->bytes_recv,
	       (unsigned long long)c->inv_sent, (unsigned long long)c->inv_recv,
	       (unsigned long long)c->inv_deferred, (unsigned long long)c->protocol_errors);
	if (c->promotions || c->window_full)
		printf("  promotion: promoted %llu pages, demoted %llu, %llu refused (window share full)\n",
		       (unsigned long long)c->promotions, (unsigned long long)c->demotions,
		       (unsigned long long)c->window_full);
	printf("  device: vm faults %llu mkwrites %llu zaps %llu sigbus %llu\n",
	       (unsigned long long)c->vm_faults, (unsigned long long)c->vm_mkwrites,
	       (unsigned long long)c->zaps, (unsigned long long)c->sigbus);
	if (c->fault_p50_ns)
		printf("  fault latency (engine): median %llu-%llu us, p99 %llu-%llu us\n",
		       (unsigned long long)c->fault_p50_ns / 1000,
		       (unsigned long long)c->fault_p50_ns * 2 / 1000,
		       (unsigned long long)c->fault_p99_ns / 1000,
		       (unsigned long long)c->fault_p99_ns * 2 / 1000);
}

static int cmd_status(void)
{
	struct gvm_ioc_list l = {.size = sizeof(l)};
	struct gvm_ioc_info *infos;
	uint32_t room;
	int fd = open_dev();

	if (fd < 0)
		return 1;
	/* Ask how many, then fetch them (a few more may appear meanwhile). */
	if (ioctl(fd, GVM_IOC_LIST, &l)) {
		perror("gvmctl: GVM_IOC_LIST");
		return 1;
	}
	room = l.count + 8;
	infos = calloc(room, sizeof(*infos));
	l.count = room;
	l.infos = (uintptr_t)infos;
	if (!infos || ioctl(fd, GVM_IOC_LIST, &l)) {
		perror("gvmctl: GVM_IOC_LIST");
		return 1;
	}
	if (l.count > room)
		l.count = room;
	for (uint32_t k = 0; k < l.count; k++)
		if (infos[k].joined)
			print_info(&infos[k]);
	free(infos);
	close(fd);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_join(int argc, char **argv)
{
	static const struct option opts[] = {
		{"id", 1, 0, 'i'}, {"nodes", 1, 0, 'n'}, {"peers", 1, 0, 'p'},
		{"manager", 1, 0, 'm'}, {"page-size", 1, 0, 'P'}, {"size", 1, 0, 's'},
		{"cluster", 1, 0, 'c'}, {"listen-fd", 1, 0, 'l'}, {"timeout-ms", 1, 0, 't'},
		{"eager", 0, 0, 'e'}, {"region", 1, 0, 'r'}, {"policy", 1, 0, 'y'},
		{"window", 1, 0, 'w'}, {0, 0, 0, 0},
	};
	struct gvm_ioc_join j = {.size = sizeof(j), .cluster_id = 1, .manager = 1,
				 .self = ~0u, .listen_fd = -1};
	struct gvm_ioc_region r[GVM_DSM_MAX_REGIONS];
	struct gvm_ioc_info info = {.size = sizeof(info)};
	unsigned int nr = 0;
	unsigned long long page = 4096, size = 64ull << 20;
	const char *peers = NULL;
	struct gvm_auth auth;
	char fdstr[16], err[256];
	int o, fd, keyed;

	while ((o = getopt_long(argc, argv, "+i:n:p:m:P:s:c:l:t:er:y:w:", opts, NULL)) != -1) {
		switch (o) {
		case 'i': j.self = (uint32_t)num(optarg, "--id"); break;
		case 'n': j.nodes = (uint32_t)num(optarg, "--nodes"); break;
		case 'p': peers = optarg; break;
		case 'm':
			j.manager = !strcmp(optarg, "fixed") ? 1 : !strcmp(optarg, "dynamic") ? 2 :
				    !strcmp(optarg, "central") ? 3 : 0;
			break;
		case 'P': page = num(optarg, "--page-size"); break;
		case 's': size = num(optarg, "--size"); break;
		case 'c': j.cluster_id = num(optarg, "--cluster"); break;
		case 'l': j.listen_fd = (int32_t)num(optarg, "--listen-fd"); break;
		case 't': j.timeout_ms = (uint32_t)num(optarg, "--timeout-ms"); break;
		case 'e': j.flags |= GVM_JOIN_EAGER; break;
		case 'y':
			j.policy = (uintptr_t)optarg;
			j.policy_len = (uint32_t)strlen(optarg) + 1;
			break;
		case 'w':
			if (sscanf(optarg, "%u:%u", &j.window_id, &j.window_pages) != 2) {
				fputs(usage_text, stderr);
				return 2;
			}
			break;
		case 'r':
			if (nr == GVM_DSM_MAX_REGIONS ||
			    sscanf(optarg, "%llu:%llu", &r[nr].first_page, &r[nr].npages) != 2) {
				fputs(usage_text, stderr);
				return 2;
			}
			nr++;
			break;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (!peers || j.self == ~0u || !j.nodes || !j.manager || !page || page & (page - 1)) {
		fputs(usage_text, stderr);
		return 2;
	}
	while ((1ull << j.page_shift) < page)
		j.page_shift++;
	j.npages = size / page;
	j.peers = (uintptr_t)peers;
	j.peers_len = (uint32_t)strlen(peers) + 1;
	keyed = gvm_cluster_auth_env(&auth, err, sizeof(err));
	if (keyed < 0) {
		fprintf(stderr, "gvmctl: %s\n", err);
		return 2;
	}
	if (keyed) {
		j.key = (uintptr_t)auth.key;
		j.flags |= auth.flags & GVM_AUTH_TAGS ? GVM_JOIN_TAGS : 0;
	} else if (getenv("GVM_INSECURE") && !strcmp(getenv("GVM_INSECURE"), "1")) {
		j.flags |= GVM_JOIN_INSECURE;
	}
	fd = open_dev();
	if (fd < 0)
		return 1;
	if (ioctl(fd, GVM_IOC_JOIN, &j)) {
		fprintf(stderr, "gvmctl: join: %s (dmesg says why)\n", strerror(errno));
		return 1;
	}
	if (!nr)
		r[nr++] = (struct gvm_ioc_region){.npages = j.npages};
	for (unsigned int k = 0; k < nr; k++) {
		r[k] = (struct gvm_ioc_region){.size = sizeof(r[k]), .first_page = r[k].first_page,
					       .npages = r[k].npages};
		if (ioctl(fd, GVM_IOC_REGION, &r[k])) {
			fprintf(stderr, "gvmctl: region %llu:%llu: %s\n",
				(unsigned long long)r[k].first_page,
				(unsigned long long)r[k].npages, strerror(errno));
			return 1;
		}
		printf("gvmctl: region %u: pages %llu..%llu at mmap offset %llu\n", r[k].id,
		       (unsigned long long)r[k].first_page,
		       (unsigned long long)(r[k].first_page + r[k].npages - 1),
		       (unsigned long long)r[k].offset);
	}
	if (ioctl(fd, GVM_IOC_INFO, &info)) {
		perror("gvmctl: info");
		return 1;
	}
	if (optind < argc) {
		/* The program gets the node: clear close-on-exec, name the fd. */
		fcntl(fd, F_SETFD, 0);
		snprintf(fdstr, sizeof(fdstr), "%d", fd);
		setenv("GVM_KDSM_FD", fdstr, 1);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "gvmctl: %s: %s\n", argv[optind], strerror(errno));
		return 127;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("gvmctl: node %u of %u up (handle %u); interrupt to leave\n", j.self,
	       j.nodes, info.handle);
	fflush(stdout);
	while (!stop)
		pause();
	close(fd);
	return 0;
}

static int cmd_peek(int argc, char **argv)
{
	struct gvm_ioc_peek p = {.size = sizeof(p)};
	uint64_t words[512];
	unsigned long long n = 4;
	int fd;

	if (argc < 3) {
		fputs(usage_text, stderr);
		return 2;
	}
	p.handle = (uint32_t)num(argv[1], "HANDLE");
	p.page = num(argv[2], "PAGE");
	if (argc > 3)
		n = num(argv[3], "WORDS");
	if (!p.handle || !n || n > 512) {
		fputs(usage_text, stderr);
		return 2;
	}
	p.buf = (uintptr_t)words;
	p.len = n * sizeof(uint64_t);
	fd = open_dev();
	if (fd < 0)
		return 1;
	if (ioctl(fd, GVM_IOC_PEEK, &p)) {
		fprintf(stderr, "gvmctl: peek: %s\n", strerror(errno));
		return 1;
	}
	printf("page %llu:", (unsigned long long)p.page);
	for (unsigned long long k = 0; k < n; k++)
		printf(" %" PRIu64, words[k]);
	printf("\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "status"))
		return cmd_status();
	if (argc > 1 && !strcmp(argv[1], "join"))
		return cmd_join(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "peek"))
		return cmd_peek(argc - 1, argv + 1);
	fputs(usage_text, argc > 1 && strcmp(argv[1], "--help") ? stderr : stdout);
	return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
}
