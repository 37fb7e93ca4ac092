// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemarena: thin, checked wrappers over the /dev/mem_arena ioctls.
 *
 * An arena keeps the list of its regions (under its mutex) so that
 * mem_arena_destroy() can unmap and free them.  Calls on a region touch
 * only that region and the kernel, which is thread safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem_arena.h"

struct mem_arena_region {
	struct mem_arena *arena;
	struct mem_arena_region *prev, *next;
	void *base;
	size_t size;		/* bytes mapped: whole chunks */
	__u32 id;
};

struct mem_arena {
	int fd;
	size_t chunk_size;
	pthread_mutex_t lock;	/* protects regions */
	struct mem_arena_region *regions;
};

static int ma_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

void mem_arena_config_init(struct mem_arena_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->chunk_size = sysconf(_SC_PAGESIZE);
}

static int ma_config_check(const struct mem_arena_config *cfg)
{
	size_t cs = cfg->chunk_size;
	long page = sysconf(_SC_PAGESIZE);

	if (cfg->flags & ~MEM_ARENA_CONFIG_FLAGS || cfg->min_savings_pct > 99)
		return -EINVAL;
	if (cs && ((cs & (cs - 1)) || cs < (size_t)page ||
		   cs > MEM_ARENA_CHUNK_SIZE_MAX))
		return -EINVAL;
	return 0;
}

int mem_arena_create(const struct mem_arena_config *cfg, struct mem_arena **out)
{
	struct mem_arena_config defaults;
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	struct mem_arena_cmd_config kcfg = { .size = sizeof(kcfg) };
	struct mem_arena *arena;
	int err;

	if (!out)
		return -EINVAL;
	if (!cfg) {
		mem_arena_config_init(&defaults);
		cfg = &defaults;
	}
	err = ma_config_check(cfg);
	if (err)
		return err;

	arena = calloc(1, sizeof(*arena));
	if (!arena)
		return -ENOMEM;
	arena->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (arena->fd < 0) {
		/* No device node: the module is not loaded. */
		err = errno == ENOENT || errno == ENXIO ? -ENODEV : -errno;
		goto out_free_arena;
	}
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_GET_INFO, &info);
	if (!err && info.api != MEM_ARENA_API)
		err = -EPROTO;
	if (err)
		goto out_close;

	kcfg.flags = cfg->flags;
	kcfg.chunk_size = cfg->chunk_size;
	kcfg.min_savings_pct = cfg->min_savings_pct;
	kcfg.cap_bytes = cfg->cap_bytes;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_SET_CONFIG, &kcfg);
	if (err)
		goto out_close;
	arena->chunk_size = cfg->chunk_size ? cfg->chunk_size
					    : (size_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&arena->lock, NULL);
	*out = arena;
	return 0;

out_close:
	close(arena->fd);
out_free_arena:
	free(arena);
	return err;
}

int mem_arena_region_alloc(struct mem_arena *arena, size_t size,
			   struct mem_arena_region **out)
{
	struct mem_arena_cmd_region_alloc alloc = { .size = sizeof(alloc) };
	struct mem_arena_cmd_region_free rfree = { .size = sizeof(rfree) };
	struct mem_arena_region *region;
	int err;

	if (!arena || !out || !size)
		return -EINVAL;
	region = calloc(1, sizeof(*region));
	if (!region)
		return -ENOMEM;
	alloc.length = size;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_REGION_ALLOC, &alloc);
	if (err)
		goto out_free_region;
	region->base = mmap(NULL, alloc.length, PROT_READ | PROT_WRITE,
			    MAP_SHARED, arena->fd, alloc.mmap_offset);
	if (region->base == MAP_FAILED) {
		err = -errno;
		rfree.id = alloc.id;
		ma_ioctl(arena->fd, MEM_ARENA_IOC_REGION_FREE, &rfree);
		goto out_free_region;
	}
	region->arena = arena;
	region->size = alloc.length;
	region->id = alloc.id;

	pthread_mutex_lock(&arena->lock);
	region->next = arena->regions;
	if (arena->regions)
		arena->regions->prev = region;
	arena->regions = region;
	pthread_mutex_unlock(&arena->lock);
	*out = region;
	return 0;

out_free_region:
	free(region);
	return err;
}

void *mem_arena_region_base(const struct mem_arena_region *region)
{
	return region ? region->base : NULL;
}

size_t mem_arena_region_size(const struct mem_arena_region *region)
{
	return region ? region->size : 0;
}

/*
 * COMPRESS, TOUCH or DISCARD over [offset, offset + len) of @region, widened
 * to whole chunks, or for DISCARD narrowed to them (a chunk partly outside
 * keeps its data; the region's last chunk counts whole).
 */
static int ma_range(struct mem_arena_region *region, unsigned long cmd,
		    __u32 flags, size_t offset, size_t len)
{
	struct mem_arena_cmd_range range = { .size = sizeof(range), .flags = flags };
	size_t start, end, cs;
	int err;

	if (!region || !len || __builtin_add_overflow(offset, len, &end) ||
	    end > region->size)
		return -EINVAL;
	cs = region->arena->chunk_size;
	if (cmd != MEM_ARENA_IOC_DISCARD) {
		start = offset & ~(cs - 1);
	} else {
		start = (offset + cs - 1) & ~(cs - 1);
		if (end != region->size)
			end &= ~(cs - 1);
		if (start >= end)
			return 0;
	}
	range.id = region->id;
	range.offset = start;
	range.length = end - start;
	err = ma_ioctl(region->arena->fd, cmd, &range);
	if (err)
		return err;
	return range.chunks > INT32_MAX ? INT32_MAX : (int)range.chunks;
}

int mem_arena_touch(struct mem_arena_region *region, size_t offset, size_t len)
{
	return ma_range(region, MEM_ARENA_IOC_TOUCH, 0, offset, len);
}

int mem_arena_touch_parallel(struct mem_arena_region *region, size_t offset,
			     size_t len)
{
	return ma_range(region, MEM_ARENA_IOC_TOUCH, MEM_ARENA_TOUCH_PARALLEL,
			offset, len);
}

int mem_arena_compress_range(struct mem_arena_region *region, size_t offset,
			     size_t len)
{
	return ma_range(region, MEM_ARENA_IOC_COMPRESS, 0, offset, len);
}

int mem_arena_compress_idle(struct mem_arena_region *region, size_t offset,
			    size_t len)
{
	return ma_range(region, MEM_ARENA_IOC_COMPRESS,
			MEM_ARENA_COMPRESS_IDLE_ONLY, offset, len);
}

int mem_arena_discard(struct mem_arena_region *region, size_t offset, size_t len)
{
	return ma_range(region, MEM_ARENA_IOC_DISCARD, 0, offset, len);
}

static int ma_region_copy(struct mem_arena_region *dst, size_t dst_offset,
			  const struct mem_arena_region *src, size_t src_offset,
			  size_t len, __u32 flags)
{
	struct mem_arena_cmd_copy copy = { .size = sizeof(copy), .flags = flags };
	size_t end, src_end, cs;
	int err;

	if (!dst || !src || !len ||
	    __builtin_add_overflow(dst_offset, len, &end) || end > dst->size ||
	    __builtin_add_overflow(src_offset, len, &src_end) ||
	    src_end > src->size)
		return -EINVAL;
	cs = dst->arena->chunk_size;
	if ((dst_offset | src_offset | len) & (cs - 1))
		return -EINVAL;
	copy.id = dst->id;
	copy.src_fd = src->arena->fd;
	copy.src_id = src->id;
	copy.offset = dst_offset;
	copy.src_offset = src_offset;
	copy.length = len;
	err = ma_ioctl(dst->arena->fd, MEM_ARENA_IOC_COPY, &copy);
	if (err)
		return err;
	return copy.chunks > INT32_MAX ? INT32_MAX : (int)copy.chunks;
}

int mem_arena_region_copy(struct mem_arena_region *dst, size_t dst_offset,
			  const struct mem_arena_region *src, size_t src_offset,
			  size_t len)
{
	return ma_region_copy(dst, dst_offset, src, src_offset, len, 0);
}

int mem_arena_region_snapshot(struct mem_arena_region *dst, size_t dst_offset,
			      const struct mem_arena_region *src,
			      size_t src_offset, size_t len)
{
	return ma_region_copy(dst, dst_offset, src, src_offset, len,
			      MEM_ARENA_COPY_SNAPSHOT);
}

int mem_arena_compress_region(struct mem_arena_region *region)
{
	if (!region)
		return -EINVAL;
	return mem_arena_compress_range(region, 0, region->size);
}

int mem_arena_get_stats(struct mem_arena *arena, struct mem_arena_stats *stats)
{
	struct mem_arena_cmd_stats cmd = { .size = sizeof(cmd) };

	if (!arena || !stats)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	cmd.stats_size = sizeof(*stats);
	cmd.stats_ptr = (uintptr_t)stats;
	return ma_ioctl(arena->fd, MEM_ARENA_IOC_GET_STATS, &cmd);
}

int mem_arena_get_config(struct mem_arena *arena, struct mem_arena_config *cfg)
{
	struct mem_arena_cmd_config kcfg = { .size = sizeof(kcfg) };
	int err;

	if (!arena || !cfg)
		return -EINVAL;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_GET_CONFIG, &kcfg);
	if (err)
		return err;
	mem_arena_config_init(cfg);
	cfg->chunk_size = kcfg.chunk_size;
	cfg->cap_bytes = kcfg.cap_bytes;
	cfg->min_savings_pct = kcfg.min_savings_pct;
	cfg->flags = kcfg.flags;
	return 0;
}

int mem_arena_set_readahead(struct mem_arena *arena, unsigned int kib)
{
	struct mem_arena_cmd_config kcfg = { .size = sizeof(kcfg) };
	int err;

	if (!arena)
		return -EINVAL;
	/* SET_CONFIG sets every field: keep the others as they are. */
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_GET_CONFIG, &kcfg);
	if (err)
		return err;
	kcfg.readahead_kib = kib;
	return ma_ioctl(arena->fd, MEM_ARENA_IOC_SET_CONFIG, &kcfg);
}

int mem_arena_get_info(struct mem_arena *arena, struct mem_arena_cmd_info *info)
{
	if (!arena || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ma_ioctl(arena->fd, MEM_ARENA_IOC_GET_INFO, info);
}

int mem_arena_fd(const struct mem_arena *arena)
{
	return arena ? arena->fd : -EINVAL;
}

int mem_arena_defrag(struct mem_arena *arena, struct mem_arena_defrag_result *res)
{
	struct mem_arena_cmd_defrag cmd = { .size = sizeof(cmd) };
	int err;

	if (!arena)
		return -EINVAL;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_DEFRAG, &cmd);
	if (!err && res) {
		res->bytes_moved = cmd.bytes_moved;
		res->slots_moved = cmd.slots_moved;
		res->pages_released = cmd.pages_released;
	}
	return err;
}

int mem_arena_pool_layout(struct mem_arena *arena, unsigned int first,
			  struct mem_arena_block_info *blocks, unsigned int max,
			  unsigned int *total_blocks)
{
	struct mem_arena_cmd_pool_layout cmd = { .size = sizeof(cmd) };
	int err;

	if (!arena || (max && !blocks) || max > MEM_ARENA_LAYOUT_MAX_BLOCKS)
		return -EINVAL;
	cmd.first_block = first;
	cmd.max_blocks = max;
	cmd.entry_size = sizeof(*blocks);
	cmd.blocks_ptr = (uintptr_t)blocks;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_POOL_LAYOUT, &cmd);
	if (err)
		return err;
	if (total_blocks)
		*total_blocks = cmd.total_blocks;
	return (int)cmd.nr_blocks;
}

static void ma_region_unlink(struct mem_arena_region *region)
{
	struct mem_arena *arena = region->arena;

	if (region->prev)
		region->prev->next = region->next;
	else
		arena->regions = region->next;
	if (region->next)
		region->next->prev = region->prev;
}

int mem_arena_region_free(struct mem_arena_region *region)
{
	struct mem_arena_cmd_region_free rfree = { .size = sizeof(rfree) };
	struct mem_arena *arena;
	int err;

	if (!region)
		return -EINVAL;
	arena = region->arena;
	munmap(region->base, region->size);
	rfree.id = region->id;
	err = ma_ioctl(arena->fd, MEM_ARENA_IOC_REGION_FREE, &rfree);
	pthread_mutex_lock(&arena->lock);
	ma_region_unlink(region);
	pthread_mutex_unlock(&arena->lock);
	free(region);
	return err;
}

void mem_arena_destroy(struct mem_arena *arena)
{
	struct mem_arena_region *region, *next;

	if (!arena)
		return;
	/* Closing the fd frees every region in the kernel at once. */
	for (region = arena->regions; region; region = next) {
		next = region->next;
		munmap(region->base, region->size);
		free(region);
	}
	close(arena->fd);
	pthread_mutex_destroy(&arena->lock);
	free(arena);
}

const char *mem_arena_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case ENODEV:
		return "mem_arena module not loaded (modprobe mem_arena)";
	case EPROTO:
		return "mem_arena module speaks another API";
	case EBUSY:
		return "arena config cannot change once a region exists";
	case EDQUOT:
		return "arena memory would pass the opener's locked-memory limit (ulimit -l)";
	case EACCES:
		return "no permission to open /dev/mem_arena (see the mem_arena group)";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

#define MA_STAT_ROW(name, id, unit, doc) [id] = { #name, #unit, doc },
static const struct {
	const char *name, *unit, *doc;
} ma_stat_table[] = { MEM_ARENA_STATS(MA_STAT_ROW) };
#define MA_NR_TABLE (sizeof(ma_stat_table) / sizeof(ma_stat_table[0]))

const char *mem_arena_stat_name(unsigned int id)
{
	return id < MA_NR_TABLE ? ma_stat_table[id].name : NULL;
}

const char *mem_arena_stat_unit(unsigned int id)
{
	return id < MA_NR_TABLE ? ma_stat_table[id].unit : NULL;
}

const char *mem_arena_stat_doc(unsigned int id)
{
	return id < MA_NR_TABLE ? ma_stat_table[id].doc : NULL;
}

unsigned long long mem_arena_stat_value(const struct mem_arena_stats *stats,
					unsigned int id)
{
	if (!stats || id >= MA_NR_TABLE)
		return 0;
	return ((const __u64 *)stats)[id];
}
