// SPDX-License-Identifier: GPL-2.0
/*
 * libmemarena through its public API only: each call's success path and
 * error table, teardown with regions left over, and regions of one arena
 * used from several threads.  Built twice: static and shared.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <mem_arena.h>

#include "kselftest_harness.h"
#include "ma_harness.h"

#define CS ((size_t)getpagesize())	/* the default chunk */

static void fill_text(char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = "abcdefgh "[(i / 7 + seed) % 9];
}

static int module_loaded(void)
{
	return access("/dev/mem_arena", R_OK | W_OK) == 0;
}

FIXTURE(lib) {
	struct mem_arena *arena;
};

FIXTURE_SETUP(lib)
{
	self->arena = NULL;
	if (!module_loaded())
		MA_SETUP_SKIP("module not loaded");
	ASSERT_EQ(0, mem_arena_create(NULL, &self->arena));
}

FIXTURE_TEARDOWN(lib)
{
	mem_arena_destroy(self->arena);
}

TEST(config_init_defaults)
{
	struct mem_arena_config cfg;

	memset(&cfg, 0xff, sizeof(cfg));
	mem_arena_config_init(&cfg);
	EXPECT_EQ(CS, cfg.chunk_size);
	EXPECT_EQ(0, cfg.cap_bytes);
	EXPECT_EQ(0, cfg.min_savings_pct);
	EXPECT_EQ(0, cfg.flags);
	mem_arena_config_init(NULL);	/* no crash */
}

TEST(create_rejects_bad_config)
{
	const struct { size_t chunk; unsigned pct, flags; } bad[] = {
		{ 3000, 0, 0 }, { 2048, 0, 0 }, { 131072, 0, 0 },
		{ CS, 100, 0 }, { CS, 0, MEM_ARENA_CONFIG_FLAGS << 1 },
	};
	struct mem_arena *arena = (struct mem_arena *)0x1;
	struct mem_arena_config cfg;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mem_arena_config_init(&cfg);
		cfg.chunk_size = bad[i].chunk;
		cfg.min_savings_pct = bad[i].pct;
		cfg.flags = bad[i].flags;
		EXPECT_EQ(-EINVAL, mem_arena_create(&cfg, &arena)) TH_LOG("row %zu", i);
		EXPECT_EQ((struct mem_arena *)0x1, arena);
	}
	EXPECT_EQ(-EINVAL, mem_arena_create(NULL, NULL));
}

TEST(create_applies_config)
{
	struct mem_arena_config cfg, got;
	struct mem_arena_cmd_info info;
	struct mem_arena *arena;

	if (!module_loaded())
		SKIP(return, "module not loaded");
	mem_arena_config_init(&cfg);
	cfg.chunk_size = 16384;
	cfg.cap_bytes = 1 << 20;
	cfg.min_savings_pct = 25;
	ASSERT_EQ(0, mem_arena_create(&cfg, &arena));
	ASSERT_EQ(0, mem_arena_get_config(arena, &got));
	EXPECT_EQ(16384, got.chunk_size);
	EXPECT_EQ(1 << 20, got.cap_bytes);
	EXPECT_EQ(25, got.min_savings_pct);
	ASSERT_EQ(0, mem_arena_get_info(arena, &info));
	EXPECT_EQ(MEM_ARENA_API, info.api);
	EXPECT_LE(0, mem_arena_fd(arena));
	EXPECT_EQ(-EINVAL, mem_arena_get_info(NULL, &info));
	EXPECT_EQ(-EINVAL, mem_arena_get_config(arena, NULL));
	EXPECT_EQ(-EINVAL, mem_arena_fd(NULL));
	mem_arena_destroy(arena);
}

TEST_F(lib, region_alloc_errors_and_rounding)
{
	struct mem_arena_region *r = NULL;

	EXPECT_EQ(-EINVAL, mem_arena_region_alloc(NULL, CS, &r));
	EXPECT_EQ(-EINVAL, mem_arena_region_alloc(self->arena, CS, NULL));
	EXPECT_EQ(-EINVAL, mem_arena_region_alloc(self->arena, 0, &r));
	EXPECT_EQ(-EINVAL, mem_arena_region_alloc(self->arena, (size_t)1 << 40, &r));
	EXPECT_EQ(NULL, r);
	ASSERT_EQ(0, mem_arena_region_alloc(self->arena, CS + 1, &r));
	EXPECT_EQ(2 * CS, mem_arena_region_size(r));
	ASSERT_NE(NULL, mem_arena_region_base(r));
	EXPECT_EQ(0, ((char *)mem_arena_region_base(r))[CS + 5]);	/* zero-filled */
	EXPECT_EQ(NULL, mem_arena_region_base(NULL));
	EXPECT_EQ(0, mem_arena_region_size(NULL));
	EXPECT_EQ(0, mem_arena_region_free(r));
	EXPECT_EQ(-EINVAL, mem_arena_region_free(NULL));
}

TEST_F(lib, compress_touch_stats_roundtrip)
{
	const size_t len = 16 * CS;
	struct mem_arena_region *r;
	struct mem_arena_stats s;
	char *p, *want = malloc(len);

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, mem_arena_region_alloc(self->arena, len, &r));
	p = mem_arena_region_base(r);
	fill_text(want, 12 * CS, 1);
	memset(want + 12 * CS, 0, 4 * CS);
	memcpy(p, want, len);

	EXPECT_EQ(16, mem_arena_compress_region(r));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(12, s.compress_ops);
	EXPECT_EQ(4, s.zero_chunks);
	EXPECT_EQ(16 * CS, s.logical_input_bytes);
	EXPECT_EQ(0, s.raw_bytes);

	/* Touch an unaligned middle range: chunks 2..4. */
	EXPECT_EQ(3, mem_arena_touch(r, 2 * CS + 100, 2 * CS));
	EXPECT_EQ(0, mem_arena_touch(r, 2 * CS, CS));
	EXPECT_EQ(0, memcmp(p, want, len));	/* the rest by faults */
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(16, s.decompress_ops);
	EXPECT_EQ(16, s.access_hits_decompressed);
	EXPECT_EQ(1, s.access_hits_raw);

	/* A range variant on one chunk. */
	EXPECT_EQ(1, mem_arena_compress_range(r, 5 * CS, 1));
	EXPECT_EQ(0, memcmp(p, want, len));

	/* On several CPUs: chunk 5 and the four of zeros, no more. */
	EXPECT_EQ(16, mem_arena_compress_region(r));
	EXPECT_EQ(11, mem_arena_touch(r, 0, 11 * CS));
	EXPECT_EQ(5, mem_arena_touch_parallel(r, 3 * CS, 13 * CS));
	EXPECT_EQ(0, mem_arena_touch_parallel(r, 0, len));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(0, s.pool_bytes);
	EXPECT_EQ(0, memcmp(p, want, len));
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(r));
}

/*
 * A region of @len bytes of text seeded @seed, its copy in *@want (to be
 * freed): NULL if either could not be had.
 */
static char *text_region(struct mem_arena *arena, size_t len, unsigned int seed,
			 struct mem_arena_region **r, char **want)
{
	char *p;

	*want = malloc(len);
	if (!*want || mem_arena_region_alloc(arena, len, r))
		return NULL;
	p = mem_arena_region_base(*r);
	fill_text(*want, len, seed);
	memcpy(p, *want, len);
	return p;
}

/*
 * Readahead for every mapping: read in order without madvise, only the
 * first two chunks miss.  The setting is the config's: fixed by the first
 * region.
 */
TEST_F(lib, set_readahead_reads_unadvised_streams)
{
	const size_t len = 16 * CS;
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	struct mem_arena_region *r;
	struct mem_arena_stats s;
	char *p, *want;

	EXPECT_EQ(-EINVAL, mem_arena_set_readahead(NULL, 64));
	EXPECT_EQ(-EINVAL, mem_arena_set_readahead(self->arena,
						   MEM_ARENA_READAHEAD_KIB_MAX + 1));
	ASSERT_EQ(0, mem_arena_set_readahead(self->arena, 4 * CS / 1024));
	ASSERT_EQ(0, ioctl(mem_arena_fd(self->arena), MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(4 * CS / 1024, c.readahead_kib);
	EXPECT_EQ(CS, c.chunk_size);

	p = text_region(self->arena, len, 11, &r, &want);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EBUSY, mem_arena_set_readahead(self->arena, 0));
	EXPECT_EQ(16, mem_arena_compress_region(r));
	EXPECT_EQ(0, memcmp(p, want, len));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(2, s.access_hits_decompressed);
	EXPECT_EQ(14, s.readahead_chunks);
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(r));
}

/* Discard narrows to whole chunks: a chunk partly outside keeps its data. */
TEST_F(lib, discard_narrows_to_whole_chunks)
{
	const size_t len = 8 * CS;
	struct mem_arena_region *r;
	struct mem_arena_stats s;
	char *p, *want;

	p = text_region(self->arena, len, 7, &r, &want);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(8, mem_arena_compress_region(r));

	/* From inside chunk 1 to inside chunk 4: chunks 2 and 3 go. */
	EXPECT_EQ(2, mem_arena_discard(r, CS + 1, 3 * CS));
	EXPECT_EQ(0, mem_arena_discard(r, CS + 1, CS));	/* no whole chunk */
	memset(want + 2 * CS, 0, 2 * CS);
	EXPECT_EQ(0, memcmp(p, want, len));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(2, s.discarded_chunks);
	EXPECT_EQ(6, s.decompress_ops);		/* the memcmp's faults only */
	EXPECT_EQ(-EINVAL, mem_arena_discard(NULL, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_discard(r, 0, 0));
	EXPECT_EQ(-EINVAL, mem_arena_discard(r, 0, len + 1));
	EXPECT_EQ(8, mem_arena_discard(r, 0, len));
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(r));
}

/* A copy into another arena keeps compressed chunks compressed. */
TEST_F(lib, region_copy_between_arenas)
{
	const size_t len = 8 * CS;
	struct mem_arena_region *r, *c;
	struct mem_arena_stats s, d;
	struct mem_arena *other;
	char *p, *q, *want;

	p = text_region(self->arena, len, 9, &r, &want);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(8, mem_arena_compress_region(r));
	ASSERT_EQ(0, mem_arena_create(NULL, &other));
	ASSERT_EQ(0, mem_arena_region_alloc(other, len, &c));
	q = mem_arena_region_base(c);

	EXPECT_EQ(-EINVAL, mem_arena_region_copy(NULL, 0, r, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_region_copy(c, 0, NULL, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_region_copy(c, 0, r, 0, 0));
	EXPECT_EQ(-EINVAL, mem_arena_region_copy(c, 1, r, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_region_copy(c, CS, r, 0, len));
	EXPECT_EQ(-EINVAL, mem_arena_region_copy(r, 0, r, CS, 2 * CS));	/* overlap */
	EXPECT_EQ(8, mem_arena_region_copy(c, 0, r, 0, len));

	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	ASSERT_EQ(0, mem_arena_get_stats(other, &d));
	EXPECT_EQ(0, s.decompress_ops);
	EXPECT_EQ(0, d.decompress_ops);
	EXPECT_EQ(8, d.copied_chunks);
	EXPECT_EQ(s.compressed_bytes_live, d.compressed_bytes_live);
	EXPECT_EQ(0, memcmp(q, want, len));
	EXPECT_EQ(0, memcmp(p, want, len));
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(c));
	mem_arena_destroy(other);
	EXPECT_EQ(0, mem_arena_region_free(r));
}

/*
 * A snapshot copies as a copy does, compressed chunks compressed, and the
 * source, unmapped by it, reads back the same.
 */
TEST_F(lib, region_snapshot_copies_without_decompressing)
{
	const size_t len = 8 * CS;
	struct mem_arena_region *r, *c;
	struct mem_arena_stats s0, s;
	char *p, *q, *want;

	p = text_region(self->arena, len, 11, &r, &want);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(4, mem_arena_compress_range(r, 0, len / 2));
	ASSERT_EQ(0, mem_arena_region_alloc(self->arena, len, &c));
	q = mem_arena_region_base(c);

	EXPECT_EQ(-EINVAL, mem_arena_region_snapshot(NULL, 0, r, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_region_snapshot(c, 0, r, 0, len + CS));
	EXPECT_EQ(-EINVAL, mem_arena_region_snapshot(c, 0, r, 1, CS));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s0));
	EXPECT_EQ(8, mem_arena_region_snapshot(c, 0, r, 0, len));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(s0.decompress_ops, s.decompress_ops);
	EXPECT_EQ(2 * s0.compressed_bytes_live, s.compressed_bytes_live);
	EXPECT_EQ(0, memcmp(p, want, len));
	EXPECT_EQ(0, memcmp(q, want, len));
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(s0.decompress_ops + 8, s.decompress_ops);	/* both halves */
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(c));
	EXPECT_EQ(0, mem_arena_region_free(r));
}

/* Idle-only: the first call watches, the second compresses what stayed cold. */
TEST_F(lib, compress_idle_leaves_the_working_set)
{
	const size_t len = 8 * CS;
	struct mem_arena_region *r;
	struct mem_arena_stats s;
	char *p, *want;

	p = text_region(self->arena, len, 9, &r, &want);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, mem_arena_compress_idle(r, 0, len));
	p[CS + 1] = want[CS + 1] = 'x';		/* chunk 1 stays in use */
	EXPECT_EQ(7, mem_arena_compress_idle(r, 1, len - 1));	/* widened */
	ASSERT_EQ(0, mem_arena_get_stats(self->arena, &s));
	EXPECT_EQ(9, s.hot_skips);
	EXPECT_EQ(1, s.idle_refaults);
	EXPECT_EQ(CS, s.raw_bytes);
	EXPECT_EQ(0, memcmp(p, want, len));
	EXPECT_EQ(-EINVAL, mem_arena_compress_idle(NULL, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_compress_idle(r, 0, len + 1));
	free(want);
	EXPECT_EQ(0, mem_arena_region_free(r));
}

TEST_F(lib, range_errors)
{
	struct mem_arena_region *r;
	struct mem_arena_stats s;

	ASSERT_EQ(0, mem_arena_region_alloc(self->arena, 4 * CS, &r));
	EXPECT_EQ(-EINVAL, mem_arena_touch(NULL, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_touch(r, 0, 0));
	EXPECT_EQ(-EINVAL, mem_arena_touch(r, CS, SIZE_MAX));
	EXPECT_EQ(-EINVAL, mem_arena_touch(r, 0, 4 * CS + 1));
	EXPECT_EQ(-EINVAL, mem_arena_touch(r, 4 * CS, 1));
	EXPECT_EQ(-EINVAL, mem_arena_touch_parallel(NULL, 0, CS));
	EXPECT_EQ(-EINVAL, mem_arena_touch_parallel(r, 0, 0));
	EXPECT_EQ(-EINVAL, mem_arena_touch_parallel(r, CS, SIZE_MAX));
	EXPECT_EQ(-EINVAL, mem_arena_touch_parallel(r, 4 * CS, 1));
	EXPECT_EQ(-EINVAL, mem_arena_compress_region(NULL));
	EXPECT_EQ(-EINVAL, mem_arena_compress_range(r, 0, 0));
	EXPECT_EQ(-EINVAL, mem_arena_compress_range(r, SIZE_MAX, 2));
	EXPECT_EQ(-EINVAL, mem_arena_get_stats(NULL, &s));
	EXPECT_EQ(-EINVAL, mem_arena_get_stats(self->arena, NULL));
	EXPECT_EQ(0, mem_arena_touch(r, 0, 4 * CS));	/* still works */
}

TEST(stat_table)
{
	struct mem_arena_stats s;
	unsigned int i;

	memset(&s, 0, sizeof(s));
	s.compress_ops = 7;
	EXPECT_STREQ("logical_input_bytes", mem_arena_stat_name(0));
	EXPECT_STREQ("compress_ops", mem_arena_stat_name(MEM_ARENA_STAT_compress_ops));
	EXPECT_EQ(7, mem_arena_stat_value(&s, MEM_ARENA_STAT_compress_ops));
	EXPECT_STREQ("bytes", mem_arena_stat_unit(MEM_ARENA_STAT_pool_bytes));
	for (i = 0; i < MEM_ARENA_NR_STATS; i++) {
		EXPECT_NE(NULL, mem_arena_stat_name(i));
		EXPECT_NE(NULL, mem_arena_stat_doc(i));
	}
	EXPECT_EQ(NULL, mem_arena_stat_name(MEM_ARENA_NR_STATS));
	EXPECT_EQ(NULL, mem_arena_stat_unit(MEM_ARENA_NR_STATS));
	EXPECT_EQ(0, mem_arena_stat_value(&s, MEM_ARENA_NR_STATS));
	EXPECT_EQ(0, mem_arena_stat_value(NULL, 0));
	EXPECT_NE(NULL, strstr(mem_arena_strerror(-ENODEV), "not loaded"));
	EXPECT_STREQ(strerror(ENOMEM), mem_arena_strerror(-ENOMEM));
}

TEST(destroy_frees_leftover_regions)
{
	struct mem_arena_region *r[3];
	struct mem_arena *arena;
	char buf[32];
	FILE *f;
	int i;

	if (!module_loaded())
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, mem_arena_create(NULL, &arena));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mem_arena_region_alloc(arena, 8 * CS, &r[i]));
		fill_text(mem_arena_region_base(r[i]), 8 * CS, i);
	}
	EXPECT_EQ(8, mem_arena_compress_region(r[1]));
	mem_arena_destroy(arena);
	mem_arena_destroy(NULL);
	/* The kernel freed the arena: no mapping keeps it. */
	f = fopen("/sys/kernel/mem_arena/arenas", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	EXPECT_EQ(0, atoi(buf));
}

struct thread_arg {
	struct mem_arena_region *region;
	int bad;
};

static void *region_worker(void *arg)
{
	struct thread_arg *t = arg;
	char *p = mem_arena_region_base(t->region);
	size_t len = mem_arena_region_size(t->region);
	char *want = malloc(len);
	int round;

	for (round = 0; want && round < 20; round++) {
		fill_text(want, len, round);
		memcpy(p, want, len);
		if (mem_arena_compress_region(t->region) != (int)(len / CS))
			t->bad++;
		if (round & 1 && mem_arena_touch(t->region, 0, len) < 0)
			t->bad++;
		if (memcmp(p, want, len))
			t->bad++;
	}
	free(want);
	return NULL;
}

TEST_F(lib, regions_used_from_four_threads)
{
	struct thread_arg args[4];
	pthread_t tids[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i].bad = 0;
		ASSERT_EQ(0, mem_arena_region_alloc(self->arena, 32 * CS, &args[i].region));
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, region_worker, &args[i]));
	for (i = 0; i < 4; i++) {
		pthread_join(tids[i], NULL);
		EXPECT_EQ(0, args[i].bad) TH_LOG("thread %d", i);
	}
}

TEST_HARNESS_MAIN
