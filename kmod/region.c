// SPDX-License-Identifier: GPL-2.0
/*
 * Regions: allocation, lifetime, mmap and the fault path.
 *
 * Locking:
 *   ma_arena.regions (xarray, its own spinlock) maps ids to regions; the
 *   xarray holds one reference, every VMA another, and lookups take one
 *   under RCU with kref_get_unless_zero(), so the region struct itself is
 *   freed only after a grace period (kfree_rcu).
 *   ma_arena.lock (mutex) serialises region alloc/free against config.
 *   ma_region.chunks (xarray, its own spinlock): a chunk is created on
 *   first touch (xa_cmpxchg, the loser frees its copy) and freed with the
 *   region, so metadata grows with what is touched, not with the length.
 *   ma_region.dead is set once by region free before it empties the chunks.
 *   The fault path installs its PTE with vm_insert_page() under the chunk
 *   lock and reads dead under it too, so a fault either maps the page
 *   before region free empties that chunk (whose unmap then removes the
 *   PTE) or sees dead and raises SIGBUS.
 *   ma_region.snapshot_lock (rw_semaphore) is held shared by each fault of
 *   the region, around the chunk lock, and exclusive by a snapshot COPY of
 *   the region (ma_region_copy()), as a file's invalidate_lock is by
 *   faults and truncate: every PTE is installed under it shared, so once
 *   the copy holds it and has unmapped the range, writers of the source
 *   wait in their faults until the copy is whole.
 *   Asynchronous readahead: MA_RA_QUEUED in ma_region.ra_flags (a bit
 *   lock, test_and_set_bit_lock) owns the window fields and ra_work; the
 *   queued work holds a region reference.  The work only trylocks chunk
 *   locks, so it never waits for a fault, and stops at a dead region.  A
 *   compress or discard pass cancels a queued work (and drops what it
 *   held) or waits for a running one, with no lock held.
 *   Every queued work of an arena has ended before the arena is freed
 *   (ma_region_free_all() flushes ma_wq): works are queued by
 *   faults only, and no fault can come once the last mapping, which
 *   holds the file, is gone.
 *   A parallel TOUCH's helpers (ma_region_walk_parallel()) live on the
 *   caller's stack, which waits for them within the ioctl, under its
 *   region reference; they share nothing but atomics, and take chunk
 *   locks one at a time as every walk does.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/fs.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/sizes.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "arena.h"
#include "compat.h"

/* A COMPRESS walk unmaps this many bytes of chunks at once. */
#define MA_UNMAP_WINDOW		SZ_2M
/* What a sequential fault stream keeps decompressed ahead of itself. */
#define MA_READAHEAD_BYTES	SZ_128K
/*
 * ... and what a worker reads (MEM_ARENA_CONFIG_READAHEAD_ASYNC): each
 * window wakes it once, and a readback in 128 KiB windows takes 12-19%
 * more CPU (bench/README.md).
 */
#define MA_READAHEAD_ASYNC_BYTES SZ_512K

/* ma_region.ra_flags */
#define MA_RA_QUEUED		0

static struct workqueue_struct *ma_wq;
static void ma_region_readahead_work(struct work_struct *work);
static void ma_region_readahead_cancel(struct ma_region *region);

/* mmap offset of region @id: ids own disjoint 64 GiB windows. */
#define MA_REGION_SHIFT		36
#define MA_REGION_ID_MAX	((1U << (63 - MA_REGION_SHIFT)) - 1)

static_assert(MEM_ARENA_REGION_SIZE_MAX == 1ULL << MA_REGION_SHIFT);

static void ma_region_release(struct kref *ref)
{
	struct ma_region *region = container_of(ref, struct ma_region, ref);
	struct ma_chunk *chunk;
	unsigned long i;

	xa_for_each(&region->chunks, i, chunk)
		kfree(chunk);
	xa_destroy(&region->chunks);
	mutex_destroy(&region->unmap_lock);
	kfree_rcu(region, rcu);
}

void ma_region_put(struct ma_region *region)
{
	kref_put(&region->ref, ma_region_release);
}

struct ma_region *ma_region_get(struct ma_arena *arena, u32 id)
{
	struct ma_region *region;

	rcu_read_lock();
	region = xa_load(&arena->regions, id);
	if (region && !kref_get_unless_zero(&region->ref))
		region = NULL;
	rcu_read_unlock();
	return region;
}

/* The live region with the smallest id >= @id, referenced, or NULL. */
struct ma_region *ma_region_next(struct ma_arena *arena, u32 id)
{
	unsigned long index = id;
	struct ma_region *region;

	rcu_read_lock();
	xa_for_each_start(&arena->regions, index, region, id) {
		if (!READ_ONCE(region->dead) && kref_get_unless_zero(&region->ref))
			break;
	}
	rcu_read_unlock();
	return region;
}

/* Chunk @index of @region, created empty if it does not exist yet. */
static struct ma_chunk *ma_region_chunk(struct ma_region *region,
					unsigned long index, gfp_t gfp)
{
	unsigned int nr = 1U << region->arena->chunk_order;
	struct ma_chunk *chunk, *old;

	chunk = xa_load(&region->chunks, index);
	if (chunk)
		return chunk;
	chunk = kzalloc(struct_size(chunk, pages, nr), gfp);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	{
		static struct lock_class_key ma_chunk_key;

		lockdep_init_map(&chunk->dep_map, "ma_chunk->lock", &ma_chunk_key, 0);
	}
#endif
	chunk->region = region;
	chunk->index = index;
	INIT_LIST_HEAD(&chunk->lru);
	old = xa_cmpxchg(&region->chunks, index, NULL, chunk, gfp);
	if (!old)
		return chunk;
	kfree(chunk);
	return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
}

/* Called with arena->lock held and arena->chunk_order set. */
struct ma_region *ma_region_alloc(struct ma_arena *arena, u64 length)
{
	u32 chunk_size = ma_chunk_size(arena);
	struct ma_region *region;
	int err;

	lockdep_assert_held(&arena->lock);
	if (!length || length > MEM_ARENA_REGION_SIZE_MAX)
		return ERR_PTR(-EINVAL);
	length = round_up(length, chunk_size);

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return ERR_PTR(-ENOMEM);
	kref_init(&region->ref);
	region->arena = arena;
	region->length = length;
	region->nr_chunks = length / chunk_size;
	xa_init(&region->chunks);
	mutex_init(&region->unmap_lock);
	init_rwsem(&region->snapshot_lock);
	INIT_WORK(&region->ra_work, ma_region_readahead_work);

	/*
	 * Reserve the id first: lookups find the region only once it is
	 * whole (its pgoff comes from the id), when the store below, which
	 * replaces the reservation in its slot and so cannot fail, publishes it.
	 */
	err = xa_alloc_cyclic(&arena->regions, &region->id, NULL,
			      XA_LIMIT(1, MA_REGION_ID_MAX),
			      &arena->next_region_id, GFP_KERNEL_ACCOUNT);
	if (err < 0) {
		kfree(region);
		return ERR_PTR(err == -EBUSY ? -ENOSPC : err);
	}
	region->pgoff = (pgoff_t)region->id << (MA_REGION_SHIFT - PAGE_SHIFT);
	xa_store(&arena->regions, region->id, region, GFP_KERNEL_ACCOUNT);
	atomic_inc(&arena->nr_regions);
	return region;
}

/*
 * Empty every chunk.  The region is unmapped at once, a chunk mapped again
 * meanwhile once more under its lock before its pages go, and a fault that
 * comes after sees dead: no PTE survives this.
 */
static void ma_region_destroy(struct ma_region *region)
{
	struct ma_chunk *chunk;
	unsigned long i;
	u32 ticket;

	WRITE_ONCE(region->dead, true);
	/* A fault creating a chunk after this lock sees dead under it. */
	xa_lock(&region->chunks);
	xa_unlock(&region->chunks);
	atomic_dec(&region->arena->nr_regions);
	ticket = ma_region_unmap(region, 0, region->length);
	xa_for_each(&region->chunks, i, chunk) {
		ma_chunk_lock(chunk);
		ma_chunk_unmap_since(chunk, ticket);
		ma_chunk_release(chunk);
		ma_chunk_unlock(chunk);
		cond_resched();
	}
	ma_region_put(region);
}

int ma_region_free(struct ma_arena *arena, u32 id)
{
	struct ma_region *region;

	mutex_lock(&arena->lock);
	region = xa_erase(&arena->regions, id);
	mutex_unlock(&arena->lock);
	if (!region)
		return -ENOENT;
	ma_region_destroy(region);
	return 0;
}

/* At release: no mapping and no other ioctl can exist any more. */
void ma_region_free_all(struct ma_arena *arena)
{
	struct ma_region *region;
	unsigned long id;

	xa_for_each(&arena->regions, id, region) {
		xa_erase(&arena->regions, id);
		ma_region_destroy(region);
	}
	/*
	 * A readahead work stops at its next chunk now that its region is
	 * dead, but it still holds the region, which points to the arena.
	 */
	flush_workqueue(ma_wq);
}

/*
 * Is [@offset, @offset + @length) a range ma_region_walk_chunks() takes:
 * not empty, from a chunk boundary, inside @region?  Sets @end.
 */
static bool ma_region_range_ok(struct ma_region *region, u64 offset,
			       u64 length, u64 *end)
{
	return length && !(offset & (ma_chunk_size(region->arena) - 1)) &&
	       !check_add_overflow(offset, length, end) && *end <= region->length;
}

/**
 * ma_region_walk_chunks - call @fn on each existing chunk of a byte range
 *
 * @offset must be chunk aligned and the range inside the region; chunks
 * never touched do not exist and are not visited.  @fn runs with the chunk
 * locked; @pass->done counts chunks for which it returned 1.  Stops at the
 * first error or at a fatal signal (-EINTR); chunks already done stay done.
 * With @pass->unmap, each MA_UNMAP_WINDOW of the range is unmapped before
 * its first chunk is visited, with one TLB flush; @fn gets the ticket.
 * Such a pass compresses or discards: a readahead window of the region
 * queued before it is cancelled first, or waited for if it runs.
 * The codec time the pass sampled (struct ma_clock) is counted at its end.
 */
int ma_region_walk_chunks(struct ma_region *region, u64 offset, u64 length,
			  ma_chunk_fn fn, struct ma_pass *pass)
{
	struct ma_arena *arena = region->arena;
	unsigned int shift = PAGE_SHIFT + arena->chunk_order;
	u64 window = max_t(u64, MA_UNMAP_WINDOW, ma_chunk_size(arena));
	struct ma_chunk *chunk;
	unsigned long index;
	u64 end, unmapped = 0;
	int ret;

	if (!ma_region_range_ok(region, offset, length, &end))
		return -EINVAL;
	if (pass->unmap)
		ma_region_readahead_cancel(region);
	ret = 0;
	xa_for_each_range(&region->chunks, index, chunk, offset >> shift,
			  (end - 1) >> shift) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (pass->unmap && (u64)index << shift >= unmapped) {
			u64 start = (u64)index << shift;

			unmapped = min(round_down(start, window) + window,
				       round_up(end, 1ULL << shift));
			pass->unmap_ticket = ma_region_unmap(region, start,
							     unmapped - start);
		}
		ma_chunk_lock(chunk);
		ret = READ_ONCE(region->dead) ? -ENOENT : fn(chunk, pass);
		ma_chunk_unlock(chunk);
		if (ret < 0)
			break;
		pass->done += ret;
		ret = 0;
		cond_resched();
	}
	ma_pass_clock_close(arena, pass);
	if (!ret && READ_ONCE(region->dead))
		ret = -ENOENT;
	return ret;
}

/*
 * A parallel walk (MEM_ARENA_TOUCH_PARALLEL) hands its range out in
 * batches of this many bytes (a multiple of every chunk size), to the
 * caller and to at most MA_HELPERS_MAX workers beside it.
 */
#define MA_PARALLEL_BATCH	SZ_256K
#define MA_HELPERS_MAX		3

struct ma_parallel {
	struct ma_region *region;
	ma_chunk_fn fn;
	u64 end;			/* of the range */
	atomic64_t next;		/* the next batch's offset */
	atomic64_t done;		/* what every pass did */
	atomic_t err;			/* the first error, which stops everyone */
	struct mem_cgroup *memcg;	/* the caller's: the helpers charge it */
};

/*
 * Helpers out for parallel walks, module-wide (protected by itself): at
 * most touch_workers (sysfs; by default one fewer than the online CPUs at
 * load) and never more than one fewer than the online CPUs, whoever the
 * callers are, so that many parallel touches at once cannot fill the
 * machine with workers whose CPU time no caller is charged for.  A walk
 * takes what is left, maybe none, and walks alone then.
 */
static atomic_t ma_helpers_out = ATOMIC_INIT(0);
static unsigned int ma_helpers_max;	/* sysfs touch_workers; READ_ONCE() */

static unsigned int ma_helpers_take(unsigned int want)
{
	int limit = min(READ_ONCE(ma_helpers_max), num_online_cpus() - 1);
	int out = atomic_read(&ma_helpers_out);
	int n;

	do {
		n = min_t(int, want, limit - out);
		if (n <= 0)
			return 0;
	} while (!atomic_try_cmpxchg(&ma_helpers_out, &out, out + n));
	return n;
}

struct ma_helper {
	struct work_struct work;
	struct ma_parallel *par;
};

/* Take batches until none is left or someone failed; returns what it did. */
static u64 ma_parallel_walk(struct ma_parallel *par)
{
	struct ma_pass pass = {};
	u64 offset;
	int err;

	while (!atomic_read(&par->err)) {
		offset = atomic64_fetch_add(MA_PARALLEL_BATCH, &par->next);
		if (offset >= par->end)
			break;
		err = ma_region_walk_chunks(par->region, offset,
					    min_t(u64, MA_PARALLEL_BATCH,
						  par->end - offset),
					    par->fn, &pass);
		if (err)
			atomic_cmpxchg(&par->err, 0, err);
	}
	atomic64_add(pass.done, &par->done);
	return pass.done;
}

static void ma_helper_work(struct work_struct *work)
{
	struct ma_helper *helper = container_of(work, struct ma_helper, work);
	struct ma_parallel *par = helper->par;
	struct mem_cgroup *old;
	u64 done;

	old = set_active_memcg(par->memcg);
	done = ma_parallel_walk(par);
	set_active_memcg(old);
	ma_stat_add(par->region->arena, MEM_ARENA_STAT_touch_helper_chunks, done);
}

/**
 * ma_region_walk_parallel - ma_region_walk_chunks() on several CPUs
 *
 * The caller and up to MA_HELPERS_MAX workers of ma_wq (as many as
 * ma_helpers_take() grants) take the range batch by batch, each batch one
 * walk of its own, so which of them visits a chunk depends on timing.
 * Pages they allocate are charged to the caller's memory cgroup.  The
 * first error (the caller's fatal signal: -EINTR) stops every walker at
 * its next batch and is returned; chunks already done, anywhere in the
 * range, stay done.  Returns only when no helper runs any more: they use
 * the caller's stack and its region reference.  @pass is the caller's:
 * only its done count is set, to the sum of everyone's.  Not for passes
 * that unmap.
 */
int ma_region_walk_parallel(struct ma_region *region, u64 offset, u64 length,
			    ma_chunk_fn fn, struct ma_pass *pass)
{
	struct ma_helper helpers[MA_HELPERS_MAX];
	struct ma_parallel par = {
		.region = region,
		.fn = fn,
		.next = ATOMIC64_INIT(offset),
		.done = ATOMIC64_INIT(0),
		.err = ATOMIC_INIT(0),
	};
	unsigned int i, nr;
	u64 end;

	if (WARN_ON_ONCE(pass->unmap))
		return -EINVAL;
	if (!ma_region_range_ok(region, offset, length, &end))
		return -EINVAL;
	par.end = end;
	nr = min_t(u64, MA_HELPERS_MAX,
		   DIV_ROUND_UP_ULL(length, MA_PARALLEL_BATCH) - 1);
	nr = ma_helpers_take(nr);
	if (!nr)
		return ma_region_walk_chunks(region, offset, length, fn, pass);

	par.memcg = get_mem_cgroup_from_mm(current->mm);
	for (i = 0; i < nr; i++) {
		helpers[i].par = &par;
		INIT_WORK_ONSTACK(&helpers[i].work, ma_helper_work);
		queue_work(ma_wq, &helpers[i].work);
	}
	ma_parallel_walk(&par);
	/* Each helper is past its last batch, or never started. */
	for (i = 0; i < nr; i++) {
		cancel_work_sync(&helpers[i].work);
		destroy_work_on_stack(&helpers[i].work);
	}
	atomic_sub(nr, &ma_helpers_out);
	mem_cgroup_put(par.memcg);
	pass->done = atomic64_read(&par.done);
	if (!atomic_read(&par.err) && READ_ONCE(region->dead))
		return -ENOENT;
	return atomic_read(&par.err);
}

/**
 * ma_region_copy - copy whole chunks of @src into @dst, nothing decompressed
 *
 * The destination range is discarded first (one unmap per window), then
 * each chunk of the source that exists is copied out under its lock (a
 * compressed one as its slot bytes, a raw one into fresh pages charged to
 * @dst's arena) and put in under the destination chunk's lock: one chunk
 * lock at a time, as everywhere.  A destination chunk faulted in meanwhile
 * is unmapped and emptied under its lock before the copy goes in.  The
 * source is not unmapped: a raw chunk written meanwhile may be copied
 * mid-write, as by memcpy(); a compressed one is whole (a write must take
 * its lock to fault it back).  With @snapshot it is unmapped, and its faults
 * wait until the copy ends (snapshot_lock): the copy is the source range as
 * it was at one instant, whatever its writers do meanwhile, and its mapped
 * pages fault back in afterwards.  The caller checked the ranges (whole
 * chunks, inside each region, not overlapping) and the chunk sizes.
 * @pass->done counts the chunks that received data.  Stops at the first
 * error or fatal signal; chunks already copied stay.
 */
int ma_region_copy(struct ma_region *dst, u64 offset, struct ma_region *src,
		   u64 src_offset, u64 length, bool snapshot, struct ma_pass *pass)
{
	struct ma_arena *arena = dst->arena;
	unsigned int shift = PAGE_SHIFT + arena->chunk_order;
	unsigned long first = src_offset >> shift, to = offset >> shift, index;
	struct ma_pass discard = { .unmap = true };
	struct ma_chunk *chunk, *into;
	struct ma_chunk_copy *cp;
	int err;

	err = ma_region_walk_chunks(dst, offset, length, ma_chunk_discard, &discard);
	if (err)
		return err;
	/* A chunk and more: a vmalloc, whose failure is the caller's -ENOMEM. */
	cp = kvmalloc(struct_size(cp, data, ma_chunk_size(arena)),
		      GFP_KERNEL | __GFP_NOWARN);
	if (!cp)
		return -ENOMEM;
	if (snapshot) {
		if (down_write_killable(&src->snapshot_lock)) {
			kvfree(cp);
			return -EINTR;
		}
		/* No fault in flight, none to come: no PTE survives this. */
		ma_region_unmap(src, src_offset, length);
	}
	xa_for_each_range(&src->chunks, index, chunk, first,
			  first + (length >> shift) - 1) {
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		ma_chunk_lock(chunk);
		err = READ_ONCE(src->dead) ? -ENOENT : ma_chunk_copy_out(chunk, arena, cp);
		ma_chunk_unlock(chunk);
		if (err)
			break;
		if (cp->state == MA_CHUNK_EMPTY)
			continue;
		into = ma_region_chunk(dst, index - first + to, GFP_KERNEL_ACCOUNT);
		err = PTR_ERR_OR_ZERO(into);
		if (!err) {
			ma_chunk_lock(into);
			err = READ_ONCE(dst->dead) ? -ENOENT :
				ma_chunk_copy_in(into, cp, pass);
			ma_chunk_unlock(into);
		}
		if (err < 0) {
			ma_chunk_copy_drop(arena, cp);
			break;
		}
		pass->done += err;
		err = 0;
		cond_resched();
	}
	if (snapshot)
		up_write(&src->snapshot_lock);
	kvfree(cp);
	return err;
}

/* How far a sequential stream reads ahead: the arena's setting, or 128 KiB. */
static u64 ma_readahead_bytes(const struct ma_arena *arena)
{
	/* Constant: the config froze with the first region. */
	u32 kib = arena->config.readahead_kib;

	if (kib)
		return (u64)kib * SZ_1K;
	return arena->config.flags & MEM_ARENA_CONFIG_READAHEAD_ASYNC ?
	       MA_READAHEAD_ASYNC_BYTES : MA_READAHEAD_BYTES;
}

/* The same in chunks, two at least. */
static unsigned long ma_readahead_chunks(const struct ma_arena *arena)
{
	return max_t(unsigned long,
		     ma_readahead_bytes(arena) >> (PAGE_SHIFT + arena->chunk_order), 2);
}

/*
 * Map the raw pages of @chunk that lie inside @vma, but the one at file
 * page @skip, under the chunk lock.  A page already mapped (-EBUSY) or a
 * page table that cannot be had is left to fault.  True if any was mapped:
 * the caller records it (ma_chunk_mapped*()) before it drops the lock.
 */
static bool ma_chunk_map_pages(struct ma_chunk *chunk, struct vm_area_struct *vma,
			       pgoff_t skip)
{
	struct ma_region *region = chunk->region;
	unsigned int i, order = region->arena->chunk_order;
	pgoff_t pg = region->pgoff + ((pgoff_t)chunk->index << order);
	bool mapped = false;

	ma_chunk_assert_locked(chunk);
	for (i = 0; i < 1U << order; i++, pg++) {
		if (pg == skip || pg < vma->vm_pgoff ||
		    pg - vma->vm_pgoff >= vma_pages(vma))
			continue;
		if (!vm_insert_page(vma, vma->vm_start +
				    ((pg - vma->vm_pgoff) << PAGE_SHIFT),
				    chunk->pages[i]))
			mapped = true;
	}
	return mapped;
}

/*
 * Read @chunk ahead and, in an arena with MEM_ARENA_CONFIG_MAP_AHEAD, map
 * its pages into the faulting mapping (those inside it) at once, under the
 * chunk lock as a fault would: the reader takes no fault for it.  Only a
 * chunk this call decompressed: a raw one may be idle, and its next use
 * must be seen.
 */
static int ma_chunk_readahead_map(struct ma_chunk *chunk, struct ma_pass *pass)
{
	int ret;

	ret = ma_chunk_readahead(chunk, pass);
	if (ret > 0 && pass->vma && ma_chunk_map_pages(chunk, pass->vma, ULONG_MAX))
		ma_chunk_mapped_ahead(chunk);
	return ret;
}

/* What ma_region_readahead_queue() took for the window ends with it. */
static void ma_region_readahead_end(struct ma_region *region)
{
	mem_cgroup_put(region->ra_memcg);
	clear_bit_unlock(MA_RA_QUEUED, &region->ra_flags);
	ma_region_put(region);
}

/*
 * A pass that compresses or discards chunks of @region begins.  A window
 * queued before it was read for a stream the pass now takes back: left
 * queued, the worker could decompress again what the pass has just
 * compressed.  A window not started is cancelled; one running is waited
 * for, and the pass then takes what it read.  A fault during the pass may
 * queue a new one: that stream is reading now.
 */
static void ma_region_readahead_cancel(struct ma_region *region)
{
	if (test_bit(MA_RA_QUEUED, &region->ra_flags) &&
	    cancel_work_sync(&region->ra_work))
		ma_region_readahead_end(region);
}

/*
 * The window [ra_from, ra_to) of an asynchronous readahead, read from its
 * far end back: the faulting task, which goes on meanwhile, comes from the
 * near end, and the walk stops where the two meet (a chunk locked, or raw
 * already), so neither waits for the other and both decompress.  Its pages
 * are charged to the faulting task's memory cgroup; an error ends it
 * quietly, as a synchronous readahead ends: the faults that follow say it.
 */
static void ma_region_readahead_work(struct work_struct *work)
{
	struct ma_region *region = container_of(work, struct ma_region, ra_work);
	struct mem_cgroup *memcg = region->ra_memcg, *old;
	unsigned long index = region->ra_to;
	struct ma_pass pass = {};
	struct ma_chunk *chunk;
	bool met;
	int err;

	old = set_active_memcg(memcg);
	while (index-- > region->ra_from) {
		chunk = xa_load(&region->chunks, index);
		if (!chunk)
			continue;
		if (!ma_chunk_trylock(chunk))
			break;			/* the reader's, or a pass's */
		met = READ_ONCE(region->dead) || chunk->state == MA_CHUNK_RAW;
		err = met ? 0 : ma_chunk_readahead(chunk, &pass);
		ma_chunk_unlock(chunk);
		if (met || err < 0)
			break;
		cond_resched();
	}
	ma_pass_clock_close(region->arena, &pass);
	set_active_memcg(old);
	ma_region_readahead_end(region);
}

/*
 * The chunks [@from, @to) that a sequential stream at chunk @index reads
 * ahead next: after a miss, the next ma_readahead_bytes() worth (two
 * chunks at least); after the first use of a chunk read ahead, once the
 * stream is past half of what was read, from where the last readahead
 * ended.  False when there are none.
 */
static bool ma_readahead_window(struct ma_region *region, unsigned long index,
				bool missed, unsigned long *from, unsigned long *to)
{
	unsigned long win = ma_readahead_chunks(region->arena);
	unsigned long next = READ_ONCE(region->ra_next);

	if (missed)
		*from = index + 1;
	else if (index + win / 2 >= next)
		*from = max(index + 1, next);
	else
		return false;
	*to = min(index + win + 1, region->nr_chunks);	/* exclusive */
	return *from < *to;
}

/*
 * Queue the asynchronous readahead of the window a sequential stream at
 * chunk @index reads next (ma_readahead_window()), unless there is none
 * or one of the region's is queued or running: then the stream's next
 * fault asks again.
 */
static void ma_region_readahead_queue(struct ma_region *region,
				      unsigned long index, bool missed)
{
	unsigned long from, to;

	if (!ma_readahead_window(region, index, missed, &from, &to) ||
	    test_and_set_bit_lock(MA_RA_QUEUED, &region->ra_flags))
		return;
	kref_get(&region->ref);
	region->ra_from = from;
	region->ra_to = to;
	region->ra_memcg = get_mem_cgroup_from_mm(current->mm);
	/* Refused while a pass cancels the last one: that pass takes it back. */
	if (!queue_work(ma_wq, &region->ra_work)) {
		ma_region_readahead_end(region);
		return;
	}
	WRITE_ONCE(region->ra_next, to);
}

static struct ma_uint_attr ma_helpers_max_attr =
	MA_UINT_ATTR(touch_workers, ma_helpers_max, UINT_MAX);

static ssize_t touch_workers_running_show(struct kobject *kobj,
					  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&ma_helpers_out));
}

static struct kobj_attribute ma_helpers_out_attr = __ATTR_RO(touch_workers_running);
static struct attribute *ma_workers_attrs[] = {
	&ma_helpers_max_attr.kattr.attr,
	&ma_helpers_out_attr.attr,
	NULL
};
const struct attribute_group ma_workers_attr_group = { .attrs = ma_workers_attrs };

/* Readahead windows and a parallel TOUCH's helpers run here. */
int ma_workers_init(void)
{
	ma_helpers_max = num_online_cpus() - 1;
	ma_wq = alloc_workqueue("mem_arena", WQ_UNBOUND, 0);
	return ma_wq ? 0 : -ENOMEM;
}

void ma_workers_exit(void)
{
	destroy_workqueue(ma_wq);
}

/*
 * Asynchronous readahead with MEM_ARENA_CONFIG_MAP_AHEAD: walk the stream's
 * window from the chunk after @index toward the worker, which comes from
 * its far end, reading ahead what the worker has not read and mapping into
 * @vma both that and what it has, nobody having used it yet.  A chunk
 * locked (the worker's, a pass's) ends the walk, and so does one outside
 * the mapping or raw and used already (its use is seen at its fault).  So
 * the stream faults where it starts a window and where it meets the
 * worker, and the two decompress the window between them.  Returns the
 * last chunk mapped, or @index.
 */
static unsigned long ma_region_readahead_near(struct ma_region *region,
					      unsigned long index,
					      struct vm_area_struct *vma)
{
	unsigned long end = min(READ_ONCE(region->ra_next), region->nr_chunks);
	struct ma_pass pass = {};
	struct ma_chunk *chunk;
	bool mapped;

	/*
	 * ra_next is the region's: another stream's window may end far
	 * beyond this one's, which ends a window after @index at most.
	 */
	end = min(end, index + ma_readahead_chunks(region->arena) + 1);
	while (index + 1 < end) {
		chunk = xa_load(&region->chunks, index + 1);
		if (!chunk || !ma_chunk_trylock(chunk))
			break;
		mapped = !READ_ONCE(region->dead) &&
			 ma_chunk_readahead(chunk, &pass) >= 0 &&
			 chunk->state == MA_CHUNK_RAW && chunk->readahead &&
			 ma_chunk_map_pages(chunk, vma, ULONG_MAX);
		if (mapped)
			ma_chunk_mapped_ahead(chunk);
		ma_chunk_unlock(chunk);
		if (!mapped)
			break;
		index++;
	}
	ma_pass_clock_close(region->arena, &pass);
	return index;
}

/*
 * Readahead of a sequential fault stream at chunk @index, which the fault
 * decompressed (@missed) or found read ahead (ma_readahead_window()).
 * Errors end it quietly: the faults that follow will say them.
 *
 * With MEM_ARENA_CONFIG_MAP_AHEAD the chunks read are mapped into @vma as
 * well, so no fault uses them: the stream's next fault is the miss at the
 * chunk after them, and it must count as sequential (ra_miss).  With
 * MEM_ARENA_CONFIG_READAHEAD_ASYNC a worker reads the window, and with
 * both the faulting task reads and maps it from its near end meanwhile
 * (ma_region_readahead_near()); once that walk has met the worker and
 * mapped to the window's end, the next window is queued at once.
 */
static void ma_region_readahead(struct ma_region *region, unsigned long index,
				bool missed, struct vm_area_struct *vma)
{
	struct ma_arena *arena = region->arena;
	unsigned int shift = PAGE_SHIFT + arena->chunk_order;
	u32 flags = arena->config.flags;
	unsigned long from, to, last;
	struct ma_pass pass = {};

	if (!(flags & MEM_ARENA_CONFIG_READAHEAD_ASYNC)) {
		if (!ma_readahead_window(region, index, missed, &from, &to))
			return;
		WRITE_ONCE(region->ra_next, to);
		if (flags & MEM_ARENA_CONFIG_MAP_AHEAD) {
			pass.vma = vma;
			WRITE_ONCE(region->ra_miss, to);
		}
		ma_region_walk_chunks(region, (u64)from << shift,
				      (u64)(to - from) << shift,
				      ma_chunk_readahead_map, &pass);
		return;
	}
	ma_region_readahead_queue(region, index, missed);
	if (!(flags & MEM_ARENA_CONFIG_MAP_AHEAD))
		return;
	last = ma_region_readahead_near(region, index, vma);
	if (last == index)
		return;
	WRITE_ONCE(region->ra_miss, last + 1);
	if (last + 1 == READ_ONCE(region->ra_next))
		ma_region_readahead_queue(region, last, false);
}

/*
 * MADV_WILLNEED (through vfs_fadvise) or POSIX_FADV_WILLNEED on the fd:
 * read ahead the chunks of [@offset, @offset + @len) of the region there,
 * widened to whole chunks and cut at the region's end; @len 0 means to the
 * end.
 */
int ma_region_willneed(struct ma_arena *arena, loff_t offset, loff_t len)
{
	u32 id = (u64)offset >> MA_REGION_SHIFT;
	struct ma_pass pass = {};
	struct ma_region *region;
	u64 start, end;
	int err;

	if (offset < 0 || len < 0)
		return -EINVAL;
	region = ma_region_get(arena, id);
	if (!region)
		return -ENOENT;
	start = (u64)offset - ((u64)region->pgoff << PAGE_SHIFT);
	if (!len || check_add_overflow(start, (u64)len, &end) || end > region->length)
		end = region->length;
	err = 0;
	if (start < end) {
		start = round_down(start, ma_chunk_size(arena));
		err = ma_region_walk_chunks(region, start, end - start,
					    ma_chunk_readahead, &pass);
	}
	ma_region_put(region);
	return err;
}

/*
 * Does @chunk hold data?  One that was discarded or is same-filled with
 * zeros holds no memory and reads as zeros: a hole, as is a chunk never
 * touched (no ma_chunk at all).  Read without the chunk lock, as
 * SEEK_DATA on a file being written is: a chunk changing meanwhile may be
 * seen either way.  The region reference keeps the chunk alive.
 */
static bool ma_chunk_has_data(struct ma_chunk *chunk)
{
	/* Unlocked, a snapshot: see above. */
	u8 state = data_race(chunk->state);

	if (state != MA_CHUNK_SAME)
		return state != MA_CHUNK_EMPTY;
	/* Likewise: a pattern read as it changes is a chunk that changes. */
	return data_race(chunk->pattern) != 0;
}

/* The first chunk >= @index of @region that is data (@data) or a hole. */
static unsigned long ma_region_seek_chunk(struct ma_region *region,
					  unsigned long index, bool data)
{
	unsigned long i = index, next = index;
	struct ma_chunk *chunk;

	xa_for_each_range(&region->chunks, i, chunk, index,
			  region->nr_chunks - 1) {
		if (!data && i != next)
			return next;		/* never touched */
		if (ma_chunk_has_data(chunk) == data)
			return i;
		next = i + 1;
		if (!(i & 1023))
			cond_resched();
	}
	return data ? region->nr_chunks : next;
}

/**
 * ma_region_seek - lseek(SEEK_DATA / SEEK_HOLE) on an arena's mmap offsets
 *
 * The arena reads as a sparse file of its regions at their mmap offsets:
 * data is every chunk that holds memory (raw, compressed, same-filled with
 * other than zero); holes are the other chunks and the offsets between
 * regions; the file ends where the last region ends.  As on a file,
 * @offset inside data (SEEK_DATA) or inside a hole (SEEK_HOLE) is
 * returned as it is, and -ENXIO says @offset is at or past the end, or
 * (SEEK_DATA) that no data follows it.  The fd's offset does not move:
 * the arena has no read() or write() to use it.
 */
loff_t ma_region_seek(struct ma_arena *arena, loff_t offset, int whence)
{
	bool data = whence == SEEK_DATA;
	u32 shift = PAGE_SHIFT + arena->chunk_order;
	struct ma_region *region;
	u64 pos = offset, start, end;
	unsigned long index;
	u32 id;

	if (offset < 0)
		return -ENXIO;
	for (id = pos >> MA_REGION_SHIFT; (region = ma_region_next(arena, id));
	     ma_region_put(region)) {
		start = (u64)region->pgoff << PAGE_SHIFT;
		end = start + region->length;
		id = region->id + 1;
		if (pos < start && !data)
			break;			/* between regions */
		if (pos >= end)
			continue;
		index = ma_region_seek_chunk(region,
					     (max(pos, start) - start) >> shift,
					     data);
		if (index < region->nr_chunks || !data) {
			pos = max(pos, start + ((u64)index << shift));
			break;
		}
	}
	if (!region)
		return -ENXIO;
	ma_region_put(region);
	return pos;
}

/*
 * Does the fault at chunk @index, which decompressed it (@missed) or used
 * a chunk read ahead (@ra_used), continue a sequential stream?  In a
 * mapping advised MADV_SEQUENTIAL, always; advised MADV_RANDOM, never;
 * otherwise only in an arena with a readahead_kib, where a miss is
 * sequential when the miss before it was at the chunk before (a racy
 * hint: two streams in one region may hide each other).
 */
static bool ma_fault_sequential(struct vm_area_struct *vma,
				struct ma_region *region, unsigned long index,
				bool missed, bool ra_used)
{
	bool seq;

	if (vma->vm_flags & VM_RAND_READ)
		return false;
	if (vma->vm_flags & VM_SEQ_READ)
		return missed || ra_used;
	if (!region->arena->config.readahead_kib)
		return false;
	if (ra_used || !missed)
		return ra_used;
	seq = index && READ_ONCE(region->ra_miss) == index;
	WRITE_ONCE(region->ra_miss, index + 1);
	return seq;
}

/*
 * The PTE is installed here, under the chunk lock, not by the core after
 * we return (VM_FAULT_NOPAGE): compress and region free unmap under the
 * same lock, so once they hold it no new mapping of the chunk can appear.
 * The chunk's other pages in this mapping are mapped with it: its data is
 * resident as a whole, and a use is counted per chunk, so their faults
 * would only cost.  Readahead runs after the chunk lock is dropped (one
 * chunk lock at a time), still under the snapshot_lock: it may map too.
 */
static vm_fault_t ma_vm_fault(struct vm_fault *vmf)
{
	struct ma_region *region = vmf->vma->vm_private_data;
	struct ma_arena *arena = region->arena;
	pgoff_t pg = vmf->pgoff - region->pgoff;
	bool missed = false, ra_used;
	struct ma_chunk *chunk;
	vm_fault_t ret;
	int err;

	if (pg >= region->length >> PAGE_SHIFT || READ_ONCE(region->dead))
		return VM_FAULT_SIGBUS;
	chunk = ma_region_chunk(region, pg >> arena->chunk_order, GFP_KERNEL_ACCOUNT);
	if (IS_ERR(chunk))
		return vmf_error(PTR_ERR(chunk));
	down_read(&region->snapshot_lock);
	ma_chunk_lock(chunk);
	if (READ_ONCE(region->dead)) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	ra_used = chunk->readahead;
	err = ma_chunk_make_raw(chunk, MA_ACCESS_FAULT, NULL);
	if (err < 0) {
		ret = vmf_error(err);
		goto out_unlock;
	}
	missed = err == 1;
	err = vm_insert_page(vmf->vma, vmf->address & PAGE_MASK,
			     chunk->pages[pg & ((1UL << arena->chunk_order) - 1)]);
	/* -EBUSY: another thread's fault mapped it first. */
	ret = !err || err == -EBUSY ? VM_FAULT_NOPAGE : vmf_error(err);
	if (ret == VM_FAULT_NOPAGE && arena->chunk_order &&
	    ma_chunk_map_pages(chunk, vmf->vma, vmf->pgoff))
		err = 0;
	if (!err)
		ma_chunk_mapped(chunk);
out_unlock:
	ma_chunk_unlock(chunk);
	if (ret == VM_FAULT_NOPAGE &&
	    ma_fault_sequential(vmf->vma, region, ma_chunk_index(chunk), missed,
				ra_used))
		ma_region_readahead(region, ma_chunk_index(chunk), missed,
				    vmf->vma);
	up_read(&region->snapshot_lock);
	return ret;
}

static void ma_vm_open(struct vm_area_struct *vma)
{
	struct ma_region *region = vma->vm_private_data;

	kref_get(&region->ref);
}

static void ma_vm_close(struct vm_area_struct *vma)
{
	ma_region_put(vma->vm_private_data);
}

static const struct vm_operations_struct ma_vm_ops = {
	.open = ma_vm_open,
	.close = ma_vm_close,
	.fault = ma_vm_fault,
};

int ma_region_mmap(struct ma_arena *arena, struct vm_area_struct *vma)
{
	u32 id = vma->vm_pgoff >> (MA_REGION_SHIFT - PAGE_SHIFT);
	unsigned long len = vma->vm_end - vma->vm_start;
	struct ma_region *region;
	u64 start, end;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	region = ma_region_get(arena, id);
	if (!region)
		return -EINVAL;
	start = (u64)(vma->vm_pgoff - region->pgoff) << PAGE_SHIFT;
	if (check_add_overflow(start, (u64)len, &end) || end > region->length) {
		ma_region_put(region);
		return -EINVAL;
	}
	/* Pages are inserted by the fault handler (vm_insert_page()). */
	ma_vm_flags_set(vma, VM_DONTEXPAND | VM_MIXEDMAP);
	vma->vm_ops = &ma_vm_ops;
	vma->vm_private_data = region;	/* the reference taken above */
	return 0;
}
