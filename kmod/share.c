// SPDX-License-Identifier: GPL-2.0
/*
 * Sharing the module-wide pool between tenants: weighted max-min fairness.
 *
 * A tenant is a user (an arena's opener), or a tenant id an opener with
 * CAP_SYS_RESOURCE chose; its weight is the largest of its arenas' (1 by
 * default).  When pool_cap_bytes stops an arena's pool from growing, room
 * is made in the pool of the tenant with the most pool per weight, if that
 * is more than the asking tenant would have with one more block; else the
 * asker evicts from its own pool.  Repeated, this converges on pools in
 * the ratio of the weights, each within a block of it, and never takes
 * from a tenant to give to one that already has more.
 *
 * Locking:
 *   ma_arenas_lock guards ma_tenants, a tenant's nr_arenas and weight, and
 *   arena->tenant changes.  A tenant's pool_bytes is atomic: pools change
 *   it under their own lock as blocks come and go.  An asker chooses its
 *   victim under ma_arenas_lock and counts itself in the victim's
 *   reclaimers before it lets go; it then evicts with no module-wide lock
 *   held, so other tenants' opens, closes and stats do not wait for its
 *   evictions.  The count keeps the victim alive: its release marks it
 *   closing under the lock (no asker picks it after) and waits for the
 *   count to drain before it tears anything down.  The asker holds its
 *   chunk lock, so the order is chunk lock -> ma_arenas_lock (to choose),
 *   and chunk lock -> the victim's compact_lock, chunk trylock and pool
 *   lock (to evict).
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "arena.h"

static LIST_HEAD(ma_tenants);		/* protected by ma_arenas_lock */

static u64 ma_tenant_key(const struct ma_arena *arena)
{
	if (arena->config.tenant)
		return BIT_ULL(32) | arena->config.tenant;
	return from_kuid_munged(&init_user_ns, arena->owner_uid);
}

/* The largest weight among the tenant's arenas on the list. */
static void ma_tenant_reweigh(struct ma_tenant *tenant)
{
	struct ma_arena *arena;

	lockdep_assert_held(&ma_arenas_lock);
	tenant->weight = 1;
	list_for_each_entry(arena, &ma_arenas, node)
		if (arena->tenant == tenant)
			tenant->weight = max(tenant->weight, arena->config.weight);
}

/* When the config freezes (first region): join the tenant, or found it. */
int ma_tenant_attach(struct ma_arena *arena)
{
	struct ma_tenant *tenant;
	u64 key = ma_tenant_key(arena);
	int err = 0;

	lockdep_assert_held(&arena->lock);
	mutex_lock(&ma_arenas_lock);
	list_for_each_entry(tenant, &ma_tenants, node)
		if (tenant->key == key)
			goto out_join;
	tenant = kzalloc(sizeof(*tenant), GFP_KERNEL_ACCOUNT);
	if (!tenant) {
		err = -ENOMEM;
		goto out_unlock;
	}
	tenant->key = key;
	atomic64_set(&tenant->pool_bytes, 0);
	list_add_tail(&tenant->node, &ma_tenants);
out_join:
	tenant->nr_arenas++;
	arena->tenant = tenant;
	ma_tenant_reweigh(tenant);
out_unlock:
	mutex_unlock(&ma_arenas_lock);
	return err;
}

/* At release, or when the first REGION_ALLOC failed: its pool is empty. */
void ma_tenant_detach(struct ma_arena *arena)
{
	struct ma_tenant *tenant = arena->tenant;

	if (!tenant)
		return;
	mutex_lock(&ma_arenas_lock);
	arena->tenant = NULL;
	if (--tenant->nr_arenas) {
		ma_tenant_reweigh(tenant);
		tenant = NULL;
	} else {
		WARN_ON_ONCE(atomic64_read(&tenant->pool_bytes));
		list_del(&tenant->node);
	}
	mutex_unlock(&ma_arenas_lock);
	kfree(tenant);
}

/* A pool of @tenant's gained or gave back @bytes of blocks. */
void ma_tenant_pool_bytes(struct ma_tenant *tenant, s64 bytes)
{
	atomic64_add(bytes, &tenant->pool_bytes);
}

/* Its weighted share of the cap, among the tenants that have arenas now. */
u64 ma_tenant_share(const struct ma_tenant *tenant)
{
	const struct ma_tenant *t;
	u64 weights = 0;

	lockdep_assert_held(&ma_arenas_lock);
	list_for_each_entry(t, &ma_tenants, node)
		weights += t->weight;
	return div64_u64(ma_pool_cap() * tenant->weight, weights);
}

/**
 * ma_share_victim - whose pool gives room when the module-wide cap is hit
 *
 * Returns the largest pool of the tenant with the most pool per weight if
 * that tenant is not @asker's and has more per weight than @asker's would
 * with one more block, counted in its reclaimers until the caller's
 * ma_share_victim_put(); else NULL.
 */
struct ma_arena *ma_share_victim(struct ma_arena *asker)
{
	struct ma_tenant *mine = asker->tenant, *t, *richest = NULL;
	struct ma_arena *arena, *victim = NULL;
	u64 mine_bytes, best_bytes = 0;

	mutex_lock(&ma_arenas_lock);
	mine_bytes = atomic64_read(&mine->pool_bytes) + MA_BLOCK_SIZE;
	list_for_each_entry(t, &ma_tenants, node) {
		u64 bytes = atomic64_read(&t->pool_bytes);

		/* bytes / weight > mine_bytes / mine->weight, and the best. */
		if (t == mine || bytes * mine->weight <= mine_bytes * t->weight)
			continue;
		if (!richest || bytes * richest->weight > best_bytes * t->weight) {
			richest = t;
			best_bytes = bytes;
		}
	}
	if (richest) {
		list_for_each_entry(arena, &ma_arenas, node)
			if (arena->tenant == richest && !arena->closing &&
			    (!victim || READ_ONCE(arena->pool.reserved_bytes) >
					READ_ONCE(victim->pool.reserved_bytes)))
				victim = arena;
	}
	if (victim)
		atomic_inc(&victim->reclaimers);
	mutex_unlock(&ma_arenas_lock);
	return victim;
}

/* The asker is done with @victim: a release waiting for it may go on. */
void ma_share_victim_put(struct ma_arena *victim)
{
	if (atomic_dec_and_test(&victim->reclaimers))
		wake_up_var(&victim->reclaimers);
}

/*
 * @arena's release begins: no fair reclaim chooses it from now on, and
 * those that did are done with it when this returns.
 */
void ma_share_close(struct ma_arena *arena)
{
	mutex_lock(&ma_arenas_lock);
	arena->closing = true;
	mutex_unlock(&ma_arenas_lock);
	wait_var_event(&arena->reclaimers, !atomic_read(&arena->reclaimers));
}
