// SPDX-License-Identifier: GPL-2.0
/*
 * Chunk state transitions and exact stats: compress, fault readback,
 * touch, same-filled, incompressible, min savings, cap + LRU eviction.
 * Every expected figure is derived from the data the test wrote.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define NR_CHUNKS	40
#define PER_KIND	(NR_CHUNKS / MA_KINDS)

/* 0 when chunk i holds what ma_fill_kind() wrote. */
static int check_chunk(const char *p, size_t cs, unsigned int i, char *scratch)
{
	if (i % MA_KINDS == K_EMPTY)
		return 0;
	ma_fill_kind(scratch, cs, i);
	return memcmp(p, scratch, cs);
}

/* @nr chunks of text, chunk i seeded i, mapped; compressed if asked. */
static char *text_region_n(int fd, size_t cs, unsigned int nr, __u32 *id,
			   int compress)
{
	char *p = ma_region_map(fd, nr * cs, id);
	unsigned int i;
	__u64 done;

	if (!p)
		return NULL;
	for (i = 0; i < nr; i++)
		ma_fill_text(p + i * cs, cs, i);
	if (compress && (ma_range(fd, MEM_ARENA_IOC_COMPRESS, *id, 0, nr * cs,
				  &done) || done != nr))
		return NULL;
	return p;
}

static char *text_region(int fd, size_t cs, __u32 *id, int compress)
{
	return text_region_n(fd, cs, NR_CHUNKS, id, compress);
}

/* -1 when text_region()'s bytes all read back, else the first bad chunk. */
static int text_differs(const char *p, size_t cs, char *scratch)
{
	unsigned int i;

	for (i = 0; i < NR_CHUNKS; i++) {
		ma_fill_text(scratch, cs, i);
		if (memcmp(p + i * cs, scratch, cs))
			return i;
	}
	return -1;
}

/*
 * Page faults taken to read text_region()'s bytes at @p in order (from
 * getrusage); -1 when they differ.  @scratch is touched first, so that
 * its own faults are not counted.
 */
static long faults_to_read(const char *p, size_t cs, char *scratch)
{
	struct rusage ru0, ru1;

	memset(scratch, 0, cs);
	if (getrusage(RUSAGE_SELF, &ru0) || text_differs(p, cs, scratch) != -1 ||
	    getrusage(RUSAGE_SELF, &ru1))
		return -1;
	return ru1.ru_minflt - ru0.ru_minflt;
}

FIXTURE(arena) {
	int fd;
	size_t cs;
	char *scratch;
};

FIXTURE_VARIANT(arena) {
	__u32 chunk_size;
};

FIXTURE_VARIANT_ADD(arena, chunk_page) { .chunk_size = 0 };
FIXTURE_VARIANT_ADD(arena, chunk_16k) { .chunk_size = 16384 };
FIXTURE_VARIANT_ADD(arena, chunk_64k) { .chunk_size = 65536 };

FIXTURE_SETUP(arena)
{
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
		      strerror(errno));
	self->cs = ma_chunk_at_least(variant->chunk_size);
	self->scratch = malloc(self->cs);
	ASSERT_NE(NULL, self->scratch);
	ASSERT_EQ(0, ma_set_config(self->fd, self->cs, 0, 0));
}

FIXTURE_TEARDOWN(arena)
{
	free(self->scratch);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Compress text_region()'s @p whole: every page a fault mapped, or mapped
 * ahead, goes with it (no busy skip, nothing raw), and every byte survives.
 */
static void compress_takes_every_page(struct __test_metadata *_metadata,
				      FIXTURE_DATA(arena) *self, char *p, __u32 id)
{
	struct mem_arena_stats s;
	__u64 done;

	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
			      NR_CHUNKS * self->cs, &done));
	EXPECT_EQ(NR_CHUNKS, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.busy_skips);
	EXPECT_EQ(0, s.raw_bytes);
	ASSERT_EQ(-1, text_differs(p, self->cs, self->scratch));
}

TEST_F(arena, mixed_region_exact_stats)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs;
	struct mem_arena_stats s;
	long rss_before, rss_after;
	__u64 done;
	__u32 id;
	char *p;
	unsigned int i;

	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < NR_CHUNKS; i++)
		ma_fill_kind(p + i * cs, cs, i);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ((NR_CHUNKS - PER_KIND) * cs, s.raw_bytes);
	EXPECT_EQ(0, s.pool_bytes);

	rss_before = ma_rss_kb();
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	rss_after = ma_rss_kb();
	EXPECT_EQ(3 * PER_KIND, done);

	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(PER_KIND, s.compress_ops);
	EXPECT_EQ(PER_KIND, s.incompressible_chunks);
	EXPECT_EQ(2 * PER_KIND, s.zero_chunks);
	EXPECT_EQ(3 * PER_KIND * cs, s.logical_input_bytes);
	EXPECT_EQ(PER_KIND * cs, s.raw_bytes);
	EXPECT_EQ(0, s.decompress_ops);
	EXPECT_EQ(0, s.busy_skips);
	EXPECT_EQ(0, s.cap_rejects);
	EXPECT_EQ(0, s.compression_reject_small_gain);
	EXPECT_EQ(0, s.decompress_errors);
	/* Text shrinks to well under half; slots add an 8-byte header and
	 * round to 8 bytes; the pool holds whole 64 KiB blocks. */
	EXPECT_LT(0, s.compressed_bytes_live);
	EXPECT_GT(PER_KIND * cs / 2, s.compressed_bytes_live);
	EXPECT_LE(s.compressed_bytes_live + 8 * PER_KIND, s.slot_bytes_live);
	EXPECT_GE(s.compressed_bytes_live + 15 * PER_KIND, s.slot_bytes_live);
	EXPECT_LE(s.slot_bytes_live, s.pool_bytes);
	EXPECT_EQ(0, s.pool_bytes % (64 * KiB));
	EXPECT_GT(s.slot_bytes_live + 64 * KiB, s.pool_bytes);
	/*
	 * Codec time is not asserted here: eight calls may all fall in one
	 * tick of a clamped guest clock.  codec_time_counted_by_every_pass
	 * and fault_time_is_sampled check it, round after round.
	 */
	/* RSS fell by at least 90% of the chunks that left raw. */
	EXPECT_LE(9 * (3 * PER_KIND * cs / KiB) / 10, rss_before - rss_after);

	/* Plain reads, no touch: every byte comes back. */
	for (i = 0; i < NR_CHUNKS; i++)
		ASSERT_EQ(0, check_chunk(p + i * cs, cs, i, self->scratch))
			TH_LOG("chunk %u differs", i);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(3 * PER_KIND, s.decompress_ops);
	EXPECT_EQ(3 * PER_KIND, s.access_hits_decompressed);
	EXPECT_EQ(0, s.access_hits_raw);
	EXPECT_EQ(0, s.logical_input_bytes);
	EXPECT_EQ(0, s.compressed_bytes_live);
	EXPECT_EQ(0, s.slot_bytes_live);
	EXPECT_EQ(0, s.pool_bytes);
	EXPECT_EQ(0, s.zero_chunks);
	EXPECT_EQ((NR_CHUNKS - PER_KIND) * cs, s.raw_bytes);
	EXPECT_LE(64 * KiB, s.pool_bytes_peak);
}

TEST_F(arena, write_into_compressed_chunk)
{
	size_t cs = self->cs, len = 4 * cs, off = cs + cs / 2 + 3;
	__u64 done;
	__u32 id;
	char *p, *want = malloc(len);
	unsigned int i;

	ASSERT_NE(NULL, want);
	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 4; i++)
		ma_fill_text(want + i * cs, cs, 100 + i);
	memcpy(p, want, len);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(4, done);
	/* A write fault into the middle of chunk 1. */
	memcpy(p + off, "written", 7);
	memcpy(want + off, "written", 7);
	EXPECT_EQ(0, memcmp(p, want, len));
	free(want);
}

TEST_F(arena, touch_counts_hits)
{
	size_t cs = self->cs, len = 8 * cs;
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;
	unsigned int i;

	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 8; i++)
		ma_fill_text(p + i * cs, cs, i);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(8, done);
	/* Touch chunks 2..4: a partial last chunk counts whole. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, id, 2 * cs, 2 * cs + 1, &done));
	EXPECT_EQ(3, done);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, id, 0, len, &done));
	EXPECT_EQ(5, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(8, s.access_hits_decompressed);
	EXPECT_EQ(3, s.access_hits_raw);
	EXPECT_EQ(8, s.decompress_ops);
	EXPECT_EQ(0, s.pool_bytes);
	for (i = 0; i < 8; i++) {
		ma_fill_text(self->scratch, cs, i);
		EXPECT_EQ(0, memcmp(p + i * cs, self->scratch, cs));
	}
}

/*
 * MEM_ARENA_TOUCH_PARALLEL over 4 MiB (16 batches) of every kind of chunk:
 * it brings back exactly what a touch would (the compressed and
 * same-filled chunks not brought back before), counts the others as raw
 * hits, empties the pool, and every byte reads back.  With two CPUs the
 * kernel's workers must take part in one of up to PAR_ROUNDS rounds
 * (touch_helper_chunks); never more than the chunks brought back.
 */
#define PAR_ROUNDS	5
TEST_F(arena, touch_parallel_brings_back_every_chunk)
{
	size_t cs = self->cs, len = 4 * MiB, nr = len / cs;
	unsigned int i, r, back = 0, raw = 0;
	struct mem_arena_stats s0, s1;
	__u64 done, helped = 0;
	__u32 id;
	char *p;

	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < nr; i++) {
		ma_fill_kind(p + i * cs, cs, i);
		back += i % MA_KINDS != K_RANDOM && i % MA_KINDS != K_EMPTY;
		raw += i % MA_KINDS == K_RANDOM;
	}
	for (r = 0; r < PAR_ROUNDS; r++) {
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
				      len, &done));
		ASSERT_EQ(back, done);
		/* Chunks 0..2 (text, random, zeros) raw before it comes. */
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, id, 0,
				      3 * cs, &done));
		ASSERT_EQ(2, done);
		ASSERT_EQ(0, ma_stats(self->fd, &s0));
		ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_TOUCH,
					    MEM_ARENA_TOUCH_PARALLEL, id, 0,
					    len, &done));
		ASSERT_EQ(0, ma_stats(self->fd, &s1));
		EXPECT_EQ(back - 2, done);
		EXPECT_EQ(back - 2, s1.access_hits_decompressed -
				    s0.access_hits_decompressed);
		EXPECT_EQ(back - 2, s1.decompress_ops - s0.decompress_ops);
		EXPECT_EQ(raw + 2, s1.access_hits_raw - s0.access_hits_raw);
		EXPECT_GE(done, s1.touch_helper_chunks - s0.touch_helper_chunks);
		helped += s1.touch_helper_chunks - s0.touch_helper_chunks;
		EXPECT_EQ(0, s1.pool_bytes);
		EXPECT_EQ(0, s1.zero_chunks);
		EXPECT_EQ(0, s1.logical_input_bytes);
		for (i = 0; i < nr; i++)
			ASSERT_EQ(0, check_chunk(p + i * cs, cs, i, self->scratch))
				TH_LOG("round %u, chunk %u", r, i);
		if (helped || sysconf(_SC_NPROCESSORS_ONLN) < 2)
			break;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		EXPECT_LT(0, helped) TH_LOG("no worker helped in %u rounds", r);
}

/*
 * The module-wide bound on the parallel touch's workers:
 * /sys/kernel/mem_arena/touch_workers, never above the online CPUs - 1;
 * touch_workers_running is what callers hold now.  The fixture keeps
 * the bound to restore it.
 */
FIXTURE(workers) {
	long long saved;
	long ncpus;
};

FIXTURE_SETUP(workers)
{
	int fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);

	self->saved = -1;	/* nothing to restore */
	if (fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
			      strerror(errno));
	close(fd);
	self->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	self->saved = ma_sysfs_read("touch_workers");
	ASSERT_LE(0, self->saved) TH_LOG("no /sys/kernel/mem_arena/touch_workers");
	ASSERT_EQ(0, ma_sysfs_read("touch_workers_running"));
}

FIXTURE_TEARDOWN(workers)
{
	if (self->saved >= 0)
		ma_sysfs_write("touch_workers", self->saved);
}

/*
 * A child's work: its own arena, @len of text, compressed and touched in
 * parallel @rounds times.  Writes the chunks its workers brought back to
 * @out; exits 0 only when every round brought back every chunk, and every
 * byte is equal.
 */
static void parallel_toucher(int out, size_t len, unsigned int rounds)
{
	size_t cs = (size_t)sysconf(_SC_PAGESIZE), nr = len / cs, i;
	struct mem_arena_stats s;
	char *p, *scratch = malloc(cs);
	unsigned int r;
	__u64 done;
	__u32 id;
	int fd;

	fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !scratch || ma_set_config(fd, cs, 0, 0))
		_exit(2);
	p = text_region_n(fd, cs, nr, &id, 0);
	if (!p)
		_exit(3);
	for (r = 0; r < rounds; r++) {
		if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done) ||
		    done != nr)
			_exit(4);
		if (ma_range_flags(fd, MEM_ARENA_IOC_TOUCH, MEM_ARENA_TOUCH_PARALLEL,
				   id, 0, len, &done) || done != nr)
			_exit(5);
	}
	for (i = 0; i < nr; i++) {
		ma_fill_text(scratch, cs, i);
		if (memcmp(p + i * cs, scratch, cs))
			_exit(6);
	}
	if (ma_stats(fd, &s) ||
	    write(out, &s.touch_helper_chunks, sizeof(__u64)) != sizeof(__u64))
		_exit(7);
	_exit(0);
}

/* touch_workers 0: a parallel touch walks alone, and brings back everything. */
TEST_F(workers, zero_workers_walk_alone)
{
	int pipefd[2], status;
	__u64 helped;
	pid_t pid;

	ASSERT_EQ(0, ma_sysfs_write("touch_workers", 0));
	ASSERT_EQ(0, ma_sysfs_read("touch_workers"));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		parallel_toucher(pipefd[1], 4 * MiB, 3);
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("toucher: status %#x", status);
	ASSERT_EQ(sizeof(helped), read(pipefd[0], &helped, sizeof(helped)));
	EXPECT_EQ(0, helped);
	EXPECT_EQ(-EINVAL, ma_sysfs_write("touch_workers", -1));
	close(pipefd[0]);
}

/*
 * NR_TOUCHERS processes touch in parallel at once, each asking for every
 * worker it may have: the workers out, sampled all along, never exceed
 * touch_workers (1) nor the online CPUs - 1; every toucher brings every
 * chunk back; with two CPUs some worker did take part; and when all are
 * done no worker is left counted.
 */
#define NR_TOUCHERS	4
TEST_F(workers, bound_holds_for_all_callers)
{
	long bound = self->ncpus > 1 ? 1 : 0, seen = 0, v;
	pid_t pids[NR_TOUCHERS], r;
	int pipefd[2], status, i, left;
	__u64 helped = 0, h;

	ASSERT_EQ(0, ma_sysfs_write("touch_workers", 1));
	ASSERT_EQ(0, pipe(pipefd));
	for (i = 0; i < NR_TOUCHERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			parallel_toucher(pipefd[1], 4 * MiB, 4);
	}
	close(pipefd[1]);
	for (left = NR_TOUCHERS; left; ) {
		v = ma_sysfs_read("touch_workers_running");
		ASSERT_LE(0, v);
		seen = v > seen ? v : seen;
		for (i = 0; i < NR_TOUCHERS; i++) {
			if (!pids[i])
				continue;
			r = waitpid(pids[i], &status, WNOHANG);
			if (!r)
				continue;
			ASSERT_EQ(pids[i], r);
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("toucher %d: status %#x", i, status);
			pids[i] = 0;
			left--;
		}
	}
	EXPECT_GE(bound, seen) TH_LOG("%ld workers out at once", seen);
	for (i = 0; i < NR_TOUCHERS; i++) {
		ASSERT_EQ(sizeof(h), read(pipefd[0], &h, sizeof(h)));
		helped += h;
	}
	if (bound)
		EXPECT_LT(0, helped) TH_LOG("no worker helped any toucher");
	EXPECT_EQ(0, ma_sysfs_read("touch_workers_running"));
	close(pipefd[0]);
}

/*
 * A pass times one codec call in 16 and counts each group of calls at its
 * next timed call or at the pass's end: a pass of 1, 16 and 17 chunks
 * (one group closed only by the end; a second group opened by the 17th)
 * adds to compress_ns, to decompress_ns by TOUCH and again by
 * MADV_WILLNEED, by the time its call returns.  A guest's clock may stand
 * still across one call (a TSC found unstable is clamped to the tick), so
 * each must be seen in one of up to CLOCK_ROUNDS rounds; a group left
 * uncounted never would be.
 */
#define CLOCK_ROUNDS	20
TEST_F(arena, codec_time_counted_by_every_pass)
{
	static const unsigned int pass_chunks[] = { 1, 16, 17 };
	size_t cs = self->cs, off = 0;
	struct mem_arena_stats s0, s1, s2, s3;
	unsigned int i, n, r, seen;
	__u64 done;
	__u32 id;
	char *p;

	p = text_region(self->fd, cs, &id, 0);
	ASSERT_NE(NULL, p);
	for (i = 0; i < ARRAY_SIZE(pass_chunks); off += n * cs, i++) {
		n = pass_chunks[i];
		for (r = 0, seen = 0; r < CLOCK_ROUNDS && seen != 7; r++) {
			ASSERT_EQ(0, ma_stats(self->fd, &s0));
			ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id,
					      off, n * cs, &done));
			ASSERT_EQ(n, done);
			ASSERT_EQ(0, ma_stats(self->fd, &s1));
			ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, id,
					      off, n * cs, &done));
			ASSERT_EQ(0, ma_stats(self->fd, &s2));
			ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id,
					      off, n * cs, &done));
			ASSERT_EQ(0, madvise(p + off, n * cs, MADV_WILLNEED));
			ASSERT_EQ(0, ma_stats(self->fd, &s3));
			EXPECT_EQ(n, s1.compress_ops - s0.compress_ops);
			EXPECT_EQ(n, s2.decompress_ops - s1.decompress_ops);
			EXPECT_EQ(n, s3.readahead_chunks - s2.readahead_chunks);
			seen |= (s1.compress_ns > s0.compress_ns) |
				(s2.decompress_ns > s1.decompress_ns) << 1 |
				(s3.decompress_ns > s2.decompress_ns) << 2;
		}
		EXPECT_EQ(7, seen) TH_LOG("%u chunks: compress %u, touch %u, willneed %u",
					  n, seen & 1, seen >> 1 & 1, seen >> 2 & 1);
	}
	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
}

/*
 * Faults are timed one in 16 per arena (and the arena's first); each other
 * fault counts the last timed one's time as it returns.  So every fault of
 * a row adds to decompress_ns, and the row's deltas repeat: NR_CHUNKS
 * faults show at most NR_CHUNKS / 16 + 2 different ones (the timed ones,
 * and the time carried in from before the row), where a clock read around
 * every fault gives nearly as many as faults.  A clock that stands still
 * across a timed fault adds 0 and has the next one timed too, so a row
 * may be redone, compressed again, up to CLOCK_ROUNDS times; a fault left
 * uncounted, or timed every time, fails every row.
 */
TEST_F(arena, fault_time_is_sampled)
{
	size_t cs = self->cs;
	struct mem_arena_stats s0, s1;
	__u64 delta[NR_CHUNKS], done;
	unsigned int i, j, r, distinct, none;
	__u32 id;
	char *p;

	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);
	for (r = 0; r < CLOCK_ROUNDS; r++) {
		distinct = none = 0;
		for (i = 0; i < NR_CHUNKS; i++) {
			ma_fill_text(self->scratch, cs, i);
			ASSERT_EQ(0, ma_stats(self->fd, &s0));
			ASSERT_EQ(0, memcmp(p + i * cs, self->scratch, cs));
			ASSERT_EQ(0, ma_stats(self->fd, &s1));
			ASSERT_EQ(1, s1.decompress_ops - s0.decompress_ops);
			delta[i] = s1.decompress_ns - s0.decompress_ns;
			none += !delta[i];
			for (j = 0; j < i && delta[j] != delta[i]; j++)
				;
			distinct += j == i;
		}
		TH_LOG("row %u: %u faults, %u different times, %u adding none",
		       r, NR_CHUNKS, distinct, none);
		if (!none && distinct <= NR_CHUNKS / 16 + 2)
			break;
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
				      NR_CHUNKS * cs, &done));
		ASSERT_EQ(NR_CHUNKS, done);
	}
	EXPECT_GT(CLOCK_ROUNDS, r);
}

/*
 * IDLE_ONLY compresses only the chunks nobody accessed since the previous
 * idle-only pass: the first pass finds every chunk written since it was
 * made, so it marks them all and compresses none.  A read fault, a write
 * fault and a TOUCH are accesses; a chunk a fault brought back from
 * compressed starts unmarked.
 */
TEST_F(arena, idle_only_compresses_what_was_not_accessed)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs;
	struct mem_arena_stats s;
	volatile char *v;
	__u64 done;
	__u32 id;
	char *p;

	p = text_region(self->fd, cs, &id, 0);
	ASSERT_NE(NULL, p);
	v = p;

	ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
				    MEM_ARENA_COMPRESS_IDLE_ONLY, id, 0, len, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.hot_skips);
	EXPECT_EQ(0, s.compress_ops);
	EXPECT_EQ(len, s.raw_bytes);

	/* Chunk 0 read in its last page, chunk 1 written, chunk 2 touched. */
	(void)v[cs - 1];
	v[cs + cs / 2] = v[cs + cs / 2];
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, id, 2 * cs, cs, &done));
	EXPECT_EQ(0, done);

	ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
				    MEM_ARENA_COMPRESS_IDLE_ONLY, id, 0, len, &done));
	EXPECT_EQ(NR_CHUNKS - 3, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS + 3, s.hot_skips);
	EXPECT_EQ(NR_CHUNKS - 3, s.compress_ops);
	EXPECT_EQ(2, s.idle_refaults);
	EXPECT_EQ(3 * cs, s.raw_bytes);

	/* Nobody came back: the three are idle now. */
	ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
				    MEM_ARENA_COMPRESS_IDLE_ONLY, id, 0, len, &done));
	EXPECT_EQ(3, done);

	/* Faulted back from compressed: hot until a pass finds it idle. */
	(void)v[4 * cs];
	ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
				    MEM_ARENA_COMPRESS_IDLE_ONLY, id, 0, len, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
				    MEM_ARENA_COMPRESS_IDLE_ONLY, id, 0, len, &done));
	EXPECT_EQ(1, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS + 4, s.hot_skips);
	EXPECT_EQ(NR_CHUNKS + 1, s.compress_ops);
	EXPECT_EQ(1, s.decompress_ops);
	EXPECT_EQ(2, s.idle_refaults);
	EXPECT_EQ(0, s.busy_skips);
	EXPECT_EQ(0, s.raw_bytes);
	EXPECT_EQ(-1, text_differs(p, cs, self->scratch));
}

/*
 * A fault maps every page of its chunk in the mapping: reading a region in
 * order, compressed or raw, faults once per chunk, not once per page (the
 * page fault count, from getrusage, says so).  A mapping that begins
 * inside a chunk gets that chunk's pages inside it only.  A use is still
 * counted once per chunk, and the next compress unmaps them all.
 */
TEST_F(arena, fault_maps_the_whole_chunk)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs, pg = getpagesize();
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };
	struct mem_arena_stats s;
	long faults;
	__u64 done;
	__u32 id;
	char *p, *q;

	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);

	faults = faults_to_read(p, cs, self->scratch);
	ASSERT_LE(0, faults);
	EXPECT_LE(NR_CHUNKS, faults);
	EXPECT_GE(NR_CHUNKS + 2, faults);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS, s.decompress_ops);

	/* Raw now: a fresh mapping faults once per chunk too. */
	ri.id = id;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	q = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, ri.mmap_offset);
	ASSERT_NE(MAP_FAILED, q);
	faults = faults_to_read(q, cs, self->scratch);
	ASSERT_LE(0, faults);
	EXPECT_LE(NR_CHUNKS, faults);
	EXPECT_GE(NR_CHUNKS + 2, faults);
	ASSERT_EQ(0, munmap(q, len));

	/* From the second page of chunk 1 to the end: the first chunk it
	 * sees is cut, and its pages before the mapping stay out of it. */
	if (cs > pg) {
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
		q = mmap(NULL, len - cs - pg, PROT_READ, MAP_SHARED, self->fd,
			 ri.mmap_offset + cs + pg);
		ASSERT_NE(MAP_FAILED, q);
		ASSERT_EQ(0, memcmp(q, p + cs + pg, len - cs - pg));
		ASSERT_EQ(0, munmap(q, len - cs - pg));
		ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	}

	/* Every page mapped by those faults goes with the next compress. */
	compress_takes_every_page(_metadata, self, p, id);
}

/*
 * Readahead of a sequential stream (MADV_SEQUENTIAL): reading a compressed
 * region in order misses once, at its first chunk; every other chunk is
 * decompressed ahead of the reader and is not an access hit.  Read ahead
 * and compressed again unused is waste.
 */
TEST_F(arena, sequential_reader_misses_once)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs;
	struct mem_arena_stats s;
	__u64 ra, done;
	__u32 id;
	char *p;

	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, len, MADV_SEQUENTIAL));

	/* One miss reads ahead; compressed again unread, all of it is waste. */
	(void)*(volatile char *)p;
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	ra = s.readahead_chunks;
	EXPECT_LT(0, ra);
	EXPECT_GE(128 * KiB / cs > 2 ? 128 * KiB / cs : 2, ra);
	EXPECT_EQ(1, s.access_hits_decompressed);
	EXPECT_EQ(1 + ra, s.decompress_ops);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	EXPECT_EQ(1 + ra, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(ra, s.readahead_wasted);

	/* In order, every byte: one miss again, the rest read ahead, used. */
	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(2, s.access_hits_decompressed);
	EXPECT_EQ(ra + NR_CHUNKS - 1, s.readahead_chunks);
	EXPECT_EQ(2 * (1 + ra) + NR_CHUNKS - 1 - ra, s.decompress_ops);
	EXPECT_EQ(len, s.raw_bytes);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(ra, s.readahead_wasted);	/* all used this time */
}

/*
 * The arena's readahead window in KiB (readahead_kib) and config @flags,
 * before any region.
 */
static int set_readahead(int fd, size_t cs, __u32 kib, __u32 flags)
{
	struct mem_arena_cmd_config c = {
		.size = sizeof(c), .flags = flags, .chunk_size = cs,
		.readahead_kib = kib,
	};

	return ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c);
}

/*
 * MEM_ARENA_CONFIG_MAP_AHEAD: what a miss reads ahead is mapped at once, so
 * a sequential reader faults only at its misses, one per window and the
 * chunk after it (the page fault count, from getrusage, says so).  The
 * chunks mapped ahead are not hits, and compressed again they are not
 * waste: their use is not seen.  The unmap before that compress takes
 * every mapped-ahead page (no busy skip), and every byte survives.
 */
TEST_F(arena, map_ahead_faults_once_per_window)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs;
	size_t win = 128 * KiB / cs > 2 ? 128 * KiB / cs : 2;
	size_t misses = (NR_CHUNKS + win) / (win + 1);
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	struct mem_arena_stats s;
	long faults;
	__u32 id;
	char *p;

	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	c.flags = MEM_ARENA_CONFIG_MAP_AHEAD;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	c.flags = 0;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(MEM_ARENA_CONFIG_MAP_AHEAD, c.flags);
	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, len, MADV_SEQUENTIAL));

	faults = faults_to_read(p, cs, self->scratch);
	ASSERT_LE(0, faults);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(misses, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS - misses, s.readahead_chunks);
	EXPECT_EQ(NR_CHUNKS - misses, s.readahead_mapped);
	EXPECT_EQ(NR_CHUNKS, s.decompress_ops);
	/* A miss maps its whole chunk. */
	EXPECT_LE(misses, faults);
	EXPECT_GE(misses + 2, faults) TH_LOG("%ld faults for %zu misses", faults, misses);

	compress_takes_every_page(_metadata, self, p, id);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.readahead_wasted);
}

/*
 * Wait (20 s at most, polling: within the harness's 30 s, so a window never
 * read fails its assertion) until @n chunks were read ahead.
 */
static void wait_readahead(int fd, __u64 n, struct mem_arena_stats *s)
{
	double deadline = ma_now_s() + 20;

	while (!ma_stats(fd, s) && s->readahead_chunks < n && ma_now_s() < deadline)
		sched_yield();
}

/*
 * READAHEAD_ASYNC with @kib (0: the default window), over a region of @nr
 * chunks of text compressed and advised MADV_SEQUENTIAL.  Returns the
 * mapping, @id the region.
 */
static char *async_region(struct __test_metadata *_metadata,
			  FIXTURE_DATA(arena) *self, __u32 kib, unsigned int nr,
			  __u32 *id)
{
	char *p;

	ASSERT_EQ(0, set_readahead(self->fd, self->cs, kib,
				   MEM_ARENA_CONFIG_READAHEAD_ASYNC));
	p = text_region_n(self->fd, self->cs, nr, id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, nr * self->cs, MADV_SEQUENTIAL));
	return p;
}

/*
 * async_region(): the fault on its first chunk is the one miss, and the
 * worker, left alone, reads exactly the @win chunks of the window
 * (polled).  Returns the mapping, @s the stats then.
 */
static char *async_first_window(struct __test_metadata *_metadata,
				FIXTURE_DATA(arena) *self, __u32 kib,
				unsigned int nr, size_t win,
				struct mem_arena_stats *s)
{
	__u32 id;
	char *p = async_region(_metadata, self, kib, nr, &id);

	(void)*(volatile char *)p;		/* the miss */
	wait_readahead(self->fd, win, s);
	EXPECT_EQ(win, s->readahead_chunks);
	EXPECT_EQ(1, s->access_hits_decompressed);
	return p;
}

/*
 * MEM_ARENA_CONFIG_READAHEAD_ASYNC: a miss of a sequential stream hands its
 * window to a worker and returns.  Left alone, the worker reads all of it
 * (polled in readahead_chunks: nothing here waits a set time), and the
 * reader's faults there are not hits.  Read on in order, each chunk is
 * decompressed once, by the reader (a miss) or the worker, whichever comes
 * first, and every byte is back.
 */
TEST_F(arena, async_readahead_reads_the_window)
{
	size_t cs = self->cs, win = 4, len = NR_CHUNKS * cs;
	struct mem_arena_stats s;
	char *p;

	p = async_first_window(_metadata, self, win * cs / KiB, NR_CHUNKS, win, &s);
	EXPECT_EQ(1 + win, s.decompress_ops);

	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.decompress_ops);
	EXPECT_EQ(NR_CHUNKS, s.access_hits_decompressed + s.readahead_chunks);
	EXPECT_EQ(0, s.readahead_wasted);
	EXPECT_EQ(len, s.raw_bytes);
}

/*
 * READAHEAD_ASYNC without a readahead_kib: the worker's window is 512 KiB,
 * not the 128 KiB a faulting task reads (each window wakes the worker once,
 * and a readback in 128 KiB windows takes 12-19% more CPU: bench/README.md).
 */
TEST_F(arena, async_default_window_is_512k)
{
	size_t cs = self->cs, win = 512 * KiB / cs, len = (2 * win + 1) * cs;
	struct mem_arena_stats s;
	char *p;

	p = async_first_window(_metadata, self, 0, 2 * win + 1, win, &s);
	munmap(p, len);
}

/*
 * A compress pass cancels the readahead window a stream queued before it,
 * or waits for it if it runs: the worker must not decompress again, behind
 * the pass, what the pass compressed.  Raced until the deadline: each round
 * a miss hands a window to the worker and the region is compressed at
 * once.  Nothing else touches the region, so right after each compress no
 * chunk is raw.
 */
TEST_F(arena, compress_cancels_queued_readahead)
{
	size_t cs = self->cs, win = 4, len = NR_CHUNKS * cs;
	double deadline = ma_race_deadline();
	unsigned int rounds = 0, raw = 0;
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;

	p = async_region(_metadata, self, win * cs / KiB, NR_CHUNKS, &id);
	do {
		(void)*(volatile char *)p;	/* a miss: the worker gets 1..win */
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
				      len, &done));
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		raw += s.raw_bytes != 0;
		rounds++;
	} while (ma_now_s() < deadline);
	TH_LOG("%u rounds, %u with chunks raw after the compress", rounds, raw);
	EXPECT_EQ(0, raw);
	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	munmap(p, len);
}

struct reader {
	const char *p;
	size_t len, cs;
	volatile int stop;
	unsigned long laps;
};

/* Read the region in order, a byte a chunk, lap after lap, until stopped. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	size_t i;

	while (!r->stop) {
		for (i = 0; i < r->len && !r->stop; i += r->cs)
			(void)*(volatile const char *)(r->p + i);
		r->laps++;
	}
	return NULL;
}

/*
 * Compress passes cancelling the readahead of a reader that queues new
 * windows meanwhile, from another thread, until the deadline: whatever
 * interleaving, a window a fault queues is either run or given back, so
 * afterwards (one more compress waits for the last one) a miss still hands
 * its window to the worker, which reads it.  A window lost while a pass
 * cancelled held the region and kept its readahead off for good (and
 * kmemleak saw the region leak on the debug kernel).
 */
TEST_F(arena, compress_vs_queueing_reader)
{
	size_t cs = self->cs, win = 4, len = NR_CHUNKS * cs;
	struct reader r = { .len = len, .cs = cs };
	double deadline = ma_race_deadline();
	struct mem_arena_stats s;
	unsigned int passes = 0;
	__u64 before;
	pthread_t th;
	__u32 id;

	r.p = async_region(_metadata, self, win * cs / KiB, NR_CHUNKS, &id);
	ASSERT_EQ(0, pthread_create(&th, NULL, reader_main, &r));
	do {
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL));
		passes++;
	} while (ma_now_s() < deadline);
	r.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%u passes, %lu laps of the reader", passes, r.laps);

	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	before = s.readahead_chunks;
	(void)*(volatile const char *)r.p;	/* a miss: the worker gets 1..win */
	wait_readahead(self->fd, before + win, &s);
	EXPECT_EQ(before + win, s.readahead_chunks);
	ASSERT_EQ(-1, text_differs(r.p, cs, self->scratch));
	munmap((void *)r.p, len);
}

/*
 * READAHEAD_ASYNC with MAP_AHEAD: the miss that starts a window reads it
 * from the near end while the worker comes from the far end, and maps
 * what it read.  However the two met, once the window is read (polled),
 * reading all of it takes one fault at most (getrusage): where the reader
 * meets the worker's chunks, whose fault maps the rest.  Read on in order,
 * each chunk is still decompressed once, the read takes fewer faults than
 * there are chunks, and every byte is back; a compress takes every page
 * mapped so (no busy skip).
 */
TEST_F(arena, async_map_ahead_faults_once_per_window)
{
	size_t cs = self->cs, win = 4, len = NR_CHUNKS * cs, i;
	struct mem_arena_stats s;
	struct rusage ru0, ru1;
	long faults;
	__u32 id;
	char *p;

	ASSERT_EQ(0, set_readahead(self->fd, cs, win * cs / KiB,
				   MEM_ARENA_CONFIG_READAHEAD_ASYNC |
				   MEM_ARENA_CONFIG_MAP_AHEAD));
	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, len, MADV_SEQUENTIAL));

	(void)*(volatile char *)p;		/* the miss: chunks 1..win */
	wait_readahead(self->fd, win, &s);
	ASSERT_LE(win, s.readahead_chunks);
	EXPECT_EQ(1, s.access_hits_decompressed);
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &ru0));
	for (i = cs; i < (win + 1) * cs; i += getpagesize())
		(void)*(volatile char *)(p + i);
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &ru1));
	EXPECT_GE(1, ru1.ru_minflt - ru0.ru_minflt);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(1, s.access_hits_decompressed);
	EXPECT_LE(win - 1, s.readahead_mapped);

	faults = faults_to_read(p, cs, self->scratch);
	ASSERT_LE(0, faults);
	EXPECT_GT(NR_CHUNKS, faults);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.decompress_ops);
	EXPECT_EQ(NR_CHUNKS, s.access_hits_decompressed + s.readahead_chunks);
	EXPECT_GE(s.readahead_chunks, s.readahead_mapped);
	EXPECT_EQ(0, s.readahead_wasted);
	EXPECT_EQ(len, s.raw_bytes);
	compress_takes_every_page(_metadata, self, p, id);
}

struct far_stream {
	char *p;
	int fd;
	__u32 id;
	size_t cs, from, to;		/* chunks [from, to) */
	volatile int stop;
	unsigned long laps, err;
};

/* Read [from, to) in order, compress it again, and again. */
static void *far_stream_main(void *arg)
{
	struct far_stream *f = arg;
	long pg = getpagesize();
	size_t i;

	while (!f->stop) {
		for (i = f->from * f->cs; i < f->to * f->cs && !f->stop; i += pg)
			(void)*(volatile char *)(f->p + i);
		if (ma_range(f->fd, MEM_ARENA_IOC_COMPRESS, f->id, f->from * f->cs,
			     (f->to - f->from) * f->cs, NULL))
			f->err++;
		f->laps++;
	}
	return NULL;
}

/* Pages of [@p, @p + @len) with a PTE, by /proc/self/pagemap. */
static long pages_present(int pagemap, const char *p, size_t len)
{
	long pg = getpagesize(), n = 0;
	size_t i, nr = len / pg;
	__u64 e;

	for (i = 0; i < nr; i++) {
		if (pread(pagemap, &e, sizeof(e),
			  ((uintptr_t)p / pg + i) * sizeof(e)) != sizeof(e))
			return -1;
		n += e >> 63;
	}
	return n;
}

/*
 * Two sequential streams in one region, with both flags: a fault of one
 * reads and maps its own window, however far the other's ends (the region
 * keeps one ra_next, and while the other's window is queued this fault
 * queues none).  A thread streams through the second half of the region in
 * one mapping, and a probe faults the first half's chunks one by one in
 * another: after each, no page of that mapping is present beyond its
 * window.  Before the walk was bounded, a probe made while the far
 * stream's work was queued read and mapped every chunk up to the far
 * stream's window.
 */
TEST_F(arena, async_map_ahead_walks_its_own_window)
{
	size_t cs = self->cs, win = 4, half = 128, step = 2 * win, len = 2 * half * cs;
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };
	struct far_stream f = { .fd = self->fd, .cs = cs };
	unsigned long laps0;
	pthread_t th;
	size_t probe;
	int pagemap;
	char *q;

	ASSERT_EQ(0, set_readahead(self->fd, cs, win * cs / KiB,
				   MEM_ARENA_CONFIG_READAHEAD_ASYNC |
				   MEM_ARENA_CONFIG_MAP_AHEAD));
	f.p = text_region_n(self->fd, cs, 2 * half, &f.id, 1);
	ASSERT_NE(NULL, f.p);
	ri.id = f.id;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	q = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, ri.mmap_offset);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, madvise(f.p, len, MADV_SEQUENTIAL));
	ASSERT_EQ(0, madvise(q, len, MADV_SEQUENTIAL));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);

	f.from = half;
	f.to = 2 * half;
	ASSERT_EQ(0, pthread_create(&th, NULL, far_stream_main, &f));
	while (!f.laps)
		sched_yield();
	laps0 = f.laps;
	for (probe = 0; probe + step < half; probe += step) {
		size_t beyond = probe + win + 1;	/* the window's end */

		(void)*(volatile char *)(q + probe * cs);
		EXPECT_EQ(0, pages_present(pagemap, q + beyond * cs, (half - beyond) * cs))
			TH_LOG("probe at chunk %zu mapped beyond chunk %zu", probe, beyond);
		if (!_metadata->passed)
			break;
	}
	f.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%zu probes, %lu laps of the far stream meanwhile", half / step, f.laps - laps0);
	EXPECT_EQ(0, f.err);
	for (probe = 0; probe < 2 * half; probe++) {
		ma_fill_text(self->scratch, cs, probe);
		ASSERT_EQ(0, memcmp(q + probe * cs, self->scratch, cs))
			TH_LOG("chunk %zu differs", probe);
	}
	close(pagemap);
	munmap(q, len);
	munmap(f.p, len);
}

/*
 * MAP_AHEAD in an arena with a readahead_kib, unadvised: the miss after a
 * window mapped ahead continues the stream (it is the next chunk the
 * stream faults on), so after the first two misses there is one per
 * window and the chunk after it.
 */
TEST_F(arena, map_ahead_keeps_the_stream)
{
	size_t cs = self->cs, win = 4, misses = 1 + (NR_CHUNKS - 1 + win) / (win + 1);
	struct mem_arena_stats s;
	__u32 id;
	char *p;

	ASSERT_EQ(0, set_readahead(self->fd, cs, win * cs / KiB, MEM_ARENA_CONFIG_MAP_AHEAD));
	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(misses, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS - misses, s.readahead_mapped);
	EXPECT_EQ(NR_CHUNKS - misses, s.readahead_chunks);
}

/*
 * An arena with a readahead_kib reads ahead in every mapping, unadvised:
 * in order, the second miss (the chunk after the first) starts the stream
 * and no chunk after it misses.  Every other chunk, or MADV_RANDOM, never
 * makes a stream.
 */
TEST_F(arena, arena_readahead_without_advice)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs, i;
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;

	ASSERT_EQ(0, set_readahead(self->fd, cs, 4 * cs / KiB, 0));
	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);

	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(2, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS - 2, s.readahead_chunks);
	EXPECT_EQ(0, s.readahead_wasted);

	/* Every other chunk: no two misses in a row, nothing read ahead. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(NR_CHUNKS, done);
	for (i = 0; i < NR_CHUNKS; i += 2)
		(void)*(volatile char *)(p + i * cs);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(2 + NR_CHUNKS / 2, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS - 2, s.readahead_chunks);

	/* MADV_RANDOM: in order, and still every chunk a miss. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(0, madvise(p, len, MADV_RANDOM));
	ASSERT_EQ(-1, text_differs(p, cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(2 + NR_CHUNKS / 2 + NR_CHUNKS, s.access_hits_decompressed);
	EXPECT_EQ(NR_CHUNKS - 2, s.readahead_chunks);
}

/* Without a readahead_kib an unadvised mapping never reads ahead. */
TEST_F(arena, no_readahead_unadvised_by_default)
{
	struct mem_arena_stats s;
	__u32 id;
	char *p;

	p = text_region(self->fd, self->cs, &id, 1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(-1, text_differs(p, self->cs, self->scratch));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.access_hits_decompressed);
	EXPECT_EQ(0, s.readahead_chunks);
}

/*
 * MADV_WILLNEED and POSIX_FADV_WILLNEED decompress their range at once;
 * the accesses after cost no decompression and are not hits.  A chunk
 * read ahead and discarded unused is waste.
 */
TEST_F(arena, willneed_reads_ahead_its_range)
{
	size_t cs = self->cs;
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;
	unsigned int i;

	p = text_region(self->fd, cs, &id, 1);
	ASSERT_NE(NULL, p);

	/* Chunks 8..15 by madvise, from inside chunk 8 (widened). */
	ASSERT_EQ(0, madvise(p + 8 * cs, 8 * cs, MADV_WILLNEED));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(8, s.readahead_chunks);
	EXPECT_EQ(8, s.decompress_ops);
	/* Chunks 20..23 by posix_fadvise at the region's mmap offset. */
	ri.id = id;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	ASSERT_EQ(0, posix_fadvise(self->fd, ri.mmap_offset + 20 * cs + 1, 3 * cs,
				   POSIX_FADV_WILLNEED));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(12, s.readahead_chunks);

	for (i = 8; i < 16; i++) {
		ma_fill_text(self->scratch, cs, i);
		ASSERT_EQ(0, memcmp(p + i * cs, self->scratch, cs)) TH_LOG("chunk %u", i);
	}
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, id, 20 * cs, 4 * cs, &done));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(12, s.decompress_ops);
	EXPECT_EQ(0, s.access_hits_decompressed);
	EXPECT_EQ(4, s.readahead_wasted);
	EXPECT_EQ(8 * cs, s.raw_bytes);
}

/*
 * DISCARD empties chunks whatever their state and reads none of them: the
 * freed half of a mixed region costs no decompression, reads as zeros,
 * and gives back exactly what it held; the other half is untouched.
 */
TEST_F(arena, discard_drops_without_decompressing)
{
	size_t cs = self->cs, len = NR_CHUNKS * cs, half = NR_CHUNKS / 2;
	struct mem_arena_stats s0, s;
	__u64 done, held = 0, raw = 0, logical = 0;
	unsigned int i;
	__u32 id;
	char *p;

	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < NR_CHUNKS; i++)
		ma_fill_kind(p + i * cs, cs, i);
	/* Compress the first quarter only: the half to go mixes states. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
			      half / 2 * cs, NULL));
	for (i = 0; i < half; i++) {
		unsigned int k = i % MA_KINDS;

		held += k != K_EMPTY;
		/* Left raw: the second quarter, and random data anywhere. */
		raw += k != K_EMPTY && (i >= half / 2 || k == K_RANDOM);
		logical += k != K_EMPTY && i < half / 2 && k != K_RANDOM;
	}
	ASSERT_EQ(0, ma_stats(self->fd, &s0));

	/* Whole chunks only, unless the range ends with the region. */
	EXPECT_EQ(-EINVAL, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, id, 0, cs + 1, NULL));
	EXPECT_EQ(-EINVAL, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, id, 1, cs, NULL));
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, id, 0, half * cs, &done));
	EXPECT_EQ(held, done);

	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(s0.decompress_ops, s.decompress_ops);
	EXPECT_EQ(0, s.decompress_ops);
	EXPECT_EQ(held, s.discarded_chunks);
	EXPECT_EQ(s0.raw_bytes - raw * cs, s.raw_bytes);
	EXPECT_EQ(s0.logical_input_bytes - logical * cs, s.logical_input_bytes);
	EXPECT_EQ(0, s.compressed_bytes_live);
	EXPECT_EQ(0, s.slot_bytes_live);
	EXPECT_EQ(0, s.zero_chunks);

	for (i = 0; i < half; i++)
		ASSERT_EQ(0, ma_nonzero_bytes(p + i * cs, cs)) TH_LOG("chunk %u not zero", i);
	for (; i < NR_CHUNKS; i++)
		ASSERT_EQ(0, check_chunk(p + i * cs, cs, i, self->scratch))
			TH_LOG("chunk %u differs", i);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.decompress_ops);

	/*
	 * All of it, to the region's end: the first half read back as zero
	 * pages, the second half but its never-touched chunks.
	 */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, id, 0, len, &done));
	EXPECT_EQ(half + half - half / MA_KINDS, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.raw_bytes);
	EXPECT_EQ(0, s.logical_input_bytes);
	EXPECT_EQ(0, s.pool_bytes);
}

TEST_F(arena, min_savings_rejects_small_gain)
{
	size_t cs = self->cs, len = 6 * cs;
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;
	int fd2;
	unsigned int i;

	/* Half-random chunks save about 50%: rejected at 60%, kept at 40%. */
	fd2 = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ma_set_config(fd2, cs, 60, 0));
	p = ma_region_map(fd2, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 6; i++)
		ma_fill_half(p + i * cs, cs, i);
	ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, ma_stats(fd2, &s));
	EXPECT_EQ(6, s.compression_reject_small_gain);
	EXPECT_EQ(0, s.compress_ops);
	EXPECT_EQ(6 * cs, s.raw_bytes);
	close(fd2);

	ASSERT_EQ(0, ma_set_config(self->fd, cs, 40, 0));
	p = ma_region_map(self->fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 6; i++)
		ma_fill_half(p + i * cs, cs, i);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	EXPECT_EQ(6, done);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.compression_reject_small_gain);
	EXPECT_EQ(6, s.compress_ops);
	for (i = 0; i < 6; i++) {
		ma_fill_half(self->scratch, cs, i);
		EXPECT_EQ(0, memcmp(p + i * cs, self->scratch, cs));
	}
}

/* 16 MiB of text under a 1 MiB cap, compressed in 64 steps. */
TEST_F(arena, cap_evicts_least_recently_used)
{
	const size_t cap = 1 * MiB, len = 16 * MiB, step = len / 64;
	size_t cs = self->cs, nr = len / cs, i, k;
	struct mem_arena_stats s;
	__u64 done, compressed_now;
	__u32 id;
	char *p;
	int fd2;

	fd2 = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ma_set_config(fd2, cs, 0, cap));
	p = ma_region_map(fd2, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < nr; i++)
		ma_fill_text(p + i * cs, cs, i);
	for (k = 0; k < len / step; k++) {
		ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_COMPRESS, id, k * step,
				      step, &done));
		ASSERT_EQ(0, ma_stats(fd2, &s));
		ASSERT_GE(cap, s.pool_bytes);
	}
	EXPECT_GE(cap, s.pool_bytes_peak);
	EXPECT_LT(0, s.evictions_lru);
	EXPECT_EQ(0, s.cap_rejects);
	EXPECT_EQ(0, s.decompress_errors);
	/* Every chunk was compressed once; evicted ones are raw again. */
	compressed_now = s.logical_input_bytes / cs;
	EXPECT_EQ(nr, s.compress_ops);
	EXPECT_EQ(s.compress_ops, s.evictions_lru + compressed_now);
	EXPECT_EQ(s.evictions_lru, s.decompress_ops);
	EXPECT_EQ(s.evictions_lru * cs, s.raw_bytes);

	/* The newest chunks are still compressed, the oldest were evicted. */
	ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_TOUCH, id, len - 4 * cs, 4 * cs, &done));
	EXPECT_EQ(4, done);
	ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_TOUCH, id, 0, 4 * cs, &done));
	EXPECT_EQ(0, done);

	for (i = 0; i < nr; i++) {
		ma_fill_text(self->scratch, cs, i);
		ASSERT_EQ(0, memcmp(p + i * cs, self->scratch, cs))
			TH_LOG("chunk %zu differs", i);
	}
	close(fd2);
}

TEST_F(arena, free_region_sigbus_on_stale_mapping)
{
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	size_t cs = self->cs, off;
	volatile char *p;
	int status;
	pid_t pid;

	p = ma_region_map(self->fd, 2 * cs, &f.id);
	ASSERT_NE(NULL, p);
	p[0] = 1;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
	/* A page that was mapped, then one never touched. */
	for (off = 0; off <= cs; off += cs) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			(void)p[off];
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGBUS, WTERMSIG(status));
	}
	EXPECT_EQ(-ENOENT, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
}

/* vmsplice() pins a page in a pipe: a compress pass must skip its chunk. */
TEST(pinned_chunk_is_busy_skipped)
{
	const size_t cs = getpagesize();
	struct mem_arena_stats s;
	struct iovec iov;
	char want[MA_PAGE_MAX], got[MA_PAGE_MAX];
	int fd, pfd[2];
	__u64 done;
	__u32 id;
	char *p;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	p = ma_region_map(fd, 2 * cs, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, cs, 1);
	ma_fill_text(p + cs, cs, 2);
	memcpy(want, p, cs);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = cs;
	ASSERT_EQ(cs, vmsplice(pfd[1], &iov, 1, 0));

	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 2 * cs, &done));
	EXPECT_EQ(1, done);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(1, s.busy_skips);
	EXPECT_EQ(1, s.compress_ops);
	EXPECT_EQ(cs, s.raw_bytes);

	/* The pipe still reads the chunk's bytes; unpinned, it compresses. */
	ASSERT_EQ(cs, read(pfd[0], got, cs));
	EXPECT_EQ(0, memcmp(want, got, cs));
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 2 * cs, &done));
	EXPECT_EQ(1, done);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(1, s.busy_skips);
	EXPECT_EQ(2, s.compress_ops);
	EXPECT_EQ(0, memcmp(want, p, cs));
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

/* A cap below one 64 KiB pool block: nothing fits, same-filled still works. */
TEST(cap_below_a_block_rejects)
{
	const size_t cs = getpagesize();
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	char *p;
	int fd;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, ma_set_config(fd, cs, 0, 4096));
	p = ma_region_map(fd, 4 * cs, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, 3 * cs, 3);
	memset(p + 3 * cs, 0, cs);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 4 * cs, &done));
	EXPECT_EQ(1, done);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(3, s.cap_rejects);
	EXPECT_EQ(0, s.compress_ops);
	EXPECT_EQ(1, s.zero_chunks);
	EXPECT_EQ(0, s.pool_bytes);
	EXPECT_EQ(3 * cs, s.raw_bytes);
	close(fd);
}

/* The module-wide cap binds an uncapped arena; sysfs totals move with it. */
TEST(module_cap_and_sysfs_totals)
{
	const size_t cs = getpagesize(), len = 4 * MiB;
	long long cap0, ops0, peak_cap = 256 * KiB;
	struct mem_arena_stats s;
	__u64 done;
	__u32 id;
	size_t i;
	char *p;
	int fd;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	cap0 = ma_sysfs_read("pool_cap_bytes");
	ops0 = ma_sysfs_read("compress_ops");
	if (ma_sysfs_write("pool_cap_bytes", peak_cap))
		SKIP(return, "cannot write pool_cap_bytes (not root?)");
	p = ma_region_map(fd, len, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < len / cs; i++)
		ma_fill_text(p + i * cs, cs, i);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(0, ma_sysfs_write("pool_cap_bytes", cap0));
	EXPECT_GE(peak_cap, s.pool_bytes_peak);
	EXPECT_LT(0, s.evictions_lru);
	EXPECT_EQ(len / cs, s.compress_ops);
	/* Nobody else runs: the module-wide figures are this arena's. */
	EXPECT_EQ(ops0 + s.compress_ops, ma_sysfs_read("compress_ops"));
	EXPECT_EQ(s.pool_bytes, ma_sysfs_read("pool_bytes"));
	EXPECT_EQ(s.logical_input_bytes, ma_sysfs_read("logical_input_bytes"));
	EXPECT_EQ(s.raw_bytes, ma_sysfs_read("raw_bytes"));
	EXPECT_EQ(1, ma_sysfs_read("arenas"));
	/* A mapping keeps the arena alive past close(); the last one ends it. */
	close(fd);
	EXPECT_EQ(1, ma_sysfs_read("arenas"));
	munmap(p, len);
	EXPECT_EQ(0, ma_sysfs_read("pool_bytes"));
	EXPECT_EQ(0, ma_sysfs_read("arenas"));
}

TEST_HARNESS_MAIN
