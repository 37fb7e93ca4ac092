// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics: per arena (ioctl) and module-wide (/sys/kernel/mem_arena/).
 *
 * Locking:
 *   Counters are the arena's atomic64_t, nothing module-wide is touched
 *   per chunk.  Module-wide figures are summed on read over ma_arenas
 *   under ma_arenas_lock, plus ma_retired: what arenas that closed had
 *   counted, added under the same lock as they leave the list, so a read
 *   counts each arena exactly once.  The module-wide pool_bytes and its
 *   peak change per block (ma_pool_bytes_all), not per chunk.
 *   The pool gauges change only under ma_pool.lock, and
 *   ma_stats_snapshot() reads under it, so a snapshot's pool figures are
 *   consistent with each other.
 *   The derived pool figures (free bytes, blocks, largest free extent) are
 *   computed in the snapshot; module-wide, the largest free extent walks
 *   ma_arenas under ma_arenas_lock, taking each pool lock in turn.
 *   /sys/kernel/mem_arena/ is this file's: the stats and the arena count,
 *   plus the attribute groups of the tunables' owners (the pool's cap,
 *   compaction's threshold, the spares' bound, the parallel touch's
 *   workers), which keep their values.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "arena.h"

static u64 ma_retired[MEM_ARENA_NR_STATS];	/* protected by ma_arenas_lock */
static atomic64_t ma_pool_bytes_all;		/* every pool's blocks, bytes */
static atomic64_t ma_pool_bytes_all_peak;

/* struct mem_arena_stats is the id-indexed array of the stats list. */
#define MA_CHECK_STAT(name, id, unit, doc) \
	static_assert(offsetof(struct mem_arena_stats, name) == (id) * sizeof(__u64));
MEM_ARENA_STATS(MA_CHECK_STAT)
static_assert(sizeof(struct mem_arena_stats) == MEM_ARENA_NR_STATS * sizeof(__u64));

/* The pool figures that are derived rather than counted. */
static void ma_stats_derive(struct mem_arena_stats *s, u64 largest_free)
{
	s->pool_free_bytes = s->pool_bytes - s->slot_bytes_live;
	s->pool_blocks = s->pool_bytes / MA_BLOCK_SIZE;
	s->pool_largest_free = largest_free;
}

void ma_stats_snapshot(struct ma_arena *arena, struct mem_arena_stats *out)
{
	u64 *v = (u64 *)out;
	int i;

	spin_lock(&arena->pool.lock);
	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		v[i] = atomic64_read(&arena->stats[i]);
	ma_stats_derive(out, (u64)ma_pool_largest_free(&arena->pool) * MA_SLOT_ALIGN);
	spin_unlock(&arena->pool.lock);
}

/* Module-wide totals; pool_largest_free is the largest of any arena. */
void ma_stats_global(struct mem_arena_stats *out)
{
	struct ma_arena *arena;
	u64 *v = (u64 *)out, largest = 0;
	int i;

	mutex_lock(&ma_arenas_lock);
	memcpy(v, ma_retired, sizeof(ma_retired));
	list_for_each_entry(arena, &ma_arenas, node) {
		spin_lock(&arena->pool.lock);
		for (i = 0; i < MEM_ARENA_NR_STATS; i++)
			v[i] += atomic64_read(&arena->stats[i]);
		largest = max_t(u64, largest, ma_pool_largest_free(&arena->pool));
		spin_unlock(&arena->pool.lock);
	}
	mutex_unlock(&ma_arenas_lock);
	out->pool_bytes_peak = atomic64_read(&ma_pool_bytes_all_peak);
	ma_stats_derive(out, largest * MA_SLOT_ALIGN);
}

/* @arena leaves ma_arenas (lock held): keep what it counted. */
void ma_stats_retire(struct ma_arena *arena)
{
	int i;

	lockdep_assert_held(&ma_arenas_lock);
	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		ma_retired[i] += atomic64_read(&arena->stats[i]);
}

static void ma_peak_raise(atomic64_t *peak, s64 now)
{
	s64 old = atomic64_read(peak);

	while (now > old) {
		s64 seen = atomic64_cmpxchg(peak, old, now);

		if (seen == old)
			break;
		old = seen;
	}
}

/* A pool gained or gave back a block; called under its pool lock. */
void ma_stat_pool_bytes(struct ma_arena *arena, s64 delta)
{
	lockdep_assert_held(&arena->pool.lock);
	ma_stat_add(arena, MEM_ARENA_STAT_pool_bytes, delta);
	ma_peak_raise(&arena->stats[MEM_ARENA_STAT_pool_bytes_peak],
		      atomic64_read(&arena->stats[MEM_ARENA_STAT_pool_bytes]));
	ma_peak_raise(&ma_pool_bytes_all_peak,
		      atomic64_add_return(delta, &ma_pool_bytes_all));
}

ssize_t ma_uint_attr_show(struct kobject *kobj, struct kobj_attribute *kattr,
			  char *buf)
{
	struct ma_uint_attr *attr = container_of(kattr, struct ma_uint_attr, kattr);

	return sysfs_emit(buf, "%u\n", READ_ONCE(*attr->value));
}

ssize_t ma_uint_attr_store(struct kobject *kobj, struct kobj_attribute *kattr,
			   const char *buf, size_t count)
{
	struct ma_uint_attr *attr = container_of(kattr, struct ma_uint_attr, kattr);
	unsigned int v;
	int err = kstrtouint(buf, 0, &v);

	if (err)
		return err;
	if (v > attr->max)
		return -EINVAL;
	WRITE_ONCE(*attr->value, v);
	return count;
}

/* sysfs: one value per file, named as in the stats list. */
struct ma_stat_attr {
	struct kobj_attribute kattr;
	unsigned int id;
};

static ssize_t ma_stat_show(struct kobject *kobj, struct kobj_attribute *kattr,
			    char *buf)
{
	struct ma_stat_attr *attr = container_of(kattr, struct ma_stat_attr, kattr);
	struct mem_arena_stats s;

	ma_stats_global(&s);
	return sysfs_emit(buf, "%llu\n", ((u64 *)&s)[attr->id]);
}

#define MA_STAT_ATTR(_name, _id, _unit, _doc) \
	{ .kattr = __ATTR(_name, 0444, ma_stat_show, NULL), .id = _id },
static struct ma_stat_attr ma_stat_attrs[] = { MEM_ARENA_STATS(MA_STAT_ATTR) };

static ssize_t arenas_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&ma_nr_arenas));
}

static struct kobj_attribute ma_arenas_attr = __ATTR_RO(arenas);

static struct attribute *ma_attrs[MEM_ARENA_NR_STATS + 2];
static const struct attribute_group ma_attr_group = { .attrs = ma_attrs };
static const struct attribute_group *ma_attr_groups[] = {
	&ma_attr_group,
	&ma_pool_attr_group,
	&ma_defrag_attr_group,
	&ma_spare_attr_group,
	&ma_workers_attr_group,
	NULL
};
static struct kobject *ma_kobj;

int ma_sysfs_init(void)
{
	int i, err;

	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		ma_attrs[i] = &ma_stat_attrs[i].kattr.attr;
	ma_attrs[i++] = &ma_arenas_attr.attr;

	ma_kobj = kobject_create_and_add("mem_arena", kernel_kobj);
	if (!ma_kobj)
		return -ENOMEM;
	err = sysfs_create_groups(ma_kobj, ma_attr_groups);
	if (err)
		kobject_put(ma_kobj);
	return err;
}

void ma_sysfs_exit(void)
{
	sysfs_remove_groups(ma_kobj, ma_attr_groups);
	kobject_put(ma_kobj);
}
