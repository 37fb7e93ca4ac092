// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl table (drivers/iommu/iommufd/main.c is the model).
 *
 * Locking:
 *   ma_arena.lock (mutex) for config and the frozen flag; region lookups
 *   take a reference (ma_region_get()) so a concurrent REGION_FREE cannot
 *   pull a region from under a COMPRESS or TOUCH: they see it dead and stop
 *   with -ENOENT.
 *
 * Each user struct is fetched once: its size with get_user(), the rest
 * with copy_struct_from_user(), and the copy's size field is overwritten
 * with the value already checked.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/fs.h>
#include <linux/file.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "arena.h"

struct ma_ucmd {
	struct ma_arena *arena;
	void *cmd;
};

#define MA_FEATURES (MEM_ARENA_FEATURE_FAULT_READBACK |			\
		     MEM_ARENA_FEATURE_SAME_FILLED |			\
		     MEM_ARENA_FEATURE_LRU_CAP |			\
		     MEM_ARENA_FEATURE_VARIABLE_SLOTS |			\
		     MEM_ARENA_FEATURE_DEFRAG |				\
		     MEM_ARENA_FEATURE_IDLE_ONLY |			\
		     MEM_ARENA_FEATURE_READAHEAD |			\
		     MEM_ARENA_FEATURE_MAP_AHEAD |			\
		     MEM_ARENA_FEATURE_READAHEAD_ASYNC |		\
		     MEM_ARENA_FEATURE_ASYNC_MAP_AHEAD |		\
		     MEM_ARENA_FEATURE_SEEK_HOLE |			\
		     MEM_ARENA_FEATURE_COPY_SNAPSHOT |			\
		     MEM_ARENA_FEATURE_TOUCH_PARALLEL)

static u64 ma_ioctl_mask(void);

static int ma_cmd_get_info(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_info *cmd = ucmd->cmd;
	struct ma_arena *arena = ucmd->arena;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	cmd->api = MEM_ARENA_API;
	cmd->features = MA_FEATURES;
	cmd->ioctls = ma_ioctl_mask();
	cmd->chunk_size_min = PAGE_SIZE;
	cmd->chunk_size_max = MEM_ARENA_CHUNK_SIZE_MAX;
	cmd->nr_stats = MEM_ARENA_NR_STATS;
	cmd->region_size_max = MEM_ARENA_REGION_SIZE_MAX;
	cmd->pool_cap_bytes = ma_pool_cap();
	cmd->memlock_limit = arena->memlock_limit;
	cmd->memlock_used = arena->memlock_user ?
		(u64)atomic_long_read(&arena->memlock_user->locked_vm) << PAGE_SHIFT : 0;
	return 0;
}

static int ma_cmd_set_config(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_config *cmd = ucmd->cmd;
	struct ma_arena *arena = ucmd->arena;
	u32 chunk_size = cmd->chunk_size ?: PAGE_SIZE;
	u32 weight = cmd->weight ?: 1;
	int err = 0;

	if (cmd->flags & ~MEM_ARENA_CONFIG_FLAGS ||
	    !is_power_of_2(chunk_size) || chunk_size < PAGE_SIZE ||
	    chunk_size > MEM_ARENA_CHUNK_SIZE_MAX ||
	    cmd->min_savings_pct > 99 || weight > MEM_ARENA_WEIGHT_MAX ||
	    cmd->readahead_kib > MEM_ARENA_READAHEAD_KIB_MAX || cmd->__reserved)
		return -EINVAL;
	/* Choosing one's share is the opener's privilege (CAP_SYS_RESOURCE). */
	if ((cmd->tenant || weight > 1) && !arena->may_share)
		return -EPERM;
	mutex_lock(&arena->lock);
	if (arena->frozen) {
		err = -EBUSY;
	} else {
		arena->config.flags = cmd->flags;
		arena->config.chunk_size = chunk_size;
		arena->config.min_savings_pct = cmd->min_savings_pct;
		arena->config.cap_bytes = cmd->cap_bytes;
		arena->config.tenant = cmd->tenant;
		arena->config.weight = weight;
		arena->config.readahead_kib = cmd->readahead_kib;
	}
	mutex_unlock(&arena->lock);
	return err;
}

static int ma_cmd_get_config(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_config *cmd = ucmd->cmd;
	struct ma_arena *arena = ucmd->arena;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	mutex_lock(&arena->lock);
	cmd->flags = arena->config.flags;
	cmd->chunk_size = arena->config.chunk_size;
	cmd->min_savings_pct = arena->config.min_savings_pct;
	cmd->cap_bytes = arena->config.cap_bytes;
	cmd->tenant = arena->config.tenant;
	cmd->weight = arena->config.weight;
	cmd->readahead_kib = arena->config.readahead_kib;
	mutex_unlock(&arena->lock);
	return 0;
}

static int ma_cmd_region_alloc(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_region_alloc *cmd = ucmd->cmd;
	struct ma_arena *arena = ucmd->arena;
	struct ma_region *region;
	int err;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	mutex_lock(&arena->lock);
	if (!arena->frozen) {
		arena->chunk_order = ilog2(arena->config.chunk_size >> PAGE_SHIFT);
		arena->pool.cap_bytes = arena->config.cap_bytes;
		err = ma_tenant_attach(arena);
		if (err)
			goto out_unlock;
	}
	region = ma_region_alloc(arena, cmd->length);
	err = PTR_ERR_OR_ZERO(region);
	if (!err) {
		/* The config freezes with the first region that exists. */
		arena->frozen = true;
		/* Read under the lock: a REGION_FREE may free it after. */
		cmd->length = region->length;
		cmd->mmap_offset = (u64)region->pgoff << PAGE_SHIFT;
		cmd->id = region->id;
	} else if (!arena->frozen) {
		ma_tenant_detach(arena);
	}
out_unlock:
	mutex_unlock(&arena->lock);
	return err;
}

static int ma_cmd_region_free(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_region_free *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	return ma_region_free(ucmd->arena, cmd->id);
}

static int ma_cmd_region_info(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_region_info *cmd = ucmd->cmd;
	struct ma_region *region;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	region = ma_region_next(ucmd->arena, cmd->id);
	if (!region)
		return -ENOENT;
	cmd->id = region->id;
	cmd->length = region->length;
	cmd->mmap_offset = (u64)region->pgoff << PAGE_SHIFT;
	ma_region_put(region);
	return 0;
}

static int ma_touch_chunk(struct ma_chunk *chunk, struct ma_pass *pass)
{
	return ma_chunk_make_raw(chunk, MA_ACCESS_TOUCH, pass);
}

/*
 * @flags: the flags this command takes.  @whole: the range must not end
 * inside a chunk (but at the region's end).  MEM_ARENA_TOUCH_PARALLEL
 * walks the range on several CPUs.
 */
static int ma_cmd_range(struct ma_ucmd *ucmd, ma_chunk_fn fn,
			struct ma_pass *pass, u32 flags, bool whole)
{
	struct mem_arena_cmd_range *cmd = ucmd->cmd;
	struct ma_region *region;
	int err = -EINVAL;

	if (cmd->flags & ~flags || cmd->__reserved)
		return -EINVAL;
	region = ma_region_get(ucmd->arena, cmd->id);
	if (!region)
		return -ENOENT;
	if (whole && cmd->length & (ma_chunk_size(ucmd->arena) - 1) &&
	    cmd->offset + cmd->length != region->length)
		err = -EINVAL;
	else if (cmd->flags & MEM_ARENA_TOUCH_PARALLEL)
		err = ma_region_walk_parallel(region, cmd->offset, cmd->length,
					      fn, pass);
	else
		err = ma_region_walk_chunks(region, cmd->offset, cmd->length,
					    fn, pass);
	ma_region_put(region);
	cmd->chunks = pass->done;
	return err;
}

/*
 * A pass reports its evictions, and hitting the cap, as one event each,
 * from what this pass itself did (others may run on the arena at once).
 */
static int ma_cmd_compress(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_range *cmd = ucmd->cmd;
	struct ma_pass pass = {
		.unmap = true,
		.idle_only = cmd->flags & MEM_ARENA_COMPRESS_IDLE_ONLY,
	};
	int err;

	err = ma_cmd_range(ucmd, ma_chunk_compress, &pass,
			   MEM_ARENA_COMPRESS_IDLE_ONLY, false);
	ma_event_pass(ucmd->arena, &pass);
	return err;
}

static int ma_cmd_touch(struct ma_ucmd *ucmd)
{
	struct ma_pass pass = {};

	return ma_cmd_range(ucmd, ma_touch_chunk, &pass,
			    MEM_ARENA_TOUCH_PARALLEL, false);
}

/* Whole chunks only: the rest of a partial one would be lost with it. */
static int ma_cmd_discard(struct ma_ucmd *ucmd)
{
	struct ma_pass pass = { .unmap = true };

	return ma_cmd_range(ucmd, ma_chunk_discard, &pass, 0, true);
}

static bool ma_ranges_overlap(u64 a, u64 b, u64 len)
{
	return a < b + len && b < a + len;
}

/*
 * The source is any open /dev/mem_arena fd of the caller, this one too:
 * holding it is the permission.  What the copy holds is charged to this
 * arena's opener.
 */
static int ma_cmd_copy(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_copy *cmd = ucmd->cmd;
	struct ma_region *dst = NULL, *src = NULL;
	struct ma_pass pass = {};
	struct ma_arena *from;
	struct file *file;
	u64 end;
	int err;

	if (cmd->flags & ~MEM_ARENA_COPY_SNAPSHOT || cmd->__reserved)
		return -EINVAL;
	file = fget(cmd->src_fd);	/* a negative fd is none: -EBADF */
	if (!file)
		return -EBADF;
	from = ma_file_arena(file);
	err = -EINVAL;
	if (!from)
		goto out_fput;
	err = -ENOENT;
	dst = ma_region_get(ucmd->arena, cmd->id);
	src = ma_region_get(from, cmd->src_id);
	if (!dst || !src)
		goto out_put;
	/* Both arenas have a region: their chunk sizes are frozen. */
	err = -EINVAL;
	if (from->chunk_order != ucmd->arena->chunk_order || !cmd->length ||
	    (cmd->offset | cmd->src_offset | cmd->length) &
	    (ma_chunk_size(from) - 1) ||
	    check_add_overflow(cmd->src_offset, cmd->length, &end) ||
	    end > src->length ||
	    (src == dst &&
	     ma_ranges_overlap(cmd->offset, cmd->src_offset, cmd->length)))
		goto out_put;
	/* ma_region_walk_chunks() checks the destination range. */
	err = ma_region_copy(dst, cmd->offset, src, cmd->src_offset, cmd->length,
			     cmd->flags & MEM_ARENA_COPY_SNAPSHOT, &pass);
	cmd->chunks = pass.done;
out_put:
	if (src)
		ma_region_put(src);
	if (dst)
		ma_region_put(dst);
out_fput:
	fput(file);
	return err;
}

static int ma_cmd_get_stats(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_stats *cmd = ucmd->cmd;
	struct mem_arena_stats stats;
	u32 len;

	if (cmd->flags || cmd->__reserved || !cmd->stats_size ||
	    cmd->stats_size % sizeof(__u64))
		return -EINVAL;
	ma_stats_snapshot(ucmd->arena, &stats);
	len = min_t(u32, cmd->stats_size, sizeof(stats));
	if (copy_to_user(u64_to_user_ptr(cmd->stats_ptr), &stats, len))
		return -EFAULT;
	cmd->stats_size = len;
	return 0;
}

static int ma_cmd_defrag(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_defrag *cmd = ucmd->cmd;
	struct ma_defrag_result res;

	if (cmd->flags)
		return -EINVAL;
	ma_pool_compact(&ucmd->arena->pool, &res);
	cmd->bytes_moved = res.bytes_moved;
	cmd->slots_moved = res.slots_moved;
	cmd->pages_released = res.pages_released;
	return 0;
}

static int ma_cmd_pool_layout(struct ma_ucmd *ucmd)
{
	struct mem_arena_cmd_pool_layout *cmd = ucmd->cmd;
	struct mem_arena_block_info *info;
	u8 __user *dst = u64_to_user_ptr(cmd->blocks_ptr);
	u32 entry = min_t(u32, cmd->entry_size, sizeof(*info));
	unsigned int i, n, total;
	int err = 0;

	if (cmd->flags || !cmd->entry_size || cmd->entry_size % sizeof(__u64) ||
	    cmd->max_blocks > MEM_ARENA_LAYOUT_MAX_BLOCKS)
		return -EINVAL;
	/* Up to 128 KiB, the caller's choice: its failure is its -ENOMEM. */
	info = kvcalloc(max(cmd->max_blocks, 1U), sizeof(*info),
			GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!info)
		return -ENOMEM;
	n = ma_pool_layout(&ucmd->arena->pool, cmd->first_block, cmd->max_blocks,
			   info, &total);
	for (i = 0; i < n && !err; i++) {
		if (copy_to_user(dst + (size_t)i * cmd->entry_size, &info[i], entry))
			err = -EFAULT;
	}
	kvfree(info);
	cmd->nr_blocks = n;
	cmd->total_blocks = total;
	cmd->block_size = MA_BLOCK_SIZE;
	return err;
}

union ma_ucmd_buffer {
	struct mem_arena_cmd_info info;
	struct mem_arena_cmd_config config;
	struct mem_arena_cmd_region_alloc region_alloc;
	struct mem_arena_cmd_region_free region_free;
	struct mem_arena_cmd_region_info region_info;
	struct mem_arena_cmd_range range;
	struct mem_arena_cmd_copy copy;
	struct mem_arena_cmd_stats stats;
	struct mem_arena_cmd_defrag defrag;
	struct mem_arena_cmd_pool_layout layout;
};

struct ma_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	bool copy_out;
	int (*execute)(struct ma_ucmd *ucmd);
};

#define MA_IOCTL_OP(_ioctl, _fn, _struct, _last, _out)			\
	[_IOC_NR(_ioctl) - MEM_ARENA_CMD_BASE] = {			\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.copy_out = _out,					\
		.execute = _fn,						\
	}

static const struct ma_ioctl_op ma_ioctl_ops[] = {
	MA_IOCTL_OP(MEM_ARENA_IOC_GET_INFO, ma_cmd_get_info,
		    struct mem_arena_cmd_info, pool_cap_bytes, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_SET_CONFIG, ma_cmd_set_config,
		    struct mem_arena_cmd_config, cap_bytes, false),
	MA_IOCTL_OP(MEM_ARENA_IOC_GET_CONFIG, ma_cmd_get_config,
		    struct mem_arena_cmd_config, cap_bytes, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_REGION_ALLOC, ma_cmd_region_alloc,
		    struct mem_arena_cmd_region_alloc, __reserved, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_REGION_FREE, ma_cmd_region_free,
		    struct mem_arena_cmd_region_free, __reserved, false),
	MA_IOCTL_OP(MEM_ARENA_IOC_COMPRESS, ma_cmd_compress,
		    struct mem_arena_cmd_range, chunks, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_TOUCH, ma_cmd_touch,
		    struct mem_arena_cmd_range, chunks, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_GET_STATS, ma_cmd_get_stats,
		    struct mem_arena_cmd_stats, stats_ptr, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_DEFRAG, ma_cmd_defrag,
		    struct mem_arena_cmd_defrag, pages_released, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_POOL_LAYOUT, ma_cmd_pool_layout,
		    struct mem_arena_cmd_pool_layout, blocks_ptr, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_DISCARD, ma_cmd_discard,
		    struct mem_arena_cmd_range, chunks, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_REGION_INFO, ma_cmd_region_info,
		    struct mem_arena_cmd_region_info, mmap_offset, true),
	MA_IOCTL_OP(MEM_ARENA_IOC_COPY, ma_cmd_copy,
		    struct mem_arena_cmd_copy, chunks, true),
};

static u64 ma_ioctl_mask(void)
{
	u64 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(ma_ioctl_ops); i++)
		if (ma_ioctl_ops[i].execute)
			mask |= 1ULL << i;
	return mask;
}

long ma_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *ubuffer = (void __user *)arg;
	const struct ma_ioctl_op *op;
	union ma_ucmd_buffer buf;
	struct ma_ucmd ucmd = { .arena = file->private_data, .cmd = &buf };
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size;
	int err;

	if (nr < MEM_ARENA_CMD_BASE ||
	    nr - MEM_ARENA_CMD_BASE >= ARRAY_SIZE(ma_ioctl_ops))
		return -ENOTTY;
	op = &ma_ioctl_ops[nr - MEM_ARENA_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	if (get_user(user_size, (u32 __user *)ubuffer))
		return -EFAULT;
	if (user_size < op->min_size)
		return -EINVAL;
	err = copy_struct_from_user(&buf, op->size, ubuffer, user_size);
	if (err)
		return err;
	*(u32 *)&buf = user_size;	/* one fetch of the size, not two */

	err = op->execute(&ucmd);
	if (err)
		return err;
	if (op->copy_out &&
	    copy_to_user(ubuffer, &buf, min_t(u32, op->size, user_size)))
		return -EFAULT;
	return 0;
}
