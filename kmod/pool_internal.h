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

/* pool.c, for compact.c: all but ma_block_destroy() with ma_pool.lock held */
struct ma_block *ma_pool_find_block(struct ma_pool *pool, unsigned int units);
int ma_block_find(const struct ma_block *block, unsigned int units);
void ma_block_unlist(struct ma_pool *pool, struct ma_block *block);
void ma_block_reclass(struct ma_pool *pool, struct ma_block *block);
void ma_pool_drop_block(struct ma_pool *pool, struct ma_block *block);
void ma_block_destroy(struct ma_arena *arena, struct ma_block *block);

#endif /* _MEM_ARENA_POOL_INTERNAL_H */
