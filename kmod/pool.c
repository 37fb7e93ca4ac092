// SPDX-License-Identifier: GPL-2.0
/*
 * The compressed pool: variable-size slots in 64 KiB blocks.
 *
 * Locking:
 *   ma_pool.lock (spinlock) protects every block's bitmap, counters and
 *   class list membership, the class lists and their nonempty bitmap,
 *   nr_blocks, reserved_bytes and the pool gauges in the arena's stats
 *   (pool_bytes, slot_bytes_live, compressed_bytes_live), so a snapshot
 *   taken under it satisfies compressed <= slot <= pool.
 *   Nothing sleeps under it: blocks are allocated and vunmapped outside,
 *   their bytes reserved against the caps first.
 *   A chunk is on ma_pool.lru exactly while it holds a slot: it joins at
 *   the head when the slot is taken and leaves when the slot is freed.
 *   A slot's bytes are read and written by the holder of its owner's
 *   chunk lock; compaction (compact.c) moves them with both held.
 *   A claimed block is being worked on by compaction: it is off the class
 *   lists.  While ma_pool.compacting is set, blocks that empty are left for
 *   the compaction pass to release.
 *   Module-wide, ma_pool_reserved counts the bytes every pool reserved
 *   against ma_pool_cap_bytes (an atomic add, undone if over the cap).  The
 *   cap is a plain value written by sysfs and read with READ_ONCE():
 *   lowering it never shrinks a pool, it stops its growth.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>

#include "arena.h"
#include "pool_internal.h"

static u64 ma_pool_cap_bytes;
module_param_named(pool_cap_bytes, ma_pool_cap_bytes, ullong, 0444);
MODULE_PARM_DESC(pool_cap_bytes,
		 "Bound on all arenas' pools together (default: a quarter of RAM)");

static atomic64_t ma_pool_reserved;

/* The module-wide cap: what every arena's pool may hold together. */
u64 ma_pool_cap(void)
{
	return READ_ONCE(ma_pool_cap_bytes);
}

static ssize_t pool_cap_bytes_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", ma_pool_cap());
}

static ssize_t pool_cap_bytes_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	u64 cap;
	int err = kstrtou64(buf, 0, &cap);

	if (err)
		return err;
	WRITE_ONCE(ma_pool_cap_bytes, cap);
	return count;
}

static struct kobj_attribute ma_pool_cap_attr = __ATTR_RW(pool_cap_bytes);
static struct attribute *ma_pool_attrs[] = { &ma_pool_cap_attr.attr, NULL };
const struct attribute_group ma_pool_attr_group = { .attrs = ma_pool_attrs };

/* At module load: the cap's default when the parameter did not set one. */
void __init ma_pool_cap_init(void)
{
	if (!ma_pool_cap_bytes)
		ma_pool_cap_bytes = (u64)totalram_pages() << PAGE_SHIFT >> 2;
}

static_assert(MA_CLASS_LINEAR << MA_CLASS_LOG_STEPS == MA_BLOCK_UNITS);
static_assert(MA_BLOCK_PAGES >= 1);

/* Class of a free extent of @units (1 .. MA_BLOCK_UNITS). */
static unsigned int ma_class(unsigned int units)
{
	if (units <= MA_CLASS_LINEAR)
		return units - 1;
	return MA_CLASS_LINEAR + ilog2(units - 1) - ilog2(MA_CLASS_LINEAR);
}

/* The end of the free run of @block that @unit (free) is in. */
static unsigned int ma_block_run_end(const struct ma_block *block,
				     unsigned int unit)
{
	unsigned int end;

	VM_WARN_ON_ONCE(find_next_bit(block->used, MA_BLOCK_UNITS, block->used_end) <
			MA_BLOCK_UNITS);
	if (unit >= block->used_end)
		return MA_BLOCK_UNITS;
	end = find_next_bit(block->used, block->used_end, unit);
	return end == block->used_end ? MA_BLOCK_UNITS : end;	/* free from there on */
}

/*
 * The first free run of @block at or after @from, [*start, *end); false
 * when there is none.  The scans begin at free_from and end at used_end.
 */
static bool ma_block_next_run(const struct ma_block *block, unsigned int from,
			      unsigned int *start, unsigned int *end)
{
	VM_WARN_ON_ONCE(find_first_zero_bit(block->used, MA_BLOCK_UNITS) < block->free_from);
	*start = find_next_zero_bit(block->used, MA_BLOCK_UNITS,
				    max(from, block->free_from));
	if (*start >= MA_BLOCK_UNITS)
		return false;
	*end = ma_block_run_end(block, *start);
	return true;
}

/* Longest run of free units in @block. */
static unsigned int ma_block_largest_free(const struct ma_block *block)
{
	unsigned int start, end = 0, best = 0;

	while (ma_block_next_run(block, end, &start, &end))
		best = max(best, end - start);
	return best;
}

/* Take @block off the class lists: no new slot will land in it. */
void ma_block_unlist(struct ma_pool *pool, struct ma_block *block)
{
	unsigned int class;

	lockdep_assert_held(&pool->lock);
	if (list_empty(&block->node))
		return;
	class = ma_class(block->largest_free);
	list_del_init(&block->node);
	if (list_empty(&pool->classes[class]))
		__clear_bit(class, pool->nonempty);
}

/*
 * Re-file @block under its largest free extent, first in its class; full
 * and claimed blocks are not listed.  A block already first in that class
 * stays: so a run of takes or frees in one block moves no list entry.
 */
static void ma_block_file(struct ma_pool *pool, struct ma_block *block,
			  unsigned int largest_free)
{
	unsigned int class;

	lockdep_assert_held(&pool->lock);
	if (largest_free &&
	    pool->classes[ma_class(largest_free)].next == &block->node) {
		block->largest_free = largest_free;
		return;
	}
	ma_block_unlist(pool, block);
	block->largest_free = largest_free;
	if (!block->largest_free || block->claimed)
		return;
	class = ma_class(block->largest_free);
	list_add(&block->node, &pool->classes[class]);
	__set_bit(class, pool->nonempty);
}

void ma_block_reclass(struct ma_pool *pool, struct ma_block *block)
{
	ma_block_file(pool, block, ma_block_largest_free(block));
}

/* Where the free run that ends at @unit starts: scanned backwards. */
static unsigned int ma_block_run_start(const struct ma_block *block,
				       unsigned int unit)
{
	unsigned int prev = find_last_bit(block->used, unit);	/* @unit if none */

	return prev == unit ? 0 : prev + 1;
}

/*
 * @units at @unit were just freed in @block: only the free run around them
 * changed, and it can only have grown, so the largest free extent is the
 * larger of the old one and that run; no rescan of the whole bitmap.  Slots
 * freed in the order they were taken (a readback in order) each start
 * where the last free's run ended, so that run's start is known without
 * scanning back over it.  A claimed block is being rewritten by
 * compaction: rescan it.
 */
static void ma_block_freed(struct ma_pool *pool, struct ma_block *block,
			   unsigned int unit, unsigned int units)
{
	unsigned int start, end;

	if (block->claimed) {
		block->freed_end = 0;
		ma_block_reclass(pool, block);
		return;
	}
	if (unit && unit == block->freed_end)
		start = block->freed_start;
	else
		start = ma_block_run_start(block, unit);
	VM_WARN_ON_ONCE(start != ma_block_run_start(block, unit));
	end = ma_block_run_end(block, unit);
	block->freed_start = start;
	block->freed_end = end;
	ma_block_file(pool, block, max(block->largest_free, end - start));
	VM_WARN_ON_ONCE(block->largest_free != ma_block_largest_free(block));
}

/*
 * Best fit inside @block: the shortest free run of at least @units.  The
 * same scan finds the two longest runs, so @largest_after is the block's
 * largest free extent once @units are taken from the start of that run,
 * without a second scan.  -1 when no run holds @units.
 */
static int ma_block_fit(const struct ma_block *block, unsigned int units,
			unsigned int *largest_after)
{
	unsigned int start, end = 0, len, best = UINT_MAX, best_len = UINT_MAX;
	unsigned int max1 = 0, max2 = 0;	/* the two longest runs */

	while (ma_block_next_run(block, end, &start, &end)) {
		len = end - start;
		if (len >= max1) {
			max2 = max1;
			max1 = len;
		} else if (len > max2) {
			max2 = len;
		}
		if (len >= units && len < best_len) {
			best = start;
			best_len = len;
		}
	}
	if (best == UINT_MAX)
		return -1;
	/* Only the chosen run shrinks; if it was the longest, the next counts. */
	*largest_after = best_len == max1 ? max(max2, best_len - units) : max1;
	return best;
}

int ma_block_find(const struct ma_block *block, unsigned int units)
{
	unsigned int largest_after;

	return ma_block_fit(block, units, &largest_after);
}

/* A block whose largest free extent holds @units, best fitting first. */
struct ma_block *ma_pool_find_block(struct ma_pool *pool, unsigned int units)
{
	unsigned int class = ma_class(units);
	struct ma_block *block;
	int scanned = 0;

	lockdep_assert_held(&pool->lock);
	/* Above the linear classes a class spans sizes: check a few. */
	if (class >= MA_CLASS_LINEAR) {
		list_for_each_entry(block, &pool->classes[class], node) {
			if (block->largest_free >= units)
				return block;
			if (++scanned == 8)
				break;
		}
		class++;
	}
	class = find_next_bit(pool->nonempty, MA_NR_CLASSES, class);
	if (class >= MA_NR_CLASSES)
		return NULL;
	return list_first_entry(&pool->classes[class], struct ma_block, node);
}

static void ma_slot_take(struct ma_pool *pool, struct ma_block *block,
			 unsigned int unit, unsigned int largest_after, u32 len,
			 struct ma_chunk *owner, struct ma_slot *slot)
{
	struct ma_arena *arena = pool_arena(pool);
	unsigned int units = ma_slot_units(len);

	lockdep_assert_held(&pool->lock);
	ma_block_set_used(block, unit, units);
	block->used_units += units;
	block->nr_slots++;
	pool->used_units += units;
	ma_block_file(pool, block, largest_after);
	VM_WARN_ON_ONCE(block->largest_free != ma_block_largest_free(block));
	ma_slot_hdr(block, unit)->owner = owner;
	list_add(&owner->lru, &pool->lru);	/* the newest compressed chunk */
	slot->block = block;
	slot->unit = unit;
	slot->len = len;
	ma_stat_add(arena, MEM_ARENA_STAT_slot_bytes_live, units * MA_SLOT_ALIGN);
	ma_stat_add(arena, MEM_ARENA_STAT_compressed_bytes_live, len);
}

/*
 * A block's pages are the arena's spares first (spare.c): the pages its
 * compress pass lets go, neither allocated nor zeroed again, and no longer
 * charged to the opener once in the pool.  So a pass fills its blocks with
 * the pages it frees, even at a memory cgroup's limit.
 */
static struct ma_block *ma_block_create(struct ma_arena *arena)
{
	struct ma_block *block;
	unsigned int i;

	block = kzalloc(sizeof(*block), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
			__GFP_NOWARN);
	if (!block)
		return NULL;
	INIT_LIST_HEAD(&block->node);
	INIT_LIST_HEAD(&block->all);
	i = ma_spare_take(arena, block->pages, MA_BLOCK_PAGES);
	if (i) {
		ma_charge(arena, -(s64)i * PAGE_SIZE);
		ma_stat_add(arena, MEM_ARENA_STAT_recycled_pages, i);
	}
	for (; i < MA_BLOCK_PAGES; i++) {
		/* Called from ioctls only: fail rather than OOM-kill. */
		block->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
					     __GFP_NOWARN);
		if (!block->pages[i])
			goto out_free_pages;
	}
	block->vaddr = vmap(block->pages, MA_BLOCK_PAGES, VM_MAP, PAGE_KERNEL);
	if (!block->vaddr)
		goto out_free_pages;
	return block;

out_free_pages:
	while (i--)
		__free_page(block->pages[i]);
	kfree(block);
	return NULL;
}

/*
 * Free an emptied block.  Its pages become @arena's spares, as many as it
 * keeps (a readback empties blocks as it goes, and its next faults need
 * pages); with @arena NULL (compaction, asked to give memory back) they
 * all go back to the kernel.
 */
void ma_block_destroy(struct ma_arena *arena, struct ma_block *block)
{
	int i;

	vunmap(block->vaddr);
	for (i = 0; i < MA_BLOCK_PAGES; i++)
		if (!arena || !ma_spare_adopt(arena, block->pages[i]))
			__free_page(block->pages[i]);
	kfree(block);
}

/*
 * Reserve one block's bytes against the arena's cap (-ENOSPC) and the
 * module's (-ENOBUFS: the caller may have another tenant give room).
 */
static int ma_pool_reserve(struct ma_pool *pool)
{
	lockdep_assert_held(&pool->lock);
	if (pool->cap_bytes && pool->reserved_bytes + MA_BLOCK_SIZE > pool->cap_bytes)
		return -ENOSPC;
	if (atomic64_add_return(MA_BLOCK_SIZE, &ma_pool_reserved) > ma_pool_cap()) {
		atomic64_sub(MA_BLOCK_SIZE, &ma_pool_reserved);
		return -ENOBUFS;
	}
	pool->reserved_bytes += MA_BLOCK_SIZE;
	ma_tenant_pool_bytes(pool_arena(pool)->tenant, MA_BLOCK_SIZE);
	return 0;
}

static void ma_pool_unreserve(struct ma_pool *pool)
{
	lockdep_assert_held(&pool->lock);
	pool->reserved_bytes -= MA_BLOCK_SIZE;
	atomic64_sub(MA_BLOCK_SIZE, &ma_pool_reserved);
	ma_tenant_pool_bytes(pool_arena(pool)->tenant, -MA_BLOCK_SIZE);
}

/**
 * ma_pool_alloc - find a slot for @len data bytes owned by @owner
 *
 * Returns 0 and fills @slot; -ENOSPC (the arena's cap) or -ENOBUFS (the
 * module's) when the slot fits nowhere and another block would exceed a
 * cap (the caller may make room and retry); -ENOMEM when
 * the kernel had no pages; -E2BIG when it cannot fit even in an empty block.
 */
int ma_pool_alloc(struct ma_pool *pool, u32 len, struct ma_chunk *owner,
		  struct ma_slot *slot)
{
	struct ma_arena *arena = pool_arena(pool);
	unsigned int units = ma_slot_units(len), largest_after;
	struct ma_block *block;
	int unit, err;

	if (len > MA_SLOT_DATA_MAX)
		return -E2BIG;
	spin_lock(&pool->lock);
	block = ma_pool_find_block(pool, units);
	if (!block) {
		err = ma_pool_reserve(pool);
		spin_unlock(&pool->lock);
		if (err)
			return err;

		block = ma_block_create(arena);
		spin_lock(&pool->lock);
		if (!block) {
			ma_pool_unreserve(pool);
			spin_unlock(&pool->lock);
			ma_stat_inc(arena, MEM_ARENA_STAT_alloc_failures);
			return -ENOMEM;
		}
		/*
		 * The slot goes into the new block even if another block
		 * gained room meanwhile: a block made and left empty would
		 * never be released.
		 */
		pool->nr_blocks++;
		list_add_tail(&block->all, &pool->blocks);
		ma_stat_pool_bytes(arena, MA_BLOCK_SIZE);
		ma_block_reclass(pool, block);
	}
	unit = ma_block_fit(block, units, &largest_after);
	/* largest_free >= units guarantees a run. */
	if (WARN_ON_ONCE(unit < 0)) {
		spin_unlock(&pool->lock);
		return -EFAULT;
	}
	ma_slot_take(pool, block, unit, largest_after, len, owner, slot);
	spin_unlock(&pool->lock);
	return 0;
}

/* Unlink an empty @block from the pool; the caller destroys it unlocked. */
void ma_pool_drop_block(struct ma_pool *pool, struct ma_block *block)
{
	lockdep_assert_held(&pool->lock);
	ma_block_unlist(pool, block);
	list_del(&block->all);
	pool->nr_blocks--;
	ma_pool_unreserve(pool);
	ma_stat_pool_bytes(pool_arena(pool), -MA_BLOCK_SIZE);
}

/* Give @slot back; an emptied block returns to the kernel. */
void ma_pool_free(struct ma_pool *pool, struct ma_slot *slot)
{
	struct ma_arena *arena = pool_arena(pool);
	struct ma_block *block = slot->block;
	unsigned int units = ma_slot_units(slot->len);
	bool release = false;

	spin_lock(&pool->lock);
	list_del_init(&ma_slot_hdr(block, slot->unit)->owner->lru);
	ma_block_set_free(block, slot->unit, units);
	block->used_units -= units;
	block->nr_slots--;
	pool->used_units -= units;
	ma_stat_add(arena, MEM_ARENA_STAT_slot_bytes_live, -(s64)units * MA_SLOT_ALIGN);
	ma_stat_add(arena, MEM_ARENA_STAT_compressed_bytes_live, -(s64)slot->len);
	if (!block->used_units && !pool->compacting) {
		ma_pool_drop_block(pool, block);
		release = true;
	} else {
		ma_block_freed(pool, block, slot->unit, units);
	}
	ma_defrag_maybe_queue(pool);
	spin_unlock(&pool->lock);
	slot->block = NULL;
	if (release)
		ma_block_destroy(arena, block);
}

/*
 * The least recently used compressed chunk nobody holds, returned locked
 * (the LRU scan only trylocks: the caller may hold another chunk), or NULL.
 */
struct ma_chunk *ma_pool_lru_victim(struct ma_pool *pool)
{
	struct ma_chunk *pos, *victim = NULL;

	spin_lock(&pool->lock);
	list_for_each_entry_reverse(pos, &pool->lru, lru) {
		if (ma_chunk_trylock(pos)) {
			victim = pos;
			break;
		}
	}
	spin_unlock(&pool->lock);
	return victim;
}

/* A chunk whose slot cannot be decompressed is never chosen again. */
void ma_pool_lru_forget(struct ma_pool *pool, struct ma_chunk *chunk)
{
	ma_chunk_assert_locked(chunk);
	spin_lock(&pool->lock);
	list_del_init(&chunk->lru);
	spin_unlock(&pool->lock);
}

/* Largest free extent in any block, units. */
unsigned int ma_pool_largest_free(struct ma_pool *pool)
{
	struct ma_block *block;
	unsigned int class, best = 0;

	lockdep_assert_held(&pool->lock);
	class = find_last_bit(pool->nonempty, MA_NR_CLASSES);
	if (class >= MA_NR_CLASSES)
		return 0;
	list_for_each_entry(block, &pool->classes[class], node)
		best = max(best, block->largest_free);
	return best;
}

/**
 * ma_pool_layout - describe up to @max blocks from index @first
 *
 * Fills @out (a kernel buffer) and returns the number of entries; @total
 * gets the pool's block count.  One snapshot under the pool lock.
 */
unsigned int ma_pool_layout(struct ma_pool *pool, unsigned int first,
			    unsigned int max, struct mem_arena_block_info *out,
			    unsigned int *total)
{
	const unsigned int per_cell = MA_BLOCK_UNITS / MEM_ARENA_LAYOUT_CELLS;
	struct ma_block *block;
	unsigned int i = 0, n = 0, c;

	spin_lock(&pool->lock);
	*total = pool->nr_blocks;
	list_for_each_entry(block, &pool->blocks, all) {
		struct mem_arena_block_info *info = &out[n];

		if (i++ < first)
			continue;
		if (n == max)
			break;
		memset(info, 0, sizeof(*info));
		info->used_bytes = block->used_units * MA_SLOT_ALIGN;
		info->largest_free = ma_block_largest_free(block) * MA_SLOT_ALIGN;
		info->nr_slots = block->nr_slots;
		for (c = 0; c < MEM_ARENA_LAYOUT_CELLS; c++) {
			unsigned int lo = c * per_cell, hi = lo + per_cell;
			u64 cell = MEM_ARENA_CELL_PARTIAL;

			if (find_next_bit(block->used, hi, lo) >= hi)
				cell = MEM_ARENA_CELL_FREE;
			else if (find_next_zero_bit(block->used, hi, lo) >= hi)
				cell = MEM_ARENA_CELL_FULL;
			info->cells[c / 32] |= cell << (2 * (c % 32));
		}
		n++;
	}
	spin_unlock(&pool->lock);
	return n;
}

void ma_pool_init(struct ma_pool *pool)
{
	int i;

	spin_lock_init(&pool->lock);
	mutex_init(&pool->compact_lock);
	INIT_DELAYED_WORK(&pool->defrag_work, ma_defrag_work);
	INIT_LIST_HEAD(&pool->blocks);
	INIT_LIST_HEAD(&pool->lru);
	for (i = 0; i < MA_NR_CLASSES; i++)
		INIT_LIST_HEAD(&pool->classes[i]);
}

/* Every slot must have been freed: a block left here is a leak. */
void ma_pool_destroy(struct ma_pool *pool)
{
	WARN_ON(pool->nr_blocks || pool->reserved_bytes || !list_empty(&pool->lru) ||
		!list_empty(&pool->blocks));
	mutex_destroy(&pool->compact_lock);
}
