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
 * shrinker is memcg aware, as the inode and dentry caches are: each spare
 * has a small record (struct ma_spare) charged to the memory cgroup its
 * page is charged to, on its arena's list_lru, which files it under that
 * cgroup and the page's NUMA node (before 6.13, the record's node).  So
 * reclaim at a cgroup's limit frees the spares of that cgroup and its
 * descendants, not other cgroups'; reclaim of the whole machine frees
 * anyone's.  The oldest on a list go first, to the shrinker and to the
 * arena's own allocations.
 *
 * Locking:
 *   An arena's spares are on its list_lru, under the list_lru's own
 *   locks; ma_arena.nr_spares (atomic) bounds them and may run ahead of
 *   the list by the spares being kept or taken.  Nothing is taken under
 *   a list_lru lock: spares are isolated onto a private list, and freed,
 *   uncharged or handed out after.
 *   ma_spare_arenas_lock (spinlock) guards ma_spare_arenas, the arenas
 *   whose spares the shrinker may free: an arena is on it from open until
 *   its release takes it off, then frees what it kept.  The shrinker runs
 *   inside allocations, so it must not wait for a lock whose holders
 *   allocate (ma_arenas_lock's do: a tenant attach allocates under it); this
 *   one is held only to walk the lists, free pages and drop charges, which
 *   never sleep.
 *   Order: ma_spare_arenas_lock -> list_lru locks, charge_lock.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/highmem.h>
#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>

#include "arena.h"
#include "compat.h"

/* A spare page, on its arena's list_lru. */
struct ma_spare {
	struct list_head lru;
	struct page *page;
};

/* Kept on any path, under any lock: never sleep, fail instead. */
#define MA_SPARE_GFP	(GFP_NOWAIT | __GFP_NOWARN)

static unsigned int ma_spare_max = 256;	/* pages per arena; sysfs */
static struct kmem_cache *ma_spare_cache;
static struct shrinker *ma_spare_shrinker;
static DEFINE_SPINLOCK(ma_spare_arenas_lock);
static LIST_HEAD(ma_spare_arenas);	/* protected by ma_spare_arenas_lock */

/* @arena may keep spares from now on; the shrinker sees it. */
int ma_spare_init(struct ma_arena *arena)
{
	int err = list_lru_init_memcg(&arena->spares, ma_spare_shrinker);

	if (err)
		return err;
	spin_lock(&ma_spare_arenas_lock);
	list_add_tail(&arena->spare_node, &ma_spare_arenas);
	spin_unlock(&ma_spare_arenas_lock);
	return 0;
}

static void ma_spare_count(struct ma_arena *arena, long pages)
{
	ma_stat_add(arena, MEM_ARENA_STAT_spare_bytes, pages * (s64)PAGE_SIZE);
}

/*
 * File @page under the memory cgroup it is charged to, and its node: a
 * record charged there too (the list_lru allocates that cgroup's list
 * with it), whose reclaim then finds it.  An uncharged page's record is
 * uncharged and goes on the root's list.  False when the record cannot be
 * had: at the cgroup's limit the page is better given back.  Only the
 * walks' isolation takes a record off (list_lru_del_obj() would look
 * under the record's node).
 */
static bool ma_spare_list(struct ma_arena *arena, struct page *page)
{
	struct mem_cgroup *memcg, *old;
	struct ma_spare *spare;

	rcu_read_lock();
	memcg = page_memcg_check(page);
	old = set_active_memcg(memcg);
	spare = kmem_cache_alloc_lru(ma_spare_cache, &arena->spares,
				     memcg ? MA_SPARE_GFP | __GFP_ACCOUNT : MA_SPARE_GFP);
	set_active_memcg(old);
	if (spare) {
		INIT_LIST_HEAD(&spare->lru);	/* list_lru_add() adds only an unlisted item */
		spare->page = page;
		ma_list_lru_add(&arena->spares, &spare->lru, page_to_nid(page), memcg);
	}
	rcu_read_unlock();
	return spare;
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
	if (page_count(page) != 1)
		return false;
	if (atomic_inc_return(&arena->nr_spares) > READ_ONCE(ma_spare_max) ||
	    !ma_spare_list(arena, page)) {
		atomic_dec(&arena->nr_spares);
		return false;
	}
	ma_spare_count(arena, 1);
	return true;
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
	if (atomic_read(&arena->nr_spares) >= READ_ONCE(ma_spare_max))
		return false;
	if (ma_charge_quiet(arena, PAGE_SIZE))
		return false;
	if (ma_spare_keep(arena, page))
		return true;
	ma_charge(arena, -(s64)PAGE_SIZE);
	return false;
}

static MA_LRU_WALK_CB(ma_spare_isolate)
{
	list_lru_isolate_move(list, item, arg);
	return LRU_REMOVED;
}

/*
 * Take up to @nr spares into @pages, the oldest first.  They stay
 * charged; returns how many.
 */
unsigned int ma_spare_take(struct ma_arena *arena, struct page **pages,
			   unsigned int nr)
{
	struct ma_spare *spare, *next;
	unsigned int n = 0;
	LIST_HEAD(taken);

	/* A racy peek: a spare kept meanwhile is only taken next time. */
	if (!atomic_read(&arena->nr_spares))
		return 0;
	/* Every spare walked is taken: the walk stops after @nr. */
	list_lru_walk(&arena->spares, ma_spare_isolate, &taken, nr);
	list_for_each_entry_safe(spare, next, &taken, lru) {
		pages[n++] = spare->page;
		kmem_cache_free(ma_spare_cache, spare);
	}
	if (n) {
		atomic_sub(n, &arena->nr_spares);
		ma_spare_count(arena, -(long)n);
	}
	return n;
}

/* Free the spares isolated on @list and drop their charge; how many. */
static unsigned long ma_spare_free(struct ma_arena *arena, struct list_head *list)
{
	struct ma_spare *spare, *next;
	unsigned long n = 0;

	list_for_each_entry_safe(spare, next, list, lru) {
		put_page(spare->page);
		kmem_cache_free(ma_spare_cache, spare);
		n++;
	}
	if (n) {
		atomic_sub(n, &arena->nr_spares);
		ma_spare_count(arena, -(long)n);
		ma_charge(arena, -(s64)n * PAGE_SIZE);
	}
	return n;
}

/*
 * @arena closes: once off the shrinker's list, nothing but this frees its
 * spares; it keeps no more (its regions are gone).
 */
void ma_spare_exit(struct ma_arena *arena)
{
	LIST_HEAD(list);

	spin_lock(&ma_spare_arenas_lock);
	list_del(&arena->spare_node);
	spin_unlock(&ma_spare_arenas_lock);
	list_lru_walk(&arena->spares, ma_spare_isolate, &list, ULONG_MAX);
	ma_spare_free(arena, &list);
	WARN_ON(atomic_read(&arena->nr_spares));
	list_lru_destroy(&arena->spares);
}

/* What this reclaim (its cgroup, its node) could take from every arena. */
static unsigned long ma_spare_shrink_count(struct shrinker *shrinker,
					   struct shrink_control *sc)
{
	struct ma_arena *arena;
	unsigned long n = 0;

	spin_lock(&ma_spare_arenas_lock);
	list_for_each_entry(arena, &ma_spare_arenas, spare_node)
		if (atomic_read(&arena->nr_spares))
			n += list_lru_shrink_count(&arena->spares, sc);
	spin_unlock(&ma_spare_arenas_lock);
	return n ? n : SHRINK_EMPTY;
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
		unsigned long n;
		LIST_HEAD(list);

		if (!atomic_read(&arena->nr_spares))
			continue;
		/* This reclaim's cgroup and node only; counts nr_to_scan down. */
		list_lru_shrink_walk(&arena->spares, sc, ma_spare_isolate, &list);
		n = ma_spare_free(arena, &list);
		if (n) {
			freed += n;
			last = arena;
		}
		if (!sc->nr_to_scan)
			break;
	}
	/* The head goes after the last arena: the next scan starts past it. */
	if (last)
		list_move(&ma_spare_arenas, &last->spare_node);
	spin_unlock(&ma_spare_arenas_lock);
	ma_account_reclaimed_pages(freed);
	return freed;
}

int ma_spare_shrinker_init(void)
{
	ma_spare_cache = KMEM_CACHE(ma_spare, 0);
	if (!ma_spare_cache)
		return -ENOMEM;
	ma_spare_shrinker = ma_shrinker_create("mem_arena-spare",
					       SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE,
					       ma_spare_shrink_count,
					       ma_spare_shrink_scan);
	if (!ma_spare_shrinker) {
		kmem_cache_destroy(ma_spare_cache);
		return -ENOMEM;
	}
	return 0;
}

void ma_spare_shrinker_exit(void)
{
	ma_shrinker_destroy(ma_spare_shrinker);
	kmem_cache_destroy(ma_spare_cache);
}

static struct ma_uint_attr ma_spare_attr =
	MA_UINT_ATTR(spare_pages, ma_spare_max, UINT_MAX);
static struct attribute *ma_spare_attrs[] = { &ma_spare_attr.kattr.attr, NULL };
const struct attribute_group ma_spare_attr_group = { .attrs = ma_spare_attrs };
