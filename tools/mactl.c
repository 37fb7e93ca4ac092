// SPDX-License-Identifier: GPL-2.0
/*
 * mactl: look at and steer mem_arena from the shell.  Reads only public
 * interfaces: sysfs, the ioctls of <linux/mem_arena.h> (through
 * libmemarena or on a descriptor taken from another process with
 * pidfd_getfd), never guesses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <mem_arena.h>

#include "nlclient.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: mactl COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  info                      module, API, features, caps, kernel\n"
"  stats [--json] [ARENA]    module-wide totals (/sys/kernel/mem_arena), or\n"
"                            the stats of ARENA\n"
"  compress [--idle] [--json] ARENA\n"
"                            compress every region of ARENA; --idle: only\n"
"                            the chunks unused since the last --idle pass\n"
"  watch [-i SEC] [-n COUNT] the totals, refreshed, with rates per second\n"
"  map [--json] PID:FD       an arena's pool, block by block\n"
"  map [--json] --demo       build a fragmented arena, map it, compact it,\n"
"                            map it again\n"
"  defrag [--json] PID:FD    compact an arena's pool\n"
"  top [-i SEC] [-n COUNT] [--once] [--json]\n"
"                            every visible arena, refreshed, with rates\n"
"  events [--json] [-n COUNT]\n"
"                            netlink events as they happen (needs\n"
"                            CAP_NET_ADMIN); -n: stop after COUNT\n"
"\n"
"top and events use the generic netlink family; an unprivileged caller\n"
"sees the arenas opened with its uid, CAP_SYS_ADMIN sees all.\n"
"PID:FD names the arena open as descriptor FD in process PID (see\n"
"/proc/PID/fd; needs ptrace rights over PID: same user, or root).\n"
"ARENA is PID:FD, or PID for every arena PID has open.\n"
"Options: -j/--json, -i/--interval SEC (default 1), -n/--count N,\n"
"         -h/--help.  Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

/* ---- arenas of other processes ------------------------------------- */

/* Is @fd an open /dev/mem_arena?  Asked before sending it any ioctl. */
static bool is_arena_fd(int fd)
{
	struct stat dev, st;

	return !stat(MEM_ARENA_DEVICE, &dev) && S_ISCHR(dev.st_mode) &&
	       !fstat(fd, &st) && S_ISCHR(st.st_mode) && st.st_rdev == dev.st_rdev;
}

/* An arena of another process: its descriptor here, and where it is there. */
struct arena_ref {
	int fd;			/* ours, from pidfd_getfd() */
	unsigned long long pid, target_fd;
	char name[48];		/* "PID:FD" */
};

/* Open the arena @pid holds as @target_fd, or die saying why. */
static void arena_ref_open(struct arena_ref *ref, unsigned long long pid,
			   unsigned long long target_fd)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	int pidfd, afd;

	pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		die(1, "process %llu: %s", pid, strerror(errno));
	afd = syscall(SYS_pidfd_getfd, pidfd, (int)target_fd, 0);
	if (afd < 0)
		die(1, "fd %llu of process %llu: %s", target_fd, pid, strerror(errno));
	close(pidfd);
	if (!is_arena_fd(afd) || ioctl(afd, MEM_ARENA_IOC_GET_INFO, &info) ||
	    info.api != MEM_ARENA_API)
		die(1, "fd %llu of process %llu is not a mem_arena arena", target_fd, pid);
	ref->fd = afd;
	ref->pid = pid;
	ref->target_fd = target_fd;
	snprintf(ref->name, sizeof(ref->name), "%llu:%llu", pid, target_fd);
}

/* The same for an ARENA given as "PID:FD". */
static void arena_ref_parse(struct arena_ref *ref, const char *spec)
{
	const char *colon = strchr(spec, ':');
	unsigned long long pid;
	char pidstr[32];

	if (!colon || (size_t)(colon - spec) >= sizeof(pidstr))
		die(2, "'%s': expected PID:FD", spec);
	snprintf(pidstr, sizeof(pidstr), "%.*s", (int)(colon - spec), spec);
	pid = parse_num(pidstr, "PID", 1, 1ULL << 31);	/* its error first */
	arena_ref_open(ref, pid, parse_num(colon + 1, "FD", 0, 1 << 30));
}

/*
 * ARENA: "PID:FD", or "PID" for every arena the process has open (found by
 * stat() of /proc/PID/fd/N, which sends nothing to the file).  Fills at
 * most @max; dies if there is none.
 */
static size_t arena_fds(const char *spec, struct arena_ref *refs, size_t max)
{
	unsigned long long pid;
	struct stat dev, st;
	char path[64];
	size_t n = 0;
	DIR *dir;
	struct dirent *de;

	if (strchr(spec, ':')) {
		arena_ref_parse(&refs[0], spec);
		return 1;
	}
	pid = parse_num(spec, "PID", 1, 1ULL << 31);
	if (stat(MEM_ARENA_DEVICE, &dev))
		die(1, "%s: %s", MEM_ARENA_DEVICE, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%llu/fd", pid);
	dir = opendir(path);
	if (!dir)
		die(1, "process %llu: %s", pid, strerror(errno));
	while ((de = readdir(dir)) && n < max) {
		char fdpath[96], *end;
		unsigned long fd = strtoul(de->d_name, &end, 10);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end)
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%lu", path, fd);
		if (stat(fdpath, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != dev.st_rdev)
			continue;
		arena_ref_open(&refs[n++], pid, fd);
	}
	closedir(dir);
	if (!n)
		die(1, "process %llu has no mem_arena arena open", pid);
	return n;
}

static void arena_stats(int fd, struct mem_arena_stats *s)
{
	struct mem_arena_cmd_stats c = {
		.size = sizeof(c), .stats_size = sizeof(*s), .stats_ptr = (uintptr_t)s,
	};

	memset(s, 0, sizeof(*s));
	if (ioctl(fd, MEM_ARENA_IOC_GET_STATS, &c))
		die(1, "GET_STATS: %s", strerror(errno));
}

static json_object *stats_json(const struct mem_arena_stats *s)
{
	json_object *o = json_object_new_object();
	unsigned int i;

	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		json_object_object_add(o, mem_arena_stat_name(i),
				       json_object_new_uint64(mem_arena_stat_value(s, i)));
	return o;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ---- info, stats, watch -------------------------------------------- */

static int cmd_info(void)
{
	struct mem_arena_cmd_info info;
	struct mem_arena *arena;
	struct utsname uts;
	char b[32], b2[32];
	unsigned int i;
	int err;

	uname(&uts);
	err = mem_arena_create(NULL, &arena);
	if (err)
		die(1, "%s", mem_arena_strerror(err));
	err = mem_arena_get_info(arena, &info);
	mem_arena_destroy(arena);
	if (err)
		die(1, "GET_INFO: %s", mem_arena_strerror(err));
	printf("kernel            %s %s\n", uts.release, uts.machine);
	printf("api               0x%llx\n", (unsigned long long)info.api);
	printf("features         ");
	if (info.features & MEM_ARENA_FEATURE_FAULT_READBACK)
		printf(" fault-readback");
	if (info.features & MEM_ARENA_FEATURE_SAME_FILLED)
		printf(" same-filled");
	if (info.features & MEM_ARENA_FEATURE_LRU_CAP)
		printf(" lru-cap");
	if (info.features & MEM_ARENA_FEATURE_VARIABLE_SLOTS)
		printf(" variable-slots");
	if (info.features & MEM_ARENA_FEATURE_DEFRAG)
		printf(" defrag");
	if (info.features & MEM_ARENA_FEATURE_IDLE_ONLY)
		printf(" idle-only");
	if (info.features & MEM_ARENA_FEATURE_READAHEAD)
		printf(" readahead");
	if (info.features & MEM_ARENA_FEATURE_MAP_AHEAD)
		printf(" map-ahead");
	if (info.features & MEM_ARENA_FEATURE_READAHEAD_ASYNC)
		printf(" readahead-async");
	if (info.features & MEM_ARENA_FEATURE_ASYNC_MAP_AHEAD)
		printf(" async-map-ahead");
	if (info.features & MEM_ARENA_FEATURE_SEEK_HOLE)
		printf(" seek-hole");
	if (info.features & MEM_ARENA_FEATURE_COPY_SNAPSHOT)
		printf(" copy-snapshot");
	printf("\nioctls            %d of %d (mask 0x%llx)\n",
	       __builtin_popcountll(info.ioctls), 64,
	       (unsigned long long)info.ioctls);
	printf("chunk sizes       %u .. %u bytes\n", info.chunk_size_min,
	       info.chunk_size_max);
	printf("largest region    %s\n", fmt_bytes(b, sizeof(b), info.region_size_max));
	printf("pool cap          %s (module-wide)\n",
	       fmt_bytes(b, sizeof(b), info.pool_cap_bytes));
	if (info.memlock_limit == MEM_ARENA_UNLIMITED)
		printf("locked memory     not charged (CAP_IPC_LOCK or no RLIMIT_MEMLOCK)\n");
	else
		printf("locked memory     %s used of %s (RLIMIT_MEMLOCK, per user)\n",
		       fmt_bytes(b, sizeof(b), info.memlock_used),
		       fmt_bytes(b2, sizeof(b2), info.memlock_limit));
	printf("defrag threshold  %lld%% free, after %lld ms\n",
	       sysfs_value("defrag_threshold_pct"), sysfs_value("defrag_delay_ms"));
	printf("spare pages       %lld per arena at most\n", sysfs_value("spare_pages"));
	printf("touch workers     %lld running, %lld at most\n",
	       sysfs_value("touch_workers_running"), sysfs_value("touch_workers"));
	printf("open arenas       %lld\n", sysfs_value("arenas"));
	printf("stats             %u:", info.nr_stats);
	for (i = 0; i < info.nr_stats && mem_arena_stat_name(i); i++)
		printf(" %s", mem_arena_stat_name(i));
	putchar('\n');
	return 0;
}

static void sysfs_stats(struct mem_arena_stats *s)
{
	unsigned int i;

	if (sysfs_value("arenas") < 0)
		die(1, "%s not found: mem_arena module not loaded (modprobe mem_arena)",
		    SYSFS_DIR);
	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		((__u64 *)s)[i] = (__u64)sysfs_value(mem_arena_stat_name(i));
}

#define MAX_ARENAS	64

static json_object *arena_ref_json(const struct arena_ref *ref)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(ref->pid));
	json_object_object_add(o, "fd", json_object_new_int64(ref->target_fd));
	return o;
}

/* The stats of each arena ARENA names. */
static int arena_stats_show(const char *spec, bool json)
{
	struct arena_ref refs[MAX_ARENAS];
	json_object *all = json_object_new_array();
	struct mem_arena_stats s;
	size_t n, k;
	unsigned int i;

	n = arena_fds(spec, refs, MAX_ARENAS);
	for (k = 0; k < n; k++) {
		arena_stats(refs[k].fd, &s);
		close(refs[k].fd);
		if (json) {
			json_object *o = arena_ref_json(&refs[k]);

			json_object_object_add(o, "stats", stats_json(&s));
			json_object_array_add(all, o);
			continue;
		}
		printf("%sarena %s\n%-30s %20s  %s\n", k ? "\n" : "", refs[k].name,
		       "stat", "value", "unit");
		for (i = 0; i < MEM_ARENA_NR_STATS; i++)
			printf("%-30s %20llu  %s\n", mem_arena_stat_name(i),
			       mem_arena_stat_value(&s, i), mem_arena_stat_unit(i));
	}
	if (json)
		print_json(all);
	else
		json_object_put(all);
	return 0;
}

/* /sys/kernel/mem_arena/'s files beside the stats: the JSON's keys. */
static const char *const module_files[] = {
	"arenas", "pool_cap_bytes", "defrag_threshold_pct", "defrag_delay_ms",
	"spare_pages", "touch_workers", "touch_workers_running",
};

static int cmd_stats(const char *spec, bool json)
{
	struct mem_arena_stats s;
	unsigned int i;
	json_object *o;

	if (spec)
		return arena_stats_show(spec, json);
	sysfs_stats(&s);
	if (json) {
		o = json_object_new_object();
		for (i = 0; i < sizeof(module_files) / sizeof(*module_files); i++)
			json_object_object_add(o, module_files[i],
					       json_object_new_int64(sysfs_value(module_files[i])));
		json_object_object_add(o, "stats", stats_json(&s));
		print_json(o);
		return 0;
	}
	printf("%-30s %20s  %s\n", "stat", "value", "unit");
	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		printf("%-30s %20llu  %s\n", mem_arena_stat_name(i),
		       mem_arena_stat_value(&s, i), mem_arena_stat_unit(i));
	printf("%-30s %20lld\n%-30s %20lld  bytes\n", "arenas", sysfs_value("arenas"),
	       "pool_cap_bytes", sysfs_value("pool_cap_bytes"));
	return 0;
}

/* Gauges are shown as they are; counters get a rate. */
static bool stat_is_gauge(unsigned int id)
{
	switch (id) {
	case MEM_ARENA_STAT_logical_input_bytes:
	case MEM_ARENA_STAT_compressed_bytes_live:
	case MEM_ARENA_STAT_slot_bytes_live:
	case MEM_ARENA_STAT_pool_bytes:
	case MEM_ARENA_STAT_zero_chunks:
	case MEM_ARENA_STAT_raw_bytes:
	case MEM_ARENA_STAT_pool_bytes_peak:
	case MEM_ARENA_STAT_pool_free_bytes:
	case MEM_ARENA_STAT_pool_largest_free:
	case MEM_ARENA_STAT_pool_blocks:
		return true;
	}
	return false;
}

static int cmd_watch(double interval, unsigned long long count)
{
	struct mem_arena_stats prev, cur;
	bool tty = isatty(STDOUT_FILENO);
	double t0, t1;
	unsigned long long n;
	unsigned int i;

	sysfs_stats(&prev);
	t0 = now_seconds();
	for (n = 0; !count || n < count; n++) {
		struct timespec ts = { (time_t)interval,
				       (long)((interval - (time_t)interval) * 1e9) };

		nanosleep(&ts, NULL);	/* the refresh period */
		sysfs_stats(&cur);
		t1 = now_seconds();
		if (tty)
			printf("\033[H\033[2J");
		printf("mem_arena: %lld arenas, every %.1fs (Ctrl-C to stop)\n",
		       sysfs_value("arenas"), interval);
		printf("%-30s %20s %14s\n", "stat", "value", "per second");
		for (i = 0; i < MEM_ARENA_NR_STATS; i++) {
			unsigned long long v = mem_arena_stat_value(&cur, i);

			if (stat_is_gauge(i))
				printf("%-30s %20llu\n", mem_arena_stat_name(i), v);
			else
				printf("%-30s %20llu %14.1f\n", mem_arena_stat_name(i), v,
				       (v - mem_arena_stat_value(&prev, i)) / (t1 - t0));
		}
		if (!tty)
			putchar('\n');
		fflush(stdout);
		prev = cur;
		t0 = t1;
	}
	return 0;
}

/* ---- map and defrag ------------------------------------------------ */

static char cell_char(const struct mem_arena_block_info *b, unsigned int c)
{
	switch ((b->cells[c / 32] >> (2 * (c % 32))) & 3) {
	case MEM_ARENA_CELL_FULL:
		return '#';
	case MEM_ARENA_CELL_PARTIAL:
		return '+';
	default:
		return '.';
	}
}

/* The whole layout, paginated; returns the number of blocks. */
static unsigned int read_layout(int fd, struct mem_arena_block_info **out,
				unsigned int *block_size)
{
	struct mem_arena_block_info *all = NULL;
	unsigned int n = 0, total = 1;

	while (n < total) {
		struct mem_arena_cmd_pool_layout c = { .size = sizeof(c) };
		struct mem_arena_block_info *grown;

		grown = realloc(all, (n + MEM_ARENA_LAYOUT_MAX_BLOCKS) * sizeof(*all));
		if (!grown)
			die(1, "out of memory");
		all = grown;
		c.first_block = n;
		c.max_blocks = MEM_ARENA_LAYOUT_MAX_BLOCKS;
		c.entry_size = sizeof(*all);
		c.blocks_ptr = (uintptr_t)(all + n);
		if (ioctl(fd, MEM_ARENA_IOC_POOL_LAYOUT, &c))
			die(1, "POOL_LAYOUT: %s", strerror(errno));
		total = c.total_blocks;
		*block_size = c.block_size;
		if (!c.nr_blocks)
			break;
		n += c.nr_blocks;
	}
	*out = all;
	return n;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void show_map(int fd, const char *title, bool json)
{
	struct mem_arena_block_info *blocks;
	struct mem_arena_stats s;
	unsigned int i, c, n, bs = 0;
	char line[MEM_ARENA_LAYOUT_CELLS + 1], b1[32], b2[32], b3[32];
	double density, fragmentation;

	arena_stats(fd, &s);
	n = read_layout(fd, &blocks, &bs);
	density = ratio(s.slot_bytes_live, s.pool_bytes);
	fragmentation = s.pool_free_bytes ? 1 - ratio(s.pool_largest_free, s.pool_free_bytes) : 0;

	if (json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(o, "arena", json_object_new_string(title));
		json_object_object_add(o, "block_size", json_object_new_int(bs));
		json_object_object_add(o, "cells_per_block",
				       json_object_new_int(MEM_ARENA_LAYOUT_CELLS));
		json_object_object_add(o, "density_slots", json_object_new_double(density));
		json_object_object_add(o, "density_compressed",
				       json_object_new_double(ratio(s.compressed_bytes_live,
								    s.pool_bytes)));
		json_object_object_add(o, "fragmentation", json_object_new_double(fragmentation));
		json_object_object_add(o, "stats", stats_json(&s));
		for (i = 0; i < n; i++) {
			json_object *b = json_object_new_object();

			for (c = 0; c < MEM_ARENA_LAYOUT_CELLS; c++)
				line[c] = cell_char(&blocks[i], c);
			line[c] = 0;
			json_object_object_add(b, "index", json_object_new_int(i));
			json_object_object_add(b, "used_bytes",
					       json_object_new_int64(blocks[i].used_bytes));
			json_object_object_add(b, "largest_free",
					       json_object_new_int64(blocks[i].largest_free));
			json_object_object_add(b, "nr_slots", json_object_new_int(blocks[i].nr_slots));
			json_object_object_add(b, "map", json_object_new_string(line));
			json_object_array_add(arr, b);
		}
		json_object_object_add(o, "blocks", arr);
		print_json(o);
		free(blocks);
		return;
	}

	printf("%s: pool %u blocks (%s), slots %s, compressed %s\n", title, n,
	       fmt_bytes(b1, sizeof(b1), s.pool_bytes),
	       fmt_bytes(b2, sizeof(b2), s.slot_bytes_live),
	       fmt_bytes(b3, sizeof(b3), s.compressed_bytes_live));
	printf("density %.3f (slots/pool), %.3f (compressed/pool); fragmentation %.3f"
	       " (largest free %s of %s)\n", density,
	       ratio(s.compressed_bytes_live, s.pool_bytes), fragmentation,
	       fmt_bytes(b1, sizeof(b1), s.pool_largest_free),
	       fmt_bytes(b2, sizeof(b2), s.pool_free_bytes));
	printf("legend: '#' full  '+' partly used  '.' free   (1 char = %u bytes)\n",
	       bs / MEM_ARENA_LAYOUT_CELLS);
	printf("%6s %6s %6s %9s  map\n", "block", "used", "slots", "largest");
	for (i = 0; i < n; i++) {
		for (c = 0; c < MEM_ARENA_LAYOUT_CELLS; c++)
			line[c] = cell_char(&blocks[i], c);
		line[c] = 0;
		printf("%6u %5.1f%% %6u %9s  |%s|\n", i,
		       100.0 * blocks[i].used_bytes / (bs ? bs : 1), blocks[i].nr_slots,
		       fmt_bytes(b1, sizeof(b1), blocks[i].largest_free), line);
	}
	free(blocks);
}

static void defrag(int fd, const char *title, bool json)
{
	struct mem_arena_cmd_defrag d = { .size = sizeof(d) };
	char b[32], r[32];

	if (ioctl(fd, MEM_ARENA_IOC_DEFRAG, &d))
		die(1, "DEFRAG: %s", strerror(errno));
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "arena", json_object_new_string(title));
		json_object_object_add(o, "bytes_moved", json_object_new_uint64(d.bytes_moved));
		json_object_object_add(o, "slots_moved", json_object_new_uint64(d.slots_moved));
		json_object_object_add(o, "pages_released",
				       json_object_new_uint64(d.pages_released));
		print_json(o);
		return;
	}
	printf("%s: moved %s in %llu slots, released %llu pages (%s)\n", title,
	       fmt_bytes(b, sizeof(b), d.bytes_moved), (unsigned long long)d.slots_moved,
	       (unsigned long long)d.pages_released,
	       fmt_bytes(r, sizeof(r), d.pages_released * sysconf(_SC_PAGESIZE)));
}

/* An arena of chunks of varied compressibility, every other one read back. */
static int demo_arena(struct mem_arena **arena)
{
	const size_t cs = 4096, nr = 512;
	struct mem_arena_region *r;
	unsigned long long x = 88172645463325252ULL;
	size_t i, j;
	char *p;
	int err;

	err = mem_arena_create(NULL, arena);
	if (err)
		die(1, "%s", mem_arena_strerror(err));
	err = mem_arena_region_alloc(*arena, nr * cs, &r);
	if (err)
		die(1, "region: %s", mem_arena_strerror(err));
	p = mem_arena_region_base(r);
	for (i = 0; i < nr; i++) {
		size_t rnd = 256 * (1 + i % 8);

		for (j = 0; j < rnd; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[i * cs + j] = (char)x;
		}
		p[i * cs + cs - 1] = 1;
	}
	err = mem_arena_compress_region(r);
	if (err < 0)
		die(1, "compress: %s", mem_arena_strerror(err));
	for (i = 0; i < nr; i += 2)
		(void)*(volatile char *)(p + i * cs);
	return mem_arena_fd(*arena);
}

static int cmd_map(const char *spec, bool demo, bool json, bool do_defrag)
{
	struct mem_arena *arena = NULL;
	struct arena_ref ref;
	int fd;

	if (demo) {
		fd = demo_arena(&arena);
		if (do_defrag) {
			defrag(fd, "demo", json);
		} else {
			show_map(fd, "demo (fragmented)", json);
			defrag(fd, "demo", json);
			show_map(fd, "demo (compacted)", json);
		}
		mem_arena_destroy(arena);
		return 0;
	}
	if (!spec)
		die(2, "%s needs PID:FD or --demo (try --help)", do_defrag ? "defrag" : "map");
	arena_ref_parse(&ref, spec);
	if (do_defrag)
		defrag(ref.fd, ref.name, json);
	else
		show_map(ref.fd, ref.name, json);
	close(ref.fd);
	return 0;
}

/* ---- compress another process's arena ----------------------------- */

/*
 * COMPRESS each region of the arena whole (REGION_INFO lists them); a
 * region freed meanwhile is skipped.  Returns the chunks compressed.
 */
static unsigned long long compress_arena(const struct arena_ref *ref, __u32 flags,
					 unsigned int *nr_regions)
{
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };
	unsigned long long chunks = 0;

	*nr_regions = 0;
	while (!ioctl(ref->fd, MEM_ARENA_IOC_REGION_INFO, &ri)) {
		struct mem_arena_cmd_range r = {
			.size = sizeof(r), .flags = flags, .id = ri.id,
			.length = ri.length,
		};

		if (!ioctl(ref->fd, MEM_ARENA_IOC_COMPRESS, &r)) {
			chunks += r.chunks;
			(*nr_regions)++;
		} else if (errno != ENOENT) {
			die(1, "arena %s, region %u: COMPRESS: %s", ref->name, ri.id,
			    strerror(errno));
		}
		if (ri.id == UINT32_MAX)
			break;
		ri.id++;
	}
	if (errno != ENOENT)
		die(1, "arena %s: REGION_INFO: %s%s", ref->name, strerror(errno),
		    errno == ENOTTY ? " (module older than mactl)" : "");
	return chunks;
}

static int cmd_compress(const char *spec, bool idle, bool json)
{
	__u32 flags = idle ? MEM_ARENA_COMPRESS_IDLE_ONLY : 0;
	struct arena_ref refs[MAX_ARENAS];
	json_object *all = json_object_new_array();
	struct mem_arena_stats s0, s1;
	unsigned long long chunks;
	unsigned int regions;
	size_t n, k;

	if (!spec)
		die(2, "compress needs ARENA: PID or PID:FD (try --help)");
	n = arena_fds(spec, refs, MAX_ARENAS);
	for (k = 0; k < n; k++) {
		arena_stats(refs[k].fd, &s0);
		chunks = compress_arena(&refs[k], flags, &regions);
		arena_stats(refs[k].fd, &s1);
		close(refs[k].fd);
		if (json) {
			json_object *o = arena_ref_json(&refs[k]);

			json_object_object_add(o, "idle_only", json_object_new_boolean(idle));
			json_object_object_add(o, "regions", json_object_new_int64(regions));
			json_object_object_add(o, "chunks", json_object_new_uint64(chunks));
			json_object_object_add(o, "hot_skips",
					       json_object_new_uint64(s1.hot_skips - s0.hot_skips));
			json_object_object_add(o, "raw_bytes", json_object_new_uint64(s1.raw_bytes));
			json_object_object_add(o, "pool_bytes", json_object_new_uint64(s1.pool_bytes));
			json_object_array_add(all, o);
			continue;
		}
		printf("arena %s: %u regions, %llu chunks compressed", refs[k].name,
		       regions, chunks);
		if (idle)
			printf(", %llu left raw as recently used",
			       (unsigned long long)(s1.hot_skips - s0.hot_skips));
		printf("; raw %llu bytes, pool %llu bytes\n",
		       (unsigned long long)s1.raw_bytes, (unsigned long long)s1.pool_bytes);
	}
	if (json)
		print_json(all);
	else
		json_object_put(all);
	return 0;
}

/* ---- top and events (generic netlink) ----------------------------- */

static int by_pool_desc(const void *a, const void *b)
{
	const struct ma_nl_arena *x = a, *y = b;

	if (x->stats.pool_bytes != y->stats.pool_bytes)
		return x->stats.pool_bytes > y->stats.pool_bytes ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct ma_nl_arena *find_arena(const struct ma_nl_arena *v, size_t n,
					    uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* "uid:N" or "tenant:N"; "-" before the arena's first region. */
static const char *tenant_name(const struct ma_nl_arena *a)
{
	static char b[32];

	if (a->tenant == ~0ULL)
		return "-";
	snprintf(b, sizeof(b), "%s:%llu", a->tenant >> 32 ? "tenant" : "uid",
		 (unsigned long long)(a->tenant & 0xffffffffULL));
	return b;
}

static json_object *arena_json(const struct ma_nl_arena *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "pid", json_object_new_int64(a->pid));
	json_object_object_add(o, "comm", json_object_new_string(a->comm));
	json_object_object_add(o, "uid", json_object_new_int64(a->uid));
	json_object_object_add(o, "regions", json_object_new_int64(a->regions));
	json_object_object_add(o, "chunk_size", json_object_new_int64(a->chunk_size));
	json_object_object_add(o, "min_savings_pct", json_object_new_int64(a->min_savings_pct));
	json_object_object_add(o, "cap_bytes", json_object_new_uint64(a->cap_bytes));
	if (a->tenant != ~0ULL) {
		json_object_object_add(o, "tenant", json_object_new_string(tenant_name(a)));
		json_object_object_add(o, "weight", json_object_new_int64(a->weight));
		json_object_object_add(o, "tenant_pool_bytes",
				       json_object_new_uint64(a->tenant_pool_bytes));
		json_object_object_add(o, "share_bytes", json_object_new_uint64(a->share_bytes));
	}
	json_object_object_add(o, "stats", stats_json(&a->stats));
	return o;
}

static int cmd_top(double interval, unsigned long long count, bool once, bool json)
{
	struct ma_nl_arena *prev = NULL, *cur;
	size_t nprev = 0, n, i;
	bool tty = isatty(STDOUT_FILENO) && !json && !once;
	unsigned long long k;
	struct ma_nl nl;
	double t0 = 0, t1;

	ma_nl_open(&nl);
	for (k = 0; !count || k < count; k++) {
		n = ma_nl_arenas(&nl, &cur);
		t1 = now_seconds();
		qsort(cur, n, sizeof(*cur), by_pool_desc);
		if (json) {
			json_object *arr = json_object_new_array();

			for (i = 0; i < n; i++)
				json_object_array_add(arr, arena_json(&cur[i]));
			print_json(arr);
		} else {
			if (tty)
				printf("\033[H\033[2J");
			printf("mem_arena: %zu arenas%s\n", n,
			       once ? "" : " (rates over the last interval; Ctrl-C stops)");
			printf("%5s %7s %-16s %7s %11s %9s %7s %9s %9s  %-14s %6s\n", "ID", "PID",
			       "COMM", "REGIONS", "LOGICAL_MB", "POOL_MB", "RATIO", "EVICT/s",
			       "FAULTS/s", "TENANT", "SHARE%");
			for (i = 0; i < n; i++) {
				const struct mem_arena_stats *s = &cur[i].stats;
				const struct ma_nl_arena *p = find_arena(prev, nprev, cur[i].id);
				char ev[16] = "-", fl[16] = "-", sh[16] = "-";

				if (p && t1 > t0) {
					snprintf(ev, sizeof(ev), "%.1f",
						 (s->evictions_lru - p->stats.evictions_lru) / (t1 - t0));
					snprintf(fl, sizeof(fl), "%.1f",
						 (s->access_hits_decompressed -
						  p->stats.access_hits_decompressed) / (t1 - t0));
				}
				/* The tenant's pool against its weighted share. */
				if (cur[i].share_bytes)
					snprintf(sh, sizeof(sh), "%.0f", 100.0 *
						 cur[i].tenant_pool_bytes / cur[i].share_bytes);
				printf("%5u %7u %-16s %7u %11.1f %9.1f %7.2f %9s %9s  %-14s %6s\n",
				       cur[i].id, cur[i].pid, cur[i].comm, cur[i].regions,
				       s->logical_input_bytes / 1048576.0, s->pool_bytes / 1048576.0,
				       ratio(s->logical_input_bytes, s->pool_bytes), ev, fl,
				       tenant_name(&cur[i]), sh);
			}
			fflush(stdout);
		}
		free(prev);
		prev = cur;
		nprev = n;
		t0 = t1;
		if (once)
			break;
		{
			struct timespec ts = { (time_t)interval,
					       (long)((interval - (time_t)interval) * 1e9) };

			nanosleep(&ts, NULL);	/* the refresh period */
		}
	}
	free(prev);
	ma_nl_close(&nl);
	return 0;
}

struct event_opts {
	bool json;
	unsigned long long left;	/* 0: forever */
};

static bool print_event(const struct ma_nl_event *e, void *arg)
{
	struct event_opts *eo = arg;
	char b[32];

	if (eo->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string(e->name));
		json_object_object_add(o, "arena", json_object_new_int64(e->arena));
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
		json_object_object_add(o, "comm", json_object_new_string(e->comm));
		if (e->cmd == MEM_ARENA_NL_EVENT_EVICTION)
			json_object_object_add(o, "chunks", json_object_new_uint64(e->chunks));
		if (e->cmd == MEM_ARENA_NL_EVENT_EVICTION ||
		    e->cmd == MEM_ARENA_NL_EVENT_DEFRAG_DONE)
			json_object_object_add(o, "bytes", json_object_new_uint64(e->bytes));
		if (e->cmd == MEM_ARENA_NL_EVENT_DEFRAG_DONE)
			json_object_object_add(o, "pages_released", json_object_new_uint64(e->pages));
		if (e->cmd == MEM_ARENA_NL_EVENT_CAP_REACHED)
			json_object_object_add(o, "pool_bytes", json_object_new_uint64(e->pool_bytes));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("%-16s arena %u (pid %u %s)", e->name, e->arena, e->pid, e->comm);
		if (e->cmd == MEM_ARENA_NL_EVENT_EVICTION)
			printf(": %llu chunks, %s", (unsigned long long)e->chunks,
			       fmt_bytes(b, sizeof(b), e->bytes));
		else if (e->cmd == MEM_ARENA_NL_EVENT_DEFRAG_DONE)
			printf(": moved %s, released %llu pages", fmt_bytes(b, sizeof(b), e->bytes),
			       (unsigned long long)e->pages);
		else if (e->cmd == MEM_ARENA_NL_EVENT_CAP_REACHED)
			printf(": pool %s", fmt_bytes(b, sizeof(b), e->pool_bytes));
		putchar('\n');
	}
	fflush(stdout);
	return !eo->left || --eo->left;
}

static int cmd_events(bool json, unsigned long long count)
{
	struct event_opts eo = { .json = json, .left = count };
	struct ma_nl nl;

	ma_nl_open(&nl);
	ma_nl_events(&nl, print_event, &eo);
	ma_nl_close(&nl);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "demo", no_argument, NULL, 'd' },
		{ "once", no_argument, NULL, 'o' },
		{ "idle", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long count = 0;
	double interval = 1;
	bool json = false, demo = false, once = false, idle = false;
	const char *cmd;
	int c;

	tool_init("mactl");
	if (argc < 2)
		die(2, "no command (try --help)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	cmd = argv[1];
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ji:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'i':
			interval = parse_seconds(optarg, "--interval");
			break;
		case 'n':
			count = parse_num(optarg, "--count", 1, 1ULL << 40);
			break;
		case 'd':
			demo = true;
			break;
		case 'o':
			once = true;
			break;
		case 'I':
			idle = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			die_bad_option(argv);
		}
	}
	check_extra_args(argc, argv, 1);
	if (!strcmp(cmd, "info"))
		return cmd_info();
	if (!strcmp(cmd, "stats"))
		return cmd_stats(optind < argc ? argv[optind] : NULL, json);
	if (!strcmp(cmd, "compress"))
		return cmd_compress(optind < argc ? argv[optind] : NULL, idle, json);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(interval, count);
	if (!strcmp(cmd, "top"))
		return cmd_top(interval, count, once, json);
	if (!strcmp(cmd, "events"))
		return cmd_events(json, count);
	if (!strcmp(cmd, "map") || !strcmp(cmd, "defrag"))
		return cmd_map(optind < argc ? argv[optind] : NULL, demo, json,
			       !strcmp(cmd, "defrag"));
	die(2, "unknown command '%s' (try --help)", cmd);
}
