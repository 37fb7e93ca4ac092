// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: four threads write and verify random chunks (each owns the
 * chunks i % 4 == t and keeps a checksum per chunk) while a fifth
 * compresses the whole region again and again, under a cap small enough
 * that eviction runs too.  Duration: MA_STRESS_SECONDS (default 20).
 */
#include <pthread.h>
#include <time.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define NR_WORKERS	4
#define NR_CHUNKS	512
#define CS		((size_t)getpagesize())	/* the default chunk */

struct stress {
	int fd;
	__u32 id;
	char *base;
	volatile int stop;
	uint64_t sums[NR_CHUNKS];
	unsigned long mismatches, writes, reads, passes;
	int compress_err;
};

struct worker {
	struct stress *st;
	unsigned int t;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;
	uint64_t rnd = 0x1234 + w->t, version = 0;
	unsigned long mism = 0, writes = 0, reads = 0;

	while (!st->stop) {
		unsigned int i = (ma_rand(&rnd) % (NR_CHUNKS / NR_WORKERS)) *
				 NR_WORKERS + w->t;
		char *p = st->base + i * CS;

		if (ma_rand(&rnd) & 1) {
			ma_fill_text(p, CS, (uint64_t)i << 32 | ++version);
			st->sums[i] = ma_fnv1a(p, CS);
			writes++;
		} else {
			mism += ma_fnv1a(p, CS) != st->sums[i];
			reads++;
		}
	}
	__atomic_add_fetch(&st->mismatches, mism, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->writes, writes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->reads, reads, __ATOMIC_RELAXED);
	return NULL;
}

static void *compressor_fn(void *arg)
{
	struct stress *st = arg;

	while (!st->stop) {
		int err = ma_range(st->fd, MEM_ARENA_IOC_COMPRESS, st->id, 0,
				   NR_CHUNKS * CS, NULL);
		if (err) {
			st->compress_err = err;
			break;
		}
		st->passes++;
	}
	return NULL;
}

FIXTURE(stress) {};
FIXTURE_SETUP(stress) {}
FIXTURE_TEARDOWN(stress) {}

/* Generous: TCG is slow, and the run itself is MA_STRESS_SECONDS. */
TEST_F_TIMEOUT(stress, four_rw_threads_against_repeated_compress, 600)
{
	const char *env = getenv("MA_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 20;
	struct worker workers[NR_WORKERS];
	pthread_t tids[NR_WORKERS + 1];
	struct mem_arena_stats s;
	struct stress *st;
	unsigned int i;

	st = calloc(1, sizeof(*st));
	ASSERT_NE(NULL, st);
	st->fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (st->fd < 0)
		MA_SETUP_SKIP("module not loaded");
	/* The cap holds about a quarter of the region's compressed chunks. */
	ASSERT_EQ(0, ma_set_config(st->fd, CS, 0, 256 * KiB));
	st->base = ma_region_map(st->fd, NR_CHUNKS * CS, &st->id);
	ASSERT_NE(NULL, st->base);
	for (i = 0; i < NR_CHUNKS; i++) {
		ma_fill_text(st->base + i * CS, CS, i);
		st->sums[i] = ma_fnv1a(st->base + i * CS, CS);
	}

	/*
	 * One pass alone first: the region's compressed size is about four
	 * caps, so eviction runs whatever the threads' timing later (on the
	 * debug kernel they fault chunks back faster than a pass compresses).
	 */
	ASSERT_EQ(0, ma_range(st->fd, MEM_ARENA_IOC_COMPRESS, st->id, 0,
			      NR_CHUNKS * CS, NULL));
	for (i = 0; i < NR_WORKERS; i++) {
		workers[i] = (struct worker){ .st = st, .t = i };
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, worker_fn, &workers[i]));
	}
	ASSERT_EQ(0, pthread_create(&tids[NR_WORKERS], NULL, compressor_fn, st));
	sleep(seconds);		/* the run's length, not synchronisation */
	st->stop = 1;
	for (i = 0; i <= NR_WORKERS; i++)
		pthread_join(tids[i], NULL);

	for (i = 0; i < NR_CHUNKS; i++)
		st->mismatches += ma_fnv1a(st->base + i * CS, CS) != st->sums[i];
	ASSERT_EQ(0, ma_stats(st->fd, &s));
	TH_LOG("%lu passes, %lu writes, %lu reads, %llu compressed, %llu evicted, %llu busy",
	       st->passes, st->writes, st->reads, s.compress_ops,
	       s.evictions_lru, s.busy_skips);
	EXPECT_EQ(0, st->compress_err);
	EXPECT_EQ(0, st->mismatches);
	EXPECT_LT(1, st->passes);
	EXPECT_EQ(0, s.decompress_errors);
	EXPECT_LT(0, s.access_hits_decompressed);
	EXPECT_LT(0, s.evictions_lru);
	EXPECT_GE(256 * KiB, s.pool_bytes_peak);
	/* Text only, so no same-filled chunks: every decompress undid one
	 * compress, and what remains compressed is the difference. */
	EXPECT_EQ(0, s.zero_chunks);
	EXPECT_EQ(s.compress_ops, s.decompress_ops + s.logical_input_bytes / CS);
	close(st->fd);
	free(st);
}

TEST_HARNESS_MAIN
