// SPDX-License-Identifier: GPL-2.0
/*
 * lseek(SEEK_DATA / SEEK_HOLE) on an arena: the arena reads as a sparse
 * file of its regions at their mmap offsets, data where a chunk holds
 * memory.  The expected runs are derived from what the test wrote into
 * each chunk and how it changed the chunk since, never from the module.
 */
#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define NR_CHUNKS	16
#define NR_REGIONS	2
#define MAX_RUNS	(NR_REGIONS * NR_CHUNKS)

/* lseek() as a result or -errno. */
static off_t seek(int fd, off_t off, int whence)
{
	off_t r = lseek(fd, off, whence);

	return r < 0 ? -errno : r;
}

FIXTURE(seek) {
	int fd;
	size_t cs, len;
	__u32 id[NR_REGIONS];
	off_t off[NR_REGIONS];
	char *p[NR_REGIONS];
	bool data[NR_REGIONS][NR_CHUNKS];	/* what the test expects */
};

FIXTURE_VARIANT(seek) {
	__u32 chunk_size;
};

FIXTURE_VARIANT_ADD(seek, chunk_page) { .chunk_size = 0 };
FIXTURE_VARIANT_ADD(seek, chunk_16k) { .chunk_size = 16384 };

FIXTURE_SETUP(seek)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	unsigned int r;

	self->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
			      strerror(errno));
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &info));
	ASSERT_NE(0, info.features & MEM_ARENA_FEATURE_SEEK_HOLE);
	self->cs = ma_chunk_at_least(variant->chunk_size);
	self->len = NR_CHUNKS * self->cs;
	ASSERT_EQ(0, ma_set_config(self->fd, self->cs, 0, 0));
	for (r = 0; r < NR_REGIONS; r++) {
		struct mem_arena_cmd_region_alloc a = {
			.size = sizeof(a), .length = self->len,
		};

		ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
		self->id[r] = a.id;
		self->off[r] = a.mmap_offset;
		self->p[r] = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				  MAP_SHARED, self->fd, a.mmap_offset);
		ASSERT_NE(MAP_FAILED, self->p[r]);
	}
	ASSERT_LT(self->off[0] + (off_t)self->len, self->off[1]);
}

FIXTURE_TEARDOWN(seek)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Write chunk @i of region @r with ma_fill_kind() of @kind; data if not 0s. */
static void put(struct _test_data_seek *self, unsigned int r, unsigned int i,
		unsigned int kind)
{
	ma_fill_kind(self->p[r] + i * self->cs, self->cs, kind);
	self->data[r][i] = true;	/* raw pages, zeros or not */
}

/*
 * Walk the arena from offset 0 by SEEK_DATA and SEEK_HOLE into @runs
 * (start, end pairs); the number of runs, or -errno of a call that failed
 * other than with ENXIO at the end.
 */
static int walk(int fd, off_t *runs)
{
	off_t pos = 0, hole;
	int n = 0;

	while (n < MAX_RUNS) {
		pos = seek(fd, pos, SEEK_DATA);
		if (pos == -ENXIO)
			return n;
		if (pos < 0)
			return pos;
		hole = seek(fd, pos, SEEK_HOLE);
		if (hole <= pos)
			return hole < 0 ? hole : -EINVAL;
		runs[2 * n] = pos;
		runs[2 * n + 1] = hole;
		n++;
		pos = hole;
	}
	return -E2BIG;
}

/* The runs self->data says there are, in the same form. */
static int expected(struct _test_data_seek *self, off_t *runs)
{
	unsigned int r, i;
	int n = 0;

	for (r = 0; r < NR_REGIONS; r++)
		for (i = 0; i < NR_CHUNKS; i++) {
			off_t at = self->off[r] + i * self->cs;

			if (!self->data[r][i])
				continue;
			if (n && runs[2 * n - 1] == at) {
				runs[2 * n - 1] += self->cs;
				continue;
			}
			runs[2 * n] = at;
			runs[2 * n + 1] = at + self->cs;
			n++;
		}
	return n;
}

#define EXPECT_RUNS() do {						\
	off_t got[2 * MAX_RUNS], want[2 * MAX_RUNS];			\
	int ng = walk(self->fd, got), nw = expected(self, want), e;	\
									\
	ASSERT_EQ(nw, ng);						\
	for (e = 0; e < 2 * nw; e++)					\
		EXPECT_EQ(want[e], got[e]);				\
} while (0)

TEST_F(seek, empty_arena_is_one_hole)
{
	off_t end = self->off[1] + self->len;

	EXPECT_EQ(-ENXIO, seek(self->fd, 0, SEEK_DATA));
	EXPECT_EQ(0, seek(self->fd, 0, SEEK_HOLE));
	EXPECT_EQ(self->off[0] + 5 * self->cs + 7,
		  seek(self->fd, self->off[0] + 5 * self->cs + 7, SEEK_HOLE));
	/* Between the regions, and the end of the last one. */
	EXPECT_EQ(self->off[0] + self->len,
		  seek(self->fd, self->off[0] + self->len, SEEK_HOLE));
	EXPECT_EQ(end - 1, seek(self->fd, end - 1, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(self->fd, end, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(self->fd, end, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(self->fd, -1, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(self->fd, -1, SEEK_DATA));
	EXPECT_RUNS();
}

/* Every state a chunk can be in, through compression and a discard. */
TEST_F(seek, data_follows_the_chunk_states)
{
	size_t cs = self->cs;
	struct mem_arena_stats s0, s1;

	put(self, 0, 2, K_TEXT);
	put(self, 0, 3, K_TEXT);
	put(self, 0, 5, K_ZERO);
	put(self, 0, 7, K_SAME);
	put(self, 0, 9, K_RANDOM);
	put(self, 0, NR_CHUNKS - 1, K_TEXT);
	put(self, 1, 4, K_TEXT);
	EXPECT_RUNS();

	/* Compressed and same-filled chunks are data; zeros are a hole. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, self->id[0], 0,
			      self->len, NULL));
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, self->id[1], 0,
			      self->len, NULL));
	ASSERT_EQ(0, ma_stats(self->fd, &s0));
	ASSERT_EQ(2, s0.zero_chunks);		/* zeros and 0xa5 */
	ASSERT_EQ(cs, s0.raw_bytes);		/* the random chunk */
	self->data[0][5] = false;
	EXPECT_RUNS();

	/* Inside data or a hole, the offset itself. */
	EXPECT_EQ(self->off[0] + 2 * cs + 100,
		  seek(self->fd, self->off[0] + 2 * cs + 100, SEEK_DATA));
	EXPECT_EQ(self->off[0] + 4 * cs,
		  seek(self->fd, self->off[0] + 2 * cs + 100, SEEK_HOLE));
	EXPECT_EQ(self->off[0] + 7 * cs,
		  seek(self->fd, self->off[0] + 5 * cs + 1, SEEK_DATA));
	/* From the last chunk of one region to the next region's data. */
	EXPECT_EQ(self->off[0] + self->len,
		  seek(self->fd, self->off[0] + self->len - 1, SEEK_HOLE));
	EXPECT_EQ(self->off[1] + 4 * cs,
		  seek(self->fd, self->off[0] + self->len, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(self->fd, self->off[1] + 5 * cs, SEEK_DATA));

	/* A discarded chunk is a hole again. */
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, self->id[0],
			      3 * cs, cs, NULL));
	self->data[0][3] = false;
	EXPECT_RUNS();

	/* Seeking read nothing back and allocated nothing. */
	ASSERT_EQ(0, ma_stats(self->fd, &s1));
	EXPECT_EQ(s0.decompress_ops, s1.decompress_ops);
	EXPECT_EQ(s0.raw_bytes, s1.raw_bytes);
	EXPECT_EQ(s0.logical_input_bytes - cs, s1.logical_input_bytes);
	/* Nor did the descriptor's offset move. */
	EXPECT_EQ(0, seek(self->fd, 0, SEEK_CUR));
}

/* A freed region leaves the file; the last one ends it. */
TEST_F(seek, freed_region_is_a_hole)
{
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };

	put(self, 0, 0, K_TEXT);
	put(self, 1, 0, K_TEXT);
	ASSERT_EQ(0, munmap(self->p[1], self->len));
	f.id = self->id[1];
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
	self->data[1][0] = false;
	EXPECT_RUNS();
	EXPECT_EQ(-ENXIO, seek(self->fd, self->off[0] + self->len, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(self->fd, self->off[0] + self->len, SEEK_DATA));
	EXPECT_EQ(self->off[0] + self->cs,
		  seek(self->fd, self->off[0], SEEK_HOLE));
}

TEST_HARNESS_MAIN
