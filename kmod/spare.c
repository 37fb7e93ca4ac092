// SPDX-License-Identifier: GPL-2.0
/*
 * Spare pages: what a compress lets go, kept for the next decompression.
 *
 * A page allocated for a fault or a touch is zeroed first when the kernel
 * boots with init_on_alloc=1 (Debian's default), though a decompression
 * overwrites all of it.  So an arena keeps up to spare_pages of the pages
 * its compress, discard and region free let go, and of its pool's emptied
 * blocks (a readback empties them as it goes), and hands them to its next
 * allocations: a decompression, a same-filled fill, a copy or a new pool
 * block overwrite a spare whole; an empty chunk's fault clears the one it
 * takes.  A spare
 * held this arena's data only, stays charged to the memory cgroup it was
 * allocated in, and is charged to the opener's RLIMIT_MEMLOCK (charge.c):
 * an arena holds its raw pages, its slots and its spares.  A pool page is
 * not charged to the opener, so it becomes a spare only if the limit has
 * room for it.  Only a page nobody else references becomes a spare (a
 * pinned one stays its pinner's).
 *
 * Spares go back to the kernel when the arena closes and under memory
 * pressure, through one module-wide shrinker; lowering spare_pages stops
 * arenas from keeping more, and what they hold goes as it is used.  The
 * shrinker is not memcg aware, so a cgroup's own limit does not reclaim
 * spares: the per-arena bound (default 256 pages, 1 MiB of 4 KiB pages)
 * keeps that small.
 *
 * Locking:
 *   ma_arena.spare_lock (spinlock) guards the arena's spare list and count;
 *   nothing is taken under it: pages are freed and charges dropped after.
 *   ma_spare_arenas_lock (spinlock) guards ma_spare_arenas, the arenas
 *   whose spares the shrinker may free: an arena is on it from open until
 *   its release takes it off, then frees what it kept.  The shrinker runs
 *   inside allocations, so it must not wait for a lock whose holders
 *   allocate (ma_arenas_lock's do: a tenant attach allocates under it); this
 *   one is held only to free pages and drop charges, which never sleep.
 *   Order: ma_spare_arenas_lock -> ma_arena.spare_lock, charge_lock.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/shrinker.h>

#include "arena.h"
#include "compat.h"

static unsigned int ma_spare_max = 256;	/* pages per arena; sysfs */
static atomic_long_t ma_spare_all;	/* every arena's spares: the shrinker's count */
static struct shrinker *ma_spare_shrinker;
static DEFINE_SPINLOCK(ma_spare_arenas_lock);
static LIST_HEAD(ma_spare_arenas);	/* protected by ma_spare_arenas_lock */

/* @arena may keep spares from now on; the shrinker sees it. */
void ma_spare_init(struct ma_arena *arena)
{
	spin_lock_init(&arena->spare_lock);
	INIT_LIST_HEAD(&arena->spares);
	spin_lock(&ma_spare_arenas_lock);
	list_add_tail(&arena->spare_node, &ma_spare_arenas);
	spin_unlock(&ma_spare_arenas_lock);
}

static void ma_spare_count(struct ma_arena *arena, long pages)
{
	atomic_long_add(pages, &ma_spare_all);
	ma_stat_add(arena, MEM_ARENA_STAT_spare_bytes, pages * (s64)PAGE_SIZE);
}

/**
 * ma_spare_keep - keep a page the arena lets go, for its next allocation
 * @page: charged to the arena, and referenced by nobody else
 *
 * Returns true when it was kept (its charge stays), false when the caller
 * must free it (and drop its charge): pinned, or the arena holds enough.
 */
bool ma_spare_keep(struct ma_arena *arena, struct page *page)
{
	bool kept = false;

	if (page_count(page) != 1)
		return false;
	spin_lock(&arena->spare_lock);
	if (arena->nr_spares < READ_ONCE(ma_spare_max)) {
		list_add(&page->lru, &arena->spares);
		arena->nr_spares++;
		kept = true;
	}
	spin_unlock(&arena->spare_lock);
	if (kept)
		ma_spare_count(arena, 1);
	return kept;
}

/**
 * ma_spare_adopt - keep a page of an emptied pool block as a spare
 * @page: allocated for this arena's pool, unmapped, referenced by nobody else
 *
 * The pool's pages are not charged to the opener (the pool's own cap bounds
 * them); a spare is, so the page is kept only if the opener's limit has
 * room.  Returns true when it was kept, false when the caller must free it.
 */
bool ma_spare_adopt(struct ma_arena *arena, struct page *page)
{
	/* A racy peek: freeing a large region fills the spares early on. */
	if (data_race(arena->nr_spares) >= READ_ONCE(ma_spare_max))
		return false;
	if (ma_charge_quiet(arena, PAGE_SIZE))
		return false;
	if (ma_spare_keep(arena, page))
		return true;
	ma_charge(arena, -(s64)PAGE_SIZE);
	return false;
}

/*
 * Take up to @nr spares into @pages (most recently kept first: the warmest
 * in the cache).  They stay charged; returns how many.
 */
unsigned int ma_spare_take(struct ma_arena *arena, struct page **pages,
			   unsigned int nr)
{
	unsigned int n = 0;

	/* A racy peek: a spare kept meanwhile is only taken next time. */
	if (!data_race(arena->nr_spares))
		return 0;
	spin_lock(&arena->spare_lock);
	for (; n < nr && arena->nr_spares; n++) {
		pages[n] = list_first_entry(&arena->spares, struct page, lru);
		list_del(&pages[n]->lru);
		arena->nr_spares--;
	}
	spin_unlock(&arena->spare_lock);
	if (n)
		ma_spare_count(arena, -(long)n);
	return n;
}

/* Free up to @max spares and drop their charge; returns how many. */
static unsigned long ma_spare_drain(struct ma_arena *arena, unsigned long max)
{
	struct page *page, *next;
	unsigned long n = 0;
	LIST_HEAD(list);

	spin_lock(&arena->spare_lock);
	for (; n < max && arena->nr_spares; n++) {
		list_move(arena->spares.next, &list);
		arena->nr_spares--;
	}
	spin_unlock(&arena->spare_lock);
	if (!n)
		return 0;
	list_for_each_entry_safe(page, next, &list, lru) {
		list_del(&page->lru);
		put_page(page);
	}
	ma_spare_count(arena, -(long)n);
	ma_charge(arena, -(s64)n * PAGE_SIZE);
	return n;
}

/*
 * @arena closes: once off the shrinker's list, nothing but this frees its
 * spares; it keeps no more (its regions are gone).
 */
void ma_spare_exit(struct ma_arena *arena)
{
	spin_lock(&ma_spare_arenas_lock);
	list_del(&arena->spare_node);
	spin_unlock(&ma_spare_arenas_lock);
	ma_spare_drain(arena, ULONG_MAX);
}

static unsigned long ma_spare_shrink_count(struct shrinker *shrinker,
					   struct shrink_control *sc)
{
	long n = atomic_long_read(&ma_spare_all);

	return n > 0 ? n : SHRINK_EMPTY;
}

/*
 * Arenas give up their spares in turn: a scan starts after the arena the
 * last one stopped at, so pressure that asks for a batch at a time takes
 * from each arena alike rather than emptying the first ones on the list.
 */
static unsigned long ma_spare_shrink_scan(struct shrinker *shrinker,
					  struct shrink_control *sc)
{
	struct ma_arena *arena, *last = NULL;
	unsigned long freed = 0;

	spin_lock(&ma_spare_arenas_lock);
	list_for_each_entry(arena, &ma_spare_arenas, spare_node) {
		/* A racy peek: an arena that keeps one meanwhile is seen next time. */
		if (!data_race(arena->nr_spares))
			continue;
		freed += ma_spare_drain(arena, sc->nr_to_scan - freed);
		last = arena;
		if (freed >= sc->nr_to_scan)
			break;
	}
	/* The head goes after the last arena: the next scan starts past it. */
	if (last)
		list_move(&ma_spare_arenas, &last->spare_node);
	spin_unlock(&ma_spare_arenas_lock);
	return freed;
}

int ma_spare_shrinker_init(void)
{
	ma_spare_shrinker = ma_shrinker_create("mem_arena-spare",
					       ma_spare_shrink_count,
					       ma_spare_shrink_scan);
	return ma_spare_shrinker ? 0 : -ENOMEM;
}

void ma_spare_shrinker_exit(void)
{
	ma_shrinker_destroy(ma_spare_shrinker);
}

static struct ma_uint_attr ma_spare_attr =
	MA_UINT_ATTR(spare_pages, ma_spare_max, UINT_MAX);
static struct attribute *ma_spare_attrs[] = { &ma_spare_attr.kattr.attr, NULL };
const struct attribute_group ma_spare_attr_group = { .attrs = ma_spare_attrs };
