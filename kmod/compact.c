// SPDX-License-Identifier: GPL-2.0
/*
 * Pool compaction: pack live slots into the densest blocks and give the
 * emptied ones back to the kernel.
 *
 * One pass takes a snapshot of the blocks sorted densest first.  The
 * densest block is the destination: its slots slide towards its start
 * ("squeeze") so that its free space becomes one extent, which is then
 * filled with slots from the sparsest block, the source.  An emptied
 * source is released; a full destination hands over to the next densest.
 * The pass stops when perfect packing could not free one more block.
 *
 * Locking:
 *   ma_pool.compact_lock (mutex) lets one pass run per arena.  It is taken
 *   with a chunk lock and a stream held (compaction before eviction) or
 *   with nothing held (ioctl, background work); a pass never waits for a
 *   chunk lock, so this cannot deadlock.
 *   Each slot moves under ma_pool.lock with its owner's chunk lock taken
 *   by ma_chunk_trylock(): a chunk being faulted back, compressed, evicted
 *   or freed is skipped, never waited for and never read mid-move.  The
 *   pool lock is dropped between slots, so faults on other chunks wait at
 *   most one slot copy.
 *   While a pass runs, ma_pool.compacting keeps ma_pool_free() from
 *   releasing emptied blocks (the snapshot points at them); the pass
 *   releases them at its end.  The two blocks being worked on are claimed:
 *   off the class lists, so no new slot lands in them meanwhile.
 *   ma_pool.dying (under the pool lock) stops background work from being
 *   queued; ma_pool_stop_background() cancels what is queued, before the
 *   arena's memory goes away.
 *   Order: chunk lock -> stream -> compact_lock -> pool lock.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "arena.h"
#include "pool_internal.h"
#include "compat.h"

/*
 * Background compaction above this share of free bytes in the pool; 0 off.
 * It runs defrag_delay_ms after the free that crossed the threshold, once
 * however many frees follow: a readback in random order frees slots all
 * over the pool, and compacting at once would move the slots it is about
 * to decompress (a 64 MiB random readback moved more bytes than the whole
 * pool held, in 13-15 passes).  Plain values written by sysfs and read
 * with READ_ONCE().
 */
static unsigned int ma_defrag_threshold_pct = 50;
static unsigned int ma_defrag_delay_ms = 1000;

static struct ma_uint_attr ma_defrag_attr =
	MA_UINT_ATTR(defrag_threshold_pct, ma_defrag_threshold_pct, 100);
static struct ma_uint_attr ma_defrag_delay_attr =
	MA_UINT_ATTR(defrag_delay_ms, ma_defrag_delay_ms, 60000);
static struct attribute *ma_defrag_attrs[] = {
	&ma_defrag_attr.kattr.attr,
	&ma_defrag_delay_attr.kattr.attr,
	NULL,
};
const struct attribute_group ma_defrag_attr_group = { .attrs = ma_defrag_attrs };

/* Blocks that perfect packing would free. */
static unsigned long ma_pool_freeable(const struct ma_pool *pool)
{
	return pool->nr_blocks - DIV_ROUND_UP(pool->used_units, MA_BLOCK_UNITS);
}

static unsigned long ma_pool_free_units(const struct ma_pool *pool)
{
	return pool->nr_blocks * MA_BLOCK_UNITS - pool->used_units;
}

/*
 * Worth a pass: a block could be freed, and the pool gained half a block
 * of free space since the last pass that freed nothing.
 */
static bool ma_pool_worth_compacting(const struct ma_pool *pool)
{
	lockdep_assert_held(&pool->lock);
	return ma_pool_freeable(pool) &&
	       ma_pool_free_units(pool) >= pool->futile_free_units + MA_BLOCK_UNITS / 2;
}

static void ma_block_claim(struct ma_pool *pool, struct ma_block *block)
{
	lockdep_assert_held(&pool->lock);
	block->claimed = true;
	ma_block_unlist(pool, block);
}

static void ma_block_unclaim(struct ma_pool *pool, struct ma_block *block)
{
	lockdep_assert_held(&pool->lock);
	block->claimed = false;
	ma_block_reclass(pool, block);
}

static struct ma_chunk *ma_slot_owner(struct ma_block *block, unsigned int unit)
{
	struct ma_slot_hdr *hdr = ma_slot_hdr(block, unit);

	WARN_ON_ONCE(hdr->owner->slot.block != block || hdr->owner->slot.unit != unit);
	return hdr->owner;
}

/* Move @owner's slot to @to in @dst (possibly its own block, overlapping). */
static void ma_slot_relocate(struct ma_chunk *owner, struct ma_block *dst,
			     unsigned int to, struct ma_defrag_result *res)
{
	struct ma_block *src = owner->slot.block;
	unsigned int from = owner->slot.unit;
	unsigned int units = ma_slot_units(owner->slot.len);

	memmove(dst->vaddr + to * MA_SLOT_ALIGN, src->vaddr + from * MA_SLOT_ALIGN,
		units * MA_SLOT_ALIGN);
	ma_block_set_free(src, from, units);
	ma_block_set_used(dst, to, units);
	src->freed_end = 0;	/* its last free's run may have changed */
	if (src != dst) {
		src->used_units -= units;
		src->nr_slots--;
		dst->used_units += units;
		dst->nr_slots++;
	}
	owner->slot.block = dst;
	owner->slot.unit = to;
	res->bytes_moved += units * MA_SLOT_ALIGN;
	res->slots_moved++;
}

/* Slide @block's slots to its start: its free space becomes one extent. */
static void ma_block_squeeze(struct ma_pool *pool, struct ma_block *block,
			     struct ma_defrag_result *res)
{
	unsigned int w = 0, u = 0, next;

	for (;;) {
		struct ma_chunk *owner;

		spin_lock(&pool->lock);
		u = find_next_bit(block->used, MA_BLOCK_UNITS, u);
		if (u >= MA_BLOCK_UNITS) {
			spin_unlock(&pool->lock);
			return;
		}
		owner = ma_slot_owner(block, u);
		next = u + ma_slot_units(owner->slot.len);
		/* [w, u) is free: slide the slot down to w. */
		if (w < u && find_next_bit(block->used, u, w) >= u &&
		    ma_chunk_trylock(owner)) {
			ma_slot_relocate(owner, block, w, res);
			w += next - u;
			spin_unlock(&pool->lock);
			ma_chunk_unlock(owner);
		} else {
			w = next;	/* in place, or busy: stays */
			spin_unlock(&pool->lock);
		}
		u = next;
		cond_resched();
	}
}

enum ma_drain { MA_DRAIN_EMPTIED, MA_DRAIN_DST_FULL, MA_DRAIN_BUSY };

/* Move what fits of @src's slots into @dst. */
static enum ma_drain ma_block_drain(struct ma_pool *pool, struct ma_block *src,
				    struct ma_block *dst,
				    struct ma_defrag_result *res)
{
	enum ma_drain ret = MA_DRAIN_EMPTIED;
	unsigned int u = 0, next;

	for (;;) {
		struct ma_chunk *owner;
		int to;

		spin_lock(&pool->lock);
		u = find_next_bit(src->used, MA_BLOCK_UNITS, u);
		if (u >= MA_BLOCK_UNITS) {
			spin_unlock(&pool->lock);
			return ret;
		}
		owner = ma_slot_owner(src, u);
		next = u + ma_slot_units(owner->slot.len);
		to = ma_block_find(dst, next - u);
		if (to < 0) {
			ret = MA_DRAIN_DST_FULL;	/* a smaller one may fit */
			spin_unlock(&pool->lock);
		} else if (!ma_chunk_trylock(owner)) {
			if (ret == MA_DRAIN_EMPTIED)
				ret = MA_DRAIN_BUSY;
			spin_unlock(&pool->lock);
		} else {
			ma_slot_relocate(owner, dst, to, res);
			spin_unlock(&pool->lock);
			ma_chunk_unlock(owner);
		}
		u = next;
		cond_resched();
	}
}

struct ma_block_key {
	struct ma_block *block;
	unsigned int used;
};

static int ma_denser_first(const void *a, const void *b)
{
	const struct ma_block_key *x = a, *y = b;

	return x->used == y->used ? 0 : x->used > y->used ? -1 : 1;
}

/* The pool's blocks, densest first; NULL if none or no memory. */
static struct ma_block_key *ma_pool_snapshot(struct ma_pool *pool,
					     unsigned int *nr)
{
	struct ma_block_key *keys;
	struct ma_block *block;
	unsigned int cap, n = 0;

	spin_lock(&pool->lock);
	cap = pool->nr_blocks;
	spin_unlock(&pool->lock);
	if (!cap)
		return NULL;
	keys = kvmalloc_array(cap, sizeof(*keys), GFP_KERNEL | __GFP_NOWARN);
	if (!keys)
		return NULL;
	spin_lock(&pool->lock);
	list_for_each_entry(block, &pool->blocks, all) {
		if (n == cap)
			break;
		keys[n].block = block;
		keys[n].used = block->used_units;
		n++;
	}
	spin_unlock(&pool->lock);
	sort(keys, n, sizeof(*keys), ma_denser_first, NULL);
	*nr = n;
	return keys;
}

/* At the end of a pass: release every block that emptied. */
static u64 ma_pool_release_empty(struct ma_pool *pool)
{
	struct ma_block *block, *tmp;
	LIST_HEAD(dead);
	u64 pages = 0;

	spin_lock(&pool->lock);
	pool->compacting = false;
	list_for_each_entry_safe(block, tmp, &pool->blocks, all) {
		if (block->used_units)
			continue;
		ma_pool_drop_block(pool, block);
		list_add(&block->node, &dead);
	}
	spin_unlock(&pool->lock);
	list_for_each_entry_safe(block, tmp, &dead, node) {
		ma_block_destroy(NULL, block);
		pages += MA_BLOCK_PAGES;
	}
	return pages;
}

static void ma_pool_pass(struct ma_pool *pool, struct ma_defrag_result *res)
{
	struct ma_block_key *keys;
	unsigned int nr = 0, d = 0, s;
	bool squeezed = false;

	/*
	 * Before the snapshot: from here on no block is released but by this
	 * pass, so the snapshot's pointers stay valid to its end.
	 */
	spin_lock(&pool->lock);
	pool->compacting = true;
	spin_unlock(&pool->lock);
	keys = ma_pool_snapshot(pool, &nr);

	for (s = nr - 1; keys && d < s;) {
		struct ma_block *dst = keys[d].block, *src = keys[s].block;
		enum ma_drain r;

		spin_lock(&pool->lock);
		if (!ma_pool_freeable(pool)) {
			spin_unlock(&pool->lock);
			break;
		}
		ma_block_claim(pool, dst);
		ma_block_claim(pool, src);
		spin_unlock(&pool->lock);

		if (!squeezed) {
			ma_block_squeeze(pool, dst, res);
			squeezed = true;
		}
		r = ma_block_drain(pool, src, dst, res);

		spin_lock(&pool->lock);
		ma_block_unclaim(pool, dst);
		ma_block_unclaim(pool, src);
		spin_unlock(&pool->lock);
		if (r == MA_DRAIN_DST_FULL) {
			d++;
			squeezed = false;
		} else {
			s--;
		}
	}
	res->pages_released = ma_pool_release_empty(pool);
	kvfree(keys);
}

/**
 * ma_pool_compact - compact @pool until no block can be freed
 *
 * Runs whenever asked (the ioctl); compaction before eviction and in the
 * background go through ma_pool_worth_compacting() first.
 */
void ma_pool_compact(struct ma_pool *pool, struct ma_defrag_result *res)
{
	struct ma_arena *arena = pool_arena(pool);
	unsigned long free_units;

	memset(res, 0, sizeof(*res));
	mutex_lock(&pool->compact_lock);
	ma_pool_pass(pool, res);
	spin_lock(&pool->lock);
	free_units = ma_pool_free_units(pool);
	pool->futile_free_units = res->pages_released ? 0 : free_units;
	spin_unlock(&pool->lock);
	mutex_unlock(&pool->compact_lock);

	ma_stat_inc(arena, MEM_ARENA_STAT_defrag_runs);
	ma_stat_add(arena, MEM_ARENA_STAT_defrag_bytes_moved, res->bytes_moved);
	ma_stat_add(arena, MEM_ARENA_STAT_defrag_pages_released, res->pages_released);
	ma_event_defrag(arena, res);
}

/*
 * Before evicting to honour the cap: compact if that can free a block.
 * Returns true when it freed some, so the caller retries its allocation.
 */
bool ma_pool_compact_for_room(struct ma_pool *pool)
{
	struct ma_defrag_result res;
	bool worth;

	spin_lock(&pool->lock);
	worth = ma_pool_worth_compacting(pool);
	spin_unlock(&pool->lock);
	if (!worth)
		return false;
	ma_pool_compact(pool, &res);
	return res.pages_released;
}

/* After a free: queue background compaction if the pool is fragmented. */
void ma_defrag_maybe_queue(struct ma_pool *pool)
{
	unsigned int pct = READ_ONCE(ma_defrag_threshold_pct);
	u64 bytes = (u64)pool->nr_blocks * MA_BLOCK_SIZE;
	u64 free = (u64)ma_pool_free_units(pool) * MA_SLOT_ALIGN;

	lockdep_assert_held(&pool->lock);
	if (!pct || pool->dying || pool->compacting ||
	    free * 100 < bytes * pct || !ma_pool_worth_compacting(pool))
		return;
	/* Already queued: that pass will see this free too. */
	queue_delayed_work(ma_unbound_wq, &pool->defrag_work,
			   msecs_to_jiffies(READ_ONCE(ma_defrag_delay_ms)));
}

void ma_defrag_work(struct work_struct *work)
{
	struct ma_pool *pool = container_of(to_delayed_work(work), struct ma_pool,
					    defrag_work);
	struct ma_defrag_result res;

	ma_pool_compact(pool, &res);
}

/* Before the arena is torn down: no background compaction runs or comes. */
void ma_pool_stop_background(struct ma_pool *pool)
{
	spin_lock(&pool->lock);
	pool->dying = true;
	spin_unlock(&pool->lock);
	cancel_delayed_work_sync(&pool->defrag_work);
}
