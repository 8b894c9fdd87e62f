/* polc load and polc unload: applying an image to the kernel, crash-safe and fail-closed.
 *
 * Maps are pinned under the bpffs directory so they outlive the loader. The image's maps live
 * in two slots of four map-in-maps; the control word says which slot is live. A load fills the
 * idle slot with new, frozen inner maps, then flips the control word: one 8-byte update, so a
 * packet sees all of the old image or all of the new. A kill at any step leaves the old state
 * (nothing flipped yet) or the new one (flipped). Before an idle slot is reused, an RCU grace
 * period (membarrier) guarantees no packet still reads it.
 *
 * POLC_FAULT=<step> kills the loader with SIGKILL at that step, for the crash tests.
 */
#include "loader.h"
#include "imagefile.h"
#include "runtime.h"
#include "policy.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* tcx attach types (Linux 6.6); Debian 12's headers predate them. */
#define POLC_BPF_TCX_INGRESS 46
#define POLC_BPF_TCX_EGRESS 47

void load_opts_defaults(struct load_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bpffs = "/sys/fs/bpf/polc";
	o->state_dir = "/run/polc";
	o->auto_pattern = "lxc*";
	o->events_per_sec = 1000;
}

static void fault(const char *step)
{
	const char *at = getenv("POLC_FAULT");
	if (at && !strcmp(at, step))
		raise(SIGKILL);
}

/* ---------------------------------------------------------------- places */

static int ensure_dir(const char *path, struct diag_sink *d)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
		int err = -errno;
		diag_pos(d, R_IO, NULL, path, 0, 0, "check that the file system is writable",
			 "cannot create directory: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* The pin directory must be on a bpffs. polc mounts one only at the conventional place,
 * /sys/fs/bpf, and only if nothing is there: mounting anywhere else could hide a directory. */
static int ensure_bpffs(const char *dir, struct diag_sink *d)
{
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	struct statfs fs;
	if (statfs(parent, &fs) == 0 && (unsigned long)fs.f_type == BPF_FS_MAGIC)
		return ensure_dir(dir, d);
	if (strcmp(parent, "/sys/fs/bpf") != 0) {
		diag_pos(d, R_IO, NULL, parent, 0, 0, "mount one there: mount -t bpf bpf DIR",
			 "not on a bpffs, so maps cannot be pinned in %s", dir);
		return -ENOTDIR;
	}
	if (mount("bpf", parent, "bpf", 0, NULL) < 0) {
		int err = -errno;
		diag_pos(d, R_IO, NULL, parent, 0, 0, "mount it: mount -t bpf bpf /sys/fs/bpf",
			 "no bpffs here and mounting one failed: %s", strerror(-err));
		return err;
	}
	return ensure_dir(dir, d);
}

/* One loader at a time: a second one fails clearly instead of interleaving. */
static int take_lock(const char *state_dir, struct diag_sink *d)
{
	char path[4096];
	if (ensure_dir(state_dir, d) < 0)
		return -EACCES;
	snprintf(path, sizeof path, "%s/lock", state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		diag_pos(d, R_IO, NULL, path, 0, 0, "wait for the other polc load or unload to finish",
			 "another polc loader holds the lock: %s",
			 err == EWOULDBLOCK ? "busy" : strerror(err));
		if (fd >= 0)
			close(fd);
		return -EBUSY;
	}
	return fd;
}

/* ---------------------------------------------------------------- the BPF object */

static void set_pins(struct polc_bpf *skel, const char *dir)
{
	struct bpf_map *m;
	char path[4096];
	bpf_object__for_each_map(m, skel->obj)
	{
		const char *name = bpf_map__name(m);
		if (!strncmp(name, "polc_tmpl_", 10) || strchr(name, '.'))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, name);
		bpf_map__set_pin_path(m, path);
	}
}

/* Opens the object, reusing pinned maps (or pinning new ones), and loads the programs. */
static int open_object(const struct load_opts *o, bool pin, struct polc_bpf **out,
		       struct diag_sink *d)
{
	libbpf_set_print(NULL);
	struct polc_bpf *skel = polc_bpf__open();
	if (!skel) {
		diag_pos(d, R_IO, NULL, "policy.bpf.o", 0, 0, NULL, "cannot open the BPF object: %s",
			 strerror(errno));
		return -errno;
	}
	if (pin)
		set_pins(skel, o->bpffs);
	int err = polc_bpf__load(skel);
	if (err) {
		diag_pos(d, R_IO, NULL, "policy.bpf.o", 0, 0,
			 "run as root on a kernel with BPF; if maps from another polc version are "
			 "pinned, polc unload first",
			 "the kernel refused the BPF programs or maps: %s", strerror(-err));
		polc_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

static uint64_t read_control(struct polc_bpf *skel)
{
	__u32 zero = 0;
	__u64 ctl = 0;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.polc_control), &zero, &ctl);
	return ctl;
}

/* ---------------------------------------------------------------- filling a slot */

/* Batch first; element by element where a map type has no batch support. ENOMEM is retried:
 * a node under memory pressure gets a few chances before the load fails (and changes nothing). */
static int fill_map(int fd, const void *records, size_t n, size_t rec_size, size_t key_size,
		    size_t value_size)
{
	if (!n)
		return 0;
	char *keys = malloc(n * key_size), *values = malloc(n * value_size);
	if (!keys || !values) {
		free(keys);
		free(values);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *r = (const char *)records + i * rec_size;
		memcpy(keys + i * key_size, r, key_size);
		memcpy(values + i * value_size, r + key_size, value_size);
	}
	int err = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		__u32 count = (__u32)n;
		err = bpf_map_update_batch(fd, keys, values, &count, NULL);
		if (!err || (errno != ENOMEM && errno != EAGAIN))
			break;
		usleep(20000u << attempt);
	}
	if (err && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
		err = 0;
		for (size_t i = 0; i < n && !err; i++) {
			for (int attempt = 0; attempt < 5; attempt++) {
				err = bpf_map_update_elem(fd, keys + i * key_size, values + i * value_size,
							  BPF_NOEXIST);
				if (!err || errno != ENOMEM)
					break;
				usleep(20000u << attempt);
			}
		}
	}
	if (err)
		err = -errno;
	free(keys);
	free(values);
	return err;
}

struct slot_maps {
	int policy, endpoints, ipcache, prefixes;
};

static void close_slot(struct slot_maps *s)
{
	int *fds[] = {&s->policy, &s->endpoints, &s->ipcache, &s->prefixes};
	for (int i = 0; i < 4; i++)
		if (*fds[i] > 0)
			close(*fds[i]);
}

static int create_inner(enum bpf_map_type type, const char *name, size_t key, size_t value,
			size_t n, bool lpm)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = BPF_F_RDONLY_PROG | (lpm ? BPF_F_NO_PREALLOC : 0));
	return bpf_map_create(type, name, (__u32)key, (__u32)value, (__u32)(n ? n : 1), &opts);
}

/* New inner maps, sized from the image, filled and frozen: nothing can change them now. */
static int build_slot(const struct image *img, struct slot_maps *s, struct diag_sink *d)
{
	memset(s, 0, sizeof(*s));
	s->policy = create_inner(BPF_MAP_TYPE_LPM_TRIE, "polc_pol", sizeof(struct polc_policy_key),
				 sizeof(struct polc_policy_value), img->nentries, true);
	s->endpoints = create_inner(BPF_MAP_TYPE_HASH, "polc_eps", sizeof(struct polc_ip_key),
				    sizeof(struct polc_endpoint_value), img->neps, false);
	s->ipcache = create_inner(BPF_MAP_TYPE_HASH, "polc_ipc", sizeof(struct polc_ip_key),
				  sizeof(struct polc_ipcache_value), img->nexact, false);
	s->prefixes = create_inner(BPF_MAP_TYPE_LPM_TRIE, "polc_pfx", sizeof(struct polc_lpm_ip_key),
				   sizeof(struct polc_ipcache_value), img->nprefixes, true);
	int err = 0;
	if (s->policy < 0 || s->endpoints < 0 || s->ipcache < 0 || s->prefixes < 0)
		err = -errno;
	if (!err)
		err = fill_map(s->policy, img->entries, img->nentries, sizeof(struct polc_policy_entry),
			       sizeof(struct polc_policy_key), sizeof(struct polc_policy_value));
	if (!err)
		err = fill_map(s->endpoints, img->eps, img->neps, sizeof(struct polc_endpoint_rec),
			       sizeof(struct polc_ip_key), sizeof(struct polc_endpoint_value));
	if (!err)
		err = fill_map(s->ipcache, img->exact, img->nexact, sizeof(struct polc_ipcache_exact),
			       sizeof(struct polc_ip_key), sizeof(struct polc_ipcache_value));
	if (!err)
		err = fill_map(s->prefixes, img->prefixes, img->nprefixes,
			       sizeof(struct polc_ipcache_prefix), sizeof(struct polc_lpm_ip_key),
			       sizeof(struct polc_ipcache_value));
	int fds[] = {s->policy, s->endpoints, s->ipcache, s->prefixes};
	for (int i = 0; i < 4 && !err; i++)
		if (bpf_map_freeze(fds[i]) < 0)
			err = -errno;
	if (err) {
		diag_pos(d, R_IO, NULL, img->path, 0, 0,
			 "nothing was switched; the active image is unchanged",
			 "cannot build the kernel maps for this image: %s", strerror(-err));
		close_slot(s);
	}
	return err;
}

/* Waits until no packet can still be reading a slot that was live before (RCU). */
static void quiesce(void)
{
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}

static int install_slot(struct polc_bpf *skel, __u32 slot, const struct slot_maps *s)
{
	int outers[] = {bpf_map__fd(skel->maps.polc_policy), bpf_map__fd(skel->maps.polc_endpoints),
			bpf_map__fd(skel->maps.polc_ipcache), bpf_map__fd(skel->maps.polc_prefixes)};
	int inners[] = {s->policy, s->endpoints, s->ipcache, s->prefixes};
	for (int i = 0; i < 4; i++)
		if (bpf_map_update_elem(outers[i], &slot, &inners[i], BPF_ANY) < 0)
			return -errno;
	return 0;
}

/* ---------------------------------------------------------------- attaching */

static int pin_link_path(const struct load_opts *o, const char *ifname, bool ingress, char *buf,
			 size_t size)
{
	return snprintf(buf, size, "%s/link-%s-%s", o->bpffs, ifname, ingress ? "in" : "out");
}

/* tcx where the kernel has it (a link, pinned, updated in place on the next load). */
static int attach_tcx(const struct load_opts *o, int prog, int ifindex, const char *ifname,
		      bool ingress)
{
	char path[4096];
	pin_link_path(o, ifname, ingress, path, sizeof path);
	int link = bpf_obj_get(path);
	if (link >= 0) {
		int err = bpf_link_update(link, prog, NULL);
		close(link);
		return err < 0 ? -errno : 0;
	}
	link = bpf_link_create(prog, ifindex, ingress ? POLC_BPF_TCX_INGRESS : POLC_BPF_TCX_EGRESS,
			       NULL);
	if (link < 0)
		return -errno;
	int err = bpf_obj_pin(link, path) < 0 ? -errno : 0;
	close(link);
	return err;
}

static int attach_clsact(int prog, int ifindex, bool ingress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x9c, .priority = 1, .prog_fd = prog,
		    .flags = BPF_TC_F_REPLACE);
	return bpf_tc_attach(&hook, &opts);
}

static int attach_iface(struct polc_bpf *skel, const struct load_opts *o, const char *ifname,
			struct diag_sink *d)
{
	int ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		diag_pos(d, R_IO, NULL, ifname, 0, 0, "check the name with ip link",
			 "no such interface");
		return -ENODEV;
	}
	int in = bpf_program__fd(skel->progs.polc_from_pod);
	int out = bpf_program__fd(skel->progs.polc_to_pod);
	struct polc_iface rec = {0};
	snprintf(rec.name, sizeof rec.name, "%s", ifname);
	int err = -EOPNOTSUPP;
	if (!o->force_clsact) {
		err = attach_tcx(o, in, ifindex, ifname, true);
		if (!err)
			err = attach_tcx(o, out, ifindex, ifname, false);
		rec.mode = POLC_ATTACH_TCX;
	}
	if (err) {
		err = attach_clsact(in, ifindex, true);
		if (!err)
			err = attach_clsact(out, ifindex, false);
		rec.mode = POLC_ATTACH_CLSACT;
	}
	if (err) {
		diag_pos(d, R_IO, NULL, ifname, 0, 0, NULL, "cannot attach: %s", strerror(-err));
		return err;
	}
	__u32 key = (__u32)ifindex;
	bpf_map_update_elem(bpf_map__fd(skel->maps.polc_ifaces), &key, &rec, BPF_ANY);
	return 0;
}

static int attach_all(struct polc_bpf *skel, const struct load_opts *o, struct diag_sink *d)
{
	int rc = 0;
	for (size_t i = 0; i < o->nifaces; i++) {
		if (strcmp(o->ifaces[i], "auto")) {
			rc |= attach_iface(skel, o, o->ifaces[i], d);
			continue;
		}
		struct if_nameindex *all = if_nameindex();
		for (struct if_nameindex *it = all; it && it->if_index; it++)
			if (!fnmatch(o->auto_pattern, it->if_name, 0))
				rc |= attach_iface(skel, o, it->if_name, d);
		if_freenameindex(all);
	}
	return rc;
}

/* ---------------------------------------------------------------- watch */

static volatile sig_atomic_t watch_stop;
static void on_stop_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* Is ifname one the load asked for: named, or matching the auto pattern? */
static bool wanted(const struct load_opts *o, const char *ifname)
{
	for (size_t i = 0; i < o->nifaces; i++)
		if (!strcmp(o->ifaces[i], "auto") ? !fnmatch(o->auto_pattern, ifname, 0)
						   : !strcmp(o->ifaces[i], ifname))
			return true;
	return false;
}

static bool attached(struct polc_bpf *skel, unsigned ifindex)
{
	struct polc_iface rec;
	__u32 key = ifindex;
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.polc_ifaces), &key, &rec) == 0;
}

/* One netlink message: a new link that is wanted and not attached yet gets the programs. */
static void on_link(struct polc_bpf *skel, const struct load_opts *o, const struct nlmsghdr *h,
		    struct diag_sink *d)
{
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != IFLA_IFNAME)
			continue;
		char name[IF_NAMESIZE] = "";
		size_t n = RTA_PAYLOAD(a) < sizeof name ? RTA_PAYLOAD(a) : sizeof name - 1;
		memcpy(name, RTA_DATA(a), n);
		name[n < sizeof name ? n : sizeof name - 1] = 0;
		if (wanted(o, name) && !attached(skel, (unsigned)ifi->ifi_index) &&
		    attach_iface(skel, o, name, d) == 0) {
			printf("polc load --watch: attached to %s\n", name);
			fflush(stdout);
		}
	}
}

/* After a load: attach to the wanted interfaces as they appear (a new pod's veth), until
 * SIGINT or SIGTERM. Another polc load may replace the image meanwhile: the maps are shared,
 * and its programs replace these on the interfaces it attaches. */
static int watch_links(const struct load_opts *o, struct diag_sink *d)
{
	struct polc_bpf *skel;
	int err = open_object(o, true, &skel, d);
	if (err)
		return err;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		err = -errno;
		diag_pos(d, R_IO, NULL, "netlink", 0, 0, NULL, "cannot watch for new interfaces: %s",
			 strerror(-err));
		if (fd >= 0)
			close(fd);
		polc_bpf__destroy(skel);
		return err;
	}
	signal(SIGINT, on_stop_signal);
	signal(SIGTERM, on_stop_signal);
	attach_all(skel, o, d); /* what appeared between the load and the subscription */
	printf("polc load --watch: watching for new interfaces (SIGTERM ends)\n");
	fflush(stdout);
	_Alignas(struct nlmsghdr) char buf[16384];
	while (!watch_stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) { /* messages were lost: look at every interface */
			attach_all(skel, o, d);
			continue;
		}
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; n > 0 && NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left))
			on_link(skel, o, h, d);
	}
	close(fd);
	polc_bpf__destroy(skel);
	return 0;
}

/* ---------------------------------------------------------------- load */

static int check_image(const struct image *img, const struct load_opts *o, struct diag_sink *d)
{
	char host[256] = "";
	const char *node = o->node;
	if (!node) {
		gethostname(host, sizeof host - 1);
		node = host;
	}
	if (strcmp(img->hdr->node_name, node)) {
		diag_pos(d, R_IMAGE, NULL, img->path, 0, 0,
			 "compile this node's image, or name the node with --node",
			 "the image is for node %s, and this is node %s", img->hdr->node_name, node);
		return -EINVAL;
	}
	return 0;
}

/* observe and status name rules from a copy of the image, found by the digest the kernel
 * holds: written before the switch, so it exists whenever the switch happened. */
static void save_copy(const struct image *img, const struct load_opts *o)
{
	char path[4096], err[256], hex[65];
	sha256_hex(img->buf + img->size - POLC_DIGEST_SIZE, hex);
	snprintf(path, sizeof path, "%s/%s.polc", o->state_dir, hex);
	if (access(path, R_OK) != 0)
		write_file_atomic(path, img->buf, img->size, err, sizeof err);
}

/* After the switch: only the active copy is kept (none at all when keep_hex is NULL). */
static void prune_copies(const char *keep_hex, const struct load_opts *o)
{
	char keep[80], path[4096];
	snprintf(keep, sizeof keep, "%s.polc", keep_hex ? keep_hex : "");
	DIR *dir = opendir(o->state_dir);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		if (n == 69 && !strcmp(de->d_name + 64, ".polc") && strcmp(de->d_name, keep)) {
			snprintf(path, sizeof path, "%s/%s", o->state_dir, de->d_name);
			unlink(path);
		}
	}
	if (dir)
		closedir(dir);
}

static uint64_t control_word(const struct image *img, __u32 slot, const struct load_opts *o)
{
	uint64_t ctl = slot | POLC_CTL_HAS_IMAGE | (img->hdr->generation << POLC_CTL_GEN_SHIFT);
	if (img->hdr->flags & POLC_IMAGE_F_DUAL_STACK)
		ctl |= POLC_CTL_DUAL_STACK;
	if (o->fail_open)
		ctl |= POLC_CTL_FAIL_OPEN;
	return ctl;
}

/* The switch itself, and what status shows about it. */
static int switch_to(struct polc_bpf *skel, const struct image *img, __u32 slot,
		     const struct load_opts *o)
{
	__u32 zero = 0;
	uint64_t ctl = control_word(img, slot, o);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.polc_control), &zero, &ctl, BPF_ANY) < 0)
		return -errno;
	struct polc_meta meta = {.generation = img->hdr->generation, .abi_version = POLC_IMAGE_ABI};
	memcpy(meta.digest, img->buf + img->size - POLC_DIGEST_SIZE, POLC_DIGEST_SIZE);
	snprintf(meta.node_name, sizeof meta.node_name, "%s", img->hdr->node_name);
	bpf_map_update_elem(bpf_map__fd(skel->maps.polc_meta), &zero, &meta, BPF_ANY);
	struct polc_rate rate = {o->events_per_sec, o->events_per_sec / 10 + 1};
	bpf_map_update_elem(bpf_map__fd(skel->maps.polc_rate), &zero, &rate, BPF_ANY);
	return 0;
}

static bool already_active(struct polc_bpf *skel, const struct image *img)
{
	__u32 zero = 0;
	struct polc_meta meta;
	if (!(read_control(skel) & POLC_CTL_HAS_IMAGE) ||
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.polc_meta), &zero, &meta) < 0)
		return false;
	return !memcmp(meta.digest, img->buf + img->size - POLC_DIGEST_SIZE, POLC_DIGEST_SIZE);
}

/* No valid image: the interfaces are still attached, and they drop (or pass, if asked). */
static int load_without_image(const struct load_opts *o, struct diag_sink *d)
{
	struct polc_bpf *skel;
	if (ensure_bpffs(o->bpffs, d) < 0 || open_object(o, true, &skel, d) < 0)
		return -EIO;
	__u32 zero = 0;
	uint64_t ctl = read_control(skel);
	if (!(ctl & POLC_CTL_HAS_IMAGE)) {
		ctl = o->fail_open ? POLC_CTL_FAIL_OPEN : 0;
		bpf_map_update_elem(bpf_map__fd(skel->maps.polc_control), &zero, &ctl, BPF_ANY);
	}
	attach_all(skel, o, d);
	polc_bpf__destroy(skel);
	return -EINVAL;
}

/* The pinned state was made by a polc whose map layouts (ABI) differ from this one's: the
 * programs it attached read the maps the old way, so filling new maps for them is refused. */
static int check_pinned_abi(struct polc_bpf *skel, const char *image_path, struct diag_sink *d)
{
	__u32 zero = 0;
	struct polc_meta meta;
	if (!(read_control(skel) & POLC_CTL_HAS_IMAGE) ||
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.polc_meta), &zero, &meta) < 0 ||
	    meta.abi_version == POLC_IMAGE_ABI)
		return 0;
	diag_pos(d, R_IMAGE, NULL, image_path, 0, 0,
		 "load it with the polc that made the active image, or polc unload first (the node "
		 "is unenforced until the next load)",
		 "the active image was loaded with map layout (ABI) %u and this polc writes layout %u: "
		 "the programs attached now would misread the new maps; nothing changed",
		 meta.abi_version, POLC_IMAGE_ABI);
	return -EPROTO;
}

static int apply(struct polc_bpf *skel, const struct image *img, const struct load_opts *o,
		 struct diag_sink *d)
{
	uint64_t ctl = read_control(skel);
	uint64_t active_gen = ctl >> POLC_CTL_GEN_SHIFT;
	int abi = check_pinned_abi(skel, img->path, d);
	if (abi < 0)
		return abi;
	if (already_active(skel, img)) {
		save_copy(img, o); /* a crash right after an earlier switch may have left none */
		printf("%s: generation %llu is already active; nothing to do\n", img->path,
		       (unsigned long long)active_gen);
		return attach_all(skel, o, d);
	}
	if ((ctl & POLC_CTL_HAS_IMAGE) && img->hdr->generation <= active_gen && !o->force) {
		diag_pos(d, R_IMAGE, NULL, img->path, 0, 0, "compile with a higher --generation, or use --force",
			 "generation %llu is not newer than the active generation %llu",
			 (unsigned long long)img->hdr->generation, (unsigned long long)active_gen);
		return -EEXIST;
	}
	__u32 slot = (ctl & POLC_CTL_HAS_IMAGE) ? !(ctl & POLC_CTL_SLOT) : 0;
	quiesce(); /* the idle slot was live before the last switch: let its readers finish */
	fault("prepare");
	struct slot_maps s;
	int err = build_slot(img, &s, d);
	if (err)
		return err;
	fault("filled");
	err = install_slot(skel, slot, &s);
	close_slot(&s);
	if (err) {
		diag_pos(d, R_IO, NULL, img->path, 0, 0, NULL, "cannot install the new maps: %s",
			 strerror(-err));
		return err;
	}
	save_copy(img, o);
	fault("installed");
	err = switch_to(skel, img, slot, o);
	if (err)
		return err;
	fault("switched");
	char hex[65];
	sha256_hex(img->buf + img->size - POLC_DIGEST_SIZE, hex);
	prune_copies(hex, o);
	err = attach_all(skel, o, d);
	fault("attached");
	if (!err)
		printf("%s: generation %llu active on node %s (%zu endpoints, %zu entries)\n", img->path,
		       (unsigned long long)img->hdr->generation, img->hdr->node_name, img->neps,
		       img->nentries);
	return err;
}

int polc_load(const char *image_path, const struct load_opts *o, struct diag_sink *d)
{
	struct image img;
	int lock = -1, err;
	if (!o->dry_run && (lock = take_lock(o->state_dir, d)) < 0)
		return lock;
	err = image_load(image_path, &img, d) < 0 ? -EINVAL : 0; /* refused, not a usage error */
	if (!err)
		err = check_image(&img, o, d);
	if (err) {
		if (!o->dry_run && o->nifaces)
			load_without_image(o, d);
		goto out;
	}
	fault("verified");
	struct polc_bpf *skel;
	if (o->dry_run) {
		err = open_object(o, false, &skel, d);
		if (!err) {
			printf("%s: verified; the kernel accepts the programs (dry run: nothing changed)\n",
			       image_path);
			polc_bpf__destroy(skel);
		}
		goto out;
	}
	if ((err = ensure_bpffs(o->bpffs, d)) < 0 || (err = open_object(o, true, &skel, d)) < 0)
		goto out;
	err = apply(skel, &img, o, d);
	polc_bpf__destroy(skel);
out:
	image_free(&img);
	if (lock >= 0)
		close(lock);
	/* the lock is released first: a watcher must not keep the next image out */
	if (!err && o->watch && !o->dry_run)
		err = watch_links(o, d);
	return err;
}

/* ---------------------------------------------------------------- unload */

static void detach_all(const struct load_opts *o)
{
	int fd;
	char path[4096];
	snprintf(path, sizeof path, "%s/polc_ifaces", o->bpffs);
	if ((fd = bpf_obj_get(path)) < 0)
		return;
	__u32 key, next, *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct polc_iface rec;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &rec) < 0 || rec.mode != POLC_ATTACH_CLSACT)
			continue;
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)key,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&hook);
	}
	close(fd);
}

int polc_unload(const struct load_opts *o, struct diag_sink *d)
{
	int lock = take_lock(o->state_dir, d);
	if (lock < 0)
		return lock;
	detach_all(o);
	/* Unpinning a tcx link detaches it; unpinning maps frees them with their last user. */
	DIR *dir = opendir(o->bpffs);
	int removed = 0;
	struct dirent *de;
	char path[4096];
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", o->bpffs, de->d_name);
		if (unlink(path) == 0)
			removed++;
	}
	if (dir)
		closedir(dir);
	rmdir(o->bpffs);
	prune_copies(NULL, o);
	printf("polc unload: removed %d pinned objects from %s\n", removed, o->bpffs);
	snprintf(path, sizeof path, "%s/lock", o->state_dir);
	unlink(path);
	close(lock);
	rmdir(o->state_dir);
	return 0;
}
