/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mem_arena internals.
 *
 * Locking (outermost first):
 *   ma_arena.lock (mutex)   config, the frozen flag, region insert/remove.
 *   ma_region.snapshot_lock faults of the region hold it shared while they
 *     (rw_semaphore)        make a chunk raw and map it; a snapshot COPY
 *                           holds it exclusive from its unmap of the source
 *                           to its end, so no PTE of the source appears and
 *                           no write lands while it copies (region.c).
 *   chunk lock (bit lock MA_CHUNK_LOCKED in ma_chunk.flags, sleeps, with
 *                lockdep map)
 *                           the chunk's state, pages, slot and pattern, and
 *                           every PTE that maps its pages: a PTE is only
 *                           installed by the fault path under it, so whoever
 *                           holds it and has unmapped the chunk owns the
 *                           pages outright (but for pins, seen as extra
 *                           page references).
 *                           Taken one at a time, in any order, by faults,
 *                           touch, compress, copy and region free; everyone
 *                           who needs a second chunk (LRU eviction) only
 *                           trylocks.  A copy between two regions takes the
 *                           source chunk's lock, then the destination's,
 *                           never both.
 *   ma_region.unmap_lock    one unmap_mapping_range() of the region at a
 *     (mutex)               time (chunk.c), taken with or without a chunk
 *                           lock; nothing is taken under it but the mm's.
 *   ma_stream.lock (mutex)  one CPU's codec buffers.
 *   ma_pool.compact_lock    one compaction at a time (compact.c); it only
 *     (mutex)               ever trylocks chunks.
 *   ma_pool.lock (spinlock) the pool's blocks, free-space index and LRU list,
 *                           and the pool gauges of the arena's stats.
 *   ma_arena.charge_lock    what the arena holds against its opener's
 *     (spinlock)            RLIMIT_MEMLOCK (charge.c); innermost.
 * Module-wide: ma_arenas_lock (mutex) guards the ma_arenas list and the
 * tenants (share.c).  A tenant attach takes it under ma_arena.lock, and a
 * fair reclaim under a chunk lock, only to choose its victim (share.c); it
 * nests the pool locks (stats), and no holder waits for an arena lock, a
 * chunk lock or a stream.  A fair reclaim evicts with no module-wide lock:
 * it holds its chunk lock (and a stream only if the compressed bytes could
 * not be copied out of it, chunk.c), takes the victim's compact_lock and
 * pool lock, and only trylocks the victim's chunks.  The spare
 * shrinker's ma_spare_arenas_lock (spinlock) nests the arenas' list_lru
 * locks and charge_lock; it is held to free pages, never to allocate.
 * The region xarray has its own lock; lookups are RCU + kref, and a
 * region's memory is freed after an RCU grace period (kfree_rcu).
 * A region's chunk xarray has its own lock too: a chunk is created on first
 * touch and lives until the region is released.
 */
#ifndef _MEM_ARENA_ARENA_H
#define _MEM_ARENA_ARENA_H

#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/list.h>
#include <linux/list_lru.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/mem_arena.h>

#include "pool.h"

struct file;
struct ma_stream;
struct user_struct;

enum ma_chunk_state {
	MA_CHUNK_EMPTY,		/* never touched, no memory */
	MA_CHUNK_RAW,		/* pages resident */
	MA_CHUNK_COMPRESSED,	/* data in a slot */
	MA_CHUNK_SAME,		/* every word == pattern */
};

#define MA_CHUNK_LOCKED	0	/* bit in ma_chunk.flags */
#define MA_CHUNK_PAGES_MAX	(MEM_ARENA_CHUNK_SIZE_MAX / PAGE_SIZE)

struct ma_region;

struct ma_chunk {
	unsigned long flags;		/* MA_CHUNK_LOCKED */
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;	/* the chunk lock, for lockdep */
#endif
	struct ma_region *region;	/* constant */
	unsigned long index;		/* constant: in the region */
	union {				/* protected by the chunk lock */
		struct ma_slot slot;	/* MA_CHUNK_COMPRESSED */
		unsigned long pattern;	/* MA_CHUNK_SAME */
	};
	u8 state;			/* protected by the chunk lock */
	bool idle;			/* protected by the chunk lock: raw,
					 * unmapped by an idle-only pass and
					 * not mapped since
					 */
	bool readahead;			/* protected by the chunk lock: raw,
					 * read ahead and not used since
					 */
	u32 mapped_seq;			/* protected by the chunk lock: the last
					 * unmap ticket its fault saw
					 */
	struct list_head lru;		/* protected by ma_pool.lock */
	struct page *pages[];		/* protected by the chunk lock: MA_CHUNK_RAW */
};

struct mem_cgroup;

struct ma_region {
	struct kref ref;		/* the xarray, each VMA, lookups */
	struct rcu_head rcu;		/* lookups may still read ref */
	struct ma_arena *arena;		/* constant */
	u32 id;				/* constant */
	bool dead;			/* set once by region free */
	struct mutex unmap_lock;	/* one unmap of the region at a time */
	struct rw_semaphore snapshot_lock; /* faults vs a snapshot COPY */
	atomic_t unmap_seq;		/* tickets of ma_region_unmap() */
	pgoff_t pgoff;			/* constant: first page in the mapping */
	u64 length;			/* constant: bytes, whole chunks */
	unsigned long nr_chunks;	/* constant */
	struct xarray chunks;		/* index -> ma_chunk, made on first touch */
	unsigned long ra_next;		/* racy hint: the chunk after the last
					 * sequential readahead
					 */
	unsigned long ra_miss;		/* racy hint: the chunk after the last
					 * fault that decompressed, or after
					 * what it mapped ahead (arenas with
					 * a readahead_kib)
					 */
	/*
	 * Asynchronous readahead (MEM_ARENA_CONFIG_READAHEAD_ASYNC): one
	 * window at a time.  The MA_RA_QUEUED bit of ra_flags owns the rest:
	 * its setter fills them, takes a region reference and queues
	 * ra_work, and the work clears it when done.
	 */
	unsigned long ra_flags;
	struct work_struct ra_work;
	unsigned long ra_from, ra_to;	/* protected by MA_RA_QUEUED */
	struct mem_cgroup *ra_memcg;	/* protected by MA_RA_QUEUED: charged */
};

struct ma_config {
	u32 flags;			/* MEM_ARENA_CONFIG_* */
	u32 chunk_size;
	u32 min_savings_pct;
	u64 cap_bytes;
	u32 tenant;			/* 0: the opener's user */
	u32 weight;			/* 1 .. MEM_ARENA_WEIGHT_MAX */
	u32 readahead_kib;		/* 0: advised mappings only, 128 KiB */
};

/* Who an arena's pool counts for in the module-wide share (share.c). */
struct ma_tenant {
	struct list_head node;		/* in ma_tenants, under ma_arenas_lock */
	u64 key;			/* constant: uid, or BIT(32) | tenant id */
	unsigned int nr_arenas;		/* protected by ma_arenas_lock */
	u32 weight;			/* protected by ma_arenas_lock */
	atomic64_t pool_bytes;		/* its arenas' pool blocks */
};

/*
 * Decompressions outside a pass (faults, evictions), from any task: the
 * clock is read around one in MA_CLOCK_EVERY, and each other call counts
 * the last timed call's time (chunk.c).
 */
struct ma_shared_clock {
	atomic_t calls;		/* calls since the first timed one, wrapping */
	u64 ns;			/* the last timed call; 0: time the next */
};

struct ma_arena {
	struct list_head node;		/* in ma_arenas, under ma_arenas_lock */
	u32 id;				/* constant: unique while loaded */
	pid_t owner_pid;		/* constant: the opener's tgid */
	char owner_comm[TASK_COMM_LEN];	/* constant */
	kuid_t owner_uid;		/* constant: the opener's euid */
	bool may_share;			/* constant: opener had CAP_SYS_RESOURCE */
	struct ma_tenant *tenant;	/* set with the frozen config, until release */
	bool closing;			/* protected by ma_arenas_lock: set once
					 * at release, no fair reclaim picks it
					 */
	atomic_t reclaimers;		/* fair reclaims evicting from it: its
					 * release waits for them (share.c)
					 */
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
	struct ma_shared_clock decompress_clock;	/* lockless: chunk.c */
	spinlock_t charge_lock;
	struct user_struct *memlock_user; /* constant: charged, NULL if exempt */
	u64 memlock_limit;		/* constant: bytes, U64_MAX if exempt */
	u64 charged_bytes;		/* protected by charge_lock */
	unsigned long charged_pages;	/* protected by charge_lock: in locked_vm */
	struct list_lru spares;		/* struct ma_spare; its own locks */
	atomic_t nr_spares;		/* bounds spares: spare.c */
	struct list_head spare_node;	/* in ma_spare_arenas, under its lock */
};

static inline struct ma_arena *pool_arena(struct ma_pool *pool)
{
	return container_of(pool, struct ma_arena, pool);
}

/* Module-wide state. */
extern struct list_head ma_arenas;
extern struct mutex ma_arenas_lock;
extern atomic_t ma_nr_arenas;

/*
 * stats.c.  Counters live in the arena only; module-wide figures are the
 * sum over open arenas plus what closed ones left (ma_stats_retire()).
 */
static inline void ma_stat_add(struct ma_arena *arena, unsigned int id, s64 v)
{
	atomic64_add(v, &arena->stats[id]);
}

static inline void ma_stat_inc(struct ma_arena *arena, unsigned int id)
{
	ma_stat_add(arena, id, 1);
}

void ma_stats_snapshot(struct ma_arena *arena, struct mem_arena_stats *out);
void ma_stats_global(struct mem_arena_stats *out);
void ma_stat_pool_bytes(struct ma_arena *arena, s64 delta);
void ma_stats_retire(struct ma_arena *arena);
int ma_sysfs_init(void);
void ma_sysfs_exit(void);

/*
 * A module-wide tunable in /sys/kernel/mem_arena/: an unsigned int of its
 * owner's, 0 .. @max, written by sysfs (root) and read with READ_ONCE().
 */
struct ma_uint_attr {
	struct kobj_attribute kattr;
	unsigned int *value;
	unsigned int max;
};

ssize_t ma_uint_attr_show(struct kobject *kobj, struct kobj_attribute *kattr,
			  char *buf);
ssize_t ma_uint_attr_store(struct kobject *kobj, struct kobj_attribute *kattr,
			   const char *buf, size_t count);
#define MA_UINT_ATTR(_name, _value, _max) {				\
	.kattr = __ATTR(_name, 0644, ma_uint_attr_show, ma_uint_attr_store), \
	.value = &(_value),						\
	.max = (_max),							\
}

/*
 * chunk.c: the chunk lock and the state machine.  The lock is a bit lock
 * with a lockdep map, as zram's slot lock: lockdep sees every chunk as one
 * class, so an order inversion against any other lock is reported.
 */
static inline void ma_chunk_lock(struct ma_chunk *chunk)
{
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	mutex_acquire(&chunk->dep_map, 0, 0, _RET_IP_);
#endif
	wait_on_bit_lock(&chunk->flags, MA_CHUNK_LOCKED, TASK_UNINTERRUPTIBLE);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lock_acquired(&chunk->dep_map, _RET_IP_);
#endif
}

static inline __must_check bool ma_chunk_trylock(struct ma_chunk *chunk)
{
	if (test_and_set_bit_lock(MA_CHUNK_LOCKED, &chunk->flags))
		return false;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	mutex_acquire(&chunk->dep_map, 0, 1, _RET_IP_);
	lock_acquired(&chunk->dep_map, _RET_IP_);
#endif
	return true;
}

static inline void ma_chunk_unlock(struct ma_chunk *chunk)
{
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	mutex_release(&chunk->dep_map, _RET_IP_);
#endif
	clear_and_wake_up_bit(MA_CHUNK_LOCKED, &chunk->flags);
}

/* The caller holds @chunk's lock (lockdep checks it is the caller). */
static inline void ma_chunk_assert_locked(const struct ma_chunk *chunk)
{
	WARN_ON_ONCE(!test_bit(MA_CHUNK_LOCKED, &chunk->flags));
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lockdep_assert(lock_is_held(&chunk->dep_map));
#endif
}

static inline u32 ma_chunk_size(const struct ma_arena *arena)
{
	return PAGE_SIZE << arena->chunk_order;
}

static inline unsigned long ma_chunk_index(const struct ma_chunk *chunk)
{
	return chunk->index;
}

/*
 * Codec time in a pass (compress_ns, decompress_ns): the clock is read
 * around one codec call in MA_CLOCK_EVERY, and that call's time stands for
 * each call of its group (itself and the untimed calls after it), counted
 * when the group closes: at the next timed call or at the end of the pass
 * (ma_region_walk_chunks()).  Calls outside a pass sample the same way
 * per arena (struct ma_shared_clock), each counted as it returns.
 */
#define MA_CLOCK_EVERY	16

struct ma_clock {
	u64 ns;			/* the timed call of the open group */
	unsigned int calls;	/* calls in the open group; 0: none open */
};

/* What one COMPRESS or TOUCH pass did, beyond its chunk count. */
struct ma_pass {
	bool unmap;		/* in: unmap each window before its chunks */
	bool idle_only;		/* in: compress only chunks marked idle */
	u32 unmap_ticket;	/* the current window's ma_region_unmap() */
	u64 done;		/* chunks for which the step returned 1 */
	u64 evicted;		/* LRU evictions made to find room */
	bool cap_reached;	/* a chunk stayed raw because of a cap */
	struct vm_area_struct *vma;	/* readahead: map into it too, or NULL */
	struct ma_clock compress_clock;	/* of this arena's codec calls */
	struct ma_clock decompress_clock;
};

/* Who needs a chunk's data: decides counting and how allocations fail. */
enum ma_access {
	MA_ACCESS_FAULT,	/* a page fault: like any fault, may OOM-kill */
	MA_ACCESS_TOUCH,	/* MEM_ARENA_IOC_TOUCH: -ENOMEM instead */
	MA_ACCESS_EVICT,	/* LRU eviction in a compress: -ENOMEM instead */
};

/* A chunk's data on its way to another region (MEM_ARENA_IOC_COPY). */
struct ma_chunk_copy {
	u8 state;			/* the source's */
	u32 len;			/* MA_CHUNK_COMPRESSED: bytes in data */
	unsigned long pattern;		/* MA_CHUNK_SAME */
	struct page *pages[MA_CHUNK_PAGES_MAX];	/* MA_CHUNK_RAW: charged to
						 * the destination arena
						 */
	u8 data[];			/* one chunk's worth */
};

int ma_chunk_compress(struct ma_chunk *chunk, struct ma_pass *pass);
int ma_chunk_make_raw(struct ma_chunk *chunk, enum ma_access how,
		      struct ma_pass *pass);
void ma_pass_clock_close(struct ma_arena *arena, struct ma_pass *pass);
int ma_chunk_discard(struct ma_chunk *chunk, struct ma_pass *pass);
int ma_chunk_readahead(struct ma_chunk *chunk, struct ma_pass *pass);
void ma_chunk_release(struct ma_chunk *chunk);
int ma_chunk_copy_out(struct ma_chunk *chunk, struct ma_arena *to,
		      struct ma_chunk_copy *cp);
void ma_chunk_copy_drop(struct ma_arena *to, struct ma_chunk_copy *cp);
int ma_chunk_copy_in(struct ma_chunk *chunk, struct ma_chunk_copy *cp,
		     struct ma_pass *pass);
void ma_chunk_unmap(struct ma_chunk *chunk);
u32 ma_region_unmap(struct ma_region *region, u64 start, u64 len);
void ma_chunk_mapped(struct ma_chunk *chunk);
void ma_chunk_mapped_ahead(struct ma_chunk *chunk);
void ma_chunk_unmap_since(struct ma_chunk *chunk, u32 ticket);

/* charge.c */
void ma_charge_init(struct ma_arena *arena, struct file *file);
void ma_charge_exit(struct ma_arena *arena);
int ma_charge(struct ma_arena *arena, s64 delta);
int ma_charge_quiet(struct ma_arena *arena, s64 delta);

/* spare.c */
int ma_spare_init(struct ma_arena *arena);
bool ma_spare_keep(struct ma_arena *arena, struct page *page);
bool ma_spare_adopt(struct ma_arena *arena, struct page *page);
unsigned int ma_spare_take(struct ma_arena *arena, struct page **pages,
			   unsigned int nr);
void ma_spare_exit(struct ma_arena *arena);
int ma_spare_shrinker_init(void);
void ma_spare_shrinker_exit(void);
extern const struct attribute_group ma_spare_attr_group;	/* spare_pages */

/* share.c */
int ma_tenant_attach(struct ma_arena *arena);
void ma_tenant_detach(struct ma_arena *arena);
void ma_tenant_pool_bytes(struct ma_tenant *tenant, s64 bytes);
u64 ma_tenant_share(const struct ma_tenant *tenant);
struct ma_arena *ma_share_victim(struct ma_arena *asker);
void ma_share_victim_put(struct ma_arena *victim);
void ma_share_close(struct ma_arena *arena);

/* region.c */
struct ma_region *ma_region_alloc(struct ma_arena *arena, u64 length);
struct ma_region *ma_region_get(struct ma_arena *arena, u32 id);
struct ma_region *ma_region_next(struct ma_arena *arena, u32 id);
void ma_region_put(struct ma_region *region);
int ma_region_free(struct ma_arena *arena, u32 id);
void ma_region_free_all(struct ma_arena *arena);
int ma_workers_init(void);
void ma_workers_exit(void);
/* touch_workers (the bound), touch_workers_running (the gauge) */
extern const struct attribute_group ma_workers_attr_group;
int ma_region_mmap(struct ma_arena *arena, struct vm_area_struct *vma);
int ma_region_willneed(struct ma_arena *arena, loff_t offset, loff_t len);
loff_t ma_region_seek(struct ma_arena *arena, loff_t offset, int whence);
typedef int (*ma_chunk_fn)(struct ma_chunk *chunk, struct ma_pass *pass);
int ma_region_walk_chunks(struct ma_region *region, u64 offset, u64 length,
			  ma_chunk_fn fn, struct ma_pass *pass);
int ma_region_walk_parallel(struct ma_region *region, u64 offset, u64 length,
			    ma_chunk_fn fn, struct ma_pass *pass);
int ma_region_copy(struct ma_region *dst, u64 offset, struct ma_region *src,
		   u64 src_offset, u64 length, bool snapshot, struct ma_pass *pass);

/* main.c */
struct ma_arena *ma_file_arena(struct file *file);

/* ioctl.c */
long ma_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* netlink.c */
int ma_netlink_init(void);
void ma_netlink_exit(void);
void ma_event_arena(struct ma_arena *arena, bool created);
void ma_event_pass(struct ma_arena *arena, const struct ma_pass *pass);
void ma_event_defrag(struct ma_arena *arena, const struct ma_defrag_result *res);

#endif /* _MEM_ARENA_ARENA_H */
