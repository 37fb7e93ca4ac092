/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place that knows kernel differences.  Each MA_HAVE_* comes from
 * a feature test in kmod/Kbuild (a grep of the headers we build against),
 * not from version numbers.
 */
#ifndef _MEM_ARENA_COMPAT_H
#define _MEM_ARENA_COMPAT_H

#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>

/* 6.3 made vm_flags read-only behind vm_flags_set(). */
static inline void ma_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#ifdef MA_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * system_unbound_wq is deprecated in favour of system_dfl_wq (7.x warns
 * "enqueued on deprecated workqueue"; the new name exists from 6.12.y).
 */
#ifdef MA_HAVE_SYSTEM_DFL_WQ
#define ma_unbound_wq		system_dfl_wq
#else
#define ma_unbound_wq		system_unbound_wq
#endif

/*
 * Multicast group permissions: genl_bind() checks GENL_MCAST_CAP_* on the
 * group (6.7, backported to 6.1.y); GENL_UNS_ADMIN_PERM is an operation
 * flag it never looked at.  A kernel without the check would let anyone
 * receive the events, which name other users' processes: no events group
 * there.
 */
#ifdef GENL_MCAST_CAP_NET_ADMIN
#define MA_HAVE_EVENTS		1
#define MA_MCGRP_FLAGS		GENL_MCAST_CAP_NET_ADMIN
#else
#define MA_HAVE_EVENTS		0
#define MA_MCGRP_FLAGS		0
#endif

/*
 * 6.7 allocates shrinkers (shrinker_alloc(), shrinker_register(),
 * shrinker_free()); before, the caller owned the struct and
 * register_shrinker() took a name from 6.0.
 */
typedef unsigned long (*ma_shrink_fn)(struct shrinker *, struct shrink_control *);

static inline struct shrinker *ma_shrinker_create(const char *name,
						  unsigned int flags,
						  ma_shrink_fn count,
						  ma_shrink_fn scan)
{
	struct shrinker *shrinker;

#ifdef MA_HAVE_SHRINKER_ALLOC
	shrinker = shrinker_alloc(flags, "%s", name);
	if (!shrinker)
		return NULL;
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->seeks = DEFAULT_SEEKS;
	shrinker_register(shrinker);
#else
	shrinker = kzalloc(sizeof(*shrinker), GFP_KERNEL);
	if (!shrinker)
		return NULL;
	shrinker->flags = flags;
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->seeks = DEFAULT_SEEKS;
	if (register_shrinker(shrinker, "%s", name)) {
		kfree(shrinker);
		return NULL;
	}
#endif
	return shrinker;
}

static inline void ma_shrinker_destroy(struct shrinker *shrinker)
{
#ifdef MA_HAVE_SHRINKER_ALLOC
	shrinker_free(shrinker);
#else
	unregister_shrinker(shrinker);
	kfree(shrinker);
#endif
}

/*
 * Where a list_lru item is filed.  From 6.13 its caller names the node
 * and memory cgroup, and a list the cgroup lacks (it is going offline,
 * and the allocation hook made its parent's) falls back to its parent's.
 * 6.8 to 6.12 name them too but have no such fallback, so there, as
 * before 6.8, the item goes under its slab's node and cgroup, whose list
 * the hook of kmem_cache_alloc_lru() made.  Called under rcu_read_lock(),
 * which keeps @memcg.  6.13 dropped the lock argument of the walk
 * callback in the same rework: that tells the two apart.
 */
static inline void ma_list_lru_add(struct list_lru *lru, struct list_head *item,
				   int nid, struct mem_cgroup *memcg)
{
#if defined(MA_HAVE_LIST_LRU_ADD_OBJ) && !defined(MA_HAVE_LRU_WALK_CB_LOCK)
	list_lru_add(lru, item, nid, memcg);
#elif defined(MA_HAVE_LIST_LRU_ADD_OBJ)
	list_lru_add_obj(lru, item);
#else
	list_lru_add(lru, item);
#endif
}

/*
 * Pages a shrinker frees count as reclaim's progress: 6.4's
 * mm_account_reclaimed_pages(), before it the reclaim_state's
 * reclaimed_slab.  From 6.5 only reclaim of the whole machine adds it up
 * (a cgroup's cannot tell whose the pages were); 6.1 adds it for both.
 */
static inline void ma_account_reclaimed_pages(unsigned long pages)
{
#ifdef MA_HAVE_MM_ACCOUNT_RECLAIMED_PAGES
	mm_account_reclaimed_pages(pages);
#else
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
#endif
}

/* 6.13 took the list's lock out of the walk callback's arguments. */
#ifdef MA_HAVE_LRU_WALK_CB_LOCK
#define MA_LRU_WALK_CB(fn)						\
	enum lru_status fn(struct list_head *item, struct list_lru_one *list, \
			   spinlock_t *lock, void *arg)
#else
#define MA_LRU_WALK_CB(fn)						\
	enum lru_status fn(struct list_head *item, struct list_lru_one *list, \
			   void *arg)
#endif

#endif /* _MEM_ARENA_COMPAT_H */
