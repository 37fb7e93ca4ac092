/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mem_arena internals.
 *
 * Locking (outermost first):
 *   ma_arena.lock (mutex)   config, the frozen flag, region insert/remove.
 *   chunk lock (bit lock MA_CHUNK_LOCKED in ma_chunk.flags, sleeps)
 *                           the chunk's state, pages, slot and pattern.
 *                           Taken one at a time, in any order, by faults,
 *                           touch, compress and region free; everyone who
 *                           needs a second chunk (LRU eviction) only trylocks.
 *   ma_stream.lock (mutex)  one CPU's codec buffers.
 *   ma_pool.compact_lock    one compaction at a time (compact.c); it only
 *     (mutex)               ever trylocks chunks.
 *   ma_pool.lock (spinlock) the pool's blocks, free-space index and LRU list,
 *                           and the pool gauges of the arena's stats.
 * Module-wide: ma_arenas_lock (mutex) guards the ma_arenas list; taken
 * with no arena lock held, it nests the pool lock (stats).
 * The region xarray has its own lock; lookups are RCU + kref.
 */
#ifndef _MEM_ARENA_ARENA_H
#define _MEM_ARENA_ARENA_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/wait_bit.h>
#include <linux/xarray.h>
#include <linux/mem_arena.h>

#include "pool.h"

struct ma_stream;

enum ma_chunk_state {
	MA_CHUNK_EMPTY,		/* never touched, no memory */
	MA_CHUNK_RAW,		/* pages resident */
	MA_CHUNK_COMPRESSED,	/* data in a slot */
	MA_CHUNK_SAME,		/* every word == pattern */
};

#define MA_CHUNK_LOCKED	0	/* bit in ma_chunk.flags */

struct ma_region;

struct ma_chunk {
	unsigned long flags;		/* MA_CHUNK_LOCKED */
	struct ma_region *region;	/* constant */
	union {				/* protected by the chunk lock */
		struct ma_slot slot;	/* MA_CHUNK_COMPRESSED */
		unsigned long pattern;	/* MA_CHUNK_SAME */
	};
	u8 state;			/* protected by the chunk lock */
	struct list_head lru;		/* protected by ma_pool.lock */
};

struct ma_region {
	struct kref ref;		/* the xarray, each VMA, lookups */
	struct ma_arena *arena;		/* constant */
	u32 id;				/* constant */
	bool dead;			/* set once by region free */
	pgoff_t pgoff;			/* constant: first page in the mapping */
	u64 length;			/* constant: bytes, whole chunks */
	unsigned long nr_chunks;	/* constant */
	struct ma_chunk *chunks;	/* constant array */
	struct page **pages;		/* protected by each chunk's lock */
};

struct ma_config {
	u32 chunk_size;
	u32 min_savings_pct;
	u64 cap_bytes;
};

struct ma_arena {
	struct list_head node;		/* in ma_arenas, under ma_arenas_lock */
	u32 id;				/* constant: unique while loaded */
	pid_t owner_pid;		/* constant: the opener's tgid */
	char owner_comm[TASK_COMM_LEN];	/* constant */
	kuid_t owner_uid;		/* constant: the opener's euid */
	atomic_t nr_regions;
	struct mutex lock;
	struct ma_config config;	/* protected by lock until frozen */
	bool frozen;			/* protected by lock: a region existed */
	unsigned int chunk_order;	/* constant once frozen: pages/chunk */
	struct xarray regions;		/* id -> ma_region */
	u32 next_region_id;		/* protected by the xarray lock */
	struct inode *inode;		/* this arena's own address_space */
	struct ma_pool pool;
	atomic64_t stats[MEM_ARENA_NR_STATS];
};

static inline struct ma_arena *pool_arena(struct ma_pool *pool)
{
	return container_of(pool, struct ma_arena, pool);
}

/* Module-wide state. */
extern struct list_head ma_arenas;
extern struct mutex ma_arenas_lock;
extern atomic64_t ma_global_stats[MEM_ARENA_NR_STATS];
extern atomic_t ma_nr_arenas;
extern u64 ma_pool_cap_bytes;		/* module-wide cap, read with READ_ONCE */
extern atomic64_t ma_pool_reserved;	/* pool bytes held by every arena */

/* stats.c */
static inline void ma_stat_add(struct ma_arena *arena, unsigned int id, s64 v)
{
	atomic64_add(v, &arena->stats[id]);
	atomic64_add(v, &ma_global_stats[id]);
}

static inline void ma_stat_inc(struct ma_arena *arena, unsigned int id)
{
	ma_stat_add(arena, id, 1);
}

void ma_stats_snapshot(struct ma_arena *arena, struct mem_arena_stats *out);
void ma_stats_global(struct mem_arena_stats *out);
void ma_stat_update_peak(struct ma_arena *arena);
int ma_sysfs_init(void);
void ma_sysfs_exit(void);

/* chunk.c: the chunk lock and the state machine */
static inline void ma_chunk_lock(struct ma_chunk *chunk)
{
	wait_on_bit_lock(&chunk->flags, MA_CHUNK_LOCKED, TASK_UNINTERRUPTIBLE);
}

static inline bool ma_chunk_trylock(struct ma_chunk *chunk)
{
	return !test_and_set_bit_lock(MA_CHUNK_LOCKED, &chunk->flags);
}

static inline void ma_chunk_unlock(struct ma_chunk *chunk)
{
	clear_and_wake_up_bit(MA_CHUNK_LOCKED, &chunk->flags);
}

static inline u32 ma_chunk_size(const struct ma_arena *arena)
{
	return PAGE_SIZE << arena->chunk_order;
}

static inline unsigned long ma_chunk_index(const struct ma_chunk *chunk)
{
	return chunk - chunk->region->chunks;
}

/* Who needs a chunk's data: decides counting and how allocations fail. */
enum ma_access {
	MA_ACCESS_FAULT,	/* a page fault: like any fault, may OOM-kill */
	MA_ACCESS_TOUCH,	/* MEM_ARENA_IOC_TOUCH: -ENOMEM instead */
	MA_ACCESS_EVICT,	/* LRU eviction in a compress: -ENOMEM instead */
};

int ma_chunk_compress(struct ma_chunk *chunk);
int ma_chunk_make_raw(struct ma_chunk *chunk, enum ma_access how);
void ma_chunk_release(struct ma_chunk *chunk);

/* region.c */
struct ma_region *ma_region_alloc(struct ma_arena *arena, u64 length);
struct ma_region *ma_region_get(struct ma_arena *arena, u32 id);
void ma_region_put(struct ma_region *region);
int ma_region_free(struct ma_arena *arena, u32 id);
void ma_region_free_all(struct ma_arena *arena);
int ma_region_mmap(struct ma_arena *arena, struct vm_area_struct *vma);
typedef int (*ma_chunk_fn)(struct ma_chunk *chunk);
int ma_region_walk_chunks(struct ma_region *region, u64 offset, u64 length,
			     ma_chunk_fn fn, u64 *done);

/* ioctl.c */
long ma_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* netlink.c */
int ma_netlink_init(void);
void ma_netlink_exit(void);
void ma_event_arena(struct ma_arena *arena, bool created);
void ma_event_pass(struct ma_arena *arena, u64 evicted, bool cap_reached);
void ma_event_defrag(struct ma_arena *arena, const struct ma_defrag_result *res);

#endif /* _MEM_ARENA_ARENA_H */
