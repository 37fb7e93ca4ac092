// SPDX-License-Identifier: GPL-2.0
/*
 * Spare pages: the pages a compress lets go are kept, up to spare_pages per
 * arena, and the next decompression in that arena takes them instead of
 * allocating (and zeroing) new ones.  Every figure is derived from the
 * chunks the test compressed and read back; the bytes are compared.
 */
#include <pthread.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define PAGE	((size_t)getpagesize())

#define NR_CHUNKS	48

FIXTURE(spare) {
	int fd;
	size_t cs, len;
	unsigned int pages;		/* per chunk */
	long long spare_pages;		/* to restore */
	long long defrag_pct;		/* to restore */
	__u32 id;
	char *p, *want;
};

FIXTURE_VARIANT(spare) {
	__u32 chunk_size;
};

FIXTURE_VARIANT_ADD(spare, chunk_page) { .chunk_size = 0 };
FIXTURE_VARIANT_ADD(spare, chunk_16k) { .chunk_size = 16384 };

/* An arena with NR_CHUNKS chunks of text, all raw; spare_pages as it was. */
FIXTURE_SETUP(spare)
{
	self->spare_pages = ma_sysfs_read("spare_pages");
	self->defrag_pct = ma_sysfs_read("defrag_threshold_pct");
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		MA_SETUP_SKIP("%s: %s (module not loaded)", MEM_ARENA_DEVICE,
		      strerror(errno));
	ASSERT_LE(0, self->spare_pages) TH_LOG("no /sys/kernel/mem_arena/spare_pages");
	/* No background compaction: it gives emptied blocks to the kernel. */
	ASSERT_EQ(0, ma_sysfs_write("defrag_threshold_pct", 0));
	self->cs = ma_chunk_at_least(variant->chunk_size);
	self->pages = self->cs / PAGE;
	self->len = NR_CHUNKS * self->cs;
	ASSERT_EQ(0, ma_set_config(self->fd, self->cs, 0, 0));
	self->p = ma_region_map(self->fd, self->len, &self->id);
	ASSERT_NE(NULL, self->p);
	self->want = malloc(self->len);
	ASSERT_NE(NULL, self->want);
	ma_fill_text(self->want, self->len, 7);
	memcpy(self->p, self->want, self->len);
}

FIXTURE_TEARDOWN(spare)
{
	if (self->spare_pages >= 0)
		ma_sysfs_write("spare_pages", self->spare_pages);
	if (self->defrag_pct >= 0)
		ma_sysfs_write("defrag_threshold_pct", self->defrag_pct);
	if (self->fd >= 0)
		close(self->fd);
	free(self->want);
}

/* Compress the whole region: every chunk must be compressed or same-filled. */
static int compress_all(FIXTURE_DATA(spare) *self)
{
	__u64 n;
	int err = ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, self->id, 0,
			   self->len, &n);

	return err ? err : n == NR_CHUNKS ? 0 : -EAGAIN;
}

/* Same-filled chunks need no pool: every page a compress frees is kept. */
static void fill_same(FIXTURE_DATA(spare) *self)
{
	memset(self->want, 0x5a, self->len);
	memcpy(self->p, self->want, self->len);
}

/* Same-filled chunks: the compress keeps every page, a TOUCH takes them. */
TEST_F(spare, compress_keeps_touch_recycles)
{
	const __u64 pages = NR_CHUNKS * self->pages;
	struct mem_arena_stats s;

	fill_same(self);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", pages));
	ASSERT_EQ(0, compress_all(self));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.zero_chunks);
	EXPECT_EQ(0, s.raw_bytes);
	EXPECT_EQ(pages * PAGE, s.spare_bytes);
	EXPECT_EQ(0, s.recycled_pages);

	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, self->id, 0,
			      self->len, NULL));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.decompress_ops);
	EXPECT_EQ(self->len, s.raw_bytes);
	EXPECT_EQ(pages, s.recycled_pages);
	EXPECT_EQ(0, s.spare_bytes);
	EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
}

/*
 * Text: the pool's blocks after the first are built from the spares the
 * pass made so far.  The readback empties the blocks as it goes, and their
 * pages are spares again for the faults after.  With a bound no pass
 * reaches, every page the compress freed and every page of the pool ends
 * up taken again or kept, and the bytes read back.
 */
TEST_F(spare, blocks_and_faults_recycle)
{
	const __u64 pages = NR_CHUNKS * self->pages;
	struct mem_arena_stats s;
	__u64 in_blocks, pool_pages;

	ASSERT_EQ(0, ma_sysfs_write("spare_pages", 4 * pages));
	ASSERT_EQ(0, compress_all(self));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.compress_ops);
	in_blocks = s.recycled_pages;
	pool_pages = s.pool_bytes / PAGE;
	EXPECT_EQ(pages, in_blocks + s.spare_bytes / PAGE);
	EXPECT_LT(0, in_blocks) TH_LOG("pool %llu bytes", s.pool_bytes);
	EXPECT_GE(pool_pages - 64 * KiB / PAGE, in_blocks);	/* not the first block */

	EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS, s.access_hits_decompressed);
	EXPECT_EQ(0, s.pool_bytes);
	EXPECT_EQ(pages + pool_pages, s.recycled_pages + s.spare_bytes / PAGE);
	/* The faults took pool pages: more than the compress freed. */
	EXPECT_LT(pages, s.recycled_pages);
	EXPECT_EQ(self->len, s.raw_bytes);
}

/*
 * Freeing a compressed region empties every block: their pages are spares
 * up to the bound, and the rest goes back to the kernel.
 */
TEST_F(spare, region_free_keeps_pool_pages)
{
	const __u64 pages = NR_CHUNKS * self->pages;
	struct mem_arena_cmd_region_free f = { .size = sizeof(f), .id = self->id };
	struct mem_arena_stats s;
	__u64 kept, pool_pages;

	ASSERT_EQ(0, ma_sysfs_write("spare_pages", pages));
	ASSERT_EQ(0, compress_all(self));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	kept = s.spare_bytes / PAGE;
	pool_pages = s.pool_bytes / PAGE;
	ASSERT_LT(0, pool_pages);
	ASSERT_LT(pages, kept + pool_pages);	/* the bound clips */

	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_REGION_FREE, &f));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.pool_bytes);
	EXPECT_EQ(0, s.raw_bytes);
	EXPECT_EQ(pages * PAGE, s.spare_bytes);
}

/* An arena keeps spare_pages at most; 0 keeps none. */
TEST_F(spare, bound_is_spare_pages)
{
	const unsigned int bounds[] = { 0, 1, 5, 16 };
	struct mem_arena_stats s;
	__u64 recycled = 0;
	unsigned int i;

	fill_same(self);
	for (i = 0; i < ARRAY_SIZE(bounds); i++) {
		ASSERT_EQ(0, ma_sysfs_write("spare_pages", bounds[i]));
		ASSERT_EQ(0, compress_all(self));
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		EXPECT_EQ(bounds[i] * (__u64)PAGE, s.spare_bytes) TH_LOG("bound %u", bounds[i]);
		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_TOUCH, self->id,
				      0, self->len, NULL));
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		recycled += bounds[i];
		EXPECT_EQ(recycled, s.recycled_pages) TH_LOG("bound %u", bounds[i]);
		EXPECT_EQ(0, s.spare_bytes);
	}
	EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
}

/*
 * A spare still holds the bytes of the chunk it came from: an empty chunk
 * that takes it must read zeroes.
 */
TEST_F(spare, empty_chunk_reads_zeroes)
{
	struct mem_arena_stats s;
	__u32 id2;
	char *q;

	fill_same(self);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", NR_CHUNKS * self->pages));
	ASSERT_EQ(0, compress_all(self));
	q = ma_region_map(self->fd, self->len, &id2);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(0, ma_nonzero_bytes(q, self->len));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(NR_CHUNKS * self->pages, s.recycled_pages);
	EXPECT_EQ(self->len, s.raw_bytes);
	munmap(q, self->len);
}

/* Memory pressure (here: drop_caches, which runs every shrinker) frees them. */
TEST_F(spare, shrinker_frees_spares)
{
	struct mem_arena_stats s;

	fill_same(self);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", NR_CHUNKS * self->pages));
	ASSERT_EQ(0, compress_all(self));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	ASSERT_EQ(self->len, s.spare_bytes);
	ASSERT_EQ(0, ma_file_write("/proc/sys/vm/drop_caches", "2"));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.spare_bytes);
	EXPECT_EQ(0, ma_sysfs_read("spare_bytes"));
	EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.recycled_pages);
}

static long long spare_pages_of(int fd)
{
	struct mem_arena_stats s;

	return ma_stats(fd, &s) ? -1 : (long long)(s.spare_bytes / PAGE);
}

#define SCAN_BATCH	16

/*
 * Reclaim asks for a batch at a time: two arenas holding spares give them
 * up in turn, a batch each, not the first one on the shrinker's list all
 * of its spares before the second any.
 */
TEST_F(spare, shrinker_takes_from_arenas_in_turn)
{
	const long long held = NR_CHUNKS * self->pages;
	int fd2, err, round;
	long long a, b;
	__u32 id2;
	char *q;

	err = ma_shrinker_scan(0);
	if (err == -ENOENT)
		SKIP(return, "no shrinker scan file in debugfs "
			     "(kernel without CONFIG_SHRINKER_DEBUG)");
	if (err == -EPERM)
		SKIP(return, "the shrinker scan file is locked down");
	ASSERT_EQ(0, err);
	fd2 = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ma_set_config(fd2, self->cs, 0, 0));
	q = ma_region_map(fd2, self->len, &id2);
	ASSERT_NE(NULL, q);
	fill_same(self);
	memcpy(q, self->want, self->len);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", held));
	ASSERT_EQ(0, compress_all(self));
	ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_COMPRESS, id2, 0, self->len, NULL));
	ASSERT_EQ(held, spare_pages_of(self->fd));
	ASSERT_EQ(held, spare_pages_of(fd2));

	/* Two scans a round: each arena gives one batch, whichever goes first. */
	for (round = 1; round * SCAN_BATCH <= held; round++) {
		ASSERT_EQ(0, ma_shrinker_scan(SCAN_BATCH));
		ASSERT_EQ(0, ma_shrinker_scan(SCAN_BATCH));
		a = spare_pages_of(self->fd);
		b = spare_pages_of(fd2);
		EXPECT_EQ(held - round * SCAN_BATCH, a)
			TH_LOG("round %d: %lld and %lld spares", round, a, b);
		EXPECT_EQ(held - round * SCAN_BATCH, b)
			TH_LOG("round %d: %lld and %lld spares", round, a, b);
		if (a != b)
			break;
	}
	EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
	EXPECT_EQ(0, memcmp(q, self->want, self->len));
	munmap(q, self->len);
	close(fd2);
}

/*
 * A reader of the module-wide stats holds the list of open arenas while it
 * sums them (long with many arenas open); reclaim must still free spares
 * then.  The shrinker gave up (SHRINK_STOP) while anyone held that list.
 */
#define BUSY_ARENAS	400
#define BUSY_ROUNDS	20

static void *read_module_stats(void *arg)
{
	volatile int *stop = arg;

	while (!*stop)
		ma_sysfs_read("compress_ops");
	return NULL;
}

TEST_F(spare, shrinker_frees_spares_while_arenas_are_read)
{
	int fds[BUSY_ARENAS], i, n = 0, round;
	volatile int stop = 0;
	struct mem_arena_stats s;
	pthread_t reader;

	for (n = 0; n < BUSY_ARENAS; n++) {
		fds[n] = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
		if (fds[n] < 0)
			break;
	}
	ASSERT_EQ(BUSY_ARENAS, n) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", NR_CHUNKS * self->pages));
	ASSERT_EQ(0, pthread_create(&reader, NULL, read_module_stats, (void *)&stop));
	for (round = 0; round < BUSY_ROUNDS; round++) {
		fill_same(self);
		ASSERT_EQ(0, compress_all(self));
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		ASSERT_EQ(self->len, s.spare_bytes);
		ASSERT_EQ(0, ma_file_write("/proc/sys/vm/drop_caches", "2"));
		ASSERT_EQ(0, ma_stats(self->fd, &s));
		ASSERT_EQ(0, s.spare_bytes) TH_LOG("round %d", round);
		EXPECT_EQ(0, memcmp(self->p, self->want, self->len));
	}
	stop = 1;
	pthread_join(reader, NULL);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Closing an arena frees its spares: the module-wide gauge goes back. */
TEST_F(spare, close_frees_spares)
{
	long long before = ma_sysfs_read("spare_bytes");

	fill_same(self);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", NR_CHUNKS * self->pages));
	ASSERT_EQ(0, compress_all(self));
	EXPECT_EQ(before + (long long)self->len, ma_sysfs_read("spare_bytes"));
	munmap(self->p, self->len);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(before, ma_sysfs_read("spare_bytes"));
}

/*
 * A page someone else still holds (a pipe, by vmsplice) is never a spare:
 * discarding its chunk leaves it to the pipe, which reads the old bytes.
 */
TEST_F(spare, pinned_page_is_not_kept)
{
	struct mem_arena_stats s;
	char got[MA_PAGE_MAX];
	struct iovec iov = { .iov_base = self->p, .iov_len = PAGE };
	int pfd[2];

	ASSERT_EQ(0, ma_sysfs_write("spare_pages", NR_CHUNKS * self->pages));
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(PAGE, vmsplice(pfd[1], &iov, 1, 0));
	ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_DISCARD, self->id, 0,
			      self->len, NULL));
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ((NR_CHUNKS * self->pages - 1) * (__u64)PAGE, s.spare_bytes);
	ASSERT_EQ(PAGE, read(pfd[0], got, PAGE));
	EXPECT_EQ(0, memcmp(got, self->want, PAGE));
	EXPECT_EQ(0, ma_nonzero_bytes(self->p, self->len));
	close(pfd[0]);
	close(pfd[1]);
}

TEST_HARNESS_MAIN
