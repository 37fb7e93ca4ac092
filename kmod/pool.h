/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compressed pool: variable-size slots packed into blocks.
 *
 * A block is MA_BLOCK_SIZE bytes of order-0 pages mapped contiguously with
 * vmap().  Slots are runs of MA_SLOT_ALIGN-byte units; a per-block bitmap
 * marks used units, so freeing a slot merges it with free neighbours at
 * once.  Each slot starts with a header naming its owner chunk, which lets a
 * later compaction move it and rewrite the owner's handle.  Blocks are
 * indexed by the size class of their largest free extent; a block that
 * becomes empty goes back to the kernel.
 */
#ifndef _MEM_ARENA_POOL_H
#define _MEM_ARENA_POOL_H

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#define MA_BLOCK_SIZE		SZ_64K
#define MA_BLOCK_PAGES		(MA_BLOCK_SIZE >> PAGE_SHIFT)
#define MA_SLOT_ALIGN		8	/* the header's; 16 cost repetitive data 8% */
#define MA_BLOCK_UNITS		(MA_BLOCK_SIZE / MA_SLOT_ALIGN)
#define MA_SLOT_HDR_SIZE	sizeof(struct ma_slot_hdr)
#define MA_SLOT_DATA_MAX	(MA_BLOCK_SIZE - MA_SLOT_HDR_SIZE)

/*
 * Classes of a block's largest free extent: one per unit up to
 * MA_CLASS_LINEAR units, then one per power of two up to a whole block.
 */
#define MA_CLASS_LINEAR		256
#define MA_CLASS_LOG_STEPS	5	/* ilog2(MA_BLOCK_UNITS / MA_CLASS_LINEAR) */
#define MA_NR_CLASSES		(MA_CLASS_LINEAR + MA_CLASS_LOG_STEPS)

struct ma_chunk;

struct ma_slot_hdr {
	struct ma_chunk *owner;
};

struct ma_block {
	struct list_head node;		/* in ma_pool.classes[], or empty when full */
	struct list_head all;		/* in ma_pool.blocks */
	void *vaddr;			/* constant */
	unsigned int used_units;	/* protected by ma_pool.lock */
	unsigned int largest_free;	/* protected by ma_pool.lock, units */
	unsigned int nr_slots;		/* protected by ma_pool.lock */
	/*
	 * protected by ma_pool.lock: the free run the last free left,
	 * [freed_start, freed_end); freed_end 0 once anything else changed
	 * the bitmap.
	 */
	unsigned int freed_start, freed_end;
	/*
	 * protected by ma_pool.lock: every unit below free_from is used and
	 * none from used_end on, so scans for free runs skip a full head and
	 * an empty tail.  Bounds, not exact: a free (or compaction's move
	 * out) lowers free_from, a take (or a move in) raises used_end; both
	 * go through ma_block_set_used() / ma_block_set_free().
	 */
	unsigned int free_from, used_end;
	bool claimed;			/* protected by ma_pool.lock: compaction works on it */
	struct page *pages[MA_BLOCK_PAGES];	/* constant */
	DECLARE_BITMAP(used, MA_BLOCK_UNITS);	/* protected by ma_pool.lock */
};

/* A chunk's handle to its slot; rewritten only under the chunk lock. */
struct ma_slot {
	struct ma_block *block;
	u32 unit;			/* first unit of the slot */
	u32 len;			/* data bytes after the header */
};

struct ma_pool {
	spinlock_t lock;
	u64 cap_bytes;			/* constant once frozen; 0 = none */
	u64 reserved_bytes;		/* protected by lock: blocks held or coming */
	unsigned long nr_blocks;	/* protected by lock */
	unsigned long used_units;	/* protected by lock: in all blocks */
	struct list_head blocks;	/* protected by lock: all blocks, oldest first */
	bool dying;			/* protected by lock: no more background work */
	bool compacting;		/* protected by lock: a pass releases empty blocks */
	unsigned long futile_free_units; /* protected by lock: free units after a pass that freed nothing */
	struct mutex compact_lock;	/* one compaction at a time */
	struct delayed_work defrag_work;	/* background compaction */
	struct list_head lru;		/* protected by lock: compressed chunks, newest first */
	struct list_head classes[MA_NR_CLASSES];	/* protected by lock */
	DECLARE_BITMAP(nonempty, MA_NR_CLASSES);	/* protected by lock */
};

struct ma_defrag_result {
	u64 bytes_moved;
	u64 slots_moved;
	u64 pages_released;
};

struct mem_arena_block_info;
struct attribute_group;

/* pool.c */
void ma_pool_cap_init(void);
u64 ma_pool_cap(void);
extern const struct attribute_group ma_pool_attr_group;	/* the cap, in sysfs */
void ma_pool_init(struct ma_pool *pool);
void ma_pool_destroy(struct ma_pool *pool);
int ma_pool_alloc(struct ma_pool *pool, u32 len, struct ma_chunk *owner,
		  struct ma_slot *slot);
void ma_pool_free(struct ma_pool *pool, struct ma_slot *slot);
struct ma_chunk *ma_pool_lru_victim(struct ma_pool *pool);
void ma_pool_lru_forget(struct ma_pool *pool, struct ma_chunk *chunk);
unsigned int ma_pool_largest_free(struct ma_pool *pool);
unsigned int ma_pool_layout(struct ma_pool *pool, unsigned int first,
			    unsigned int max, struct mem_arena_block_info *out,
			    unsigned int *total);

/* compact.c */
void ma_pool_compact(struct ma_pool *pool, struct ma_defrag_result *res);
bool ma_pool_compact_for_room(struct ma_pool *pool);
void ma_defrag_maybe_queue(struct ma_pool *pool);
void ma_defrag_work(struct work_struct *work);
void ma_pool_stop_background(struct ma_pool *pool);
extern const struct attribute_group ma_defrag_attr_group;	/* its tunable */

static inline u32 ma_slot_units(u32 len)
{
	return DIV_ROUND_UP(MA_SLOT_HDR_SIZE + len, MA_SLOT_ALIGN);
}

/* Bytes a slot of @len data bytes takes: header and alignment included. */
static inline u32 ma_slot_bytes(u32 len)
{
	return ma_slot_units(len) * MA_SLOT_ALIGN;
}

/* The most data whose slot is smaller than @bytes (a multiple of the unit). */
static inline u32 ma_slot_data_below(u32 bytes)
{
	return bytes - MA_SLOT_ALIGN - MA_SLOT_HDR_SIZE;
}

static inline struct ma_slot_hdr *ma_slot_hdr(const struct ma_block *block,
					     unsigned int unit)
{
	return block->vaddr + unit * MA_SLOT_ALIGN;
}

static inline void *ma_slot_data(const struct ma_slot *slot)
{
	return slot->block->vaddr + slot->unit * MA_SLOT_ALIGN + MA_SLOT_HDR_SIZE;
}

#endif /* _MEM_ARENA_POOL_H */
