// SPDX-License-Identifier: GPL-2.0
/*
 * Regions: allocation, lifetime, mmap and the fault path.
 *
 * Locking:
 *   ma_arena.regions (xarray, its own spinlock) maps ids to regions; the
 *   xarray holds one reference, every VMA another, and lookups take one
 *   under RCU with kref_get_unless_zero().
 *   ma_arena.lock (mutex) serialises region alloc/free against config.
 *   ma_region.dead is set once by region free before it empties the chunks;
 *   the fault path reads it under the chunk lock, so a fault either
 *   finishes before a chunk is released or sees dead and raises SIGBUS.
 *   Region memory (chunks, page array) lives until the last reference.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "arena.h"
#include "compat.h"

/* mmap offset of region @id: ids own disjoint 64 GiB windows. */
#define MA_REGION_SHIFT		36
#define MA_REGION_ID_MAX	((1U << (63 - MA_REGION_SHIFT)) - 1)

static_assert(MEM_ARENA_REGION_SIZE_MAX == 1ULL << MA_REGION_SHIFT);

static void ma_region_release(struct kref *ref)
{
	struct ma_region *region = container_of(ref, struct ma_region, ref);

	kvfree(region->pages);
	kvfree(region->chunks);
	kfree(region);
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

/* Called with arena->lock held and the config frozen. */
struct ma_region *ma_region_alloc(struct ma_arena *arena, u64 length)
{
	u32 chunk_size = ma_chunk_size(arena);
	struct ma_region *region;
	unsigned long i;
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
	err = -ENOMEM;
	region->chunks = kvcalloc(region->nr_chunks, sizeof(*region->chunks),
				  GFP_KERNEL_ACCOUNT);
	if (!region->chunks)
		goto out_free_region;
	region->pages = kvcalloc(length >> PAGE_SHIFT, sizeof(*region->pages),
				 GFP_KERNEL_ACCOUNT);
	if (!region->pages)
		goto out_free_chunks;
	for (i = 0; i < region->nr_chunks; i++) {
		region->chunks[i].region = region;
		INIT_LIST_HEAD(&region->chunks[i].lru);
	}

	err = xa_alloc_cyclic(&arena->regions, &region->id, region,
			      XA_LIMIT(1, MA_REGION_ID_MAX),
			      &arena->next_region_id, GFP_KERNEL_ACCOUNT);
	if (err < 0)
		goto out_free_pages;
	region->pgoff = (pgoff_t)region->id << (MA_REGION_SHIFT - PAGE_SHIFT);
	atomic_inc(&arena->nr_regions);
	return region;

out_free_pages:
	kvfree(region->pages);
out_free_chunks:
	kvfree(region->chunks);
out_free_region:
	kfree(region);
	return ERR_PTR(err == -EBUSY ? -ENOSPC : err);
}

/* Empty every chunk, then zap whatever a racing fault mapped meanwhile. */
static void ma_region_destroy(struct ma_region *region)
{
	struct address_space *mapping = region->arena->inode->i_mapping;
	loff_t start = (loff_t)region->pgoff << PAGE_SHIFT;
	unsigned long i;

	WRITE_ONCE(region->dead, true);
	atomic_dec(&region->arena->nr_regions);
	unmap_mapping_range(mapping, start, region->length, 1);
	for (i = 0; i < region->nr_chunks; i++) {
		struct ma_chunk *chunk = &region->chunks[i];

		ma_chunk_lock(chunk);
		ma_chunk_release(chunk);
		ma_chunk_unlock(chunk);
		cond_resched();
	}
	unmap_mapping_range(mapping, start, region->length, 1);
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
}

/**
 * ma_region_walk_chunks - call @fn on each chunk of a byte range, locked
 *
 * @offset must be chunk aligned and the range inside the region.  @done
 * counts chunks for which @fn returned 1.  Stops at the first error or at
 * a fatal signal (-EINTR); chunks already done stay done.
 */
int ma_region_walk_chunks(struct ma_region *region, u64 offset, u64 length,
			     ma_chunk_fn fn, u64 *done)
{
	struct ma_arena *arena = region->arena;
	unsigned int shift = PAGE_SHIFT + arena->chunk_order;
	unsigned long first, last;
	u64 end;
	int ret = 0;

	*done = 0;
	if (!length || offset & (ma_chunk_size(arena) - 1) ||
	    check_add_overflow(offset, length, &end) || end > region->length)
		return -EINVAL;
	first = offset >> shift;
	last = (end - 1) >> shift;
	for (; first <= last; first++) {
		struct ma_chunk *chunk = &region->chunks[first];

		if (fatal_signal_pending(current))
			return -EINTR;
		ma_chunk_lock(chunk);
		ret = READ_ONCE(region->dead) ? -ENOENT : fn(chunk);
		ma_chunk_unlock(chunk);
		if (ret < 0)
			return ret;
		*done += ret;
		cond_resched();
	}
	return 0;
}

static vm_fault_t ma_vm_fault(struct vm_fault *vmf)
{
	struct ma_region *region = vmf->vma->vm_private_data;
	struct ma_arena *arena = region->arena;
	pgoff_t pg = vmf->pgoff - region->pgoff;
	struct ma_chunk *chunk;
	vm_fault_t ret = 0;
	int err;

	if (pg >= region->length >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	chunk = &region->chunks[pg >> arena->chunk_order];
	ma_chunk_lock(chunk);
	if (READ_ONCE(region->dead)) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	err = ma_chunk_make_raw(chunk, MA_ACCESS_FAULT);
	if (err < 0) {
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	/*
	 * This reference keeps a compress pass off the page until the fault
	 * has mapped it (it sees page_count() > 1 and skips the chunk).
	 */
	vmf->page = region->pages[pg];
	get_page(vmf->page);
out_unlock:
	ma_chunk_unlock(chunk);
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
	ma_vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &ma_vm_ops;
	vma->vm_private_data = region;	/* the reference taken above */
	return 0;
}
