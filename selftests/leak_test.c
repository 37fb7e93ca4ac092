// SPDX-License-Identifier: GPL-2.0
/*
 * 1000 create/alloc/compress/free/close cycles leave no memory behind:
 * MemFree and Slab come back within 1 MiB and every module-wide gauge in
 * sysfs returns to zero.  On the debug kernel KASAN's quarantine holds
 * freed memory back, so MemFree says nothing there: the figures are only
 * printed, and kmemleak (tools/vm-run scans after the tests) is the judge.
 */
#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

#define CS ((size_t)getpagesize())	/* the default chunk */

/* One arena's life; returns 0 when every byte came back. */
static int cycle(unsigned int n)
{
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	char want[MA_PAGE_MAX];
	int fd, err = 0;
	unsigned int i;
	char *p;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		return -1;
	/* Every third arena capped to one block, so eviction runs too. */
	if (ma_set_config(fd, CS, 0, n % 3 ? 0 : 64 * KiB))
		err = -2;
	p = ma_region_map(fd, 16 * CS, &f.id);
	if (!p) {
		close(fd);
		return -3;
	}
	for (i = 0; i < 16; i++)
		ma_fill_text(p + i * CS, CS, n + i);
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, f.id, 0, 16 * CS, NULL))
		err = -4;
	ma_fill_text(want, CS, n + 5);
	if (memcmp(p + 5 * CS, want, CS))
		err = -5;
	/* Free with chunks in every state; leave a second region to close. */
	if (ma_ioc(fd, MEM_ARENA_IOC_REGION_FREE, &f))
		err = -6;
	munmap(p, 16 * CS);
	p = ma_region_map(fd, 8 * CS, &f.id);
	if (p) {
		memset(p, 1, 8 * CS);
		ma_range(fd, MEM_ARENA_IOC_COMPRESS, f.id, 0, 4 * CS, NULL);
		munmap(p, 8 * CS);
	}
	close(fd);
	return err;
}

static void settle(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			perror("drop_caches");
		close(fd);
	}
}

/* The debug kernel is slower by an order of magnitude: 10 minutes. */
FIXTURE(leak) {};
FIXTURE_SETUP(leak) {}
FIXTURE_TEARDOWN(leak) {}

TEST_F_TIMEOUT(leak, thousand_cycles_leave_nothing, 600)
{
	bool debug_kernel = !access("/sys/kernel/debug/kmemleak", F_OK);

	long free0, slab0, free1, slab1;
	unsigned int i;
	int failures = 0;

	if (access(MEM_ARENA_DEVICE, R_OK | W_OK))
		MA_SETUP_SKIP("module not loaded");
	for (i = 0; i < 50; i++)		/* warm caches and pcp lists */
		ASSERT_EQ(0, cycle(i));
	settle();
	free0 = ma_proc_kb("/proc/meminfo", "MemFree");
	slab0 = ma_proc_kb("/proc/meminfo", "Slab");
	for (i = 0; i < 1000; i++)
		failures += cycle(i) != 0;
	settle();
	free1 = ma_proc_kb("/proc/meminfo", "MemFree");
	slab1 = ma_proc_kb("/proc/meminfo", "Slab");
	TH_LOG("MemFree %ld -> %ld kB, Slab %ld -> %ld kB", free0, free1, slab0, slab1);
	EXPECT_EQ(0, failures);
	if (!debug_kernel) {
		EXPECT_GT(1024, free0 - free1);
		EXPECT_GT(1024, slab1 - slab0);
	}
	EXPECT_EQ(0, ma_sysfs_read("arenas"));
	EXPECT_EQ(0, ma_sysfs_read("pool_bytes"));
	EXPECT_EQ(0, ma_sysfs_read("raw_bytes"));
	EXPECT_EQ(0, ma_sysfs_read("logical_input_bytes"));
	EXPECT_EQ(0, ma_sysfs_read("compressed_bytes_live"));
	EXPECT_EQ(0, ma_sysfs_read("slot_bytes_live"));
	EXPECT_EQ(0, ma_sysfs_read("zero_chunks"));
}

TEST_HARNESS_MAIN
