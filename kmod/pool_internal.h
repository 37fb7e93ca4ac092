/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pool internals shared by pool.c and compact.c only: compaction is the
 * one other user of blocks and their free-space index.  Nobody else
 * includes this header.
 */
#ifndef _MEM_ARENA_POOL_INTERNAL_H
#define _MEM_ARENA_POOL_INTERNAL_H

#include "pool.h"

struct ma_arena;

/*
 * Mark @units at @unit of @block used, or free, keeping pool.h's bounds
 * (free_from, used_end); ma_pool.lock held, the caller counts the units.
 * A take forgets the last free's run; a free leaves it to its caller.
 */
static inline void ma_block_set_used(struct ma_block *block, unsigned int unit,
				     unsigned int units)
{
	bitmap_set(block->used, unit, units);
	block->freed_end = 0;
	if (unit == block->free_from)
		block->free_from = unit + units;
	block->used_end = max(block->used_end, unit + units);
}

static inline void ma_block_set_free(struct ma_block *block, unsigned int unit,
				     unsigned int units)
{
	bitmap_clear(block->used, unit, units);
	block->free_from = min(block->free_from, unit);
}

/* pool.c, for compact.c: all but ma_block_destroy() with ma_pool.lock held */
struct ma_block *ma_pool_find_block(struct ma_pool *pool, unsigned int units);
int ma_block_find(const struct ma_block *block, unsigned int units);
void ma_block_unlist(struct ma_pool *pool, struct ma_block *block);
void ma_block_reclass(struct ma_pool *pool, struct ma_block *block);
void ma_pool_drop_block(struct ma_pool *pool, struct ma_block *block);
void ma_block_destroy(struct ma_arena *arena, struct ma_block *block);

#endif /* _MEM_ARENA_POOL_INTERNAL_H */
