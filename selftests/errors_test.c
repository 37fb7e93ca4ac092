// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI's error table (tools/testing/selftests/iommu/iommufd.c is the
 * model): struct sizes +-1, flags and reserved fields, bad ranges, bad
 * pointers, unknown ioctls, mmap misuse.  After each table the arena must
 * still work.
 */
#include <linux/futex.h>
#include <sys/syscall.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

/* One page: the arena's default and smallest chunk, 4 KiB on x86. */
#define CS ((size_t)getpagesize())
/* A chunk of two pages where the page leaves room for it (not 64 KiB). */
#define CS2 (2 * CS <= MEM_ARENA_CHUNK_SIZE_MAX ? 2 * CS : CS)
#define REGION_CHUNKS 4


/* Alloc, fill, compress, read back: the arena still works. */
static int arena_works(int fd)
{
	char want[MA_PAGE_MAX];
	__u64 done;
	__u32 id;
	char *p = ma_region_map(fd, 2 * CS, &id);

	if (!p)
		return -1;
	ma_fill_text(want, CS, 42);
	memcpy(p + CS, want, CS);
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 2 * CS, &done) || done != 1)
		return -2;
	return memcmp(p + CS, want, CS) ? -3 : 0;
}

FIXTURE(errors) {
	int fd;
	__u32 id;
	char *p;
};

FIXTURE_SETUP(errors)
{
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
		      strerror(errno));
	self->p = ma_region_map(self->fd, REGION_CHUNKS * CS, &self->id);
	ASSERT_NE(NULL, self->p);
}

FIXTURE_TEARDOWN(errors)
{
	if (self->fd >= 0) {
		EXPECT_EQ(0, arena_works(self->fd));
		close(self->fd);
	}
}

TEST_F(errors, get_info_handshake)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	__u64 all = 0;
	size_t i;

	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &info));
	for (i = 0; i < MA_NR_IOCTLS; i++)
		all |= MEM_ARENA_IOCTL_BIT(_IOC_NR(ma_ioctls[i].cmd));
	EXPECT_EQ(MEM_ARENA_API, info.api);
	EXPECT_EQ(all, info.ioctls);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_FAULT_READBACK);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_LRU_CAP);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_IDLE_ONLY);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_READAHEAD);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_MAP_AHEAD);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_READAHEAD_ASYNC);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_ASYNC_MAP_AHEAD);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_SEEK_HOLE);
	EXPECT_NE(0, info.features & MEM_ARENA_FEATURE_COPY_SNAPSHOT);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), info.chunk_size_min);
	EXPECT_EQ(MEM_ARENA_CHUNK_SIZE_MAX, info.chunk_size_max);
	EXPECT_EQ(MEM_ARENA_NR_STATS, info.nr_stats);
	EXPECT_EQ(MEM_ARENA_REGION_SIZE_MAX, info.region_size_max);
	EXPECT_LT(0, info.pool_cap_bytes);
}

TEST_F(errors, size_one_short_is_einval)
{
	union ma_any_cmd c;
	size_t i;

	for (i = 0; i < MA_NR_IOCTLS; i++) {
		memset(&c, 0, sizeof(c));
		c.info.size = ma_ioctls[i].min_size - 1;
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, ma_ioctls[i].cmd, &c))
			TH_LOG("ioctl %zu", i);
		c.info.size = 0;
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, ma_ioctls[i].cmd, &c));
	}
}

/* GET_INFO grew (memlock_*): the size older programs send still works,
 * and nothing is written past it. */
TEST_F(errors, get_info_from_older_userspace)
{
	union ma_any_cmd c;

	memset(&c, 0xa5, sizeof(c));
	memset(&c, 0, ma_ioctls[0].min_size);
	c.info.size = ma_ioctls[0].min_size;
	ASSERT_EQ(MEM_ARENA_IOC_GET_INFO, ma_ioctls[0].cmd);
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &c));
	EXPECT_EQ(MEM_ARENA_API, c.info.api);
	EXPECT_LT(0, c.info.pool_cap_bytes);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, c.info.memlock_limit);
}

TEST_F(errors, size_larger_nonzero_tail_is_e2big)
{
	union ma_any_cmd c;
	size_t i;

	for (i = 0; i < MA_NR_IOCTLS; i++) {
		memset(&c, 0, sizeof(c));
		c.info.size = ma_ioctls[i].size + 8;
		c.bytes[ma_ioctls[i].size + 3] = 1;
		EXPECT_EQ(-E2BIG, ma_ioc(self->fd, ma_ioctls[i].cmd, &c))
			TH_LOG("ioctl %zu", i);
	}
}

TEST_F(errors, size_larger_zero_tail_is_accepted)
{
	union ma_any_cmd c;
	struct mem_arena_stats s;

	memset(&c, 0, sizeof(c));
	c.info.size = sizeof(c.info) + 16;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &c));
	EXPECT_EQ(MEM_ARENA_API, c.info.api);
	EXPECT_EQ(0, c.bytes[sizeof(c.info) + 1]);

	memset(&c, 0, sizeof(c));
	c.stats.size = sizeof(c.stats) + 1;
	c.stats.stats_size = sizeof(s);
	c.stats.stats_ptr = (uintptr_t)&s;
	EXPECT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
}

TEST_F(errors, unknown_ioctl_is_enotty)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	const unsigned long bad[] = {
		_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_BASE - 1),
		_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_BASE + MA_NR_IOCTLS),
		_IO(MEM_ARENA_TYPE, 0xff),
		_IO(MEM_ARENA_TYPE + 1, MEM_ARENA_CMD_BASE),
		_IOWR(MEM_ARENA_TYPE, MEM_ARENA_CMD_BASE, struct mem_arena_cmd_info),
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-ENOTTY, ma_ioc(self->fd, bad[i], &info)) TH_LOG("%zu", i);
}

TEST_F(errors, bad_pointer_is_efault)
{
	struct mem_arena_cmd_stats c = {
		.size = sizeof(c), .stats_size = sizeof(struct mem_arena_stats),
		.stats_ptr = 8,
	};
	size_t i;

	for (i = 0; i < MA_NR_IOCTLS; i++) {
		EXPECT_EQ(-EFAULT, ma_ioc(self->fd, ma_ioctls[i].cmd, NULL));
		EXPECT_EQ(-EFAULT, ma_ioc(self->fd, ma_ioctls[i].cmd, (void *)8));
	}
	EXPECT_EQ(-EFAULT, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
}

TEST_F(errors, flags_and_reserved_are_einval)
{
	union ma_any_cmd c;
	size_t i;

	for (i = 0; i < MA_NR_IOCTLS; i++) {
		memset(&c, 0, sizeof(c));
		c.info.size = ma_ioctls[i].size;
		c.info.flags = 4;	/* every struct: size, then flags */
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, ma_ioctls[i].cmd, &c))
			TH_LOG("flags, ioctl %zu", i);
		c.info.flags = MEM_ARENA_COMPRESS_IDLE_ONLY;
		/* Bit 0 is also MEM_ARENA_CONFIG_MAP_AHEAD; 1 READAHEAD_ASYNC. */
		if (ma_ioctls[i].cmd != MEM_ARENA_IOC_COMPRESS &&
		    ma_ioctls[i].cmd != MEM_ARENA_IOC_SET_CONFIG)
			EXPECT_EQ(-EINVAL, ma_ioc(self->fd, ma_ioctls[i].cmd, &c))
				TH_LOG("flag 1, ioctl %zu", i);
		c.info.flags = 0x80000000;
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, ma_ioctls[i].cmd, &c));
	}
	memset(&c, 0, sizeof(c));
	c.info.size = sizeof(c.info);
	c.info.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_GET_INFO, &c));
	memset(&c, 0, sizeof(c));
	c.config.size = sizeof(c.config);
	c.config.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	memset(&c, 0, sizeof(c));
	c.alloc.size = sizeof(c.alloc);
	c.alloc.length = CS;
	c.alloc.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &c));
	memset(&c, 0, sizeof(c));
	c.free.size = sizeof(c.free);
	c.free.id = self->id;
	c.free.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &c));
	memset(&c, 0, sizeof(c));
	c.range.size = sizeof(c.range);
	c.range.id = self->id;
	c.range.length = CS;
	c.range.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_COMPRESS, &c));
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_TOUCH, &c));
	memset(&c, 0, sizeof(c));
	c.stats.size = sizeof(c.stats);
	c.stats.stats_size = 8;
	c.stats.stats_ptr = (uintptr_t)&c.bytes[128];
	c.stats.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
}

TEST(config_values)
{
	const struct {
		__u32 chunk, pct;
		int err;
	} table[] = {
		{ 3000, 0, -EINVAL },	/* not a power of two */
		{ 2048, 0, -EINVAL },	/* below the page size */
		{ CS / 2, 0, -EINVAL },
		{ 131072, 0, -EINVAL },	/* above 64 KiB */
		{ CS + 1, 0, -EINVAL },
		{ CS, 100, -EINVAL },	/* pct > 99 */
		{ CS, ~0U, -EINVAL },
		{ 0, 99, 0 },		/* 0 = default chunk */
		{ 65536, 0, 0 },
		{ CS2, 10, 0 },
	};
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	size_t i;
	__u32 id;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		EXPECT_EQ(table[i].err, ma_set_config(fd, table[i].chunk,
						      table[i].pct, 1 * MiB))
			TH_LOG("row %zu", i);
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(CS2, c.chunk_size);
	EXPECT_EQ(10, c.min_savings_pct);
	EXPECT_EQ(1 * MiB, c.cap_bytes);
	/* The first region freezes the config; bad values still say EINVAL. */
	ASSERT_NE(NULL, ma_region_map(fd, CS2, &id));
	EXPECT_EQ(-EBUSY, ma_set_config(fd, CS, 0, 0));
	EXPECT_EQ(-EINVAL, ma_set_config(fd, 3000, 0, 0));
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(CS2, c.chunk_size);
	EXPECT_EQ(0, arena_works(fd));
	close(fd);
}

TEST_F(errors, region_alloc_and_free)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a) };
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	const __u64 bad_len[] = { 0, MEM_ARENA_REGION_SIZE_MAX + 1, ~0ULL };
	const __u32 bad_id[] = { 0, 12345, ~0U };
	size_t i;

	for (i = 0; i < 3; i++) {
		a.length = bad_len[i];
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	}
	a.length = CS + 1;	/* rounds up to whole chunks */
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	EXPECT_EQ(2 * CS, a.length);
	EXPECT_NE(self->id, a.id);
	EXPECT_EQ(0, a.mmap_offset % sysconf(_SC_PAGESIZE));
	for (i = 0; i < 3; i++) {
		f.id = bad_id[i];
		EXPECT_EQ(-ENOENT, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
	}
	f.id = a.id;
	EXPECT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
	EXPECT_EQ(-ENOENT, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
}

/* REGION_INFO lists the live regions in id order, from any id on. */
TEST_F(errors, region_info_lists_regions)
{
	struct mem_arena_cmd_region_alloc a[3];
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		a[i] = (struct mem_arena_cmd_region_alloc){
			.size = sizeof(a[i]), .length = (i + 1) * CS,
		};
		ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &a[i]));
	}
	f.id = a[1].id;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));

	/* From 0: the fixture's region, then a[0], a[2]; then nothing. */
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	EXPECT_EQ(self->id, ri.id);
	EXPECT_EQ(REGION_CHUNKS * CS, ri.length);
	ri.id++;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	EXPECT_EQ(a[0].id, ri.id);
	EXPECT_EQ(a[0].length, ri.length);
	EXPECT_EQ(a[0].mmap_offset, ri.mmap_offset);
	ri.id++;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	EXPECT_EQ(a[2].id, ri.id) TH_LOG("the freed region is not listed");
	EXPECT_EQ(a[2].length, ri.length);
	EXPECT_EQ(a[2].mmap_offset, ri.mmap_offset);
	ri.id++;
	EXPECT_EQ(-ENOENT, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	ri.id = ~0U;
	EXPECT_EQ(-ENOENT, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
	ri.id = 0;
	ri.__reserved = 1;
	EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_INFO, &ri));
}

TEST_F(errors, compress_and_touch_ranges)
{
	const __u64 len = REGION_CHUNKS * CS;
	const struct {
		__u32 id;
		__u64 off, length;
		int err;
	} table[] = {
		{ 9999, 0, CS, -ENOENT },
		{ 0, 0, CS, -ENOENT },
		{ 1, 1, CS, -EINVAL },		/* unaligned offset */
		{ 1, CS / 2, CS, -EINVAL },
		{ 1, 0, 0, -EINVAL },		/* empty */
		{ 1, CS, ~0ULL, -EINVAL },	/* offset + length overflows */
		{ 1, 0, len + 1, -EINVAL },	/* past the end */
		{ 1, len, 1, -EINVAL },
		{ 1, ~0ULL & ~(CS - 1), CS, -EINVAL },
		{ 1, 0, len, 0 },
		{ 1, CS, 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		__u32 id = table[i].id == 1 ? self->id : table[i].id;

		EXPECT_EQ(table[i].err, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS,
						 id, table[i].off, table[i].length, NULL))
			TH_LOG("compress row %zu", i);
		EXPECT_EQ(table[i].err, ma_range(self->fd, MEM_ARENA_IOC_TOUCH,
						 id, table[i].off, table[i].length, NULL))
			TH_LOG("touch row %zu", i);
		EXPECT_EQ(table[i].err,
			  ma_range_flags(self->fd, MEM_ARENA_IOC_TOUCH,
					 MEM_ARENA_TOUCH_PARALLEL, id, table[i].off,
					 table[i].length, NULL))
			TH_LOG("parallel touch row %zu", i);
	}
	/* TOUCH_PARALLEL is TOUCH's flag alone. */
	EXPECT_EQ(-EINVAL, ma_range_flags(self->fd, MEM_ARENA_IOC_COMPRESS,
					  MEM_ARENA_TOUCH_PARALLEL, self->id, 0,
					  CS, NULL));
	EXPECT_EQ(-EINVAL, ma_range_flags(self->fd, MEM_ARENA_IOC_DISCARD,
					  MEM_ARENA_TOUCH_PARALLEL, self->id, 0,
					  CS, NULL));
	EXPECT_EQ(-EINVAL, ma_range_flags(self->fd, MEM_ARENA_IOC_TOUCH,
					  MEM_ARENA_TOUCH_PARALLEL |
					  MEM_ARENA_COMPRESS_IDLE_ONLY, self->id,
					  0, CS, NULL));
}

TEST_F(errors, stats_sizes)
{
	struct mem_arena_cmd_stats c = { .size = sizeof(c) };
	__u64 buf[MEM_ARENA_NR_STATS + 8];
	const __u32 bad[] = { 0, 7, 12 };
	size_t i;

	c.stats_ptr = (uintptr_t)buf;
	for (i = 0; i < 3; i++) {
		c.stats_size = bad[i];
		EXPECT_EQ(-EINVAL, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
	}
	/* An older, smaller struct gets exactly its size. */
	memset(buf, 0xee, sizeof(buf));
	c.stats_size = 8;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
	EXPECT_EQ(8, c.stats_size);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, buf[1]);
	/* A newer, larger one gets what the kernel has. */
	c.stats_size = sizeof(buf);
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_GET_STATS, &c));
	EXPECT_EQ(sizeof(struct mem_arena_stats), c.stats_size);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, buf[MEM_ARENA_NR_STATS]);
}

TEST_F(errors, pool_layout_args)
{
	struct mem_arena_cmd_pool_layout c = { .size = sizeof(c) };
	struct mem_arena_block_info info[2];
	const struct { __u32 entry, max; int err; } table[] = {
		{ 0, 1, -EINVAL },			/* no entry size */
		{ 12, 1, -EINVAL },			/* not a multiple of 8 */
		{ sizeof(info[0]), MEM_ARENA_LAYOUT_MAX_BLOCKS + 1, -EINVAL },
		{ sizeof(info[0]), 0, 0 },		/* just the totals */
		{ 8, 2, 0 },				/* an older, smaller entry */
	};
	size_t i;

	/* One compressed chunk: one pool block. */
	ma_fill_text(self->p, CS, 9);
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, self->id, 0, CS, NULL));
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		memset(info, 0xee, sizeof(info));
		c.entry_size = table[i].entry;
		c.max_blocks = table[i].max;
		c.blocks_ptr = (uintptr_t)info;
		EXPECT_EQ(table[i].err, ma_ioc(self->fd, MEM_ARENA_IOC_POOL_LAYOUT, &c))
			TH_LOG("row %zu", i);
		if (table[i].err)
			continue;
		EXPECT_EQ(1, c.total_blocks);
		EXPECT_EQ(64 * KiB, c.block_size);
		EXPECT_EQ(table[i].max ? 1 : 0, c.nr_blocks);
	}
	/* The 8-byte entry got used_bytes and largest_free, nothing more. */
	EXPECT_LT(0, info[0].used_bytes);
	EXPECT_EQ(0xeeeeeeee, info[0].nr_slots);
	c.entry_size = sizeof(info[0]);
	c.max_blocks = 1;
	c.blocks_ptr = 8;
	EXPECT_EQ(-EFAULT, ma_ioc(self->fd, MEM_ARENA_IOC_POOL_LAYOUT, &c));
	c.first_block = 5;	/* past the end: nothing, not an error */
	c.blocks_ptr = (uintptr_t)info;
	EXPECT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_POOL_LAYOUT, &c));
	EXPECT_EQ(0, c.nr_blocks);
}

TEST_F(errors, mmap_misuse)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a), .length = 2 * CS };
	char *q;
	void *p;

	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	errno = 0;
	p = mmap(NULL, 2 * CS, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, a.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Longer than the region. */
	p = mmap(NULL, 3 * CS, PROT_READ, MAP_SHARED, self->fd, a.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Inside the region but running past its end. */
	p = mmap(NULL, 2 * CS, PROT_READ, MAP_SHARED, self->fd, a.mmap_offset + CS);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* No region at that offset. */
	p = mmap(NULL, CS, PROT_READ, MAP_SHARED, self->fd, a.mmap_offset + (1ULL << 40));
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, CS, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* A part of a region, mapped beside the whole: the same bytes. */
	p = mmap(NULL, 2 * CS, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 a.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, CS, PROT_READ, MAP_SHARED, self->fd, a.mmap_offset + CS);
	ASSERT_NE(MAP_FAILED, q);

	((char *)p)[CS] = 'x';
	EXPECT_EQ('x', q[0]);
	munmap(q, CS);
	munmap(p, 2 * CS);
}

/*
 * readahead_kib: up to MEM_ARENA_READAHEAD_KIB_MAX, the word after it
 * reserved; a caller that knows only the fields before it (the config's
 * size before readahead_kib) gets 0, the advised-only default.
 */
TEST(config_readahead_kib)
{
	const struct {
		__u32 kib, reserved;
		int err;
	} table[] = {
		{ MEM_ARENA_READAHEAD_KIB_MAX + 1, 0, -EINVAL },
		{ ~0U, 0, -EINVAL },
		{ 64, 1, -EINVAL },
		{ 0, ~0U, -EINVAL },
		{ MEM_ARENA_READAHEAD_KIB_MAX, 0, 0 },
		{ 256, 0, 0 },
	};
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	size_t i;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		c = (struct mem_arena_cmd_config){
			.size = sizeof(c), .readahead_kib = table[i].kib,
			.__reserved = table[i].reserved,
		};
		EXPECT_EQ(table[i].err, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c))
			TH_LOG("row %zu", i);
	}
	c = (struct mem_arena_cmd_config){ .size = sizeof(c) };
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(256, c.readahead_kib);

	c = (struct mem_arena_cmd_config){
		.size = offsetof(struct mem_arena_cmd_config, readahead_kib),
	};
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	c = (struct mem_arena_cmd_config){ .size = sizeof(c) };
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(0, c.readahead_kib);
	EXPECT_EQ(0, arena_works(fd));
	close(fd);
}

/* A REGION_ALLOC that fails does not freeze the config; 0 is the page size. */
TEST(failed_region_alloc_keeps_config_open)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a) };
	struct mem_arena_cmd_config c = { .size = sizeof(c) };
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(sysconf(_SC_PAGESIZE), c.chunk_size);
	a.length = 0;
	EXPECT_EQ(-EINVAL, ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	a.length = MEM_ARENA_REGION_SIZE_MAX + 1;
	EXPECT_EQ(-EINVAL, ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	EXPECT_EQ(0, ma_set_config(fd, CS2, 0, 0));
	EXPECT_EQ(0, ma_set_config(fd, 0, 0, 0));
	ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_GET_CONFIG, &c));
	EXPECT_EQ(sysconf(_SC_PAGESIZE), c.chunk_size);
	EXPECT_EQ(0, arena_works(fd));
	close(fd);
}

/*
 * Region metadata grows with what is touched: a 64 GiB region costs the
 * kernel next to nothing until used (it cost ~1 GiB of arrays up front).
 */
TEST(huge_region_costs_what_is_touched)
{
	long slab0, vm0, slab1, vm1;
	__u64 len = MEM_ARENA_REGION_SIZE_MAX;
	__u32 id;
	char *p;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	slab0 = ma_proc_kb("/proc/meminfo", "Slab");
	vm0 = ma_proc_kb("/proc/meminfo", "VmallocUsed");
	p = ma_region_map(fd, len, &id);
	ASSERT_NE(NULL, p);
	/* Three chunks far apart, then compress the whole length. */
	p[0] = 1;
	p[len / 2] = 2;
	p[len - 1] = 3;
	slab1 = ma_proc_kb("/proc/meminfo", "Slab");
	vm1 = ma_proc_kb("/proc/meminfo", "VmallocUsed");
	TH_LOG("64 GiB region, 3 chunks touched: Slab %+ld kB, VmallocUsed %+ld kB",
	       slab1 - slab0, vm1 - vm0);
	EXPECT_LT(slab1 - slab0 + vm1 - vm0, 2048);
	EXPECT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL));
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(2, p[len / 2]);
	EXPECT_EQ(3, p[len - 1]);
	munmap(p, len);
	close(fd);
}

/*
 * Documented (mem_arena(7)): madvise cannot discard.  MADV_REMOVE is a hole
 * punch, which the VFS refuses on a character device (ENODEV);
 * MADV_DONTNEED drops page table entries only, the data stays.
 */
TEST(madvise_cannot_discard)
{
	__u32 id;
	char *p;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	p = ma_region_map(fd, 2 * CS, &id);
	ASSERT_NE(NULL, p);
	memset(p, 7, 2 * CS);
	EXPECT_EQ(-1, madvise(p, CS, MADV_REMOVE));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, madvise(p + CS, CS, MADV_DONTNEED));
	EXPECT_EQ(7, p[0]);
	EXPECT_EQ(7, p[CS + 1]);
	munmap(p, 2 * CS);
	close(fd);
}

/*
 * Documented limit (mem_arena(7)): arena pages are not page-cache pages,
 * so a process-shared futex there fails with EFAULT; a private one works.
 */
TEST(shared_futex_is_efault_private_works)
{
	__u32 id;
	int *p;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);

	if (fd < 0)
		SKIP(return, "module not loaded");
	p = ma_region_map(fd, CS, &id);
	ASSERT_NE(NULL, p);
	*p = 1;
	/* The value differs from *p: a working wait returns EAGAIN at once. */
	EXPECT_EQ(-1, syscall(SYS_futex, p, FUTEX_WAIT, 2, NULL, NULL, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0));
	EXPECT_EQ(EAGAIN, errno);
	munmap(p, CS);
	close(fd);
}

TEST_HARNESS_MAIN
