// SPDX-License-Identifier: GPL-2.0
/*
 * The defaults follow the page size: GET_INFO's chunk_size_min is the
 * page size, a fresh arena's chunk (and SET_CONFIG's chunk_size 0) is one
 * page, and a region made with the defaults, raw ioctls or the library's,
 * comes back byte for byte from COMPRESS.  The default chunk was the
 * constant 4096 once, ilog2(0) pages on 16 and 64 KiB page kernels; on x86
 * this test only checks that 4096 still is the page size's answer.  Run it
 * on an arm64 16K kernel with tools/vm-run-arm64.
 */
#include "helpers.h"
#include <mem_arena.h>
#include "kselftest_harness.h"
#include "ma_harness.h"

#define NCHUNKS 8

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * FNV-1a of a page (as helpers.h's ma_fnv1a(), which older trees lack:
 * this test is also built against older trees: vm-run-arm64 --add-test).
 */
static uint64_t page_sum(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static int get_config(int fd, struct mem_arena_cmd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	return ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, c);
}

/*
 * A region of @len bytes in @fd's arena with its defaults: distinct text
 * per page, COMPRESS the whole of it, read it back.  Returns the region's
 * length through @got and the chunks COMPRESS reported through @chunks.
 */
static void roundtrip(struct __test_metadata *_metadata, int fd, size_t len,
		      size_t *got, __u64 *chunks)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a), .length = len };
	struct mem_arena_stats st = { 0 };
	size_t pg = page_size(), i;
	uint64_t *sum;
	char *p;
	int err;

	err = ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, &a);
	ASSERT_EQ(0, err) TH_LOG("REGION_ALLOC of %zu bytes: %s", len, strerror(-err));
	*got = a.length;
	ASSERT_EQ(0, a.length % pg);
	p = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	sum = calloc(a.length / pg, sizeof(*sum));
	ASSERT_NE(NULL, sum);
	for (i = 0; i < a.length / pg; i++) {
		ma_fill_text(p + i * pg, pg, i + 1);
		sum[i] = page_sum(p + i * pg, pg);
	}
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, a.id, 0, a.length, chunks));
	for (i = 0; i < a.length / pg; i++)
		EXPECT_EQ(sum[i], page_sum(p + i * pg, pg)) TH_LOG("page %zu", i);
	ASSERT_EQ(0, ma_stats(fd, &st));
	EXPECT_EQ(0, st.decompress_errors);
	free(sum);
	munmap(p, a.length);
}

FIXTURE(pagesize) {
	int fd;
};

FIXTURE_SETUP(pagesize)
{
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (self->fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded?)", MEM_ARENA_DEVICE,
		      strerror(errno));
	TH_LOG("page size %zu", page_size());
}

FIXTURE_TEARDOWN(pagesize)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(pagesize, info_chunk_size_min_is_the_page_size)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };

	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &info));
	EXPECT_EQ(page_size(), info.chunk_size_min);
	EXPECT_LE(info.chunk_size_min, info.chunk_size_max);
}

TEST_F(pagesize, fresh_arena_chunk_is_one_page)
{
	struct mem_arena_cmd_config c;

	ASSERT_EQ(0, get_config(self->fd, &c));
	EXPECT_EQ(page_size(), c.chunk_size);
}

TEST_F(pagesize, set_config_zero_is_one_page)
{
	struct mem_arena_cmd_config c;
	int err;

	err = ma_set_config(self->fd, 0, 0, 0);
	ASSERT_EQ(0, err) TH_LOG("SET_CONFIG chunk_size 0: %s", strerror(-err));
	ASSERT_EQ(0, get_config(self->fd, &c));
	EXPECT_EQ(page_size(), c.chunk_size);
}

/* No SET_CONFIG at all: the arena's own defaults. */
TEST_F(pagesize, default_region_roundtrip)
{
	size_t pg = page_size(), got;
	__u64 chunks = 0;

	roundtrip(_metadata, self->fd, NCHUNKS * pg, &got, &chunks);
	EXPECT_EQ(NCHUNKS * pg, got);
	EXPECT_EQ(NCHUNKS, chunks);
}

/* One byte is one chunk, one page. */
TEST_F(pagesize, default_region_of_one_byte_is_one_page)
{
	size_t got;
	__u64 chunks = 0;

	roundtrip(_metadata, self->fd, 1, &got, &chunks);
	EXPECT_EQ(page_size(), got);
	EXPECT_EQ(1, chunks);
}

TEST_F(pagesize, zero_config_region_roundtrip)
{
	size_t pg = page_size(), got;
	__u64 chunks = 0;
	int err;

	err = ma_set_config(self->fd, 0, 0, 0);
	ASSERT_EQ(0, err) TH_LOG("SET_CONFIG chunk_size 0: %s", strerror(-err));
	roundtrip(_metadata, self->fd, NCHUNKS * pg, &got, &chunks);
	EXPECT_EQ(NCHUNKS * pg, got);
	EXPECT_EQ(NCHUNKS, chunks);
}

/* The library's defaults: mem_arena_config_init() and a NULL config. */
TEST(library_defaults_roundtrip)
{
	struct mem_arena_config cfg;
	struct mem_arena_region *r;
	struct mem_arena *arena;
	size_t pg = page_size(), i;
	uint64_t sum[NCHUNKS];
	char *p;
	int err;

	if (access(MEM_ARENA_DEVICE, R_OK | W_OK))
		SKIP(return, "%s: module not loaded", MEM_ARENA_DEVICE);
	mem_arena_config_init(&cfg);
	EXPECT_EQ(pg, cfg.chunk_size);
	err = mem_arena_create(&cfg, &arena);
	ASSERT_EQ(0, err) TH_LOG("mem_arena_create: %s", mem_arena_strerror(err));
	memset(&cfg, 0, sizeof(cfg));
	ASSERT_EQ(0, mem_arena_get_config(arena, &cfg));
	EXPECT_EQ(pg, cfg.chunk_size);
	err = mem_arena_region_alloc(arena, NCHUNKS * pg, &r);
	ASSERT_EQ(0, err) TH_LOG("mem_arena_region_alloc: %s", mem_arena_strerror(err));
	EXPECT_EQ(NCHUNKS * pg, mem_arena_region_size(r));
	p = mem_arena_region_base(r);
	for (i = 0; i < NCHUNKS; i++) {
		ma_fill_text(p + i * pg, pg, 100 + i);
		sum[i] = page_sum(p + i * pg, pg);
	}
	EXPECT_EQ(NCHUNKS, mem_arena_compress_region(r));
	for (i = 0; i < NCHUNKS; i++)
		EXPECT_EQ(sum[i], page_sum(p + i * pg, pg)) TH_LOG("page %zu", i);
	EXPECT_EQ(0, mem_arena_region_free(r));
	mem_arena_destroy(arena);

	/* NULL config: the same defaults. */
	err = mem_arena_create(NULL, &arena);
	ASSERT_EQ(0, err) TH_LOG("mem_arena_create(NULL): %s", mem_arena_strerror(err));
	memset(&cfg, 0, sizeof(cfg));
	ASSERT_EQ(0, mem_arena_get_config(arena, &cfg));
	EXPECT_EQ(pg, cfg.chunk_size);
	mem_arena_destroy(arena);
}

TEST_HARNESS_MAIN
