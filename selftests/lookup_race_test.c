// SPDX-License-Identifier: GPL-2.0
/*
 * Region lookups racing the last reference.  With no mapping, the region
 * xarray's reference is the last one: REGION_FREE drops it while COMPRESS
 * and TOUCH in other threads look the same id up under RCU.  The lookup's
 * kref_get_unless_zero() may then read a region that REGION_FREE is
 * releasing, which is only safe because the region is freed after an RCU
 * grace period (on the debug kernel KASAN reports the use-after-free when
 * it is not).  Every ioctl must return 0 or -ENOENT.  And REGION_ALLOC
 * racing REGION_INFO and REGION_FREE of the region it is making.
 */
#include <pthread.h>

#include "helpers.h"
#include "kselftest_harness.h"

#define LOOKERS		2
#define MIN_ROUNDS	200
#define ALLOC_RACE_LEN	(16 * 4096)

struct lookup_race {
	int fd;
	volatile __u32 id;		/* the region the lookers aim at */
	volatile int stop;
	unsigned long calls, enoent, bad;
	int bad_err;
};

static void *looker(void *arg)
{
	struct lookup_race *r = arg;
	unsigned long calls = 0, enoent = 0;
	unsigned int i = 0;

	while (!r->stop) {
		unsigned long cmd = i++ & 1 ? MEM_ARENA_IOC_TOUCH : MEM_ARENA_IOC_COMPRESS;
		int err = ma_range(r->fd, cmd, r->id, 0, 4096, NULL);

		calls++;
		if (err == -ENOENT) {
			enoent++;
		} else if (err) {
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
			r->bad_err = err;
		}
	}
	__atomic_add_fetch(&r->calls, calls, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->enoent, enoent, __ATOMIC_RELAXED);
	return NULL;
}

TEST(free_unmapped_region_vs_lookups)
{
	double end = ma_race_deadline();
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a) };
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	struct lookup_race r = {};
	pthread_t th[LOOKERS];
	unsigned int rounds = 0, i;

	r.fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (r.fd < 0)
		SKIP(return, "module not loaded");
	a.length = 16 * 4096;
	ASSERT_EQ(0, ma_ioc(r.fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
	r.id = a.id;
	for (i = 0; i < LOOKERS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, looker, &r));
	while (rounds < MIN_ROUNDS || ma_now_s() < end) {
		f.id = r.id;
		ASSERT_EQ(0, ma_ioc(r.fd, MEM_ARENA_IOC_REGION_FREE, &f));
		ASSERT_EQ(0, ma_ioc(r.fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
		r.id = a.id;
		rounds++;
	}
	r.stop = 1;
	for (i = 0; i < LOOKERS; i++)
		pthread_join(th[i], NULL);
	TH_LOG("%u frees raced %lu lookups (%lu -ENOENT)", rounds, r.calls, r.enoent);
	EXPECT_EQ(0, r.bad) TH_LOG("unexpected error %d", r.bad_err);
	EXPECT_LT(0, r.enoent);
	close(r.fd);
}

struct alloc_race {
	int fd;
	volatile __u32 last;		/* the id the allocator got last */
	volatile int stop;
	unsigned long infos, stolen, bad;
	__u64 bad_offset, bad_length;
};

/* REGION_INFO sees a region whole or not at all. */
static void *info_looker(void *arg)
{
	struct alloc_race *r = arg;
	struct mem_arena_cmd_region_info ri = { .size = sizeof(ri) };

	while (!r->stop) {
		ri.id = 0;
		if (ma_ioc(r->fd, MEM_ARENA_IOC_REGION_INFO, &ri))
			continue;
		r->infos++;
		if (!ri.mmap_offset || ri.length != ALLOC_RACE_LEN) {
			r->bad++;
			r->bad_offset = ri.mmap_offset;
			r->bad_length = ri.length;
		}
	}
	return NULL;
}

/* REGION_FREE of the id the allocator is about to get. */
static void *thief(void *arg)
{
	struct alloc_race *r = arg;
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };

	while (!r->stop) {
		f.id = r->last + 1;
		if (!ma_ioc(r->fd, MEM_ARENA_IOC_REGION_FREE, &f))
			r->stolen++;
	}
	return NULL;
}

/*
 * REGION_ALLOC publishes a region other threads can look up and free at
 * once: what REGION_INFO reports of it must be whole (its mmap offset was
 * set after it became visible: 0 then), and what REGION_ALLOC returns must
 * be read before another thread's REGION_FREE can free it (on the debug
 * kernel KASAN reports the use-after-free when it is not).
 */
TEST(region_alloc_vs_info_and_free)
{
	double end = ma_race_deadline();
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a) };
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	unsigned long rounds = 0, freed = 0;
	struct alloc_race r = {};
	pthread_t looker_th, thief_th;
	int err;

	r.fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (r.fd < 0)
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, pthread_create(&looker_th, NULL, info_looker, &r));
	ASSERT_EQ(0, pthread_create(&thief_th, NULL, thief, &r));
	while (rounds < MIN_ROUNDS || ma_now_s() < end) {
		a.length = ALLOC_RACE_LEN;
		ASSERT_EQ(0, ma_ioc(r.fd, MEM_ARENA_IOC_REGION_ALLOC, &a));
		EXPECT_EQ(ALLOC_RACE_LEN, a.length);
		EXPECT_NE(0, a.mmap_offset);
		EXPECT_EQ(r.last + 1, a.id);	/* ids are handed out in turn */
		r.last = a.id;
		f.id = a.id;
		err = ma_ioc(r.fd, MEM_ARENA_IOC_REGION_FREE, &f);
		if (!err)
			freed++;
		else
			ASSERT_EQ(-ENOENT, err);	/* the thief's */
		rounds++;
	}
	r.stop = 1;
	pthread_join(looker_th, NULL);
	pthread_join(thief_th, NULL);
	TH_LOG("%lu regions: %lu freed by their allocator, %lu by the thief; %lu infos",
	       rounds, freed, r.stolen, r.infos);
	EXPECT_EQ(0, r.bad)
		TH_LOG("REGION_INFO saw offset %#llx, length %llu",
		       (unsigned long long)r.bad_offset,
		       (unsigned long long)r.bad_length);
	EXPECT_EQ(rounds, freed + r.stolen);
	EXPECT_LT(0, r.stolen);
	EXPECT_LT(0, r.infos);
	close(r.fd);
}

TEST_HARNESS_MAIN
