/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mem_arena selftests: raw ioctl wrappers, data
 * generators whose compressibility the tests know, /proc readers.
 */
#ifndef MEM_ARENA_SELFTEST_HELPERS_H
#define MEM_ARENA_SELFTEST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/mem_arena.h>

#define KiB 1024UL
#define MiB (1024UL * 1024UL)

/* ioctl returning 0 or -errno. */
static inline int ma_ioc(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int ma_set_config(int fd, __u32 chunk, __u32 pct, __u64 cap)
{
	struct mem_arena_cmd_config c = {
		.size = sizeof(c), .chunk_size = chunk,
		.min_savings_pct = pct, .cap_bytes = cap,
	};
	return ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c);
}

/* Allocate and map a region; returns its base or NULL. */
static inline void *ma_region_map(int fd, size_t len, __u32 *id)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a), .length = len };
	void *p;

	*id = 0;
	if (ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, &a))
		return NULL;
	p = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	if (p == MAP_FAILED)
		return NULL;
	*id = a.id;
	return p;
}

/* Bytes of [p, p + len) that are not zero. */
static inline size_t ma_nonzero_bytes(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] != 0;
	return n;
}

static inline int ma_range_flags(int fd, unsigned long cmd, __u32 flags,
				 __u32 id, __u64 off, __u64 len, __u64 *chunks)
{
	struct mem_arena_cmd_range r = {
		.size = sizeof(r), .flags = flags, .id = id, .offset = off,
		.length = len,
	};
	int err = ma_ioc(fd, cmd, &r);

	if (!err && chunks)
		*chunks = r.chunks;
	return err;
}

static inline int ma_range(int fd, unsigned long cmd, __u32 id, __u64 off,
			   __u64 len, __u64 *chunks)
{
	return ma_range_flags(fd, cmd, 0, id, off, len, chunks);
}

/* MEM_ARENA_IOC_COPY on @fd (region @id) from region @src_id of @src_fd. */
static inline int ma_copy(int fd, __u32 id, __u64 off, int src_fd,
			  __u32 src_id, __u64 src_off, __u64 len, __u64 *chunks)
{
	struct mem_arena_cmd_copy c = {
		.size = sizeof(c), .id = id, .src_fd = src_fd, .src_id = src_id,
		.offset = off, .src_offset = src_off, .length = len,
	};
	int err = ma_ioc(fd, MEM_ARENA_IOC_COPY, &c);

	if (!err && chunks)
		*chunks = c.chunks;
	return err;
}

/* The largest page a test may meet (64 KiB): on-stack buffers of a page. */
#define MA_PAGE_MAX	(64 * KiB)

/*
 * A test's chunk size: @size, or the page if that is larger (0: the page).
 * An arena takes no chunk below the page: 16 or 64 KiB on some arm64 and
 * ppc64 kernels, where a 4 KiB variant runs at the page size.
 */
static inline size_t ma_chunk_at_least(size_t size)
{
	size_t page = getpagesize();

	return size > page ? size : page;
}

static inline int ma_stats(int fd, struct mem_arena_stats *s)
{
	struct mem_arena_cmd_stats c = {
		.size = sizeof(c), .stats_size = sizeof(*s),
		.stats_ptr = (uintptr_t)s,
	};
	return ma_ioc(fd, MEM_ARENA_IOC_GET_STATS, &c);
}

/* xorshift64*: reproducible pseudo-random bytes. */
static inline uint64_t ma_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline void ma_fill_random(void *p, size_t len, uint64_t seed)
{
	uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 1, w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = ma_rand(&st);
		memcpy((char *)p + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* Text-like, compresses well, distinct per (seed, position). */
static inline void ma_fill_text(void *p, size_t len, uint64_t seed)
{
	static const char *words[] = { "arena", "chunk", "slot", "pool",
		"compress", "fault", "page", "region", "evict", "lz4" };
	uint64_t st = seed + 7;
	char *c = p, *end = c + len;

	while (c < end) {
		const char *w = words[ma_rand(&st) % 10];
		size_t n = strlen(w);

		if ((size_t)(end - c) < n + 1) {
			memset(c, '.', end - c);
			break;
		}
		memcpy(c, w, n);
		c[n] = ' ';
		c += n + 1;
	}
}

/* Half random, half zero: LZ4 saves about half. */
static inline void ma_fill_half(void *p, size_t len, uint64_t seed)
{
	ma_fill_random(p, len / 2, seed);
	memset((char *)p + len / 2, 0, len / 2);
}

/*
 * A mixed region's chunk kinds, by index % MA_KINDS: text, random, zeros,
 * one repeated byte, never touched.
 */
enum { K_TEXT, K_RANDOM, K_ZERO, K_SAME, K_EMPTY, MA_KINDS };

static inline void ma_fill_kind(void *p, size_t cs, unsigned int i)
{
	switch (i % MA_KINDS) {
	case K_TEXT:
		ma_fill_text(p, cs, i);
		break;
	case K_RANDOM:
		ma_fill_random(p, cs, i);
		break;
	case K_ZERO:
		memset(p, 0, cs);
		break;
	case K_SAME:
		memset(p, 0xa5, cs);
		break;
	}
}

static inline long ma_proc_kb(const char *file, const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			v = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Mappings of /dev/mem_arena in this process (/proc/self/maps); with
 * @unmap, each is unmapped as it is counted.
 */
static inline int ma_device_mappings(int unmap)
{
	char line[512];
	unsigned long lo, hi;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, MEM_ARENA_DEVICE))
			continue;
		n++;
		if (unmap && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			munmap((void *)lo, hi - lo);
	}
	if (f)
		fclose(f);
	return n;
}

/* The number at the start of a (sysfs, cgroup) file, or -1. */
static inline long long ma_file_read_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

/* Write @val to a (sysfs, cgroup) file; 0 or -errno. */
static inline int ma_file_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static inline long long ma_sysfs_read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/mem_arena/%s", name);
	return ma_file_read_ll(path);
}

static inline int ma_sysfs_write(const char *name, long long v)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), "/sys/kernel/mem_arena/%s", name);
	snprintf(val, sizeof(val), "%lld\n", v);
	return ma_file_write(path, val);
}

/*
 * The spare shrinker's debugfs scan file (CONFIG_SHRINKER_DEBUG), whose
 * writes run one scan of the size asked, as reclaim asks for a batch.
 * Its path into @path; 0, or -ENOENT without it.
 */
static inline int ma_shrinker_scan_file(char *path, size_t len)
{
	glob_t gl;
	int err = -ENOENT;

	if (access("/sys/kernel/debug/shrinker", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (glob("/sys/kernel/debug/shrinker/mem_arena-spare-*/scan", 0, NULL, &gl))
		return -ENOENT;
	if (gl.gl_pathc == 1 && strlen(gl.gl_pathv[0]) < len) {
		strcpy(path, gl.gl_pathv[0]);
		err = 0;
	}
	globfree(&gl);
	return err;
}

/*
 * The memory cgroup a scan names.  The spare shrinker is memcg aware: a
 * debugfs scan takes from one cgroup's spares (not its descendants'), and
 * this process's arenas keep theirs in its own cgroup, named by the inode
 * of its cgroup2 directory.  0 without cgroup2 or its memory controller (the
 * shrinker is not memcg aware then).  Mounts cgroup2 at /sys/fs/cgroup if
 * nothing is mounted there (a bare guest).
 */
static inline unsigned long ma_own_memcg(void)
{
	char line[4096], dir[4200], buf[256] = "";
	struct statfs sfs;
	struct stat st;
	ssize_t n;
	FILE *f;
	int fd;

	if (!statfs("/sys/fs/cgroup", &sfs) && sfs.f_type == SYSFS_MAGIC)
		mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || !strstr(buf, "memory"))
		return 0;
	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return 0;
	dir[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", line + 3);
		}
	fclose(f);
	if (!dir[0] || stat(dir, &st))
		return 0;
	return st.st_ino;
}

/*
 * Write one scan line to the shrinker's debugfs scan file @path: @nr
 * spares of cgroup @memcg (a cgroup2 directory's inode) on node 0 (the
 * guests have one).  @nr 0 only checks that the file can be written.
 * 0, or -errno.
 */
static inline int ma_shrinker_scan_write(const char *path, unsigned long memcg,
					 unsigned long nr)
{
	char val[64];

	snprintf(val, sizeof(val), "%lu 0 %lu\n", memcg, nr);
	return ma_file_write(path, val);
}

/*
 * One scan of this process's cgroup's spares that asks for @nr (it frees
 * up to that many).  0, -ENOENT without the file, -EPERM under lockdown,
 * or -errno.
 */
static inline int ma_shrinker_scan(unsigned long nr)
{
	char path[256];
	int err = ma_shrinker_scan_file(path, sizeof(path));

	if (err)
		return err;
	return ma_shrinker_scan_write(path, ma_own_memcg(), nr);
}

static inline long ma_rss_kb(void)
{
	return ma_proc_kb("/proc/self/status", "VmRSS");
}

/* FNV-1a, 64 bits: a checksum of a chunk's bytes. */
static inline uint64_t ma_fnv1a(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

/* CLOCK_MONOTONIC in seconds, for time-bounded loops. */
static inline double ma_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* When a race test stops: $MA_RACE_SECONDS (default 3) from now. */
static inline double ma_race_deadline(void)
{
	const char *env = getenv("MA_RACE_SECONDS");

	return ma_now_s() + (env ? atof(env) : 3);
}

/*
 * A writer for snapshot tests: it sweeps a counter through the first word
 * of each of @n blocks of @stride bytes at @p, in order, until @stop, so at
 * any instant the words fall from first to last by at most one.  A copy of
 * one instant keeps that; one taken block by block while the sweeps go on
 * finds later blocks written by later sweeps.
 */
struct ma_sweeper {
	char *p;
	size_t stride;
	unsigned int n;
	volatile int stop;
};

static inline volatile __u64 *ma_sweep_word(char *p, size_t stride, unsigned int i)
{
	return (volatile __u64 *)(p + i * stride);
}

/* A pthread start routine: the sweeps, until w->stop. */
static inline void *ma_sweep(void *arg)
{
	struct ma_sweeper *w = arg;
	unsigned int i;
	__u64 c;

	for (c = 1; !w->stop; c++)
		for (i = 0; i < w->n; i++)
			*ma_sweep_word(w->p, w->stride, i) = c;
	return NULL;
}

/* The first block of a copy at @p whose word breaks the fall, or -1. */
static inline int ma_sweep_torn(char *p, size_t stride, unsigned int n)
{
	unsigned int i;

	for (i = 1; i < n; i++)
		if (*ma_sweep_word(p, stride, i) > *ma_sweep_word(p, stride, i - 1))
			return i;
	return *ma_sweep_word(p, stride, 0) - *ma_sweep_word(p, stride, n - 1) > 1 ?
	       0 : -1;
}

/* Room for any command struct, and more (size+1 tests, the fuzzer). */
union ma_any_cmd {
	struct mem_arena_cmd_info info;
	struct mem_arena_cmd_config config;
	struct mem_arena_cmd_region_alloc alloc;
	struct mem_arena_cmd_region_free free;
	struct mem_arena_cmd_region_info rinfo;
	struct mem_arena_cmd_range range;
	struct mem_arena_cmd_copy copy;
	struct mem_arena_cmd_stats stats;
	struct mem_arena_cmd_defrag defrag;
	struct mem_arena_cmd_pool_layout layout;
	char bytes[256];
};

/*
 * Every ioctl with the size of its struct and the smallest size it takes
 * (a struct that grew still accepts what older userspace sends).
 */
static const struct {
	unsigned long cmd;
	size_t size;
	size_t min_size;
} ma_ioctls[] = {
#define MA_IOCTL(cmd, type, last) \
	{ cmd, sizeof(struct type), offsetof(struct type, last) + \
	  sizeof(((struct type *)0)->last) }
	MA_IOCTL(MEM_ARENA_IOC_GET_INFO, mem_arena_cmd_info, pool_cap_bytes),
	MA_IOCTL(MEM_ARENA_IOC_SET_CONFIG, mem_arena_cmd_config, cap_bytes),
	MA_IOCTL(MEM_ARENA_IOC_GET_CONFIG, mem_arena_cmd_config, cap_bytes),
	MA_IOCTL(MEM_ARENA_IOC_REGION_ALLOC, mem_arena_cmd_region_alloc, __reserved),
	MA_IOCTL(MEM_ARENA_IOC_REGION_FREE, mem_arena_cmd_region_free, __reserved),
	MA_IOCTL(MEM_ARENA_IOC_COMPRESS, mem_arena_cmd_range, chunks),
	MA_IOCTL(MEM_ARENA_IOC_TOUCH, mem_arena_cmd_range, chunks),
	MA_IOCTL(MEM_ARENA_IOC_GET_STATS, mem_arena_cmd_stats, stats_ptr),
	MA_IOCTL(MEM_ARENA_IOC_DEFRAG, mem_arena_cmd_defrag, pages_released),
	MA_IOCTL(MEM_ARENA_IOC_POOL_LAYOUT, mem_arena_cmd_pool_layout, blocks_ptr),
	MA_IOCTL(MEM_ARENA_IOC_DISCARD, mem_arena_cmd_range, chunks),
	MA_IOCTL(MEM_ARENA_IOC_REGION_INFO, mem_arena_cmd_region_info, mmap_offset),
	MA_IOCTL(MEM_ARENA_IOC_COPY, mem_arena_cmd_copy, chunks),
#undef MA_IOCTL
};
#define MA_NR_IOCTLS	(sizeof(ma_ioctls) / sizeof(ma_ioctls[0]))

#endif /* MEM_ARENA_SELFTEST_HELPERS_H */
