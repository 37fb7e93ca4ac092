// SPDX-License-Identifier: GPL-2.0
/*
 * mem_arena: a managed, swap-free compression arena.
 *
 * /dev/mem_arena: each open file is one arena.  Every open of a misc device
 * shares the device inode, so each arena gets an inode of its own from a
 * tiny pseudo filesystem (as DRM does) and points file->f_mapping at it:
 * unmap_mapping_range() on it then reaches exactly that arena's mappings.
 *
 * Locking:
 *   ma_fs_mnt/ma_fs_count are guarded by simple_pin_fs()'s own lock.
 *   ma_arenas_lock (mutex) guards the list of open arenas (module-wide
 *   stats); an arena leaves it last thing in release, once its regions
 *   are freed, handing its counts to the retired total (stats.c).
 *   An arena is reached only through its file (private_data), so the VFS
 *   guarantees release() runs after every ioctl and mapping is gone; the
 *   one exception, a fair reclaim of another tenant evicting from it, is
 *   waited for first thing in release (ma_share_close()).
 *   See arena.h for the per-arena lock order.
 *
 * Permissions: the device is 0666.  Everything an arena allocates is
 * charged to the memory cgroup of the task whose fault or ioctl caused it,
 * what its chunks hold to the opener's RLIMIT_MEMLOCK (charge.c), and the
 * kernel memory of all pools together is bounded by
 * /sys/kernel/mem_arena/pool_cap_bytes (root only).
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/capability.h>
#include <linux/fadvise.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include "arena.h"
#include "codec.h"

#define MEM_ARENA_FS_MAGIC	0x4d41524e	/* "MARN" */

static struct vfsmount *ma_fs_mnt;
static int ma_fs_count;

LIST_HEAD(ma_arenas);
DEFINE_MUTEX(ma_arenas_lock);
atomic_t ma_nr_arenas;
static u32 ma_last_arena_id;		/* protected by ma_arenas_lock */

static int ma_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, MEM_ARENA_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type ma_fs_type = {
	.name = "mem_arena",
	.owner = THIS_MODULE,
	.init_fs_context = ma_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static struct inode *ma_inode_new(void)
{
	struct inode *inode;
	int err;

	err = simple_pin_fs(&ma_fs_type, &ma_fs_mnt, &ma_fs_count);
	if (err)
		return ERR_PTR(err);
	inode = alloc_anon_inode(ma_fs_mnt->mnt_sb);
	if (IS_ERR(inode))
		simple_release_fs(&ma_fs_mnt, &ma_fs_count);
	return inode;
}

static void ma_inode_free(struct inode *inode)
{
	iput(inode);
	simple_release_fs(&ma_fs_mnt, &ma_fs_count);
}

static int ma_open(struct inode *inode, struct file *file)
{
	struct ma_arena *arena;
	int err;

	arena = kzalloc(sizeof(*arena), GFP_KERNEL_ACCOUNT);
	if (!arena)
		return -ENOMEM;
	arena->inode = ma_inode_new();
	if (IS_ERR(arena->inode)) {
		err = PTR_ERR(arena->inode);
		goto out_free_arena;
	}
	err = ma_spare_init(arena);
	if (err)
		goto out_free_inode;
	mutex_init(&arena->lock);
	xa_init_flags(&arena->regions, XA_FLAGS_ALLOC1);
	ma_pool_init(&arena->pool);
	arena->config.chunk_size = PAGE_SIZE;
	arena->owner_pid = task_tgid_nr(current);
	get_task_comm(arena->owner_comm, current);
	arena->owner_uid = file->f_cred->euid;
	arena->may_share = file_ns_capable(file, &init_user_ns, CAP_SYS_RESOURCE);
	arena->config.weight = 1;
	ma_charge_init(arena, file);

	file->f_mapping = arena->inode->i_mapping;
	file->private_data = arena;
	/* Ids ascend along ma_arenas: the netlink dump resumes by id. */
	mutex_lock(&ma_arenas_lock);
	arena->id = ++ma_last_arena_id;
	list_add_tail(&arena->node, &ma_arenas);
	mutex_unlock(&ma_arenas_lock);
	atomic_inc(&ma_nr_arenas);
	ma_event_arena(arena, true);
	return 0;

out_free_inode:
	ma_inode_free(arena->inode);
out_free_arena:
	kfree(arena);
	return err;
}

/* The last reference is gone: no ioctl runs and no mapping exists. */
static int ma_release(struct inode *inode, struct file *file)
{
	struct ma_arena *arena = file->private_data;

	ma_event_arena(arena, false);
	ma_share_close(arena);
	ma_pool_stop_background(&arena->pool);
	ma_region_free_all(arena);
	xa_destroy(&arena->regions);
	ma_spare_exit(arena);
	/* Its gauges are 0 now; the module keeps its cumulative counts. */
	mutex_lock(&ma_arenas_lock);
	list_del(&arena->node);
	ma_stats_retire(arena);
	mutex_unlock(&ma_arenas_lock);
	ma_pool_destroy(&arena->pool);
	ma_tenant_detach(arena);
	ma_charge_exit(arena);
	ma_inode_free(arena->inode);
	mutex_destroy(&arena->lock);
	kfree(arena);
	atomic_dec(&ma_nr_arenas);
	return 0;
}

static int ma_mmap(struct file *file, struct vm_area_struct *vma)
{
	return ma_region_mmap(file->private_data, vma);
}

/* WILLNEED reads ahead; other advice is as it was without this hook. */
static int ma_fadvise(struct file *file, loff_t offset, loff_t len, int advice)
{
	if (advice == POSIX_FADV_WILLNEED)
		return ma_region_willneed(file->private_data, offset, len);
	return generic_fadvise(file, offset, len, advice);
}

/* SEEK_DATA and SEEK_HOLE find the chunks that hold data; nothing else moves. */
static loff_t ma_llseek(struct file *file, loff_t offset, int whence)
{
	if (whence == SEEK_DATA || whence == SEEK_HOLE)
		return ma_region_seek(file->private_data, offset, whence);
	return noop_llseek(file, offset, whence);
}

static const struct file_operations ma_fops = {
	.owner = THIS_MODULE,
	.open = ma_open,
	.release = ma_release,
	.mmap = ma_mmap,
	.unlocked_ioctl = ma_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = ma_llseek,
	.fadvise = ma_fadvise,
};

/* The arena of @file, if it is an open /dev/mem_arena; else NULL. */
struct ma_arena *ma_file_arena(struct file *file)
{
	return file->f_op == &ma_fops ? file->private_data : NULL;
}

static struct miscdevice ma_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mem_arena",
	.fops = &ma_fops,
	.mode = 0666,
};

static int __init ma_init(void)
{
	int err;

	ma_pool_cap_init();
	err = ma_streams_init();
	if (err)
		return err;
	err = ma_spare_shrinker_init();
	if (err)
		goto out_free_streams;
	err = ma_workers_init();
	if (err)
		goto out_free_shrinker;
	err = ma_sysfs_init();
	if (err)
		goto out_workers_exit;
	err = ma_netlink_init();
	if (err)
		goto out_remove_sysfs;
	err = misc_register(&ma_misc);
	if (err)
		goto out_unregister_netlink;
	pr_info("ready: codec %s, pool cap %llu bytes\n", ma_codec->name,
		ma_pool_cap());
	return 0;

out_unregister_netlink:
	ma_netlink_exit();
out_remove_sysfs:
	ma_sysfs_exit();
out_workers_exit:
	ma_workers_exit();
out_free_shrinker:
	ma_spare_shrinker_exit();
out_free_streams:
	ma_streams_exit();
	return err;
}

static void __exit ma_exit(void)
{
	misc_deregister(&ma_misc);
	ma_netlink_exit();
	ma_sysfs_exit();
	ma_workers_exit();
	ma_spare_shrinker_exit();
	ma_streams_exit();
}

module_init(ma_init);
module_exit(ma_exit);
MODULE_DESCRIPTION("Managed, swap-free compression arena");
MODULE_LICENSE("GPL");
MODULE_VERSION(MEM_ARENA_VERSION);
