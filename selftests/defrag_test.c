// SPDX-License-Identifier: GPL-2.0
/*
 * The pool as an arena allocator: a known fragmentation pattern, then
 * compaction by ioctl, before eviction, and in the background; the layout
 * view agrees with the stats; chunks faulted back during compaction lose
 * nothing.
 */
#include <pthread.h>
#include <time.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define CS	((size_t)getpagesize())	/* the default chunk */
#define BLOCK	(64 * KiB)

/* Chunk whose LZ4 output is about @rnd bytes: random, then zeros. */
static void fill_sized(char *p, unsigned int i, size_t rnd)
{
	ma_fill_random(p, rnd, i + 1);
	memset(p + rnd, 0, CS - rnd);
	p[CS - 1] = (char)i;		/* never same-filled */
}

/* Varied compressibility: 256 .. 2048 random bytes by index. */
static size_t mixed_size(unsigned int i)
{
	return 256 * (1 + i % 8);
}

static int read_threshold(void)
{
	return ma_sysfs_read("defrag_threshold_pct");
}

static int write_threshold(int pct)
{
	return ma_sysfs_write("defrag_threshold_pct", pct);
}

static int defrag(int fd, struct mem_arena_cmd_defrag *d)
{
	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	return ma_ioc(fd, MEM_ARENA_IOC_DEFRAG, d);
}

static __u64 ceil_blocks(__u64 bytes)
{
	return (bytes + BLOCK - 1) / BLOCK * BLOCK;
}

/* A region of @nr chunks of varied compressibility, compressed; or NULL. */
static char *map_compressed(int fd, unsigned int nr, __u32 *id)
{
	char *p = ma_region_map(fd, nr * CS, id);
	unsigned int i;

	if (!p)
		return NULL;
	for (i = 0; i < nr; i++)
		fill_sized(p + i * CS, i, mixed_size(i));
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, *id, 0, nr * CS, NULL))
		return NULL;
	return p;
}

FIXTURE(pool) {
	int fd;
	int saved_threshold;
	int saved_delay;
};

FIXTURE_SETUP(pool)
{
	self->saved_threshold = -1;
	self->saved_delay = -1;
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (self->fd < 0)
		MA_SETUP_SKIP("module not loaded");
	/* Background compaction off, so every figure here is deterministic. */
	self->saved_threshold = read_threshold();
	ASSERT_LE(0, self->saved_threshold);
	ASSERT_EQ(0, write_threshold(0));
	self->saved_delay = ma_sysfs_read("defrag_delay_ms");
	ASSERT_LE(0, self->saved_delay);
}

FIXTURE_TEARDOWN(pool)
{
	if (self->saved_threshold >= 0)
		write_threshold(self->saved_threshold);
	if (self->saved_delay >= 0)
		ma_sysfs_write("defrag_delay_ms", self->saved_delay);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(pool, fragment_then_defrag_exact)
{
	const unsigned int nr = 1024;
	struct mem_arena_cmd_pool_layout lay = { .size = sizeof(lay) };
	struct mem_arena_block_info *info;
	struct mem_arena_stats a, b, c;
	struct mem_arena_cmd_defrag d;
	__u64 used = 0, slots = 0;
	char want[MA_PAGE_MAX], *p;
	unsigned int i;
	__u32 id;

	p = map_compressed(self->fd, nr, &id);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ma_stats(self->fd, &a));
	EXPECT_EQ(nr, a.compress_ops);
	EXPECT_GE(ceil_blocks(a.slot_bytes_live) + BLOCK, a.pool_bytes);

	/* Fault back every other chunk: holes everywhere, few empty blocks. */
	for (i = 0; i < nr; i += 2)
		(void)*(volatile char *)(p + i * CS);
	ASSERT_EQ(0, ma_stats(self->fd, &b));
	EXPECT_EQ(nr / 2, b.decompress_ops);
	EXPECT_EQ(b.pool_bytes - b.slot_bytes_live, b.pool_free_bytes);
	EXPECT_EQ(b.pool_bytes / BLOCK, b.pool_blocks);
	EXPECT_LT(ceil_blocks(b.slot_bytes_live) + 2 * BLOCK, b.pool_bytes)
		TH_LOG("not fragmented: pool %llu, slots %llu", b.pool_bytes,
		       b.slot_bytes_live);
	EXPECT_GT(b.pool_free_bytes, b.pool_largest_free);

	ASSERT_EQ(0, defrag(self->fd, &d));
	ASSERT_EQ(0, ma_stats(self->fd, &c));
	TH_LOG("pool %llu -> %llu bytes (slots %llu): moved %llu bytes in %llu slots, released %llu pages",
	       b.pool_bytes, c.pool_bytes, c.slot_bytes_live, d.bytes_moved,
	       d.slots_moved, d.pages_released);
	EXPECT_LT(0, d.slots_moved);
	EXPECT_LT(0, d.pages_released);
	EXPECT_EQ(b.pool_bytes - c.pool_bytes, d.pages_released * sysconf(_SC_PAGESIZE));
	EXPECT_GE(ceil_blocks(c.slot_bytes_live) + BLOCK, c.pool_bytes);
	EXPECT_EQ(b.slot_bytes_live, c.slot_bytes_live);
	EXPECT_EQ(b.compressed_bytes_live, c.compressed_bytes_live);
	EXPECT_EQ(1, c.defrag_runs);
	EXPECT_EQ(d.bytes_moved, c.defrag_bytes_moved);
	EXPECT_EQ(d.pages_released, c.defrag_pages_released);
	EXPECT_EQ(0, c.evictions_lru);

	/* The layout view adds up to the stats. */
	info = calloc(c.pool_blocks + 1, sizeof(*info));
	ASSERT_NE(NULL, info);
	lay.max_blocks = c.pool_blocks + 1;
	lay.entry_size = sizeof(*info);
	lay.blocks_ptr = (uintptr_t)info;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_POOL_LAYOUT, &lay));
	EXPECT_EQ(c.pool_blocks, lay.total_blocks);
	EXPECT_EQ(c.pool_blocks, lay.nr_blocks);
	for (i = 0; i < lay.nr_blocks; i++) {
		used += info[i].used_bytes;
		slots += info[i].nr_slots;
	}
	EXPECT_EQ(c.slot_bytes_live, used);
	EXPECT_EQ(nr / 2, slots);
	free(info);

	/* Every moved chunk reads back. */
	for (i = 0; i < nr; i++) {
		fill_sized(want, i, mixed_size(i));
		ASSERT_EQ(0, memcmp(p + i * CS, want, CS)) TH_LOG("chunk %u", i);
	}
	ASSERT_EQ(0, ma_stats(self->fd, &c));
	EXPECT_EQ(0, c.pool_bytes);
	EXPECT_EQ(0, c.decompress_errors);
}

/* Half-full blocks at the cap; bigger slots arrive: compact, do not evict. */
TEST_F(pool, compaction_before_eviction)
{
	const unsigned int nr = 512, nr_new = 64;
	const __u64 cap = 8 * BLOCK;
	struct mem_arena_stats b, c;
	char want[MA_PAGE_MAX], *p, *q;
	unsigned int i;
	__u32 id, id2;
	int fd;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ma_set_config(fd, CS, 0, cap));
	p = ma_region_map(fd, nr * CS, &id);
	q = ma_region_map(fd, nr_new * CS, &id2);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	/* ~1 KiB slots: 512 of them fill the 8 blocks of the cap. */
	for (i = 0; i < nr; i++)
		fill_sized(p + i * CS, i, 900);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, nr * CS, NULL));
	for (i = 0; i < nr; i += 2)
		(void)*(volatile char *)(p + i * CS);
	ASSERT_EQ(0, ma_stats(fd, &b));
	EXPECT_EQ(cap, b.pool_bytes);
	EXPECT_EQ(0, b.evictions_lru);

	/* ~2 KiB slots fit no 1 KiB hole; half the pool is free. */
	for (i = 0; i < nr_new; i++)
		fill_sized(q + i * CS, 1000 + i, 1900);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id2, 0, nr_new * CS, NULL));
	ASSERT_EQ(0, ma_stats(fd, &c));
	EXPECT_EQ(0, c.evictions_lru);
	EXPECT_EQ(0, c.cap_rejects);
	EXPECT_LE(1, c.defrag_runs);
	EXPECT_LT(0, c.defrag_pages_released);
	EXPECT_EQ(b.compress_ops + nr_new, c.compress_ops);
	EXPECT_GE(cap, c.pool_bytes_peak);
	for (i = 0; i < nr_new; i++) {
		fill_sized(want, 1000 + i, 1900);
		ASSERT_EQ(0, memcmp(q + i * CS, want, CS));
	}
	for (i = 1; i < nr; i += 2) {
		fill_sized(want, i, 900);
		ASSERT_EQ(0, memcmp(p + i * CS, want, CS));
	}
	close(fd);
}

struct reader {
	char *base;
	const uint64_t *sums;
	unsigned int nr, seed;
	volatile int *stop;
	pthread_barrier_t *start, *done;
	unsigned long reads, bad;
};

static uint64_t sum_chunk(const char *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < CS / 8; i++)
		h = h * 31 + w[i];
	return h;
}

/*
 * Each round, fault back 16 random chunks of those compaction is moving
 * (the odd chunks of the first quarter) while it runs.
 */
static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	uint64_t rnd = r->seed;
	int k;

	for (;;) {
		pthread_barrier_wait(r->start);
		if (*r->stop)
			return NULL;
		for (k = 0; k < 16; k++) {
			unsigned int i = (ma_rand(&rnd) % (r->nr / 8)) * 2 + 1;

			r->bad += sum_chunk(r->base + i * CS) != r->sums[i];
			r->reads++;
		}
		pthread_barrier_wait(r->done);
	}
}

/* Four threads fault chunks back while compaction moves their slots. */
TEST_F_TIMEOUT(pool, faults_during_compaction_lose_nothing, 300)
{
	const unsigned int nr = 2048, rounds = 12;
	pthread_barrier_t start, done;
	struct mem_arena_cmd_defrag d;
	struct reader readers[4];
	struct mem_arena_stats s;
	volatile int stop = 0;
	pthread_t tids[4];
	unsigned long reads = 0;
	uint64_t *sums;
	unsigned int i, round;
	__u32 id;
	char *p;

	sums = calloc(nr, sizeof(*sums));
	ASSERT_NE(NULL, sums);
	p = ma_region_map(self->fd, nr * CS, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < nr; i++) {
		fill_sized(p + i * CS, i, mixed_size(i));
		sums[i] = sum_chunk(p + i * CS);
	}
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 5));
	ASSERT_EQ(0, pthread_barrier_init(&done, NULL, 5));
	for (i = 0; i < 4; i++) {
		readers[i] = (struct reader){ .base = p, .sums = sums, .nr = nr,
					      .seed = 77 + i, .stop = &stop,
					      .start = &start, .done = &done };
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, reader_fn, &readers[i]));
	}
	/* Each round: compress all, read back every other chunk of the first
	 * quarter (its blocks half empty), then compact while readers fault. */
	for (round = 0; round < rounds; round++) {
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, nr * CS, NULL));
		for (i = 0; i < nr / 4; i += 2)
			(void)*(volatile char *)(p + i * CS);
		pthread_barrier_wait(&start);
		ASSERT_EQ(0, defrag(self->fd, &d));
		pthread_barrier_wait(&done);
	}
	stop = 1;
	pthread_barrier_wait(&start);
	for (i = 0; i < 4; i++) {
		pthread_join(tids[i], NULL);
		reads += readers[i].reads;
		EXPECT_EQ(0, readers[i].bad);
	}
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	TH_LOG("%u rounds, %llu bytes moved, %llu pages released, %lu racing reads",
	       rounds, s.defrag_bytes_moved, s.defrag_pages_released, reads);
	for (i = 0; i < nr; i++)
		ASSERT_EQ(sums[i], sum_chunk(p + i * CS)) TH_LOG("chunk %u", i);
	EXPECT_EQ(rounds * 64, reads);
	EXPECT_LT(rounds * 64 * KiB, s.defrag_bytes_moved);
	EXPECT_LE(rounds * (64 * KiB / CS), s.defrag_pages_released);
	EXPECT_EQ(0, s.decompress_errors);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	free(sums);
}

/*
 * Above the threshold, a worker compacts without being asked, until the
 * free share of the pool is below the threshold (or no block can go).
 */
TEST_F(pool, background_compaction_above_threshold)
{
	const unsigned int nr = 1024, pct = 30;
	struct mem_arena_stats s;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned int i, waited;
	__u32 id;
	char *p;

	p = map_compressed(self->fd, nr, &id);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, write_threshold(pct));
	for (i = 0; i < nr; i += 2)
		(void)*(volatile char *)(p + i * CS);
	/*
	 * The work runs asynchronously and reports only through the stats:
	 * poll them (bounded to 20 s), asserting the outcome, not a delay.
	 */
	for (waited = 0; waited < 2000; waited++) {
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		if (s.defrag_runs && s.pool_free_bytes * 100 < s.pool_bytes * pct)
			break;
		nanosleep(&tick, NULL);
	}
	TH_LOG("after %u polls: %llu runs, pool %llu, free %llu, released %llu pages",
	       waited, s.defrag_runs, s.pool_bytes, s.pool_free_bytes,
	       s.defrag_pages_released);
	EXPECT_LE(1, s.defrag_runs);
	EXPECT_LT(0, s.defrag_pages_released);
	EXPECT_GT(s.pool_bytes * pct, s.pool_free_bytes * 100);
	for (i = 1; i < nr; i += 2) {
		char want[MA_PAGE_MAX];

		fill_sized(want, i, mixed_size(i));
		ASSERT_EQ(0, memcmp(p + i * CS, want, CS)) TH_LOG("chunk %u", i);
	}
}

/*
 * A readback frees slots all over the pool, far past the threshold; the
 * background pass waits defrag_delay_ms (here a minute, longer than the
 * test) instead of moving the slots the readback is about to decompress.
 * Before the delay existed, passes ran during the readback.
 */
TEST_F(pool, background_compaction_waits_out_a_readback)
{
	const unsigned int nr = 1024, pct = 30;
	struct mem_arena_stats s;
	unsigned int i, k;
	__u32 id;
	char *p;

	p = map_compressed(self->fd, nr, &id);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ma_sysfs_write("defrag_delay_ms", 60000));
	ASSERT_EQ(0, write_threshold(pct));
	/* Every chunk once, in a scattered order (577 is prime to 1024). */
	for (i = 0, k = 0; i < nr; i++, k = (k + 577) % nr) {
		char want[MA_PAGE_MAX];

		fill_sized(want, k, mixed_size(k));
		ASSERT_EQ(0, memcmp(p + k * CS, want, CS)) TH_LOG("chunk %u", k);
	}
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(nr, s.decompress_ops);
	EXPECT_EQ(0, s.defrag_runs);
	EXPECT_EQ(0, s.defrag_bytes_moved);
	EXPECT_EQ(0, s.pool_bytes);	/* emptied blocks went back meanwhile */
}

TEST_HARNESS_MAIN
