// SPDX-License-Identifier: GPL-2.0
/*
 * An unprivileged opener's arena memory is bounded and visible: what its
 * chunks hold (raw chunk pages plus slot bytes) is charged to the user's
 * locked_vm under the opener's RLIMIT_MEMLOCK.  A TOUCH past it fails with
 * -EDQUOT, a fault past it raises SIGBUS, an eviction past it is refused
 * (the chunk stays raw), and nothing is lost on the way.  Root (with
 * CAP_IPC_LOCK) is not charged.
 *
 * Each test drops to uid 65534 in its own process (the harness forks one
 * per test), after setting the limit it wants.
 */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"

MA_NEEDS_MODULE(MEM_ARENA_DEVICE)

#define NOBODY	65534
/* One page: the smallest chunk, and the unit of the memlock charge. */
#define PG	((size_t)getpagesize())

/* RLIMIT_MEMLOCK = @limit, then uid/gid @uid with no groups. */
static const char *become(uid_t uid, rlim_t limit)
{
	struct rlimit rl = { limit, limit };

	if (getuid() != 0)
		return "needs root to set up an unprivileged user";
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return "setrlimit(RLIMIT_MEMLOCK) failed";
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return "cannot become an unprivileged user";
	return NULL;
}

static const char *become_nobody(rlim_t limit)
{
	return become(NOBODY, limit);
}

static int open_arena(__u32 chunk, __u64 cap)
{
	int fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0 && ma_set_config(fd, chunk, 0, cap)) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct mem_arena_cmd_info info_of(int fd)
{
	struct mem_arena_cmd_info i = { .size = sizeof(i) };

	if (ma_ioc(fd, MEM_ARENA_IOC_GET_INFO, &i))
		memset(&i, 0xff, sizeof(i));
	return i;
}

static __u64 used(int fd)
{
	return info_of(fd).memlock_used;
}

/*
 * What an arena holds, as the module charges it, in whole pages: its
 * chunks' raw pages and slots, and the spare pages it keeps.
 */
static __u64 held_pages_bytes(int fd)
{
	struct mem_arena_stats s;

	if (ma_stats(fd, &s))
		return ~0ULL;
	return (s.raw_bytes + s.slot_bytes_live + s.spare_bytes + PG - 1) /
	       PG * PG;
}

/* The spare pages an arena keeps: charged, though no chunk holds them. */
static __u64 spare(int fd)
{
	struct mem_arena_stats s;

	if (ma_stats(fd, &s))
		return ~0ULL;
	return s.spare_bytes;
}

/*
 * A memlock limit well above what an arena's spares may keep, so that
 * compressing gives room back: 4 MiB with 4 KiB pages and the default
 * spare_pages (256), more with larger pages.
 */
static size_t limit_above_spares(void)
{
	long long pages = ma_sysfs_read("spare_pages");
	size_t limit = 4 * (pages > 0 ? pages : 0) * PG;

	return limit > 4 * MiB ? limit : 4 * MiB;
}

/* Fill [0, len) with @byte a slice at a time, compressing each slice: the
 * chunks end same-filled and the charge never passes one slice. */
static int fill_same(int fd, __u32 id, char *p, size_t len, int byte)
{
	size_t off;
	__u64 n;
	int err;

	for (off = 0; off < len; off += 256 * KiB) {
		memset(p + off, byte, 256 * KiB);
		err = ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, off, 256 * KiB, &n);
		if (err)
			return err;
		if (n != 256 * KiB / PG)
			return -EAGAIN;
	}
	return 0;
}

TEST(root_is_not_charged)
{
	struct mem_arena_cmd_info i;
	int fd;

	if (getuid() != 0)
		SKIP(return, "needs root");
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	i = info_of(fd);
	EXPECT_EQ(MEM_ARENA_UNLIMITED, i.memlock_limit);
	EXPECT_EQ(0, i.memlock_used);
	close(fd);
}

TEST(limit_is_the_openers_rlimit)
{
	const char *why = become_nobody(3 * MiB);
	struct mem_arena_cmd_info i;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	i = info_of(fd);
	EXPECT_EQ(3 * MiB, i.memlock_limit);
	EXPECT_EQ(0, i.memlock_used);
	close(fd);
}

/*
 * The OOM-evasion scenario: a region of one repeated byte costs nothing
 * compressed; TOUCHing it back would make raw pages nobody maps.  The
 * TOUCH stops at the limit with -EDQUOT, exactly the limit is held, and
 * every byte is still there.
 */
TEST(touch_stops_at_the_limit)
{
	const size_t len = 64 * MiB, limit = limit_above_spares();
	const char *why = become_nobody(limit);
	struct mem_arena_stats s;
	size_t off, i;
	char *p;
	__u32 id;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, len, &id);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, fill_same(fd, id, p, len, 0x5a));
	EXPECT_EQ(spare(fd), used(fd));

	EXPECT_EQ(-EDQUOT, ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, len, NULL));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(limit, s.raw_bytes);
	EXPECT_EQ(limit, used(fd));
	EXPECT_EQ(1, s.memlock_rejects);
	EXPECT_EQ((len - limit) / PG, s.zero_chunks);

	/*
	 * Compressing gives the budget back, but for the spares the TOUCH
	 * used up and the compress kept again; then every byte reads back.
	 */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL));
	EXPECT_EQ(spare(fd), used(fd));
	EXPECT_GT(limit, used(fd));
	for (off = 0; off < len; off += MiB) {
		for (i = 0; i < MiB; i += 512)
			if (p[off + i] != 0x5a)
				break;
		ASSERT_EQ(MiB, i) TH_LOG("byte %zu lost", off + i);
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, off, MiB, NULL));
	}
	munmap(p, len);
	close(fd);
}

/* A fault past the limit raises SIGBUS, as a full tmpfs does. */
TEST(fault_past_the_limit_is_sigbus)
{
	const char *why = become_nobody(1 * MiB);
	struct mem_arena_stats s;
	int fd, status;
	pid_t pid;
	__u32 id;
	char *p;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, 2 * MiB, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, MiB, 1);
	EXPECT_EQ(MiB, used(fd));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p[MiB] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGBUS, WTERMSIG(status));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(1, s.memlock_rejects);

	/*
	 * Compressed, the first MiB leaves room, or spare pages the next
	 * chunk takes: the same write works.
	 */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, MiB, NULL));
	EXPECT_GT(MiB, used(fd) - spare(fd));
	p[MiB] = 1;
	EXPECT_EQ(1, p[MiB]);
	munmap(p, 2 * MiB);
	close(fd);
}

/* The charge is the arena's holdings, and closing gives it all back. */
TEST(charge_is_raw_pages_slot_bytes_and_spares)
{
	const char *why = become_nobody(16 * MiB);
	struct mem_arena_stats s;
	int fd, fd2;
	__u32 id;
	char *p;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, 4 * MiB, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, 4 * MiB, 2);
	EXPECT_EQ(4 * MiB, used(fd));
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 4 * MiB, NULL));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(0, s.raw_bytes);
	EXPECT_LT(0, s.slot_bytes_live);
	EXPECT_EQ(held_pages_bytes(fd), used(fd));
	/* Half back to raw by TOUCH. */
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, 2 * MiB, NULL));
	EXPECT_EQ(held_pages_bytes(fd), used(fd));

	fd2 = open_arena(PG, 0);
	ASSERT_LE(0, fd2);
	munmap(p, 4 * MiB);
	close(fd);
	EXPECT_EQ(0, used(fd2));
	close(fd2);
}

/*
 * Slots of 64 KiB text chunks: how many fit in a one-block pool before the
 * next compress must evict.  Measured with the budget unlimited.
 */
static int chunks_before_eviction(void)
{
	struct mem_arena_stats s;
	int fd, k = -1;
	__u32 id;
	char *p;

	fd = open_arena(64 * KiB, 64 * KiB);
	if (fd < 0)
		return -1;
	p = ma_region_map(fd, 8 * 64 * KiB, &id);
	if (!p)
		goto out;
	ma_fill_text(p, 8 * 64 * KiB, 3);
	for (k = 0; k < 8; k++) {
		if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, k * 64 * KiB, 64 * KiB, NULL) ||
		    ma_stats(fd, &s)) {
			k = -1;
			break;
		}
		if (s.evictions_lru)
			break;
	}
	if (k == 8)
		k = -1;
	munmap(p, 8 * 64 * KiB);
out:
	close(fd);
	return k;
}

/*
 * An eviction makes raw pages too: with the budget full it is refused,
 * the compressed chunk stays compressed and the new one stays raw.
 */
TEST(eviction_is_refused_at_the_limit)
{
	const size_t limit = limit_above_spares(), fill = 2 * limit;
	struct mem_arena_stats s;
	const char *why;
	int fd, fd2, k, i;
	__u32 id, id2;
	char *p, *q, *want;
	__u64 n;

	/* The pool's layout does not depend on who opens it. */
	k = chunks_before_eviction();
	ASSERT_LT(0, k) TH_LOG("text chunks never needed an eviction");
	why = become_nobody(limit);
	if (why)
		SKIP(return, "%s", why);

	fd = open_arena(64 * KiB, 64 * KiB);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, 24 * 64 * KiB, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, (k + 1) * 64 * KiB, 3);
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, k * 64 * KiB, &n));
	ASSERT_EQ(k, n);
	/*
	 * The pages those chunks let go are the arena's spares; new chunks
	 * take them, so that the eviction below has none to use.
	 */
	for (i = 0; spare(fd) && i < 24 - (k + 1); i++)
		p[(k + 1 + i) * 64 * KiB] = 1;
	ASSERT_EQ(0, spare(fd));

	/* Another arena of the same user takes the rest of the budget. */
	fd2 = open_arena(PG, 0);
	ASSERT_LE(0, fd2);
	q = ma_region_map(fd2, fill, &id2);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, fill_same(fd2, id2, q, fill, 0x33));
	ASSERT_EQ(-EDQUOT, ma_range(fd2, MEM_ARENA_IOC_TOUCH, id2, 0, fill, NULL));
	ASSERT_EQ(limit, used(fd));

	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, k * 64 * KiB, 64 * KiB, &n));
	EXPECT_EQ(0, n);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(0, s.evictions_lru);
	EXPECT_EQ(k * 64 * KiB, s.logical_input_bytes);
	EXPECT_EQ((1 + i) * 64 * KiB, s.raw_bytes);
	EXPECT_EQ(1, s.memlock_rejects);
	EXPECT_EQ(0, s.cap_rejects);
	EXPECT_GE(limit, used(fd));

	/* With room again, the eviction happens and nothing was lost. */
	ASSERT_EQ(0, ma_range(fd2, MEM_ARENA_IOC_COMPRESS, id2, 0, fill, NULL));
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, k * 64 * KiB, 64 * KiB, &n));
	EXPECT_EQ(1, n);
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_LT(0, s.evictions_lru);
	want = malloc((k + 1) * 64 * KiB);
	ASSERT_NE(NULL, want);
	ma_fill_text(want, (k + 1) * 64 * KiB, 3);
	EXPECT_EQ(0, memcmp(p, want, (k + 1) * 64 * KiB));
	free(want);
	munmap(q, fill);
	close(fd2);
	munmap(p, 24 * 64 * KiB);
	close(fd);
}

/*
 * A chunk that LZ4 shrinks by a few bytes only would take a slot (header,
 * 8-byte units) larger than itself: it stays raw instead, so compressing
 * never raises what an arena holds, and the charge of a round trip is
 * exact.  Chunks of random bytes with a zero run of 8..71 bytes (per 4 KiB
 * of page) land on
 * both sides of that edge.
 */
TEST(slot_is_smaller_than_its_chunk)
{
	const char *why = become_nobody(16 * MiB);
	struct mem_arena_stats s0, s1;
	__u64 n, near = 0, left = 0;
	int fd, fd2, r;
	__u32 id;
	char *p;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, 64 * PG, &id);
	ASSERT_NE(NULL, p);
	for (r = 0; r < 64; r++) {
		ma_fill_random(p + r * PG, PG, r);
		memset(p + r * PG + 1000, 0, (8 + r) * (PG / 4096));
	}
	for (r = 0; r < 64; r++) {
		ASSERT_EQ(0, ma_stats(fd, &s0));
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, r * PG, PG, &n));
		ASSERT_EQ(0, ma_stats(fd, &s1));
		if (!n) {
			left++;
			continue;
		}
		EXPECT_GT(PG, s1.slot_bytes_live - s0.slot_bytes_live)
			TH_LOG("zero run %d: %llu bytes of LZ4 in a slot of %llu", 8 + r,
			       s1.compressed_bytes_live - s0.compressed_bytes_live,
			       s1.slot_bytes_live - s0.slot_bytes_live);
		if (s1.compressed_bytes_live - s0.compressed_bytes_live > PG - 96)
			near++;
	}
	TH_LOG("%llu chunks compressed to within 96 bytes of the chunk, %llu left raw", near, left);
	EXPECT_LT(0, near);
	EXPECT_LT(0, left);
	EXPECT_EQ(held_pages_bytes(fd), used(fd));
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, 64 * PG, NULL));
	/* Raw again; the emptied pool blocks' pages are spares, charged too. */
	EXPECT_EQ(64 * PG + spare(fd), used(fd));

	fd2 = open_arena(PG, 0);
	ASSERT_LE(0, fd2);
	munmap(p, 64 * PG);
	close(fd);
	EXPECT_EQ(0, used(fd2));
	close(fd2);
}

/*
 * A readback empties the pool's blocks as it goes, and an emptied block's
 * pages become spares only if the opener's limit has room for them.  With
 * the limit at exactly the region's raw size, the readback has room to
 * finish (every slot is smaller than its chunk), spares kept on the way
 * are used again, and the last block's pages, emptied when the raw pages
 * fill the limit, must be freed: the charge ends at the raw pages alone.
 */
TEST(pool_pages_become_spares_only_within_the_limit)
{
	const size_t len = 128 * PG;
	const char *why = become_nobody(len);
	struct mem_arena_stats s;
	char *p, *want;
	__u64 n;
	__u32 id;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	p = ma_region_map(fd, len, &id);
	ASSERT_NE(NULL, p);
	ma_fill_text(p, len, 5);
	ASSERT_EQ(len, used(fd));
	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &n));
	ASSERT_EQ(len / PG, n);
	EXPECT_EQ(held_pages_bytes(fd), used(fd));

	ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_TOUCH, id, 0, len, &n));
	ASSERT_EQ(0, ma_stats(fd, &s));
	EXPECT_EQ(len, s.raw_bytes);
	EXPECT_EQ(0, s.slot_bytes_live);
	EXPECT_EQ(0, s.spare_bytes);
	EXPECT_EQ(len, used(fd));
	want = malloc(len);
	ASSERT_NE(NULL, want);
	ma_fill_text(want, len, 5);
	EXPECT_EQ(0, memcmp(p, want, len));
	free(want);
	munmap(p, len);
	close(fd);
}

/* Set the module-wide pool cap; the old value in *old. */
static int set_module_cap(long long cap, long long *old)
{
	if (old)
		*old = ma_sysfs_read("pool_cap_bytes");
	return ma_sysfs_write("pool_cap_bytes", cap);
}

/* An arena of @chunk-byte chunks, @tenant/@weight if set, @mib MiB mapped at *p. */
static int tenant_arena(__u32 tenant, __u32 weight, __u32 chunk, size_t mib,
			char **p, __u32 *id)
{
	struct mem_arena_cmd_config c = {
		.size = sizeof(c), .chunk_size = chunk,
		.tenant = tenant, .weight = weight,
	};
	int fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c) ||
	    !(*p = ma_region_map(fd, mib * MiB, id))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Choosing a tenant or a weight is a privilege of the opener. */
TEST(tenant_and_weight_need_cap_sys_resource)
{
	const char *why = become_nobody(8 * MiB);
	struct mem_arena_cmd_config c = { .size = sizeof(c), .chunk_size = PG };
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	c.weight = 3;
	EXPECT_EQ(-EPERM, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	c.weight = 0;
	c.tenant = 5;
	EXPECT_EQ(-EPERM, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	c.tenant = 0;
	c.weight = 1;
	EXPECT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	c.weight = MEM_ARENA_WEIGHT_MAX + 1;
	EXPECT_EQ(-EINVAL, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	close(fd);
}

/*
 * Two tenants under one module-wide cap, the first filling it alone: the
 * second still compresses, room is taken from the first, and the pools
 * end in the ratio of the weights (within 10%).
 */
FIXTURE(share) {
	long long cap0;
};

FIXTURE_VARIANT(share) {
	__u32 weight_a, weight_b;
	bool users;		/* two users, else one root process, two tenant ids */
};

/* Users leave the weight 0 (the default, 1): they may not choose one. */
FIXTURE_VARIANT_ADD(share, two_users) { .weight_a = 0, .weight_b = 0, .users = true };
FIXTURE_VARIANT_ADD(share, tenants_1_1) { .weight_a = 1, .weight_b = 1 };
FIXTURE_VARIANT_ADD(share, tenants_1_3) { .weight_a = 1, .weight_b = 3 };

#define SHARE_CAP	(8 * MiB)
#define SHARE_MIB	32

FIXTURE_SETUP(share)
{
	self->cap0 = -1;
	if (getuid() != 0)
		MA_SETUP_SKIP("needs root (the module-wide cap, setuid)");
	if (ma_sysfs_read("pool_bytes") != 0)
		MA_SETUP_SKIP("another arena holds pool memory");
	ASSERT_EQ(0, set_module_cap(SHARE_CAP, &self->cap0));
}

FIXTURE_TEARDOWN(share)
{
	if (self->cap0 > 0)
		set_module_cap(self->cap0, NULL);
}

/*
 * Tenant @i's side, in a child when the tenants are users: make the arena,
 * compress it all, then report its pool and stats through @out and wait
 * for @in to close before closing.
 */
struct side {
	long long pool, compress_ops, evictions_fair;
};

static void run_side(const FIXTURE_VARIANT(share) *v, int i, int go, int out,
		     int in)
{
	struct mem_arena_stats s;
	struct side r = { -1 };
	__u32 id;
	char *p, c;
	int fd;

	if (v->users && become(NOBODY - i, 256 * MiB))
		goto out;
	if (go >= 0 && read(go, &c, 1) != 1)
		goto out;
	fd = tenant_arena(v->users ? 0 : i + 1, i ? v->weight_b : v->weight_a,
			  16 * KiB, SHARE_MIB, &p, &id);
	if (fd >= 0)
		ma_fill_text(p, SHARE_MIB * MiB, fd);
	if (fd < 0 || ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, SHARE_MIB * MiB, NULL))
		goto out;
	if (write(out, "x", 1) != 1 || read(in, &c, 1) != 1 || ma_stats(fd, &s))
		goto out;
	r = (struct side){ s.pool_bytes, s.compress_ops, s.evictions_fair };
out:
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static long oom_kills(void)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long v, n = -1;

	while (f && fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, "oom_kill"))
			n = v;
	if (f)
		fclose(f);
	return n;
}

/*
 * Eight 64 GiB regions cost an unprivileged user next to nothing until
 * touched, and never start the OOM killer.
 */
TEST(huge_regions_as_nobody_are_cheap)
{
	const __u64 len = MEM_ARENA_REGION_SIZE_MAX;
	const char *why = become_nobody(8 * MiB);
	long kills0, slab0, vm0, slab1, vm1;
	char *p[8];
	__u32 id[8];
	int fd, i;

	if (why)
		SKIP(return, "%s", why);
	kills0 = oom_kills();
	ASSERT_LE(0, kills0);
	fd = open_arena(PG, 0);
	ASSERT_LE(0, fd);
	slab0 = ma_proc_kb("/proc/meminfo", "Slab");
	vm0 = ma_proc_kb("/proc/meminfo", "VmallocUsed");
	for (i = 0; i < 8; i++) {
		p[i] = ma_region_map(fd, len, &id[i]);
		ASSERT_NE(NULL, p[i]);
		p[i][len / 2] = i;
	}
	slab1 = ma_proc_kb("/proc/meminfo", "Slab");
	vm1 = ma_proc_kb("/proc/meminfo", "VmallocUsed");
	TH_LOG("8 x 64 GiB, 8 chunks touched: Slab %+ld kB, VmallocUsed %+ld kB",
	       slab1 - slab0, vm1 - vm0);
	EXPECT_LT(slab1 - slab0 + vm1 - vm0, 4 * 1024);	/* kB */
	EXPECT_EQ(8 * PG, used(fd));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, ma_range(fd, MEM_ARENA_IOC_TOUCH, id[i], 0, len, NULL));
		EXPECT_EQ(i, p[i][len / 2]);
		munmap(p[i], len);
	}
	EXPECT_EQ(kills0, oom_kills());
	close(fd);
}

/* Hundreds of evictions: past the harness's 30 s under KCSAN in TCG. */
TEST_F_TIMEOUT(share, pools_end_in_the_ratio_of_the_weights, 120)
{
	int ready[2][2], report[2][2], go[2][2];
	struct side r[2];
	double want, got;
	pid_t pid[2];
	char c;
	int i;

	/* Both sides in children (setuid needs it; the same code for both). */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe(ready[i]));
		ASSERT_EQ(0, pipe(report[i]));
		ASSERT_EQ(0, pipe(go[i]));
	}
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i])
			run_side(variant, i, go[i][0], report[i][1], ready[i][0]);
		/* A fills the pool alone, then B starts. */
		ASSERT_EQ(1, write(go[i][1], "g", 1));
		ASSERT_EQ(1, read(report[i][0], &c, 1)) TH_LOG("side %d failed", i);
	}
	/* Both compressed: each reports, then closes. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, write(ready[i][1], "r", 1));
		ASSERT_EQ(sizeof(r[i]), read(report[i][0], &r[i], sizeof(r[i])));
		ASSERT_LE(0, r[i].pool) TH_LOG("side %d failed", i);
	}
	for (i = 0; i < 2; i++)
		waitpid(pid[i], NULL, 0);
	TH_LOG("pools %lld + %lld of %lu; B compressed %lld, A gave %lld evictions",
	       r[0].pool, r[1].pool, SHARE_CAP, r[1].compress_ops, r[0].evictions_fair);
	EXPECT_LT(0, r[1].compress_ops);
	EXPECT_LT(0, r[0].evictions_fair);
	EXPECT_EQ(0, r[1].evictions_fair);
	EXPECT_GE(SHARE_CAP, r[0].pool + r[1].pool);
	EXPECT_LE(SHARE_CAP * 9 / 10, r[0].pool + r[1].pool);
	want = (double)(variant->weight_b ?: 1) / (variant->weight_a ?: 1);
	got = (double)r[1].pool / r[0].pool;
	EXPECT_TRUE(got > want * 0.9 && got < want * 1.1)
		TH_LOG("B:A = %.3f, want %.3f", got, want);
}

/*
 * A fair reclaim takes its room from a victim that may close meanwhile.
 * Tenant 1 fills the module-wide cap with small slots (16 bytes of noise
 * in a 4 KiB chunk compress to a few dozen, so one pool block is a
 * thousand evictions or more); tenant 2 compresses text, taking room from it, and each
 * round tenant 1's arena closes at another point of that.  Every compress
 * succeeds, and once both close the module holds no pool.  Meanwhile,
 * in the first round, a reader of the module-wide stats (which take the
 * module's arena list lock) and a compress of incompressible chunks in a
 * third arena (which takes a CPU's codec stream, and no pool) log how
 * long they waited at most.
 */
#define VICTIM_MIB	32
#define ASKER_MIB	8
#define VICTIM_ROUNDS	5

struct probe {
	int fd;
	__u32 id;
	double stats, compress;	/* the longest of each, s */
};

/* One module-wide stats read, one compress of 16 incompressible chunks. */
static void probe_once(struct probe *p)
{
	double t = ma_now_s();

	ma_sysfs_read("pool_bytes");
	t = ma_now_s() - t;
	p->stats = t > p->stats ? t : p->stats;
	t = ma_now_s();
	ma_range(p->fd, MEM_ARENA_IOC_COMPRESS, p->id, 0, 16 * PG, NULL);
	t = ma_now_s() - t;
	p->compress = t > p->compress ? t : p->compress;
}

struct asker {
	int fd, err;
	__u32 id;
	volatile int started, done;
};

static void *asker_compress(void *arg)
{
	struct asker *a = arg;

	a->started = 1;
	a->err = ma_range(a->fd, MEM_ARENA_IOC_COMPRESS, a->id, 0,
			  ASKER_MIB * MiB, NULL);
	a->done = 1;
	return NULL;
}

FIXTURE(fair) {};
FIXTURE_SETUP(fair) {}
FIXTURE_TEARDOWN(fair) {}

/* Thousands of evictions a round: past the harness's 30 s on the debug kernel. */
TEST_F_TIMEOUT(fair, victim_closes_during_reclaim, 180)
{
	struct probe idle = {}, busy = {};
	long long cap0, spin;
	unsigned int x = 1;
	int round, i, mid = 0;
	char *r;

	if (getuid() != 0)
		SKIP(return, "needs root (the module-wide cap, tenant ids)");
	if (ma_sysfs_read("pool_bytes") != 0)
		SKIP(return, "another arena holds pool memory");
	ASSERT_EQ(0, set_module_cap(256 * KiB, &cap0));
	idle.fd = tenant_arena(3, 0, PG, 1, &r, &idle.id);
	ASSERT_LE(0, idle.fd);
	for (i = 0; i < 16 * (int)PG / 4; i++) {
		x = x * 1103515245 + 12345;
		((__u32 *)r)[i] = x ^ (x >> 16);
	}
	busy.fd = idle.fd;
	busy.id = idle.id;
	for (i = 0; i < 100; i++)	/* the probes alone */
		probe_once(&idle);
	for (round = 0; round < VICTIM_ROUNDS; round++) {
		struct asker a = { .err = -1 };
		pthread_t th;
		__u32 vid;
		char *v, *q;
		size_t off;
		int vfd;

		vfd = tenant_arena(1, 0, PG, VICTIM_MIB, &v, &vid);
		ASSERT_LE(0, vfd);
		for (off = 0; off < VICTIM_MIB * MiB; off += PG)
			for (i = 0; i < 4; i++) {	/* 16 bytes of noise */
				x = x * 1103515245 + 12345;
				((__u32 *)(v + off))[i * 4] = x;
			}
		ASSERT_EQ(0, ma_range(vfd, MEM_ARENA_IOC_COMPRESS, vid, 0,
				      VICTIM_MIB * MiB, NULL));
		a.fd = tenant_arena(2, 0, PG, ASKER_MIB, &q, &a.id);
		ASSERT_LE(0, a.fd);
		ma_fill_text(q, ASKER_MIB * MiB, round);
		ASSERT_EQ(0, pthread_create(&th, NULL, asker_compress, &a));
		while (!a.started)
			;
		/* Round 0 keeps the victim to the end: the reader's round. */
		for (spin = 0; round && spin < round * 2000000LL && !a.done; spin++)
			;
		if (round) {
			mid += !a.done;
			munmap(v, VICTIM_MIB * MiB);
			close(vfd);	/* the victim's release, mid-reclaim */
		}
		while (!round && !a.done)
			probe_once(&busy);
		pthread_join(th, NULL);
		EXPECT_EQ(0, a.err) TH_LOG("round %d: the asker's compress", round);
		if (!round) {
			struct mem_arena_stats st;

			ASSERT_EQ(0, ma_stats(vfd, &st));
			EXPECT_LT(0, st.evictions_fair);
			munmap(v, VICTIM_MIB * MiB);
			close(vfd);
		}
		munmap(q, ASKER_MIB * MiB);
		close(a.fd);
		EXPECT_EQ(0, ma_sysfs_read("pool_bytes")) TH_LOG("round %d", round);
	}
	TH_LOG("during fair reclaim (alone), at most: a stats read %.1f ms (%.1f), a compress %.1f ms (%.1f); the victim closed mid-reclaim in %d of %d rounds",
	       busy.stats * 1e3, idle.stats * 1e3, busy.compress * 1e3,
	       idle.compress * 1e3, mid, VICTIM_ROUNDS - 1);
	close(idle.fd);
	set_module_cap(cap0, NULL);
}

TEST_HARNESS_MAIN
