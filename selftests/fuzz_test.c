// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer.  Root threads and one unprivileged child process (uid
 * 65534) drive every ioctl with random structs biased to edge values, map,
 * unmap, mremap, mprotect and madvise regions, fork, close arenas and free regions
 * under each other, read and write region memory (SIGBUS and SIGSEGV are
 * caught), send malformed generic netlink messages, turn the module's
 * sysfs knobs to edge values (restored afterwards) and run the spare-page
 * shrinker, whole or a batch at a time through its debugfs scan file.
 * Arenas get random chunk sizes, caps, MAP_AHEAD, READAHEAD_ASYNC or both.
 * A thread mostly uses its own two arena slots, sometimes anyone's.
 * Afterwards every open arena's stats must be consistent, a fresh arena
 * must work, and with everything closed the module-wide gauges must be 0.
 *
 *   fuzz_test [--seed N] [--seconds N] [--threads N] [--inject PCT]
 *
 * --inject fails PCT% of the root workers' allocations (failslab and
 * fail_page_alloc, armed for the workers only), so that every error path
 * runs under the same races; the checks afterwards run with it off.
 * MA_FUZZ_SECONDS and MA_FUZZ_INJECT also set the duration (default 20)
 * and PCT (default 0).  The seed is printed first; the same seed replays
 * each thread's choices (not their timing).
 */
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "fault_inject.h"

#define MAX_THREADS	32
#define SLOTS_PER	2		/* arena slots per thread */
#define MAX_REGIONS	8		/* remembered per arena */
#define MAX_MAPS	16		/* mappings per thread */
#define BIG_LEN		(4 * MiB)	/* larger regions are freed at once */
#define BUF_LEN		(160 * KiB)	/* per-thread buffer the kernel fills */
#define NOBODY		65534

struct region {
	__u32 id;
	__u64 off, len;
};

struct slot {
	pthread_mutex_t lock;
	int fd;			/* -1: closed */
	unsigned int gen;	/* bumped by every close */
	__u32 chunk;
	struct region r[MAX_REGIONS];
	int nr;
};

/* A thread's handle on a slot: a dup of its fd and one of its regions. */
struct ref {
	int fd, slot, has_reg;
	unsigned int gen;
	__u32 chunk;
	struct region reg;
};

struct map {
	char *p;
	size_t len;
	int slot;
};

struct fuzzer {
	int idx;
	uint64_t rnd;
	struct map maps[MAX_MAPS];	/* only this thread uses them */
	char *buf;
	int nl;
	int fi;				/* its make-it-fail, armed; or -1 */
};

/* Counters the unprivileged child updates too: a MAP_SHARED page. */
struct shared {
	unsigned long calls[MAX_THREADS], faults[MAX_THREADS], bad;
};

static struct {
	uint64_t seed;
	int seconds, threads, family, mcgrp, nr_slots;
	unsigned int inject;		/* --inject: percent */
	char shrinker_scan[256];	/* the spare shrinker's debugfs scan file, or "" */
	unsigned long shrinker_memcg;	/* the cgroup its scans name: ma_own_memcg() */
	size_t page;
	double deadline;
	volatile int stop;
	struct shared *sh;
	char *rw, *none, *ro;	/* three pages: rw, PROT_NONE, read-only */
	struct slot slots[MAX_THREADS * SLOTS_PER];
	struct fuzzer fz[MAX_THREADS];
} g;


/* ---- randomness and edge values ---- */

static uint64_t below(struct fuzzer *f, uint64_t n)
{
	return n ? ma_rand(&f->rnd) % n : 0;
}

static int chance(struct fuzzer *f, int pct)
{
	return below(f, 100) < (uint64_t)pct;
}

#define PICK(f, arr)	((arr)[below(f, ARRAY_SIZE(arr))])

static __u64 edge_u64(struct fuzzer *f)
{
	static const __u64 v[] = { 0, 1, 4095, 4096, 4097, 65535, 65536, 65537,
		UINT32_MAX, 1ULL << 32, MEM_ARENA_REGION_SIZE_MAX,
		MEM_ARENA_REGION_SIZE_MAX + 1, 1ULL << 63, UINT64_MAX - 4095,
		UINT64_MAX };

	return chance(f, 70) ? PICK(f, v) : ma_rand(&f->rnd) >> below(f, 64);
}

/* Mostly @good (@pct %); else around @edge, or extreme. */
static __u64 around(struct fuzzer *f, int pct, __u64 good, __u64 edge)
{
	const __u64 v[] = { 0, 1, edge - 1, edge, edge + 1, UINT32_MAX,
		UINT64_MAX, ma_rand(&f->rnd) >> below(f, 64) };

	return chance(f, pct) ? good : PICK(f, v);
}

/* Flags and reserved fields: mostly 0. */
static __u32 edge_flags(struct fuzzer *f)
{
	static const __u32 v[] = { 1, 2, 0x80000000, UINT32_MAX };

	if (chance(f, 90))
		return 0;
	return chance(f, 50) ? PICK(f, v) : 1U << below(f, 32);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count(struct fuzzer *f)
{
	__atomic_add_fetch(&g.sh->calls[f->idx], 1, __ATOMIC_RELAXED);
}

/* A broken invariant: counted; the first few told, a line each. */
static void bad(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (__atomic_add_fetch(&g.sh->bad, 1, __ATOMIC_RELAXED) <= 10)
		fprintf(stderr, "# fuzz: BAD (seed %llu): %s\n",
			(unsigned long long)g.seed, msg);
}

/* ---- faults: each thread catches its own SIGBUS and SIGSEGV ---- */

static __thread sigjmp_buf fault_jb;
static __thread volatile int fault_armed;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (!fault_armed) {	/* not ours: say where, die of it on return */
		char msg[128];
		int n = snprintf(msg, sizeof(msg),
				 "# fuzz: unguarded signal %d, code %d, at %p (seed %llu)\n",
				 sig, si->si_code, si->si_addr,
				 (unsigned long long)g.seed);

		if (write(STDERR_FILENO, msg, n) < 0)
			n = 0;
		signal(sig, SIG_DFL);
		return;
	}
	fault_armed = 0;
	siglongjmp(fault_jb, 1);
}

/* Run @stmt; a fault ends it and is counted. */
#define GUARDED(f, stmt) do {						\
	if (!sigsetjmp(fault_jb, 1)) {					\
		fault_armed = 1;					\
		__asm__ volatile("" ::: "memory");			\
		stmt;							\
		__asm__ volatile("" ::: "memory");			\
		fault_armed = 0;					\
	} else {							\
		__atomic_add_fetch(&g.sh->faults[(f)->idx], 1,		\
				   __ATOMIC_RELAXED);			\
	}								\
} while (0)

static unsigned long read_mem(const volatile char *p, size_t n)
{
	unsigned long sum = p[n - 1];
	size_t i;

	for (i = 0; i < n; i += 512)
		sum += p[i];
	return sum;
}

/* ---- arena slots ---- */

static void slot_open(struct fuzzer *f, struct slot *s)
{
	static const __u32 chunks[] = { 0, 4096, 8192, 16384, 65536 };
	static const __u64 caps[] = { 0, 0, 64 * KiB, 256 * KiB, 1 * MiB };
	struct mem_arena_cmd_config c = { .size = sizeof(c) };

	s->fd = open(MEM_ARENA_DEVICE, chance(f, 5) ? O_RDONLY : O_RDWR);
	s->chunk = MEM_ARENA_CHUNK_SIZE_DEFAULT;
	count(f);
	if (s->fd < 0)
		return;
	if (chance(f, 50)) {
		c.chunk_size = PICK(f, chunks);
		c.min_savings_pct = below(f, 60);
		c.cap_bytes = PICK(f, caps);
		c.flags = (chance(f, 40) ? MEM_ARENA_CONFIG_MAP_AHEAD : 0) |
			  (chance(f, 40) ? MEM_ARENA_CONFIG_READAHEAD_ASYNC : 0);
		ma_ioc(s->fd, MEM_ARENA_IOC_SET_CONFIG, &c);
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
	}
	if (!ma_ioc(s->fd, MEM_ARENA_IOC_GET_CONFIG, &c))
		s->chunk = c.chunk_size;
	count(f);
}

static int region_free(int fd, __u32 id)
{
	struct mem_arena_cmd_region_free c = { .size = sizeof(c), .id = id };

	return ma_ioc(fd, MEM_ARENA_IOC_REGION_FREE, &c);
}

/* A region of 1..64 chunks, at most BIG_LEN; with the slot locked. */
static void slot_alloc_region(struct fuzzer *f, struct slot *s)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a) };
	struct region *r = &s->r[s->nr];

	a.length = (1 + below(f, 64)) * s->chunk;
	if (a.length > BIG_LEN)
		a.length = BIG_LEN;
	count(f);
	if (ma_ioc(s->fd, MEM_ARENA_IOC_REGION_ALLOC, &a))
		return;
	if (s->nr == MAX_REGIONS) {	/* full: free one, maybe mapped */
		r = &s->r[below(f, MAX_REGIONS)];
		region_free(s->fd, r->id);
		count(f);
	} else {
		s->nr++;
	}
	*r = (struct region){ a.id, a.mmap_offset, a.length };
}

static int pick_slot(struct fuzzer *f)
{
	if (chance(f, 60))
		return f->idx * SLOTS_PER + below(f, SLOTS_PER);
	return below(f, g.nr_slots);
}

/* Open the slot if closed; @want_reg: with a region.  The fd or -1. */
static int slot_get(struct fuzzer *f, struct ref *ref, int want_reg)
{
	struct slot *s = &g.slots[pick_slot(f)];

	memset(ref, 0, sizeof(*ref));
	pthread_mutex_lock(&s->lock);
	if (s->fd < 0)
		slot_open(f, s);
	if (s->fd >= 0 && want_reg && (!s->nr || chance(f, 10)))
		slot_alloc_region(f, s);
	if (s->nr) {
		ref->reg = s->r[below(f, s->nr)];
		ref->has_reg = 1;
	}
	ref->fd = s->fd >= 0 ? dup(s->fd) : -1;
	ref->slot = s - g.slots;
	ref->gen = s->gen;
	ref->chunk = s->chunk;
	pthread_mutex_unlock(&s->lock);
	return ref->fd;
}

static void ref_put(struct ref *ref)
{
	if (ref->fd >= 0)
		close(ref->fd);
}

/* Remember (@add) or forget a region; 0 if the slot has moved on. */
static int slot_note(struct ref *ref, const struct region *reg, int add)
{
	struct slot *s = &g.slots[ref->slot];
	int i, ok;

	pthread_mutex_lock(&s->lock);
	ok = s->gen == ref->gen && (!add || s->nr < MAX_REGIONS);
	if (ok && add)
		s->r[s->nr++] = *reg;
	for (i = 0; ok && !add && i < s->nr; i++)
		if (s->r[i].id == reg->id)
			s->r[i--] = s->r[--s->nr];
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void slot_close(struct slot *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->nr = 0;
	s->gen++;
	pthread_mutex_unlock(&s->lock);
}

/* ---- the thread's mappings, and the pointers it hands the kernel ---- */

static struct map *map_pick(struct fuzzer *f)
{
	struct map *m = &f->maps[below(f, MAX_MAPS)];

	return m->p ? m : NULL;
}

/*
 * munmap() of what the thread forgets: retried while the kernel has no
 * memory for it (--inject), as a mapping left behind would keep its arena.
 */
static void unmap(void *p, size_t len)
{
	int i;

	for (i = 0; i < 1000 && munmap(p, len) && errno == ENOMEM; i++)
		;
}

static void map_add(struct fuzzer *f, char *p, size_t len, int slot)
{
	struct map *m = &f->maps[below(f, MAX_MAPS)];

	if (m->p)
		unmap(m->p, m->len);
	m->p = p;
	m->len = (len + g.page - 1) & ~(g.page - 1);
	m->slot = slot;
}

/* @room bytes in a mapping, of arena @slot if one is at hand; or NULL. */
static char *region_ptr(struct fuzzer *f, size_t room, int slot)
{
	struct map *m = NULL, *any;
	int i;

	for (i = 0; i < 4 && (!m || m->slot != slot); i++) {
		any = map_pick(f);
		if (any && any->len >= room)
			m = any;
	}
	return m ? m->p + below(f, (m->len - room) / 8 + 1) * 8 : NULL;
}

/* Where the kernel is to write @room bytes: good, bad, or in a region. */
static void *out_ptr(struct fuzzer *f, size_t room, int slot)
{
	static const uintptr_t bad[] = { 0, 8, 4096, 0x800000000000ULL,
		0xffffffffff600000ULL, -4096ULL };
	char *p;

	switch (below(f, 10)) {
	case 0:
		return (void *)PICK(f, bad);
	case 1:
		return chance(f, 50) ? g.none : g.ro;
	case 2:		/* runs into the PROT_NONE page */
		return g.none - 8 * (1 + below(f, 4));
	case 3:
	case 4:
		p = region_ptr(f, room, slot);
		if (p)
			return p;
	}
	return f->buf;
}

/* Where the ioctl's struct lives: @c itself, or a copy where out_ptr()
 * says (a region of the arena another thread may be compressing). */
static void *place_cmd(struct fuzzer *f, union ma_any_cmd *c, int slot)
{
	char *p;

	if (chance(f, 70))
		return c;
	p = out_ptr(f, sizeof(*c), slot);
	if (p >= g.rw && p < g.none)		/* runs into PROT_NONE */
		memcpy(p, c, g.none - p);
	else if (p != g.none && p != g.ro && (uintptr_t)p > 4096 &&
		 (uintptr_t)p < 0x800000000000ULL)	/* buffer or region */
		GUARDED(f, memcpy(p, c, sizeof(*c)));
	return p;
}

/* ---- ioctls ---- */

/* A region id: the one at hand, its neighbours, 0, U32_MAX, any. */
static __u32 edge_id(struct fuzzer *f, const struct ref *r)
{
	return around(f, r->has_reg ? 75 : 0, r->reg.id, r->reg.id);
}

/* Offset and length: inside, at the end +-1, unaligned, overflowing. */
static void edge_range(struct fuzzer *f, const struct ref *r,
		       struct mem_arena_cmd_range *c)
{
	__u64 cs = r->chunk, len = r->has_reg ? r->reg.len : 16 * cs;

	c->offset = around(f, 70, below(f, len / cs) * cs, chance(f, 50) ? len : cs);
	c->length = around(f, 70, 1 + below(f, len - c->offset % len),
			   len - c->offset % len);
	if (chance(f, 10))
		c->length = edge_u64(f);
}

static void fill_layout(struct fuzzer *f, const struct ref *r,
			struct mem_arena_cmd_pool_layout *c)
{
	c->first_block = around(f, 80, below(f, 3), 0);
	c->max_blocks = around(f, 60, below(f, 17), MEM_ARENA_LAYOUT_MAX_BLOCKS);
	c->entry_size = around(f, 60, 8 * (1 + below(f, 5)),
			       sizeof(struct mem_arena_block_info));
	c->blocks_ptr = (uintptr_t)out_ptr(f, 4096, r->slot);
	/* Never let the kernel write past what it is given. */
	if (c->blocks_ptr != (uintptr_t)f->buf && c->max_blocks > 1)
		c->max_blocks = 1;
	if (c->entry_size && (__u64)c->max_blocks * c->entry_size > BUF_LEN &&
	    c->max_blocks <= MEM_ARENA_LAYOUT_MAX_BLOCKS)
		c->max_blocks = BUF_LEN / c->entry_size;
}

static void fill_cmd(struct fuzzer *f, int i, const struct ref *r, union ma_any_cmd *c)
{
	const __u64 cs = r->chunk, nstats = sizeof(struct mem_arena_stats);

	memset(c, 0, sizeof(*c));
	switch (ma_ioctls[i].cmd) {
	case MEM_ARENA_IOC_SET_CONFIG:
	case MEM_ARENA_IOC_GET_CONFIG:
		c->config.chunk_size = around(f, 60, 4096 << below(f, 5),
					      chance(f, 50) ? 4096 : 65536);
		c->config.min_savings_pct = around(f, 80, below(f, 100), 100);
		c->config.cap_bytes = chance(f, 30) ? 0 : edge_u64(f);
		break;
	case MEM_ARENA_IOC_REGION_ALLOC:
		c->alloc.length = chance(f, 20) ? edge_u64(f) :
				  around(f, 50, (1 + below(f, 64)) * cs, cs);
		c->alloc.__reserved = edge_flags(f);
		break;
	case MEM_ARENA_IOC_REGION_FREE:
		c->free.id = edge_id(f, r);
		c->free.__reserved = edge_flags(f);
		break;
	case MEM_ARENA_IOC_COMPRESS:
	case MEM_ARENA_IOC_TOUCH:
	case MEM_ARENA_IOC_DISCARD:
		c->range.id = edge_id(f, r);
		c->range.__reserved = edge_flags(f);
		edge_range(f, r, &c->range);
		break;
	case MEM_ARENA_IOC_COPY: {
		static const int bad_fds[] = { -1, 0, 1, 1 << 30 };
		struct mem_arena_cmd_range dst = {}, src = {};

		/* From this arena: its region, another, or a bad fd. */
		c->copy.src_fd = chance(f, 85) ? r->fd : PICK(f, bad_fds);
		c->copy.id = edge_id(f, r);
		c->copy.src_id = chance(f, 50) ? c->copy.id : edge_id(f, r);
		c->copy.__reserved = edge_flags(f);
		edge_range(f, r, &dst);
		edge_range(f, r, &src);
		c->copy.offset = dst.offset;
		c->copy.src_offset = src.offset;
		c->copy.length = dst.length;
		break;
	}
	case MEM_ARENA_IOC_GET_STATS:
		c->stats.stats_size = around(f, 80, 8 * (1 + below(f, nstats / 8 + 2)),
					     nstats);
		c->stats.__reserved = edge_flags(f);
		c->stats.stats_ptr = (uintptr_t)out_ptr(f, nstats, r->slot);
		break;
	case MEM_ARENA_IOC_POOL_LAYOUT:
		fill_layout(f, r, &c->layout);
		break;
	default:	/* GET_INFO, DEFRAG: out fields only */
		c->info.__reserved = edge_flags(f);
	}
	c->info.size = around(f, 75, ma_ioctls[i].size, ma_ioctls[i].size);
	c->info.flags = edge_flags(f);
	if (ma_ioctls[i].cmd == MEM_ARENA_IOC_COPY && chance(f, 30))
		c->copy.flags = MEM_ARENA_COPY_SNAPSHOT;	/* racing the faults */
	if (chance(f, 10))	/* a non-zero tail beyond the struct */
		c->bytes[ma_ioctls[i].size + below(f, sizeof(*c) - ma_ioctls[i].size)] = 1;
}

/* A wrong number: unknown, wrong type or direction, or a real one in
 * disguise (ioctl() takes 32 bits); @i becomes the one it is, if any. */
static unsigned long bogus_cmd(struct fuzzer *f, int *i)
{
	const unsigned long v[] = { _IO(MEM_ARENA_TYPE, below(f, 256)),
		_IO(MEM_ARENA_TYPE + 1, MEM_ARENA_CMD_BASE + *i),
		_IOWR(MEM_ARENA_TYPE, MEM_ARENA_CMD_BASE + *i, union ma_any_cmd),
		ma_ioctls[*i].cmd | (1UL << 32), FIONREAD, (__u32)ma_rand(&f->rnd) };
	unsigned long cmd = PICK(f, v);
	int j;

	for (j = 0; j < (int)ARRAY_SIZE(ma_ioctls); j++)
		if ((unsigned int)cmd == ma_ioctls[j].cmd)
			*i = j;
	return cmd;
}

/* Keep a region the fuzzed alloc made, or free it (big, or no room). */
static void keep_region(struct fuzzer *f, struct ref *r, union ma_any_cmd *c)
{
	struct region reg = { c->alloc.id, c->alloc.mmap_offset, c->alloc.length };

	if (reg.len <= BIG_LEN && slot_note(r, &reg, 1))
		return;
	region_free(r->fd, reg.id);
	count(f);
}

static void op_ioctl(struct fuzzer *f)
{
	int i = below(f, ARRAY_SIZE(ma_ioctls)), err;
	unsigned long cmd;
	union ma_any_cmd c;
	struct ref r;
	void *arg;

	if (slot_get(f, &r, chance(f, 80)) < 0)
		return;
	cmd = chance(f, 90) ? ma_ioctls[i].cmd : bogus_cmd(f, &i);
	fill_cmd(f, i, &r, &c);
	/* A big region is freed at once: its struct stays where we see it. */
	if (ma_ioctls[i].cmd == MEM_ARENA_IOC_REGION_ALLOC && c.alloc.length > BIG_LEN)
		arg = &c;
	else
		arg = place_cmd(f, &c, r.slot);
	err = ioctl(r.fd, cmd, arg);
	count(f);
	if (!err && ma_ioctls[i].cmd == MEM_ARENA_IOC_REGION_ALLOC && arg == &c)
		keep_region(f, &r, &c);
	if (!err && ma_ioctls[i].cmd == MEM_ARENA_IOC_REGION_FREE)
		slot_note(&r, &(struct region){ .id = c.free.id }, 0);
	ref_put(&r);
}

/*
 * lseek() SEEK_DATA / SEEK_HOLE around a region or anywhere: an offset at
 * or after the one asked, or ENXIO; every other whence leaves it at 0.
 */
static void op_seek(struct fuzzer *f)
{
	int whence = chance(f, 90) ? SEEK_DATA + below(f, 2) : below(f, 8);
	off_t off, got;
	struct ref r;

	if (slot_get(f, &r, chance(f, 80)) < 0)
		return;
	if (r.has_reg && chance(f, 80))
		off = r.reg.off + below(f, r.reg.len + 2 * r.chunk) - r.chunk;
	else
		off = chance(f, 50) ? (off_t)edge_u64(f) : (off_t)ma_rand(&f->rnd);
	got = lseek(r.fd, off, whence);
	count(f);
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		if (got > 0)
			bad("lseek(%lld, %d): %lld", (long long)off, whence,
			    (long long)got);
	} else if (got < 0 ? errno != ENXIO : got < off) {
		bad("lseek(%lld, %s): %lld (%s)", (long long)off,
		    whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE",
		    (long long)got, got < 0 ? strerror(errno) : "before it");
	}
	ref_put(&r);
}

/*
 * A sane compress or touch of a whole region (half the touches on several
 * CPUs): keeps the pool busy.
 */
static void op_range(struct fuzzer *f)
{
	struct ref r;

	if (slot_get(f, &r, 1) >= 0 && r.has_reg) {
		if (chance(f, 75))
			ma_range(r.fd, MEM_ARENA_IOC_COMPRESS, r.reg.id, 0,
				 r.reg.len, NULL);
		else
			ma_range_flags(r.fd, MEM_ARENA_IOC_TOUCH,
				       chance(f, 50) ? MEM_ARENA_TOUCH_PARALLEL : 0,
				       r.reg.id, 0, r.reg.len, NULL);
		count(f);
	}
	ref_put(&r);
}

/* One GET_STATS snapshot: compressed <= slot <= pool <= cap, no errors. */
static int stats_ok(int fd, const char *when)
{
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	struct mem_arena_stats s;

	if (ma_stats(fd, &s) || ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c))
		return 1;	/* an O_RDONLY arena, say: nothing to judge */
	if (s.compressed_bytes_live <= s.slot_bytes_live &&
	    s.slot_bytes_live <= s.pool_bytes &&
	    (!c.cap_bytes || s.pool_bytes <= c.cap_bytes) && !s.decompress_errors)
		return 1;
	bad("stats %s: compressed %llu slot %llu pool %llu cap %llu decompress_errors %llu",
	    when, s.compressed_bytes_live, s.slot_bytes_live, s.pool_bytes,
	    c.cap_bytes, s.decompress_errors);
	return 0;
}

static void op_check(struct fuzzer *f)
{
	struct ref r;

	if (slot_get(f, &r, 0) >= 0)
		stats_ok(r.fd, "during the run");
	count(f);
	ref_put(&r);
}

/* ---- memory: mmap, munmap, mremap, madvise, access, fork ---- */

static void op_mmap(struct fuzzer *f)
{
	int prot = chance(f, 85) ? PROT_READ | PROT_WRITE : PROT_READ;
	__u64 off, len;
	struct ref r;
	char *p;

	if (slot_get(f, &r, 1) >= 0 && r.has_reg) {
		off = r.reg.off;
		len = r.reg.len;
		if (chance(f, 30)) {		/* a part of the region */
			off += below(f, len / g.page) * g.page;
			len = (1 + below(f, (r.reg.off + len - off) / g.page)) * g.page;
		} else if (chance(f, 15)) {	/* past its end, unaligned, huge */
			off += chance(f, 50) ? len : below(f, 2) * g.page + below(f, 2);
			len = chance(f, 50) ? len + g.page : edge_u64(f);
		}
		p = mmap(NULL, len, prot, (chance(f, 5) ? MAP_PRIVATE : MAP_SHARED) |
			 (chance(f, 10) ? MAP_POPULATE : 0), r.fd, off);
		count(f);
		if (p != MAP_FAILED)
			map_add(f, p, len, r.slot);
	}
	ref_put(&r);
}

/* The whole mapping, its head, its tail, or a hole in the middle. */
static void op_munmap(struct fuzzer *f)
{
	struct map *m = map_pick(f);
	size_t pages, a, n;
	char *p;

	if (!m)
		return;
	p = m->p;
	pages = m->len / g.page;
	a = below(f, pages);
	n = 1 + below(f, pages - a);
	count(f);
	if (munmap(p + a * g.page, n * g.page))
		return;		/* --inject: no memory to split it */
	m->len = a * g.page;
	if (!m->len)
		m->p = NULL;
	if (a + n < pages)	/* may replace m: it is up to date */
		map_add(f, p + (a + n) * g.page, (pages - a - n) * g.page, m->slot);
}

static void op_mremap(struct fuzzer *f)
{
	int dontunmap = chance(f, 50);
	struct map *m = map_pick(f);
	char *q, *t;
	size_t len;

	if (!m)
		return;
	count(f);
	if (chance(f, 30)) {	/* shrink, or grow: DONTEXPAND says no */
		len = chance(f, 50) && m->len > g.page ? m->len - g.page : m->len + g.page;
		q = mremap(m->p, m->len, len, MREMAP_MAYMOVE);
		if (q != MAP_FAILED)
			*m = (struct map){ q, len, m->slot };
		return;
	}
	/* Move onto a reservation of ours, never onto anything else. */
	t = mmap(NULL, m->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return;
	q = mremap(m->p, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED |
		   (dontunmap ? MREMAP_DONTUNMAP : 0), t);
	if (q == MAP_FAILED) {
		unmap(t, m->len);
	} else {
		if (dontunmap)	/* the old mapping stays too */
			map_add(f, m->p, m->len, m->slot);
		m->p = q;
	}
}

static void op_madvise(struct fuzzer *f)
{
	static const int advice[] = { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
		MADV_WILLNEED, MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK,
		MADV_DOFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_FREE, MADV_DONTDUMP };
	struct map *m = map_pick(f);
	size_t a, n;

	if (!m)
		return;
	a = below(f, m->len / g.page) * g.page;
	n = (1 + below(f, m->len / g.page - a / g.page)) * g.page;
	if (chance(f, 10))	/* unaligned, or on past the mapping: harmless advice */
		madvise(m->p + a + below(f, 2), m->len + 2 * g.page,
			chance(f, 50) ? MADV_WILLNEED : MADV_COLD);
	else
		madvise(m->p + a, n, PICK(f, advice));
	count(f);
}

/*
 * A part of a mapping made read-only, inaccessible or read-write again:
 * each split gives the region one more VMA to hold it (->open), and
 * accesses and kernel copies meet the protection.
 */
static void op_mprotect(struct fuzzer *f)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC };
	struct map *m = map_pick(f);
	size_t a, n;

	if (!m)
		return;
	a = below(f, m->len / g.page);
	n = 1 + below(f, m->len / g.page - a);
	mprotect(m->p + a * g.page, n * g.page, PICK(f, prots));
	count(f);
}

static void op_access(struct fuzzer *f)
{
	static const size_t lens[] = { 1, 8, 100, 4096, 16384, 65536 };
	struct map *m = map_pick(f);
	size_t off, n = PICK(f, lens);
	uint64_t seed = ma_rand(&f->rnd);
	char *p;

	if (!m)
		return;
	off = below(f, m->len);
	p = m->p + off;
	if (n > m->len - off)
		n = m->len - off;
	switch (below(f, 4)) {
	case 0:
		GUARDED(f, seed = read_mem(p, n));
		break;
	case 1:
		GUARDED(f, ma_fill_text(p, n, seed));
		break;
	case 2:
		GUARDED(f, memset(p, seed & 1 ? 0 : 0x5a, n));
		break;
	default:
		GUARDED(f, ma_fill_random(p, n, seed));
	}
}

/* The child touches its copies of the mappings, maybe compresses, exits.
 * Only async-signal-safe calls: other threads may hold any lock. */
static void fork_child(struct fuzzer *f, struct ref *r)
{
	int i;

	for (i = 0; i < 8; i++)
		op_access(f);
	if (r->has_reg && chance(f, 50)) {
		ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->reg.id, 0, r->reg.len, NULL);
		count(f);
	}
	if (chance(f, 30))
		op_munmap(f);
	_exit(0);
}

static void op_fork(struct fuzzer *f)
{
	int status = 0;
	struct ref r;
	pid_t pid;

	/*
	 * Not with --inject: while the child lives, the parent's memory is
	 * copy-on-write, the other threads' stacks included, and an rseq
	 * update or a signal frame the kernel then cannot write (no page for
	 * the copy) kills the process.
	 */
	if (g.inject)
		return;
	slot_get(f, &r, 1);
	pid = fork();
	count(f);
	if (pid == 0)
		fork_child(f, &r);
	ref_put(&r);
	if (pid > 0 && (waitpid(pid, &status, 0) != pid ||
			!WIFEXITED(status) || WEXITSTATUS(status)))
		bad("forked child: status %#x", status);
}

static void op_close(struct fuzzer *f)
{
	slot_close(&g.slots[pick_slot(f)]);
	count(f);
}

static void op_free(struct fuzzer *f)
{
	struct ref r;

	if (slot_get(f, &r, 0) >= 0 && r.has_reg) {
		if (!region_free(r.fd, r.reg.id))
			slot_note(&r, &r.reg, 0);
		count(f);
	}
	ref_put(&r);
}

/* ---- generic netlink, raw ---- */

#define for_each_nla(a, start, len)					\
	for (a = (struct nlattr *)(start);				\
	     (char *)a + NLA_HDRLEN <= (char *)(start) + (len) &&	\
	     a->nla_len >= NLA_HDRLEN &&				\
	     (char *)a + a->nla_len <= (char *)(start) + (len);		\
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

static void nl_mcgrp(struct nlattr *groups)
{
	struct nlattr *grp, *a;
	const char *name;
	__u32 id;

	for_each_nla(grp, groups + 1, groups->nla_len - NLA_HDRLEN) {
		name = NULL;
		id = 0;
		for_each_nla(a, grp + 1, grp->nla_len - NLA_HDRLEN) {
			if (a->nla_type == CTRL_ATTR_MCAST_GRP_NAME)
				name = (char *)(a + 1);
			if (a->nla_type == CTRL_ATTR_MCAST_GRP_ID)
				memcpy(&id, a + 1, 4);
		}
		if (name && !strcmp(name, MEM_ARENA_GENL_MCGRP_EVENTS))
			g.mcgrp = id;
	}
}

/* CTRL_CMD_GETFAMILY: the family's id and its events group. */
static int nl_resolve(void)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr gh;
		struct nlattr a;
		char name[16];
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = GENL_ID_CTRL,
			.nlmsg_flags = NLM_F_REQUEST },
		.gh = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 },
		.a = { .nla_len = NLA_HDRLEN + sizeof(MEM_ARENA_GENL_NAME),
		       .nla_type = CTRL_ATTR_FAMILY_NAME },
		.name = MEM_ARENA_GENL_NAME,
	};
	struct timeval tv = { .tv_sec = 5 };
	static char buf[16384] __attribute__((aligned(8)));
	struct nlmsghdr *nh = (void *)buf;
	struct nlattr *a;
	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), n;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = send(s, &req, sizeof(req), 0) < 0 ? -1 : recv(s, buf, sizeof(buf), 0);
	close(s);
	if (n < (int)NLMSG_LENGTH(GENL_HDRLEN) || nh->nlmsg_type != GENL_ID_CTRL)
		return -1;
	n = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for_each_nla(a, (char *)NLMSG_DATA(nh) + GENL_HDRLEN, n) {
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			g.family = *(__u16 *)(a + 1);
		if (a->nla_type == CTRL_ATTR_MCAST_GROUPS)
			nl_mcgrp(a);
	}
	return g.family ? 0 : -1;
}

static void nl_open(struct fuzzer *f)
{
	int one = 1;

	f->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_GENERIC);
	if (chance(f, 50))
		setsockopt(f->nl, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (chance(f, 30))
		setsockopt(f->nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A listener makes the module send events; nobody gets EPERM. */
	if (g.mcgrp && (f->idx == 0 || chance(f, 30)))
		setsockopt(f->nl, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g.mcgrp,
			   sizeof(g.mcgrp));
	count(f);
}

/* One attribute, maybe with a lying length; 0 if it does not fit. */
static size_t nl_attr(struct fuzzer *f, char *p, size_t room)
{
	static const __u16 plens[] = { 0, 1, 2, 3, 4, 4, 4, 5, 8, 16, 64, 200 };
	__u32 id = chance(f, 50) ? below(f, 64) : edge_u64(f);
	__u16 plen = PICK(f, plens);
	struct nlattr *a = (void *)p, *in = a + 1;

	if (room < NLA_HDRLEN + NLA_ALIGN(plen))
		return 0;
	a->nla_type = chance(f, 60) ? MEM_ARENA_A_ARENA_ID : below(f, MEM_ARENA_A_MAX + 4);
	if (chance(f, 10))
		a->nla_type |= chance(f, 50) ? NLA_F_NESTED : NLA_F_NET_BYTEORDER;
	a->nla_len = around(f, 90, NLA_HDRLEN + plen, NLA_HDRLEN + plen);
	ma_fill_random(a + 1, plen, ma_rand(&f->rnd));
	if (plen >= 4)
		memcpy(a + 1, &id, 4);
	if (plen >= 8 && chance(f, 30)) {	/* looks like a nest */
		in->nla_len = NLA_HDRLEN + 4;
		in->nla_type = below(f, MEM_ARENA_NR_STATS + 2);
	}
	return NLA_HDRLEN + NLA_ALIGN(plen);
}

static void op_netlink(struct fuzzer *f)
{
	static __thread char buf[32768] __attribute__((aligned(8)));
	struct nlmsghdr *nh = (void *)buf;
	struct genlmsghdr *gh = NLMSG_DATA(nh);
	size_t len = NLMSG_LENGTH(GENL_HDRLEN);
	int i, n = below(f, 5);

	if (chance(f, 1)) {
		close(f->nl);
		nl_open(f);
	}
	memset(buf, 0, 1024);
	for (i = 0; i < n; i++)
		len += nl_attr(f, buf + len, 1024 - len);
	nh->nlmsg_len = around(f, 85, len, chance(f, 50) ? len : NLMSG_HDRLEN);
	/* Else NOOP, ERROR, DONE, OVERRUN, GENL_ID_CTRL...: the core's cases. */
	nh->nlmsg_type = chance(f, 90) ? g.family : below(f, 32);
	nh->nlmsg_flags = NLM_F_REQUEST | (chance(f, 50) ? NLM_F_ACK : 0) |
			  (chance(f, 30) ? NLM_F_DUMP : 0) |
			  (chance(f, 5) ? (__u16)ma_rand(&f->rnd) : 0);
	nh->nlmsg_seq = ma_rand(&f->rnd);
	gh->cmd = chance(f, 80) ? 1 + below(f, 2) : below(f, 256);
	gh->version = chance(f, 90) ? MEM_ARENA_GENL_VERSION : below(f, 256);
	if (chance(f, 10))	/* truncated, or trailing garbage */
		len = chance(f, 50) ? below(f, len + 1) : len + 16;
	send(f->nl, buf, len, MSG_DONTWAIT);
	count(f);
	/* Drain replies, dump parts and events, without waiting. */
	for (i = 0; i < 64; i++) {
		count(f);
		if (recv(f->nl, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != ENOBUFS)
			break;
	}
}

/* ---- the module's knobs, and the shrinker ---- */

/* Each knob and the edge values op_knob() turns it to. */
static const long long spares[] = { 0, 1, 16, 256, 65536 };
static const long long delays[] = { 0, 1, 10, 1000 };
static const long long pcts[] = { 0, 1, 50, 100 };
static const long long caps[] = { 0, 256 * KiB, 4 * MiB, 64 * MiB };	/* 0: at load */
static const long long workers[] = { 0, 1, 3, 1000 };
#define KNOB(name, values) { name, values, ARRAY_SIZE(values) }
static const struct {
	const char *name;
	const long long *values;
	unsigned int nr;
} knobs[] = {
	KNOB("spare_pages", spares), KNOB("defrag_delay_ms", delays),
	KNOB("defrag_threshold_pct", pcts), KNOB("pool_cap_bytes", caps),
	KNOB("touch_workers", workers),
};
static long long knobs_saved[ARRAY_SIZE(knobs)];

/*
 * Turn one module-wide knob to an edge value under everyone's feet, or run
 * the shrinker as memory pressure would: every arena's spares go, or (with
 * its debugfs scan file) a batch of a few, from the arenas in turn.  The
 * unprivileged worker tries too: sysfs and debugfs must refuse it.
 */
static void op_knob(struct fuzzer *f)
{
	int i = below(f, ARRAY_SIZE(knobs) + 1), err;
	const char *what = "drop_caches";
	long long v;

	if (i == ARRAY_SIZE(knobs)) {
		int batch = below(f, 2);
		unsigned long nr = below(f, 64) + 1;	/* drawn always: seeds replay */

		if (batch && g.shrinker_scan[0]) {
			what = "the shrinker's scan file";
			err = ma_shrinker_scan_write(g.shrinker_scan, g.shrinker_memcg, nr);
		} else {
			err = ma_file_write("/proc/sys/vm/drop_caches", "2");
		}
	} else {
		what = knobs[i].name;
		v = knobs[i].values[below(f, knobs[i].nr)];
		if (knobs[i].values == caps && !v)	/* the cap at load */
			v = knobs_saved[i];
		err = ma_sysfs_write(knobs[i].name, v);
	}
	if (!err != !geteuid() && !(g.inject && err == -ENOMEM))
		bad("%s as uid %d: %d", what, geteuid(), err);
	count(f);
}

static int knobs_save(void)
{
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(knobs); i++) {
		knobs_saved[i] = ma_sysfs_read(knobs[i].name);
		if (knobs_saved[i] < 0)
			return -1;
	}
	return 0;
}

static int knobs_restore(void)
{
	int i, err = 0;

	for (i = 0; i < (int)ARRAY_SIZE(knobs); i++)
		err = ma_sysfs_write(knobs[i].name, knobs_saved[i]) ?: err;
	return err;
}

/* ---- the run ---- */

static const struct {
	void (*fn)(struct fuzzer *f);
	int weight;
} ops[] = {
	{ op_ioctl, 30 }, { op_range, 8 }, { op_check, 2 }, { op_seek, 3 },
	{ op_access, 20 },
	{ op_mmap, 8 }, { op_munmap, 5 }, { op_mremap, 3 }, { op_madvise, 8 },
	{ op_mprotect, 3 },
	{ op_fork, 1 }, { op_close, 2 }, { op_free, 3 }, { op_netlink, 8 },
	{ op_knob, 1 },
};

static void *worker(void *arg)
{
	struct fuzzer *f = arg;
	int i, w, sum = 0;

	for (i = 0; i < (int)ARRAY_SIZE(ops); i++)
		sum += ops[i].weight;
	nl_open(f);
	if (g.inject && !geteuid()) {
		f->fi = fi_open();
		fi_prefault_stack();
		if (f->fi < 0 || fi_set(f->fi, 1))
			bad("worker %d: cannot arm fault injection", f->idx);
	}
	while (!g.stop && now() < g.deadline) {
		w = below(f, sum);
		for (i = 0; w >= ops[i].weight; i++)
			w -= ops[i].weight;
		ops[i].fn(f);
	}
	if (f->fi >= 0 && fi_set(f->fi, 0))
		bad("worker %d: cannot disarm fault injection", f->idx);
	for (i = 0; i < MAX_MAPS; i++)
		if (f->maps[i].p)
			unmap(f->maps[i].p, f->maps[i].len);
	close(f->nl);
	return NULL;
}

/*
 * The last worker, as nobody, in a process of its own: glibc applies
 * setresuid() to every thread of a process.  The parent death signal is
 * set after the change of ids, which clears it.  It runs without --inject:
 * its memory is the parent's, copy-on-write, for as long as it runs, and a
 * signal frame or an rseq update the kernel then cannot write kills it.
 */
static pid_t start_unprivileged(struct fuzzer *f)
{
	pid_t ppid = getpid(), pid = fork();

	if (pid)
		return pid;
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != ppid)
		_exit(3);
	worker(f);
	_exit(0);
}

static unsigned long total(const unsigned long *v)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; i < g.threads; i++)
		sum += __atomic_load_n(&v[i], __ATOMIC_RELAXED);
	return sum;
}

static void progress(void)
{
	double t0 = now(), next = 5;

	while (now() < g.deadline) {
		usleep(100 * 1000);
		if (now() - t0 < next)
			continue;
		printf("# fuzz: %.0f s, %lu calls\n", now() - t0, total(g.sh->calls));
		next += 5;
	}
}

static int setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	int i;

	g.page = sysconf(_SC_PAGESIZE);
	g.sh = mmap(NULL, sizeof(*g.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g.rw = mmap(NULL, 3 * g.page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.sh == MAP_FAILED || g.rw == MAP_FAILED)
		return -1;
	g.none = g.rw + g.page;
	g.ro = g.rw + 2 * g.page;
	if (mprotect(g.none, g.page, PROT_NONE) || mprotect(g.ro, g.page, PROT_READ) ||
	    sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		return -1;
	g.nr_slots = g.threads * SLOTS_PER;
	for (i = 0; i < g.nr_slots; i++) {
		pthread_mutex_init(&g.slots[i].lock, NULL);
		g.slots[i].fd = -1;
	}
	for (i = 0; i < g.threads; i++) {
		g.fz[i].idx = i;
		g.fz[i].fi = -1;
		g.fz[i].rnd = g.seed * 0x9E3779B97F4A7C15ULL + i + 1;
		g.fz[i].buf = malloc(BUF_LEN);
		if (!g.fz[i].buf)
			return -1;
	}
	return 0;
}

/* Alloc, write a pattern, compress, read it back. */
static int fresh_arena_works(void)
{
	const size_t cs = MEM_ARENA_CHUNK_SIZE_DEFAULT;
	static char want[MEM_ARENA_CHUNK_SIZE_DEFAULT];
	int fd = open(MEM_ARENA_DEVICE, O_RDWR), err = 0;
	__u64 done = 0;
	__u32 id;
	char *p = fd < 0 ? NULL : ma_region_map(fd, 4 * cs, &id);

	if (!p) {
		err = -1;
		goto out;
	}
	ma_fill_text(want, cs, g.seed);
	memcpy(p + cs, want, cs);
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 4 * cs, &done) || done != 1)
		err = -2;
	else if (memcmp(p + cs, want, cs))
		err = -3;
	munmap(p, 4 * cs);
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* The fds of the device this process still has. */
static int device_fds(void)
{
	char path[64], target[64];
	int fd, fds = 0;
	ssize_t n;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			fds += !strcmp(target, MEM_ARENA_DEVICE);
		}
	}
	return fds;
}

/* With no arena open (waits a little for the last release), the gauges
 * are 0; those that are not go to @why. */
static int gauges_nonzero(char *why, size_t n)
{
	static const char *const gauges[] = { "arenas", "logical_input_bytes",
		"compressed_bytes_live", "slot_bytes_live", "pool_bytes",
		"zero_chunks", "raw_bytes", "pool_free_bytes", "pool_largest_free",
		"pool_blocks", "touch_workers_running" };
	int i, tries, nonzero = 0;
	long long v;

	for (tries = 0; tries < 50 && ma_sysfs_read("arenas"); tries++)
		usleep(100 * 1000);
	why[0] = 0;
	for (i = 0; i < (int)ARRAY_SIZE(gauges); i++) {
		v = ma_sysfs_read(gauges[i]);
		if (v) {
			nonzero++;
			snprintf(why + strlen(why), n - strlen(why), " %s=%lld",
				 gauges[i], v);
		}
	}
	return nonzero;
}

TEST(fuzz)
{
	int i, status, roots = g.threads, inconsistent = 0, maps, fds;
	pthread_t tids[MAX_THREADS];
	unsigned long calls;
	pid_t nobody = 0;
	double t0 = now(), secs;
	char why[512];

	if (g.inject) {
		const char *no = geteuid() ? "needs root" : fi_available();

		if (no)
			SKIP(return, "--inject: %s", no);
	}
	ASSERT_EQ(0, setup());
	ASSERT_EQ(0, knobs_save()) TH_LOG("cannot read the module's knobs");
	/* The file, if there and writable (not under lockdown). */
	g.shrinker_memcg = ma_own_memcg();
	if (ma_shrinker_scan_file(g.shrinker_scan, sizeof(g.shrinker_scan)) ||
	    ma_shrinker_scan_write(g.shrinker_scan, g.shrinker_memcg, 0))
		g.shrinker_scan[0] = '\0';
	if (g.inject) {
		/*
		 * This program's own pages, resident before any is armed: an
		 * armed thread's first run of a page of its text reads it over
		 * the guest's 9p share, where a failed allocation would be a
		 * SIGBUS no guard expects.  No region is mapped yet.
		 */
		ASSERT_EQ(0, mlockall(MCL_CURRENT));
		fi_save();
		ASSERT_EQ(0, fi_configure(g.inject)) {
			fi_restore();
		}
	}
	if (nl_resolve())
		TH_LOG("no generic netlink family %s: no netlink fuzzing",
		       MEM_ARENA_GENL_NAME);
	g.deadline = t0 + g.seconds;
	if (g.threads > 1 && geteuid() == 0) {
		nobody = start_unprivileged(&g.fz[--roots]);
		ASSERT_LT(0, nobody);
	}
	for (i = 0; i < roots; i++)
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, worker, &g.fz[i]));
	progress();
	g.stop = 1;
	for (i = 0; i < roots; i++)
		pthread_join(tids[i], NULL);
	if (nobody) {
		ASSERT_EQ(nobody, waitpid(nobody, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("unprivileged worker: status %#x", status);
	}
	if (g.inject) {
		fi_write(FAILSLAB, "probability", "0");
		fi_write(FAILPAGE, "probability", "0");
		printf("# fuzz: %lld slab and %lld page allocations failed at %u%%\n",
		       TIMES - fi_read(FAILSLAB, "times"),
		       TIMES - fi_read(FAILPAGE, "times"), g.inject);
		fi_restore();
	}
	if (geteuid() == 0)
		EXPECT_EQ(0, knobs_restore());
	secs = now() - t0;
	calls = total(g.sh->calls);
	printf("# fuzz: %lu calls in %.1f s: %.0f calls/s, %lu faults caught, workers: %d%s\n",
	       calls, secs, calls / secs, total(g.sh->faults), g.threads,
	       nobody ? " (one as nobody)" : "");

	for (i = 0; i < g.nr_slots; i++)
		if (g.slots[i].fd >= 0)
			inconsistent += !stats_ok(g.slots[i].fd, "after the run");
	EXPECT_EQ(0, inconsistent);
	EXPECT_EQ(0, fresh_arena_works());
	for (i = 0; i < g.nr_slots; i++)
		slot_close(&g.slots[i]);
	/*
	 * A mremap() that moved a mapping but could not then unmap the old
	 * one (the kernel's "OOM: unable to split vma") leaves it mapped,
	 * unknown to the thread: with --inject that happens.
	 */
	maps = ma_device_mappings(g.inject);
	fds = device_fds();
	if (g.inject && maps) {
		printf("# fuzz: %d mappings left behind by failed unmaps, unmapped\n", maps);
		maps = ma_device_mappings(0);
	} else {
		EXPECT_EQ(0, maps + fds) TH_LOG("%d mappings and %d fds of %s left",
						maps, fds, MEM_ARENA_DEVICE);
	}
	EXPECT_EQ(0, gauges_nonzero(why, sizeof(why)))
		TH_LOG("not 0:%s; %d mappings and %d fds of %s still here",
		       why, maps, fds, MEM_ARENA_DEVICE);
	EXPECT_EQ(0, g.sh->bad) TH_LOG("seed %llu", (unsigned long long)g.seed);
}

static void parse_args(int argc, char **argv)
{
	const char *env = getenv("MA_FUZZ_SECONDS");
	const char *inject = getenv("MA_FUZZ_INJECT");
	struct timespec ts;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	g.seed = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	g.seconds = env ? atoi(env) : 20;
	g.threads = 4;
	g.inject = inject ? atoi(inject) : 0;
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			g.seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seconds"))
			g.seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			g.threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--inject"))
			g.inject = atoi(argv[i + 1]);
		else
			break;
	}
	if (i < argc || g.seconds < 1 || g.threads < 1 || g.threads > MAX_THREADS ||
	    g.inject > 100) {
		fprintf(stderr, "usage: %s [--seed N] [--seconds N] [--threads 1..%d] [--inject 0..100]\n",
			argv[0], MAX_THREADS);
		exit(2);
	}
}

/* TEST_HARNESS_MAIN, plus our options (the harness takes none). */
int main(int argc, char **argv)
{
	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# seed: %llu\n", (unsigned long long)g.seed);
	if (access(MEM_ARENA_DEVICE, R_OK | W_OK)) {
		ksft_print_header();
		ksft_set_plan(1);
		ksft_test_result_skip("%s: %s (module not loaded)\n",
				      MEM_ARENA_DEVICE, strerror(errno));
		ksft_print_cnts();
		return KSFT_SKIP;
	}
	_fuzz_object.timeout = g.seconds + 600;	/* TCG is slow */
	return test_harness_run(argc, argv);
}
