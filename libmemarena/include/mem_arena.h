/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmemarena: the C API of mem_arena, a managed, swap-free compression
 * arena.  See mem_arena(7) for the model and one man page per call.
 *
 * Every int function returns 0 (or a documented non-negative count) or a
 * negative errno; none prints or exits.  Functions taking a region may be
 * called from many threads at once, on the same or different regions of one
 * arena; region alloc/free and destroy must not race with use of the same
 * region.
 */
#ifndef MEM_ARENA_H
#define MEM_ARENA_H

#include <stddef.h>
#include <linux/mem_arena.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mem_arena;		/* opaque: one open /dev/mem_arena */
struct mem_arena_region;	/* opaque: one mapped region */
/* struct mem_arena_stats: <linux/mem_arena.h>, every field __u64 */

struct mem_arena_config {
	size_t   chunk_size;      /* 0 = the page size; power of two, page size .. 64 KiB */
	size_t   cap_bytes;       /* bound on the arena's compressed pool; 0 = module-wide bound only */
	unsigned min_savings_pct; /* 0..99 */
	unsigned flags;           /* MEM_ARENA_CONFIG_MAP_AHEAD, _READAHEAD_ASYNC */
};

void   mem_arena_config_init(struct mem_arena_config *cfg);
int    mem_arena_create(const struct mem_arena_config *cfg,
			struct mem_arena **out);
int    mem_arena_region_alloc(struct mem_arena *arena, size_t size,
			      struct mem_arena_region **out);
void  *mem_arena_region_base(const struct mem_arena_region *region);
size_t mem_arena_region_size(const struct mem_arena_region *region);
int    mem_arena_touch(struct mem_arena_region *region, size_t offset,
		       size_t len);
int    mem_arena_compress_region(struct mem_arena_region *region);
int    mem_arena_get_stats(struct mem_arena *arena,
			   struct mem_arena_stats *stats);
int    mem_arena_region_free(struct mem_arena_region *region);
void   mem_arena_destroy(struct mem_arena *arena);

/* Beyond the core seven. */
int    mem_arena_compress_range(struct mem_arena_region *region,
				size_t offset, size_t len);
/* MEM_ARENA_1.1 */
int    mem_arena_discard(struct mem_arena_region *region, size_t offset,
			 size_t len);
/* MEM_ARENA_1.2 */
int    mem_arena_compress_idle(struct mem_arena_region *region,
			       size_t offset, size_t len);
/* MEM_ARENA_1.3 */
int    mem_arena_region_copy(struct mem_arena_region *dst, size_t dst_offset,
			     const struct mem_arena_region *src,
			     size_t src_offset, size_t len);
/* MEM_ARENA_1.4 */
int    mem_arena_set_readahead(struct mem_arena *arena, unsigned int kib);
/* MEM_ARENA_1.5 */
int    mem_arena_region_snapshot(struct mem_arena_region *dst,
				 size_t dst_offset,
				 const struct mem_arena_region *src,
				 size_t src_offset, size_t len);
/* MEM_ARENA_1.6 */
int    mem_arena_touch_parallel(struct mem_arena_region *region,
				size_t offset, size_t len);
/* MEM_ARENA_1.0, as everything from here on */
int    mem_arena_get_config(struct mem_arena *arena,
			    struct mem_arena_config *cfg);
int    mem_arena_get_info(struct mem_arena *arena,
			  struct mem_arena_cmd_info *info);
int    mem_arena_fd(const struct mem_arena *arena);

/* The pool: compaction and its block-by-block layout. */
struct mem_arena_defrag_result {
	unsigned long long bytes_moved;
	unsigned long long slots_moved;
	unsigned long long pages_released;
};
int    mem_arena_defrag(struct mem_arena *arena,
			struct mem_arena_defrag_result *res);
int    mem_arena_pool_layout(struct mem_arena *arena, unsigned int first,
			     struct mem_arena_block_info *blocks,
			     unsigned int max, unsigned int *total_blocks);
const char *mem_arena_strerror(int err);

/* The stats list, by id (0 .. MEM_ARENA_NR_STATS - 1); NULL past the end. */
const char *mem_arena_stat_name(unsigned int id);
const char *mem_arena_stat_unit(unsigned int id);
const char *mem_arena_stat_doc(unsigned int id);
unsigned long long mem_arena_stat_value(const struct mem_arena_stats *stats,
					unsigned int id);

#ifdef __cplusplus
}
#endif

#endif /* MEM_ARENA_H */
