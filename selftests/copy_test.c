// SPDX-License-Identifier: GPL-2.0
/*
 * MEM_ARENA_IOC_COPY: chunks go from a region of one arena into a region of
 * another (or the same) in their state, compressed ones as their bytes.
 * Every expected figure is derived from the data the test wrote and from
 * the source arena's own stats.
 */
#include <pthread.h>
#include <sched.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define NR_CHUNKS	40

/* -1 when every chunk reads as ma_fill_kind() wrote it, else the first bad */
static int region_differs(const char *p, size_t cs, char *scratch)
{
	unsigned int i;

	for (i = 0; i < NR_CHUNKS; i++) {
		memset(scratch, 0, cs);
		ma_fill_kind(scratch, cs, i);
		if (memcmp(p + i * cs, scratch, cs))
			return i;
	}
	return -1;
}

FIXTURE(copy) {
	int src, dst;
	size_t cs, len;
	__u32 src_id, dst_id;
	char *s, *d, *scratch;
};

FIXTURE_VARIANT(copy) {
	__u32 chunk_size;
};

FIXTURE_VARIANT_ADD(copy, chunk_page) { .chunk_size = 0 };
FIXTURE_VARIANT_ADD(copy, chunk_16k) { .chunk_size = 16384 };

/*
 * Source: the mixed region, its first half compressed.  Destination, in
 * another arena: random data, half of it compressed, all to be replaced.
 */
FIXTURE_SETUP(copy)
{
	unsigned int i;

	self->src = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->src < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
		      strerror(errno));
	self->dst = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dst);
	self->cs = ma_chunk_at_least(variant->chunk_size);
	self->len = NR_CHUNKS * self->cs;
	self->scratch = malloc(self->cs);
	ASSERT_NE(NULL, self->scratch);
	ASSERT_EQ(0, ma_set_config(self->src, self->cs, 0, 0));
	ASSERT_EQ(0, ma_set_config(self->dst, self->cs, 0, 0));
	self->s = ma_region_map(self->src, self->len, &self->src_id);
	self->d = ma_region_map(self->dst, self->len, &self->dst_id);
	ASSERT_NE(NULL, self->s);
	ASSERT_NE(NULL, self->d);
	for (i = 0; i < NR_CHUNKS; i++)
		ma_fill_kind(self->s + i * self->cs, self->cs, i);
	ma_fill_text(self->d, self->len, 99);
	ASSERT_EQ(0, ma_range(self->src, MEM_ARENA_IOC_COMPRESS, self->src_id, 0,
			      self->len / 2, NULL));
	ASSERT_EQ(0, ma_range(self->dst, MEM_ARENA_IOC_COMPRESS, self->dst_id, 0,
			      self->len / 2, NULL));
}

FIXTURE_TEARDOWN(copy)
{
	free(self->scratch);
	if (self->dst >= 0)
		close(self->dst);
	if (self->src >= 0)
		close(self->src);
}

/*
 * The destination ends up holding what the source holds, chunk for chunk
 * and byte for byte of the pool, and neither arena decompressed anything.
 */
TEST_F(copy, chunks_keep_their_state_and_bytes)
{
	struct mem_arena_stats s0, s1, d0, d1;
	__u64 done, held = 0;
	unsigned int i;

	for (i = 0; i < NR_CHUNKS; i++)
		held += i % MA_KINDS != K_EMPTY;
	ASSERT_EQ(0, ma_stats(self->src, &s0));
	ASSERT_EQ(0, ma_stats(self->dst, &d0));
	ASSERT_NE(0, s0.compressed_bytes_live);

	ASSERT_EQ(0, ma_copy(self->dst, self->dst_id, 0, self->src, self->src_id, 0,
			  self->len, &done));
	EXPECT_EQ(held, done);

	ASSERT_EQ(0, ma_stats(self->src, &s1));
	ASSERT_EQ(0, ma_stats(self->dst, &d1));
	/* The source is as it was: nothing read back. */
	EXPECT_EQ(s0.decompress_ops, s1.decompress_ops);
	EXPECT_EQ(s0.compressed_bytes_live, s1.compressed_bytes_live);
	EXPECT_EQ(s0.raw_bytes, s1.raw_bytes);
	/* The destination holds the same states and the same slot bytes. */
	EXPECT_EQ(d0.decompress_ops, d1.decompress_ops);
	EXPECT_EQ(held, d1.copied_chunks);
	EXPECT_EQ(NR_CHUNKS, d1.discarded_chunks);	/* all held text */
	EXPECT_EQ(s1.compressed_bytes_live, d1.compressed_bytes_live);
	EXPECT_EQ(s1.slot_bytes_live, d1.slot_bytes_live);
	EXPECT_EQ(s1.zero_chunks, d1.zero_chunks);
	EXPECT_EQ(s1.raw_bytes, d1.raw_bytes);
	EXPECT_EQ(s1.logical_input_bytes, d1.logical_input_bytes);
	EXPECT_EQ(d0.compress_ops, d1.compress_ops);

	/* Private: a write to the copy faults in the copy only. */
	memset(self->d, 0x5a, self->cs);
	ASSERT_EQ(0, ma_stats(self->src, &s1));
	ASSERT_EQ(0, ma_stats(self->dst, &d1));
	EXPECT_EQ(d0.decompress_ops + 1, d1.decompress_ops);	/* chunk 0 */
	EXPECT_EQ(s0.decompress_ops, s1.decompress_ops);
	EXPECT_EQ(-1, region_differs(self->s, self->cs, self->scratch));
	ma_fill_kind(self->d, self->cs, 0);
	EXPECT_EQ(-1, region_differs(self->d, self->cs, self->scratch));
}

/* Within one region, between ranges that do not overlap; a part only. */
TEST_F(copy, within_one_region)
{
	size_t cs = self->cs, half = self->len / 2;
	__u64 done, held = 0;
	unsigned int i;

	for (i = 0; i < NR_CHUNKS / 2; i++)
		held += i % MA_KINDS != K_EMPTY;
	ASSERT_EQ(0, ma_copy(self->src, self->src_id, half, self->src, self->src_id,
			  0, half, &done));
	EXPECT_EQ(held, done);
	for (i = 0; i < NR_CHUNKS / 2; i++) {
		memset(self->scratch, 0, cs);
		ma_fill_kind(self->scratch, cs, i);
		EXPECT_EQ(0, memcmp(self->s + half + i * cs, self->scratch, cs))
			TH_LOG("chunk %u", i);
		EXPECT_EQ(0, memcmp(self->s + i * cs, self->scratch, cs));
	}
}

/* The errno table: each line one wrong field, everything else right. */
TEST_F(copy, errors)
{
	size_t cs = self->cs, len = self->len;
	int other = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	__u32 other_id;
	const struct {
		const char *name;
		int src_fd;
		__u32 src_id, id;
		__u64 off, src_off, length;
		__u32 flags, reserved;
		int err;
	} t[] = {
		/* Before "ok", which then replaces what it copied. */
		{ "snapshot_in_one_region", self->dst, self->dst_id, self->dst_id, cs, 0, cs, MEM_ARENA_COPY_SNAPSHOT, 0, 0 },
		{ "ok", self->src, self->src_id, self->dst_id, 0, 0, len, 0, 0, 0 },
		{ "snapshot", self->src, self->src_id, self->dst_id, 0, 0, len, MEM_ARENA_COPY_SNAPSHOT, 0, 0 },
		{ "flags_unknown", self->src, self->src_id, self->dst_id, 0, 0, len, 2, 0, -EINVAL },
		{ "flags_high", self->src, self->src_id, self->dst_id, 0, 0, len, 1U << 31, 0, -EINVAL },
		{ "reserved", self->src, self->src_id, self->dst_id, 0, 0, len, 0, 1, -EINVAL },
		{ "src_fd_negative", -1, self->src_id, self->dst_id, 0, 0, len, 0, 0, -EBADF },
		{ "src_fd_closed", 1000, self->src_id, self->dst_id, 0, 0, len, 0, 0, -EBADF },
		{ "src_fd_not_an_arena", null, self->src_id, self->dst_id, 0, 0, len, 0, 0, -EINVAL },
		{ "src_id", self->src, self->src_id + 7, self->dst_id, 0, 0, len, 0, 0, -ENOENT },
		{ "dst_id", self->src, self->src_id, self->dst_id + 7, 0, 0, len, 0, 0, -ENOENT },
		{ "chunk_sizes_differ", other, 0, self->dst_id, 0, 0, len, 0, 0, -EINVAL },
		{ "length_0", self->src, self->src_id, self->dst_id, 0, 0, 0, 0, 0, -EINVAL },
		{ "length_partial_chunk", self->src, self->src_id, self->dst_id, 0, 0, cs + 1, 0, 0, -EINVAL },
		{ "offset_unaligned", self->src, self->src_id, self->dst_id, 1, 0, cs, 0, 0, -EINVAL },
		{ "src_offset_unaligned", self->src, self->src_id, self->dst_id, 0, 1, cs, 0, 0, -EINVAL },
		{ "src_range_past_end", self->src, self->src_id, self->dst_id, 0, cs, len, 0, 0, -EINVAL },
		{ "dst_range_past_end", self->src, self->src_id, self->dst_id, cs, 0, len, 0, 0, -EINVAL },
		{ "src_offset_overflows", self->src, self->src_id, self->dst_id, 0, -cs, 2 * cs, 0, 0, -EINVAL },
		{ "overlap_in_one_region", self->dst, self->dst_id, self->dst_id, cs, 0, 2 * cs, 0, 0, -EINVAL },
		{ "same_range_of_one_region", self->dst, self->dst_id, self->dst_id, 0, 0, cs, 0, 0, -EINVAL },
	};
	unsigned int i;

	ASSERT_LE(0, other);
	ASSERT_LE(0, null);
	ASSERT_EQ(0, ma_set_config(other, 2 * self->cs, 0, 0));
	ASSERT_NE(NULL, ma_region_map(other, len, &other_id));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mem_arena_cmd_copy c = {
			.size = sizeof(c), .flags = t[i].flags, .id = t[i].id,
			.src_fd = t[i].src_fd,
			.src_id = t[i].src_fd == other ? other_id : t[i].src_id,
			.__reserved = t[i].reserved, .offset = t[i].off,
			.src_offset = t[i].src_off, .length = t[i].length,
		};

		EXPECT_EQ(t[i].err, ma_ioc(self->dst, MEM_ARENA_IOC_COPY, &c))
			TH_LOG("%s", t[i].name);
	}
	/* Nothing half done by a refused copy: the good one's result stands. */
	EXPECT_EQ(-1, region_differs(self->d, self->cs, self->scratch));
	close(null);
	close(other);
}

/*
 * Under a destination cap smaller than the source's pool, compressed
 * copies make room by evicting the destination's older ones: the bytes
 * all arrive, the cap holds, and every decompression is an eviction.
 */
TEST_F(copy, under_a_cap_evicts_older_copies)
{
	struct mem_arena_stats s, d;
	int capped = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	size_t big = 64 * self->cs;
	unsigned int i;
	__u64 done;
	__u32 id, cid;
	char *p, *q;

	ASSERT_LE(0, capped);
	ASSERT_EQ(0, ma_set_config(capped, self->cs, 0, 64 * KiB));
	p = ma_region_map(self->src, big, &id);
	q = ma_region_map(capped, big, &cid);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	for (i = 0; i < big / self->cs; i++)	/* half random: > 64 KiB of pool */
		ma_fill_half(p + i * self->cs, self->cs, i);
	ASSERT_EQ(0, ma_range(self->src, MEM_ARENA_IOC_COMPRESS, id, 0, big, NULL));
	ASSERT_EQ(0, ma_stats(self->src, &s));
	ASSERT_LT(64 * KiB, s.pool_bytes);

	ASSERT_EQ(0, ma_copy(capped, cid, 0, self->src, id, 0, big, &done));
	EXPECT_EQ(big / self->cs, done);
	ASSERT_EQ(0, ma_stats(capped, &d));
	EXPECT_GE(64 * KiB, d.pool_bytes);
	EXPECT_LT(0, d.evictions_lru);
	EXPECT_EQ(d.evictions_lru, d.decompress_ops);
	for (i = 0; i < big / self->cs; i++) {
		ma_fill_half(self->scratch, self->cs, i);
		EXPECT_EQ(0, memcmp(q + i * self->cs, self->scratch, self->cs))
			TH_LOG("chunk %u", i);
	}
	close(capped);
}

/*
 * A snapshot copy is the source at one instant, whatever its writers do.
 * A thread sweeps a counter through the first word of each chunk, in
 * order, so at any instant the words fall from first to last by at most
 * one; copied chunk by chunk while the sweeps go on, later chunks would
 * hold later sweeps.  The writer goes on after each copy, and the source
 * stays whole.
 */
#define SNAP_CHUNKS	128
#define SNAP_COPIES	20

TEST_F(copy, snapshot_under_a_writer)
{
	struct ma_sweeper w = { .stride = self->cs, .n = SNAP_CHUNKS };
	size_t cs = self->cs, len = SNAP_CHUNKS * cs;
	__u32 sid, did;
	pthread_t th;
	__u64 last = 0, done;
	int i, torn;
	char *d;

	w.p = ma_region_map(self->src, len, &sid);
	d = ma_region_map(self->dst, len, &did);
	ASSERT_NE(NULL, w.p);
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, pthread_create(&th, NULL, ma_sweep, &w));
	while (!*ma_sweep_word(w.p, cs, SNAP_CHUNKS - 1))
		sched_yield();
	for (i = 0; i < SNAP_COPIES; i++) {
		struct mem_arena_cmd_copy c = {
			.size = sizeof(c), .flags = MEM_ARENA_COPY_SNAPSHOT,
			.id = did, .src_fd = self->src, .src_id = sid, .length = len,
		};

		ASSERT_EQ(0, ma_ioc(self->dst, MEM_ARENA_IOC_COPY, &c));
		EXPECT_EQ(SNAP_CHUNKS, c.chunks);
		torn = ma_sweep_torn(d, cs, SNAP_CHUNKS);
		EXPECT_EQ(-1, torn)
			TH_LOG("copy %d: chunk %d holds sweep %llu, the first %llu",
			       i, torn, (unsigned long long)*ma_sweep_word(d, cs, torn),
			       (unsigned long long)*ma_sweep_word(d, cs, 0));
		/* Each copy is of a later instant: the writer went on. */
		EXPECT_LE(last, *ma_sweep_word(d, cs, 0));
		last = *ma_sweep_word(d, cs, 0);
	}
	while (*ma_sweep_word(w.p, cs, 0) == last)
		sched_yield();
	w.stop = 1;
	pthread_join(th, NULL);
	EXPECT_EQ(-1, ma_sweep_torn(w.p, cs, SNAP_CHUNKS));
	/* A plain copy of the still source is the same bytes. */
	ASSERT_EQ(0, ma_copy(self->dst, did, 0, self->src, sid, 0, len, &done));
	EXPECT_EQ(0, memcmp(w.p, d, len));
}

TEST_HARNESS_MAIN
