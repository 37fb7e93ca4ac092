// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failure under a memory cgroup limit: TOUCH (also on several
 * CPUs) fails with -ENOMEM,
 * nobody is OOM-killed, nothing is lost, and once the limit is lifted the
 * same call succeeds and every byte reads back.  A compress pass needs no
 * room to spare: it frees raw pages as it fills pool blocks.  Spare pages
 * held at the cgroup's limit give way to the cgroup's other memory.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

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
	/* A test that failed part way may have left it squeezed. */
	if (cg_set_max("max"))
		return "cannot write memory.max";
	/*
	 * Nor may reclaim under the squeeze take our own text: faulting it
	 * back before the limit is lifted would OOM-kill us (seen once a
	 * parallel touch's workers reclaimed in the cgroup).
	 */
	if (mlockall(MCL_CURRENT))
		return "cannot mlockall";
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

/* An arena in *@fd, this process in the cgroup; NULL, or why not (to skip). */
static const char *arena_in_cg(int *fd)
{
	const char *why;

	*fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (*fd < 0)
		return "module not loaded";
	why = cg_enter();
	if (why) {
		cg_leave();
		close(*fd);
	}
	return why;
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

	why = arena_in_cg(&fd);
	if (why)
		SKIP(return, "%s", why);
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

/*
 * A parallel touch's workers charge the caller's memory cgroup: what the
 * cgroup's memory.current gains across the touch is what the arena's
 * raw, pool and spare pages gain, within the per-CPU charge batches
 * (MEMCG_CHARGE_BATCH, 256 KiB each) and the slab of the chunk metadata,
 * also when the workers brought back 2 MiB or more of it.  Charged to the
 * workers' own cgroup (the root) instead, memory.current would gain that
 * much less.
 */
#define P_NR		(8 * MiB / CS)
#define P_ROUNDS	5
#define P_SLACK		(1 * MiB)

TEST(parallel_touch_charges_the_callers_cgroup)
{
	long long cur0, cur1, held0, held1;
	struct mem_arena_stats s0, s1;
	unsigned int i, r;
	__u64 done, helped = 0;
	const char *why;
	__u32 id;
	char *p;
	int fd;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: a parallel touch has no workers");
	why = arena_in_cg(&fd);
	if (why)
		SKIP(return, "%s", why);
	p = ma_region_map(fd, P_NR * CS, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < P_NR; i++)
		ma_fill_text(p + i * CS, CS, i);
	for (r = 0; r < P_ROUNDS && helped * CS < 2 * MiB; r++) {
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, P_NR * CS, &done));
		ASSERT_EQ(P_NR, done);
		ASSERT_EQ(0, ma_stats(fd, &s0));
		cur0 = ma_file_read_ll(CG "/memory.current");
		ASSERT_EQ(0, ma_range_flags(fd, MEM_ARENA_IOC_TOUCH,
					    MEM_ARENA_TOUCH_PARALLEL, id, 0,
					    P_NR * CS, &done));
		cur1 = ma_file_read_ll(CG "/memory.current");
		ASSERT_EQ(0, ma_stats(fd, &s1));
		ASSERT_EQ(P_NR, done);
		helped = s1.touch_helper_chunks - s0.touch_helper_chunks;
		held0 = s0.raw_bytes + s0.pool_bytes + s0.spare_bytes;
		held1 = s1.raw_bytes + s1.pool_bytes + s1.spare_bytes;
		TH_LOG("round %u: workers brought back %llu KiB; memory.current +%lld KiB, the arena's pages +%lld KiB",
		       r, helped * CS / KiB, (cur1 - cur0) / 1024,
		       (held1 - held0) / 1024);
		EXPECT_GT(P_SLACK, llabs((cur1 - cur0) - (held1 - held0)));
	}
	EXPECT_LE(2 * MiB, helped * CS) TH_LOG("the workers never took 2 MiB in %u rounds", r);
	cg_leave();
	munmap(p, P_NR * CS);
	close(fd);
}

/*
 * Spares stay charged to the cgroup whose faults allocated them, and its
 * own reclaim must be able to take them back: at the cgroup's limit a
 * process that needs memory gets the spares' pages, it is not OOM-killed
 * beside them.  (Reclaim of the whole machine took them; a cgroup's did
 * not, before the spare shrinker was memcg aware.)  Another cgroup's
 * spares are not its to take.
 */
#define S_ARENAS	8
#define S_PAGES		256		/* spares per arena */
#define S_SLACK		(1 * MiB)
#define S_NEED		(6 * MiB)	/* below the spares' 8 MiB */
#define S_STOCK		(256 * KiB)	/* a CPU's memcg charge stock, at most */

/*
 * A region of @len same-filled bytes in @fd's arena, compressed: a
 * compress keeps every page of same-filled chunks, so all @len of it are
 * spares.  NULL if not.
 */
static char *map_spared(int fd, size_t len, __u32 *id)
{
	struct mem_arena_stats s;
	__u64 done;
	char *p = ma_region_map(fd, len, id);

	if (!p)
		return NULL;
	memset(p, 0x5a, len);
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, *id, 0, len, &done) ||
	    done != len / CS || ma_stats(fd, &s) || s.spare_bytes != len) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/* spare_pages as it was, restored even when an assertion ends the test. */
FIXTURE(spares) {
	long long spare_pages;
};

FIXTURE_SETUP(spares)
{
	self->spare_pages = ma_sysfs_read("spare_pages");
}

FIXTURE_TEARDOWN(spares)
{
	if (self->spare_pages >= 0)
		ma_sysfs_write("spare_pages", self->spare_pages);
}

static long long spares_of(const int *fds)
{
	struct mem_arena_stats s;
	long long sum = 0;
	int i;

	for (i = 0; i < S_ARENAS; i++) {
		if (ma_stats(fds[i], &s))
			return -1;
		sum += s.spare_bytes;
	}
	return sum;
}

TEST_F(spares, give_way_at_the_cgroup_limit)
{
	const size_t len = S_PAGES * CS;
	long long held, left;
	int fds[S_ARENAS], i, status;
	char pid[32], *p[S_ARENAS], *q, *out;
	struct mem_arena_stats s;
	const char *why;
	int out_fd;
	pid_t child;
	__u32 id;

	why = arena_in_cg(&fds[0]);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, self->spare_pages);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", S_PAGES));
	for (i = 0; i < S_ARENAS; i++) {
		if (i) {
			fds[i] = open(MEM_ARENA_DEVICE, O_RDWR);
			ASSERT_LE(0, fds[i]);
		}
		p[i] = map_spared(fds[i], len, &id);
		ASSERT_NE(NULL, p[i]);
	}
	held = spares_of(fds);
	ASSERT_EQ(S_ARENAS * len, held);

	/* Out of the cgroup, so the OOM killer could only pick the child. */
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, ma_file_write(CG_ROOT "/cgroup.procs", pid));
	/* And an arena whose spares are the root cgroup's, not the child's. */
	out_fd = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, out_fd);
	out = map_spared(out_fd, len, &id);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, cg_squeeze(S_SLACK));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (ma_file_write(CG "/cgroup.procs", pid))
			_exit(2);
		q = mmap(NULL, S_NEED, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			_exit(3);
		memset(q, 1, S_NEED);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	cg_set_max("max");
	left = spares_of(fds);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the child %s %d with %lld KiB of spares in its cgroup",
		       WIFSIGNALED(status) ? "was killed by signal" : "exited",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		       left / 1024);
	/*
	 * What the child took beyond the slack came from the spares, but for
	 * what the CPUs' charge stocks held charged and unused at the squeeze.
	 */
	EXPECT_LE(S_NEED - S_SLACK - sysconf(_SC_NPROCESSORS_ONLN) * S_STOCK,
		  held - left)
		TH_LOG("spares %lld KiB before, %lld KiB after", held / 1024, left / 1024);
	/* The cgroup's reclaim took none of another cgroup's. */
	ASSERT_EQ(0, ma_stats(out_fd, &s));
	EXPECT_EQ(len, s.spare_bytes);
	munmap(out, len);
	close(out_fd);

	for (i = 0; i < S_ARENAS; i++) {
		munmap(p[i], len);
		close(fds[i]);
	}
	cg_leave();
}

/*
 * A cgroup removed while an arena holds spares charged to it: the kernel
 * moves their records to the parent's list (and their charges to the
 * parent) as the cgroup goes offline, after rmdir returns.  Before or
 * after that, the arena still takes them, and reclaim still frees them.
 */
TEST_F(spares, outlive_their_cgroup)
{
	const size_t len = S_PAGES * CS;
	struct mem_arena_stats s;
	const char *why;
	__u64 done;
	size_t i;
	__u32 id;
	char *p;
	int fd;

	why = arena_in_cg(&fd);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, self->spare_pages);
	ASSERT_EQ(0, ma_sysfs_write("spare_pages", S_PAGES));
	p = map_spared(fd, len, &id);
	ASSERT_NE(NULL, p);
	cg_leave();
	ASSERT_NE(0, access(CG, F_OK)) TH_LOG("the cgroup is still there");

	/* Same-filled chunks: the touch takes every spare. */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, len, &done));
	ASSERT_EQ(S_PAGES, done);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(S_PAGES, s.recycled_pages);
	EXPECT_EQ(0, s.spare_bytes);
	for (i = 0; i < len; i++)
		if (p[i] != 0x5a)
			break;
	EXPECT_EQ(len, i);

	/* Kept again, charged where their pages are now; reclaim frees them. */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
	ASSERT_EQ(0, ma_stats(fd, &s));
	ASSERT_EQ(len, s.spare_bytes);
	ASSERT_EQ(0, ma_file_write("/proc/sys/vm/drop_caches", "2"));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(0, s.spare_bytes);

	munmap(p, len);
	close(fd);
}

TEST_HARNESS_MAIN
