// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failure under a memory cgroup limit: TOUCH (also on several
 * CPUs) fails with -ENOMEM,
 * nobody is OOM-killed, nothing is lost, and once the limit is lifted the
 * same call succeeds and every byte reads back.  A compress pass needs no
 * room to spare: it frees raw pages as it fills pool blocks.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "helpers.h"
#include "kselftest_harness.h"

#define CG_ROOT	"/sys/fs/cgroup"
#define CG	CG_ROOT "/mem_arena_enomem"
#define CS	((size_t)getpagesize())	/* the default chunk */
#define NR	1024			/* 4 MiB: far beyond the charge batch */
#define NR2	256

/*
 * memory.max is written through an fd opened before the squeeze: opening
 * a file allocates, and at the limit that allocation would OOM-kill us.
 */
static int max_fd = -1;

static int cg_set_max(const char *val)
{
	return pwrite(max_fd, val, strlen(val), 0) < 0 ? -errno : 0;
}

/* Put this process in a fresh memory cgroup; 0, or why not (to skip). */
static const char *cg_enter(void)
{
	char pid[32];

	mount("none", CG_ROOT, "cgroup2", 0, NULL);	/* EBUSY if mounted */
	if (ma_file_write(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return "no cgroup2 memory controller";
	if (mkdir(CG, 0755) && errno != EEXIST)
		return "cannot create a cgroup";
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (ma_file_write(CG "/cgroup.procs", pid))
		return "cannot join the cgroup";
	max_fd = open(CG "/memory.max", O_WRONLY);
	if (max_fd < 0)
		return "cannot open memory.max";
	return NULL;
}

static void cg_leave(void)
{
	char pid[32];

	if (max_fd >= 0) {
		cg_set_max("max");
		close(max_fd);
	}
	snprintf(pid, sizeof(pid), "%d", getpid());
	ma_file_write(CG_ROOT "/cgroup.procs", pid);
	rmdir(CG);
}

/* Allow only @slack bytes more than the cgroup uses now. */
static int cg_squeeze(long long slack)
{
	char max[32];

	snprintf(max, sizeof(max), "%lld", ma_file_read_ll(CG "/memory.current") + slack);
	return cg_set_max(max);
}

TEST(enomem_from_ioctls_loses_nothing)
{
	struct mem_arena_stats s;
	char *want, *p, *q;
	const char *why;
	__u32 id, id2;
	__u64 done;
	int fd, fd2, err;
	size_t i;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	why = cg_enter();
	if (why) {
		cg_leave();
		SKIP(return, "%s", why);
	}
	want = malloc(NR * CS);
	ASSERT_NE(NULL, want);
	fd2 = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, fd2);
	p = ma_region_map(fd, NR * CS, &id);
	q = ma_region_map(fd2, NR2 * CS, &id2);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	for (i = 0; i < NR; i++)
		ma_fill_text(want + i * CS, CS, i);
	memcpy(p, want, NR * CS);
	for (i = 0; i < NR2; i++)
		ma_fill_half(q + i * CS, CS, i);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, NR * CS, &done));
	ASSERT_EQ(NR, done);

	/* Bringing 4 MiB back with 64 KiB of room: -ENOMEM part way. */
	ASSERT_EQ(0, cg_squeeze(64 * KiB));
	err = ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, NR * CS, &done);
	cg_set_max("max");
	EXPECT_EQ(-ENOMEM, err);

	/*
	 * Compressing gives back more than it takes: raw pages are freed as
	 * slots fill blocks, so a pass with room for two pool blocks stores
	 * its ~512 KiB of slots (8 blocks).  With no room at all it relied on
	 * the memcg's per-CPU charge stock for its first block, and failed
	 * 1 run in 2 on 6.12.117.
	 */
	ASSERT_EQ(0, cg_squeeze(128 * KiB));
	err = ma_range(fd2, MEM_ARENA_IOC_COMPRESS, id2, 0, NR2 * CS, &done);
	cg_set_max("max");
	EXPECT_EQ(0, err);
	EXPECT_EQ(NR2, done);
	ASSERT_EQ(0, ma_stats(fd2, &s));
	EXPECT_EQ(0, s.alloc_failures);
	EXPECT_EQ(0, s.raw_bytes);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_LE(1, s.alloc_failures);
	EXPECT_EQ(0, s.decompress_errors);

	/*
	 * The same on several CPUs: the first error (the caller's or a
	 * worker's, in the same cgroup) is the call's, and nobody is killed.
	 */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, NR * CS, NULL));
	ASSERT_EQ(0, cg_squeeze(64 * KiB));
	err = ma_range_flags(fd, MEM_ARENA_IOC_TOUCH, MEM_ARENA_TOUCH_PARALLEL,
			     id, 0, NR * CS, &done);
	cg_set_max("max");
	EXPECT_EQ(-ENOMEM, err);

	/* Limit gone: the same calls work and nothing was lost. */
	EXPECT_EQ(0, ma_range_flags(fd, MEM_ARENA_IOC_TOUCH,
				    MEM_ARENA_TOUCH_PARALLEL, id, 0, NR * CS,
				    NULL));
	EXPECT_EQ(0, memcmp(p, want, NR * CS));
	for (i = 0; i < NR2; i++) {
		ma_fill_half(want, CS, i);
		EXPECT_EQ(0, memcmp(q + i * CS, want, CS)) TH_LOG("chunk %zu", i);
	}
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(0, s.logical_input_bytes);
	EXPECT_EQ(0, s.pool_bytes);
	cg_leave();
	free(want);
	close(fd);
	close(fd2);
}

TEST_HARNESS_MAIN
