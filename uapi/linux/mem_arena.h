/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mem_arena: a managed, swap-free compression arena.
 *
 * Model
 * -----
 * An *arena* is one open file of /dev/mem_arena.  Its config (chunk size,
 * pool cap, minimum savings) may change only until its first region exists.
 * Closing the last reference to it (the fd and every mapping) destroys it.
 *
 * A *region* is an allocation in the arena, its length rounded up to whole
 * chunks.  MEM_ARENA_IOC_REGION_ALLOC returns its id and an mmap offset; map
 * it with mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset).
 * Pages are allocated zero-filled on first touch, are charged to the caller's
 * memory cgroup and count in its RSS.  After MEM_ARENA_IOC_REGION_FREE any
 * remaining mapping of the region gets SIGBUS on access.
 *
 * A *chunk* (chunk_size bytes, a power of two from the page size to 64 KiB)
 * is in one of four states:
 *   empty       never touched: no memory at all;
 *   raw         its pages are resident;
 *   compressed  its LZ4 output lives in a slot of the arena's pool;
 *   same-filled every word was equal: only the word is kept, no slot.
 *
 * MEM_ARENA_IOC_COMPRESS unmaps each raw chunk of a range from every process,
 * skips it if someone else holds its pages (busy_skips), and compresses it.
 * With MEM_ARENA_COMPRESS_IDLE_ONLY it compresses only the raw chunks nobody
 * accessed since the previous idle-only pass over them: the others it
 * unmaps, marks and leaves raw (hot_skips); an access to a marked chunk
 * faults (idle_refaults), maps the chunk again and clears its mark.
 * Output not smaller than the chunk leaves it raw (incompressible_chunks);
 * saving less than min_savings_pct leaves it raw
 * (compression_reject_small_gain).  Otherwise the chunk's pages are freed and
 * it becomes the most recently used compressed chunk.
 *
 * Any access to a compressed or same-filled chunk faults and brings the whole
 * chunk back to raw; MEM_ARENA_IOC_TOUCH does so eagerly for a range (with
 * MEM_ARENA_TOUCH_PARALLEL, on several CPUs).
 * Readahead: in a mapping advised MADV_SEQUENTIAL, a fault that had to
 * decompress, or the first use of a chunk read ahead, also brings back the
 * compressed chunks of the next 128 KiB (at least two chunks); an arena
 * with a readahead_kib (SET_CONFIG) reads that far, in every mapping that
 * is not advised MADV_RANDOM, once two faults in a row decompressed
 * neighbouring chunks;
 * madvise(MADV_WILLNEED) or posix_fadvise(POSIX_FADV_WILLNEED) on the fd
 * does so for its range.  Chunks read ahead count in readahead_chunks, not
 * as access hits, and in readahead_wasted if they go again unused.
 * MEM_ARENA_IOC_DISCARD empties whole chunks of a range, whatever their
 * state, without reading them: their memory goes back, and they read as
 * zeros again, as freed heap memory may.
 * MEM_ARENA_IOC_COPY copies whole chunks from a region of any arena the
 * caller has open into a region of this one, each in its state: a
 * compressed chunk's slot bytes are copied, not decompressed (a private
 * copy of a heap at fork, or a snapshot).  With MEM_ARENA_COPY_SNAPSHOT
 * the copy is the source as it was at one instant: the source range is
 * unmapped, and faults on the source region wait until the copy is whole
 * (MEM_ARENA_FEATURE_COPY_SNAPSHOT).
 * lseek(fd, offset, SEEK_DATA or SEEK_HOLE) reads the arena as a sparse
 * file of its regions at their mmap offsets: chunks that hold memory (raw,
 * compressed, same-filled with other than zero) are data, the rest holes;
 * nothing is read back, and the fd's offset does not move
 * (MEM_ARENA_FEATURE_SEEK_HOLE).
 *
 * The pool never holds more than the arena's cap_bytes nor more than the
 * module-wide cap (/sys/kernel/mem_arena/pool_cap_bytes).  To make room, the
 * pool is first compacted if that can free a whole block; then the least
 * recently used compressed chunks of the arena are evicted back to raw.
 * A chunk that cannot fit even then stays raw (cap_rejects).
 *
 * The pool packs variable-size slots (8-byte units, an 8-byte header) into
 * 64 KiB blocks of kernel pages.  Compaction (MEM_ARENA_IOC_DEFRAG, before
 * eviction, or in the background above
 * /sys/kernel/mem_arena/defrag_threshold_pct) moves live slots out of the
 * sparsest blocks and releases the emptied ones.
 * MEM_ARENA_IOC_POOL_LAYOUT shows the pool block by block.
 *
 * ABI rules
 * ---------
 * Every command struct starts with __u32 size, the size userspace knows.
 * The kernel reads what it knows; a larger struct must be zero beyond that
 * (else -E2BIG); a smaller one than the command needs is -EINVAL.  Reserved
 * fields and flags must be zero.  MEM_ARENA_IOC_GET_INFO tells which ioctls
 * and features this kernel has; there are no version fields.
 */
#ifndef _UAPI_LINUX_MEM_ARENA_H
#define _UAPI_LINUX_MEM_ARENA_H

#include <linux/types.h>
#include <linux/ioctl.h>	/* _IO() differs per architecture */

#define MEM_ARENA_DEVICE		"/dev/mem_arena"
#define MEM_ARENA_API			0x4d410001ULL	/* "MA" 1 */

#define MEM_ARENA_CHUNK_SIZE_DEFAULT	4096
#define MEM_ARENA_CHUNK_SIZE_MAX	65536
#define MEM_ARENA_REGION_SIZE_MAX	(1ULL << 36)	/* 64 GiB */
#define MEM_ARENA_UNLIMITED		(~0ULL)

/*
 * Statistics: the one list.  X(name, id, unit, doc): ids are stable and
 * equal to the field's index in struct mem_arena_stats; new stats are
 * appended.  Live gauges describe the arena now; the rest are cumulative.
 * Invariant: compressed_bytes_live <= slot_bytes_live <= pool_bytes <= cap.
 */
#define MEM_ARENA_STATS(X)						\
	X(logical_input_bytes,	 0, bytes,				\
	  "Uncompressed bytes of the chunks now compressed or same-filled") \
	X(compressed_bytes_live, 1, bytes,				\
	  "LZ4 output bytes of the chunks now compressed")		\
	X(slot_bytes_live,	 2, bytes,				\
	  "Slot bytes those chunks occupy, header and alignment included") \
	X(pool_bytes,		 3, bytes,				\
	  "Bytes of kernel pages the compressed pool holds")		\
	X(zero_chunks,		 4, chunks,				\
	  "Chunks now same-filled (kept as one word, no slot)")	\
	X(raw_bytes,		 5, bytes,				\
	  "Bytes of raw chunk pages now resident")			\
	X(compress_ops,		 6, chunks,				\
	  "Chunks compressed into a slot")				\
	X(decompress_ops,	 7, chunks,				\
	  "Chunks brought back to raw by a fault, a touch, readahead or an eviction") \
	X(evictions_lru,	 8, chunks,				\
	  "Compressed chunks evicted back to raw to honour the cap")	\
	X(incompressible_chunks, 9, chunks,				\
	  "Compress attempts whose output was not smaller than the chunk") \
	X(access_hits_raw,	10, chunks,				\
	  "Chunks in a touched range that were already raw")		\
	X(access_hits_decompressed, 11, chunks,				\
	  "Chunks brought back to raw by a fault or a touch")		\
	X(compression_reject_small_gain, 12, chunks,			\
	  "Compress attempts that saved less than min_savings_pct")	\
	X(compress_ns,		13, ns,					\
	  "Time spent in the compressor, attempts left raw included")	\
	X(decompress_ns,	14, ns,					\
	  "Time spent in the decompressor (a same-filled chunk needs none)") \
	X(busy_skips,		15, chunks,				\
	  "Chunks left raw because another user held their pages")	\
	X(pool_bytes_peak,	16, bytes,				\
	  "Highest pool_bytes seen")					\
	X(cap_rejects,		17, chunks,				\
	  "Chunks left raw because no room could be made under the cap") \
	X(alloc_failures,	18, events,				\
	  "Allocations that failed: pages, or a chunk's mapping (the operation returned -ENOMEM)") \
	X(decompress_errors,	19, events,				\
	  "Decompressions that failed: data corruption, must stay 0")	\
	X(pool_free_bytes,	20, bytes,				\
	  "Free bytes inside the pool's blocks (pool_bytes - slot_bytes_live)") \
	X(pool_largest_free,	21, bytes,				\
	  "Largest contiguous free extent in any pool block")		\
	X(pool_blocks,		22, blocks,				\
	  "Blocks (64 KiB each) the pool holds")			\
	X(defrag_runs,		23, runs,				\
	  "Compactions run: by ioctl, before eviction, or in the background") \
	X(defrag_bytes_moved,	24, bytes,				\
	  "Slot bytes compaction moved between blocks")			\
	X(defrag_pages_released, 25, pages,				\
	  "Pages compaction gave back to the kernel")			\
	X(events_dropped,	26, events,				\
	  "Netlink events not sent: its user's rate limit")		\
	X(memlock_rejects,	27, events,				\
	  "Faults, touches and evictions refused: the opener's RLIMIT_MEMLOCK") \
	X(evictions_fair,	28, chunks,				\
	  "Of evictions_lru: made to give another tenant its share of the pool") \
	X(discarded_chunks,	29, chunks,				\
	  "Chunks emptied by a discard, their data dropped unread")	\
	X(hot_skips,		30, chunks,				\
	  "Chunks an idle-only compress left raw: accessed since the pass before") \
	X(idle_refaults,	31, events,				\
	  "Faults that mapped again a chunk an idle-only compress had unmapped") \
	X(readahead_chunks,	32, chunks,				\
	  "Chunks brought back to raw ahead of use: a sequential fault stream or WILLNEED") \
	X(readahead_wasted,	33, chunks,				\
	  "Of readahead_chunks: compressed, discarded or freed again before any use") \
	X(copied_chunks,	34, chunks,				\
	  "Chunks given another region's data by a copy, compressed ones as they were") \
	X(spare_bytes,		35, bytes,				\
	  "Pages a compress or discard let go, kept for the next decompression") \
	X(recycled_pages,	36, pages,				\
	  "Pages taken from the spares, not the page allocator: for a decompression, fill, copy or pool block, not zeroed") \
	X(readahead_mapped,	37, chunks,				\
	  "Of readahead_chunks: also mapped at once into the faulting mapping (config flag MAP_AHEAD), so their use is not seen") \
	X(touch_helper_chunks,	38, chunks,				\
	  "Of access_hits_decompressed: brought back by a parallel touch's kernel workers, not by its caller")

#define __MEM_ARENA_STAT_FIELD(name, id, unit, doc) __u64 name;
/* Every field __u64, in id order. */
struct mem_arena_stats {
	MEM_ARENA_STATS(__MEM_ARENA_STAT_FIELD)
};
#undef __MEM_ARENA_STAT_FIELD

#define __MEM_ARENA_STAT_ID(name, id, unit, doc) MEM_ARENA_STAT_##name = id,
enum {
	MEM_ARENA_STATS(__MEM_ARENA_STAT_ID)
	MEM_ARENA_NR_STATS
};
#undef __MEM_ARENA_STAT_ID

/*
 * ioctls: _IO numbers, the struct size travels in the struct (iommufd).
 * The type is free in Documentation/userspace-api/ioctl/ioctl-number.rst
 * (0xB6 was fpga-dfl's); the line a kernel patch would add there:
 * 0xC5  80-8F  (this header)   mem_arena, a compression arena
 */
#define MEM_ARENA_TYPE			0xC5
enum {
	MEM_ARENA_CMD_BASE = 0x80,
	MEM_ARENA_CMD_GET_INFO = MEM_ARENA_CMD_BASE,
	MEM_ARENA_CMD_SET_CONFIG,
	MEM_ARENA_CMD_GET_CONFIG,
	MEM_ARENA_CMD_REGION_ALLOC,
	MEM_ARENA_CMD_REGION_FREE,
	MEM_ARENA_CMD_COMPRESS,
	MEM_ARENA_CMD_TOUCH,
	MEM_ARENA_CMD_GET_STATS,
	MEM_ARENA_CMD_DEFRAG,
	MEM_ARENA_CMD_POOL_LAYOUT,
	MEM_ARENA_CMD_DISCARD,
	MEM_ARENA_CMD_REGION_INFO,
	MEM_ARENA_CMD_COPY,
};

/* Bit of a command in mem_arena_cmd_info.ioctls. */
#define MEM_ARENA_IOCTL_BIT(cmd)	(1ULL << ((cmd) - MEM_ARENA_CMD_BASE))

/* Features, reported in mem_arena_cmd_info.features. */
#define MEM_ARENA_FEATURE_FAULT_READBACK	(1ULL << 0)
#define MEM_ARENA_FEATURE_SAME_FILLED		(1ULL << 1)
#define MEM_ARENA_FEATURE_LRU_CAP		(1ULL << 2)
#define MEM_ARENA_FEATURE_VARIABLE_SLOTS	(1ULL << 3)
#define MEM_ARENA_FEATURE_DEFRAG		(1ULL << 4)
#define MEM_ARENA_FEATURE_IDLE_ONLY		(1ULL << 5)
#define MEM_ARENA_FEATURE_READAHEAD		(1ULL << 6)
#define MEM_ARENA_FEATURE_MAP_AHEAD		(1ULL << 7)	/* the config flag */
#define MEM_ARENA_FEATURE_READAHEAD_ASYNC	(1ULL << 8)	/* the config flag */
#define MEM_ARENA_FEATURE_ASYNC_MAP_AHEAD	(1ULL << 9)	/* both flags at once */
#define MEM_ARENA_FEATURE_SEEK_HOLE		(1ULL << 10)	/* lseek SEEK_DATA/SEEK_HOLE */
#define MEM_ARENA_FEATURE_COPY_SNAPSHOT		(1ULL << 11)	/* MEM_ARENA_COPY_SNAPSHOT */
#define MEM_ARENA_FEATURE_TOUCH_PARALLEL	(1ULL << 12)	/* MEM_ARENA_TOUCH_PARALLEL */

/**
 * struct mem_arena_cmd_info - MEM_ARENA_IOC_GET_INFO
 * @size: sizeof(struct mem_arena_cmd_info)
 * @flags: must be 0
 * @api: out: MEM_ARENA_API
 * @features: out: MEM_ARENA_FEATURE_* this kernel has
 * @ioctls: out: MEM_ARENA_IOCTL_BIT() of every command this kernel has
 * @chunk_size_min: out: smallest chunk size (the page size)
 * @chunk_size_max: out: largest chunk size
 * @nr_stats: out: number of __u64 stats this kernel fills
 * @__reserved: must be 0
 * @region_size_max: out: largest region, bytes
 * @pool_cap_bytes: out: the module-wide pool cap now
 * @memlock_limit: out: the bound on what this arena's chunks may hold
 *	(raw chunk pages plus slot bytes): its opener's RLIMIT_MEMLOCK at
 *	open, shared with that user's other arenas and locked memory;
 *	MEM_ARENA_UNLIMITED when not charged (CAP_IPC_LOCK, or no limit)
 * @memlock_used: out: bytes now charged to the opener's user by every
 *	charger of RLIMIT_MEMLOCK (arenas, io_uring, ...); 0 when not charged
 */
struct mem_arena_cmd_info {
	__u32 size;
	__u32 flags;
	__u64 api;
	__u64 features;
	__u64 ioctls;
	__u32 chunk_size_min;
	__u32 chunk_size_max;
	__u32 nr_stats;
	__u32 __reserved;
	__u64 region_size_max;
	__u64 pool_cap_bytes;
	__u64 memlock_limit;
	__u64 memlock_used;
};
#define MEM_ARENA_IOC_GET_INFO	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_GET_INFO)

/**
 * struct mem_arena_cmd_config - MEM_ARENA_IOC_SET_CONFIG, _GET_CONFIG
 * @size: sizeof(struct mem_arena_cmd_config)
 * @flags: MEM_ARENA_CONFIG_MAP_AHEAD, MEM_ARENA_CONFIG_READAHEAD_ASYNC,
 *	both or 0.  MAP_AHEAD: the chunks a fault reads ahead are also
 *	mapped at once into the faulting mapping, so a sequential reader
 *	takes one fault per readahead window instead of one per chunk.  The
 *	module then sees no first use of them: they count in
 *	readahead_mapped, never as access hits nor in readahead_wasted.
 *	READAHEAD_ASYNC: a sequential fault stream's readahead runs in a
 *	worker, on another CPU if one is idle, while the faulting task goes
 *	on; the worker reads its window from the far end back and stops where
 *	it meets the reader, so which of the two decompresses a chunk (and
 *	so readahead_chunks) depends on timing.  Its pages are charged to the
 *	faulting task's memory cgroup.  MADV_WILLNEED stays synchronous.
 *	Both: the worker reads the window from its far end, and the fault
 *	that starts it reads it from the near end meanwhile, until the two
 *	meet, mapping what it read and then what the worker read (whatever
 *	nobody used yet), so the stream faults about once or twice per
 *	window (readahead_mapped counts the chunks mapped so).  Kernels
 *	without MEM_ARENA_FEATURE_ASYNC_MAP_AHEAD refuse the two together
 *	with -EINVAL.
 * @chunk_size: power of two, page size .. MEM_ARENA_CHUNK_SIZE_MAX;
 *	0 on SET means the page size (the default; MEM_ARENA_CHUNK_SIZE_DEFAULT
 *	is that value only where pages are 4 KiB)
 * @min_savings_pct: 0..99: a chunk must shrink by at least this share
 * @cap_bytes: bound on the arena's pool; 0 = module-wide bound only
 * @tenant: who the arena's pool counts for when the module-wide pool is
 *	shared: 0 = the opener's user; otherwise a tenant id of the opener's
 *	choosing (arenas with the same id share one share)
 * @weight: the tenant's weight in sharing the module-wide pool, 1..1000;
 *	0 means 1.  A tenant's weight is the largest of its arenas'.
 * @readahead_kib: how far a sequential fault stream reads ahead, in KiB
 *	(whole chunks, two at least), up to MEM_ARENA_READAHEAD_KIB_MAX.
 *	0: only in mappings advised MADV_SEQUENTIAL, 128 KiB ahead (512 KiB
 *	with MEM_ARENA_CONFIG_READAHEAD_ASYNC: one wake-up of its worker
 *	per window).
 *	Otherwise in every mapping of the arena, advised or not: there a
 *	stream is sequential once a fault decompresses the chunk after the
 *	one the previous such fault did, and a mapping advised
 *	MADV_RANDOM never reads ahead.
 * @__reserved: must be 0
 *
 * SET fails with -EBUSY once the arena has had a region (a REGION_ALLOC
 * that failed does not count), and with -EPERM for a non-zero @tenant or
 * a @weight above 1 unless the opener had CAP_SYS_RESOURCE.
 */
struct mem_arena_cmd_config {
	__u32 size;
	__u32 flags;
	__u32 chunk_size;
	__u32 min_savings_pct;
	__u64 cap_bytes;
	__u32 tenant;
	__u32 weight;
	__u32 readahead_kib;
	__u32 __reserved;
};
#define MEM_ARENA_CONFIG_MAP_AHEAD	(1U << 0)
#define MEM_ARENA_CONFIG_READAHEAD_ASYNC (1U << 1)
#define MEM_ARENA_CONFIG_FLAGS		(MEM_ARENA_CONFIG_MAP_AHEAD |	\
					 MEM_ARENA_CONFIG_READAHEAD_ASYNC)
#define MEM_ARENA_WEIGHT_MAX		1000
#define MEM_ARENA_READAHEAD_KIB_MAX	16384
#define MEM_ARENA_IOC_SET_CONFIG _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_SET_CONFIG)
#define MEM_ARENA_IOC_GET_CONFIG _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_GET_CONFIG)

/**
 * struct mem_arena_cmd_region_alloc - MEM_ARENA_IOC_REGION_ALLOC
 * @size: sizeof(struct mem_arena_cmd_region_alloc)
 * @flags: must be 0
 * @length: in: bytes wanted (> 0); out: rounded up to whole chunks
 * @mmap_offset: out: the offset to pass to mmap()
 * @id: out: the region's id
 * @__reserved: must be 0
 */
struct mem_arena_cmd_region_alloc {
	__u32 size;
	__u32 flags;
	__u64 length;
	__u64 mmap_offset;
	__u32 id;
	__u32 __reserved;
};
#define MEM_ARENA_IOC_REGION_ALLOC _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_REGION_ALLOC)

/**
 * struct mem_arena_cmd_region_free - MEM_ARENA_IOC_REGION_FREE
 * @size: sizeof(struct mem_arena_cmd_region_free)
 * @flags: must be 0
 * @id: the region
 * @__reserved: must be 0
 */
struct mem_arena_cmd_region_free {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
};
#define MEM_ARENA_IOC_REGION_FREE _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_REGION_FREE)

/**
 * struct mem_arena_cmd_region_info - MEM_ARENA_IOC_REGION_INFO
 * @size: sizeof(struct mem_arena_cmd_region_info)
 * @flags: must be 0
 * @id: in: the smallest id to look at; out: the region found, the first
 *	whose id is at least that
 * @__reserved: must be 0
 * @length: out: its length, whole chunks
 * @mmap_offset: out: its mmap offset
 *
 * -ENOENT when no region has such an id.  To list every region (a tool
 * that holds another process's arena fd), start at 0 and go on from the id
 * found plus one.
 */
struct mem_arena_cmd_region_info {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
	__u64 length;
	__u64 mmap_offset;
};
#define MEM_ARENA_IOC_REGION_INFO _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_REGION_INFO)

/**
 * struct mem_arena_cmd_range - MEM_ARENA_IOC_COMPRESS, _TOUCH, _DISCARD
 * @size: sizeof(struct mem_arena_cmd_range)
 * @flags: COMPRESS: 0 or MEM_ARENA_COMPRESS_IDLE_ONLY; TOUCH: 0 or
 *	MEM_ARENA_TOUCH_PARALLEL; DISCARD: must be 0.  TOUCH_PARALLEL: the
 *	range is shared out in 256 KiB batches between the caller and up to
 *	three kernel workers, which decompress at once; module-wide, all
 *	callers together have at most /sys/kernel/mem_arena/touch_workers
 *	workers (by default, and never more than, one fewer than the
 *	online CPUs), and a caller that gets none walks alone.  Their pages are charged to the
 *	caller's memory cgroup, their CPU time is not charged to the
 *	caller.  On an error (the first is returned) some chunks anywhere
 *	in the range may have been brought back.  Kernels without
 *	MEM_ARENA_FEATURE_TOUCH_PARALLEL refuse it with -EINVAL.
 * @id: the region
 * @__reserved: must be 0
 * @offset: start in the region, a multiple of the chunk size
 * @length: bytes (> 0); offset + length must lie in the region.  A partial
 *	last chunk counts whole.
 * @chunks: out: COMPRESS: chunks that became compressed or same-filled;
 *	TOUCH: chunks brought back to raw; DISCARD: chunks that held data
 *
 * DISCARD takes whole chunks only: @length a multiple of the chunk size,
 * or the range ends where the region does (else -EINVAL).
 */
struct mem_arena_cmd_range {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
	__u64 offset;
	__u64 length;
	__u64 chunks;
};
#define MEM_ARENA_COMPRESS_IDLE_ONLY	(1U << 0)
#define MEM_ARENA_TOUCH_PARALLEL	(1U << 1)
#define MEM_ARENA_IOC_COMPRESS	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_COMPRESS)
#define MEM_ARENA_IOC_TOUCH	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_TOUCH)
#define MEM_ARENA_IOC_DISCARD	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_DISCARD)

/**
 * struct mem_arena_cmd_copy - MEM_ARENA_IOC_COPY
 * @size: sizeof(struct mem_arena_cmd_copy)
 * @flags: 0 or MEM_ARENA_COPY_SNAPSHOT
 * @id: the destination region, in the arena of the fd the ioctl is on
 * @src_fd: an open /dev/mem_arena fd (this one too) whose arena has the
 *	source region, with the same chunk size
 * @src_id: the source region
 * @__reserved: must be 0
 * @offset: start in the destination region, a multiple of the chunk size
 * @src_offset: start in the source region, a multiple of the chunk size
 * @length: bytes, a multiple of the chunk size (> 0); both ranges inside
 *	their regions, and not overlapping if the regions are one
 * @chunks: out: destination chunks that received data
 *
 * The destination range becomes a copy of the source range, chunk by
 * chunk, each in its state: compressed chunks take a slot of their own
 * with the same bytes (no decompression), raw chunks fresh pages,
 * same-filled and empty ones nothing.  What it held before is dropped
 * unread.  The copy is charged to the destination arena's opener.  Without
 * a flag it is not a snapshot: a compressed chunk is copied as it was
 * before or after a concurrent write (the write must fault it back first),
 * a raw one that is being written may be copied mid-write, as memcpy()
 * would, and chunks copied early may predate writes that chunks copied
 * late show.  With MEM_ARENA_COPY_SNAPSHOT the source range is unmapped
 * first, from every process, and every fault on the source region waits
 * until the copy ends: the copy is the range as it was at one instant, as
 * a fork's child sees its parent's memory, and the source's writers pay a
 * fault to map each chunk again afterwards.  Writes that take no fault
 * (pages pinned before the copy, e.g. for direct I/O) are not held back.
 * Errors: -EBADF (@src_fd), -EINVAL (@src_fd not an arena, ranges, chunk
 * sizes), -ENOENT (a region), -ENOSPC (no room under the destination's
 * cap), -ENOMEM, -EDQUOT (RLIMIT_MEMLOCK), -EINTR (fatal signal); chunks
 * copied before an error stay copied.
 */
struct mem_arena_cmd_copy {
	__u32 size;
	__u32 flags;
	__u32 id;
	__s32 src_fd;
	__u32 src_id;
	__u32 __reserved;
	__u64 offset;
	__u64 src_offset;
	__u64 length;
	__u64 chunks;
};
#define MEM_ARENA_COPY_SNAPSHOT	(1U << 0)
#define MEM_ARENA_IOC_COPY	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_COPY)

/**
 * struct mem_arena_cmd_stats - MEM_ARENA_IOC_GET_STATS
 * @size: sizeof(struct mem_arena_cmd_stats)
 * @flags: must be 0
 * @stats_size: in: bytes at @stats_ptr (a multiple of 8, > 0);
 *	out: bytes the kernel wrote (min of the two sizes)
 * @__reserved: must be 0
 * @stats_ptr: user pointer to a struct mem_arena_stats
 *
 * The live gauges are read together under the pool lock: the invariant in
 * the stats list holds within one snapshot.
 */
struct mem_arena_cmd_stats {
	__u32 size;
	__u32 flags;
	__u32 stats_size;
	__u32 __reserved;
	__u64 stats_ptr;
};
#define MEM_ARENA_IOC_GET_STATS	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_GET_STATS)

/**
 * struct mem_arena_cmd_defrag - MEM_ARENA_IOC_DEFRAG
 * @size: sizeof(struct mem_arena_cmd_defrag)
 * @flags: must be 0
 * @bytes_moved: out: slot bytes moved
 * @slots_moved: out: slots moved
 * @pages_released: out: pages given back to the kernel
 *
 * Compacts the arena's pool: live slots move out of the sparsest blocks
 * into holes of the others, and emptied blocks are released.  Slots whose
 * chunk is busy (being faulted back) are left where they are.
 */
struct mem_arena_cmd_defrag {
	__u32 size;
	__u32 flags;
	__u64 bytes_moved;
	__u64 slots_moved;
	__u64 pages_released;
};

#define MEM_ARENA_IOC_DEFRAG	_IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_DEFRAG)

/* A pool block in MEM_ARENA_LAYOUT_CELLS cells of 2 bits each. */
#define MEM_ARENA_LAYOUT_CELLS		64
#define MEM_ARENA_CELL_FREE		0	/* no byte used */
#define MEM_ARENA_CELL_PARTIAL		1	/* some bytes used */
#define MEM_ARENA_CELL_FULL		3	/* every byte used */

/**
 * struct mem_arena_block_info - one pool block, in MEM_ARENA_IOC_POOL_LAYOUT
 * @used_bytes: slot bytes in the block
 * @largest_free: largest free extent, bytes
 * @nr_slots: live slots
 * @__reserved: 0
 * @cells: cell i (block_size / MEM_ARENA_LAYOUT_CELLS bytes) is
 *	(cells[i / 32] >> (2 * (i % 32))) & 3, a MEM_ARENA_CELL_* value
 */
struct mem_arena_block_info {
	__u32 used_bytes;
	__u32 largest_free;
	__u32 nr_slots;
	__u32 __reserved;
	__u64 cells[2];
};

/**
 * struct mem_arena_cmd_pool_layout - MEM_ARENA_IOC_POOL_LAYOUT
 * @size: sizeof(struct mem_arena_cmd_pool_layout)
 * @flags: must be 0
 * @first_block: in: index of the first block wanted (blocks are numbered
 *	oldest first; a page of results is a snapshot, blocks may come and
 *	go between calls)
 * @max_blocks: in: entries at @blocks_ptr, at most 4096 per call
 * @entry_size: in: sizeof(struct mem_arena_block_info) as userspace knows
 *	it; the kernel writes min(that, its own) bytes per entry
 * @nr_blocks: out: entries written
 * @total_blocks: out: blocks in the pool now
 * @block_size: out: bytes per block
 * @blocks_ptr: user pointer to @max_blocks entries
 */
struct mem_arena_cmd_pool_layout {
	__u32 size;
	__u32 flags;
	__u32 first_block;
	__u32 max_blocks;
	__u32 entry_size;
	__u32 nr_blocks;
	__u32 total_blocks;
	__u32 block_size;
	__u64 blocks_ptr;
};

#define MEM_ARENA_LAYOUT_MAX_BLOCKS	4096
#define MEM_ARENA_IOC_POOL_LAYOUT _IO(MEM_ARENA_TYPE, MEM_ARENA_CMD_POOL_LAYOUT)

/*
 * Generic netlink family "mem_arena" (version 1).
 *
 * MEM_ARENA_NL_CMD_GET_STATS (do): module-wide totals, as in sysfs, in a
 *	MEM_ARENA_A_STATS nest.
 * MEM_ARENA_NL_CMD_ARENA_GET (do with MEM_ARENA_A_ARENA_ID, or dump): one
 *	message per arena: id, owner pid and comm, config, regions, stats.
 *	A caller sees the arenas opened with its own effective uid; with
 *	CAP_SYS_ADMIN (of the socket's opener) it sees all.
 * Multicast group "events" (subscribing needs CAP_NET_ADMIN): the
 *	MEM_ARENA_NL_EVENT_* commands below, at most MEM_ARENA_NL_EVENTS_PER_SEC
 *	a second for the arenas of each user, the opener's euid (the rest
 *	counted in events_dropped).
 */
#define MEM_ARENA_GENL_NAME		"mem_arena"
#define MEM_ARENA_GENL_VERSION		1
#define MEM_ARENA_GENL_MCGRP_EVENTS	"events"
#define MEM_ARENA_NL_EVENTS_PER_SEC	200

enum {
	MEM_ARENA_NL_CMD_UNSPEC,
	MEM_ARENA_NL_CMD_GET_STATS,
	MEM_ARENA_NL_CMD_ARENA_GET,
	MEM_ARENA_NL_EVENT_EVICTION,	/* one per compress pass that evicted */
	MEM_ARENA_NL_EVENT_CAP_REACHED,	/* one per compress pass that hit the cap */
	MEM_ARENA_NL_EVENT_DEFRAG_DONE,	/* a compaction that moved or released */
	MEM_ARENA_NL_EVENT_ARENA_CREATED,
	MEM_ARENA_NL_EVENT_ARENA_DESTROYED,
	__MEM_ARENA_NL_CMD_MAX
};
#define MEM_ARENA_NL_CMD_MAX (__MEM_ARENA_NL_CMD_MAX - 1)

enum {
	MEM_ARENA_A_UNSPEC,
	MEM_ARENA_A_ARENA_ID,		/* u32 */
	MEM_ARENA_A_PID,		/* u32: the opener's tgid */
	MEM_ARENA_A_COMM,		/* string: the opener's comm */
	MEM_ARENA_A_UID,		/* u32: the opener's euid */
	MEM_ARENA_A_CHUNK_SIZE,		/* u32 */
	MEM_ARENA_A_MIN_SAVINGS_PCT,	/* u32 */
	MEM_ARENA_A_CAP_BYTES,		/* u64 */
	MEM_ARENA_A_REGIONS,		/* u32: regions now */
	MEM_ARENA_A_STATS,		/* nest of MEM_ARENA_STAT_A_* */
	MEM_ARENA_A_EVENT_CHUNKS,	/* u64: EVICTION */
	MEM_ARENA_A_EVENT_BYTES,	/* u64: EVICTION, DEFRAG_DONE (moved) */
	MEM_ARENA_A_EVENT_PAGES,	/* u64: DEFRAG_DONE, pages released */
	MEM_ARENA_A_EVENT_POOL_BYTES,	/* u64: CAP_REACHED, pool at the end */
	MEM_ARENA_A_PAD,
	MEM_ARENA_A_TENANT,		/* u64: uid, or 1 << 32 | tenant id */
	MEM_ARENA_A_WEIGHT,		/* u32: the tenant's weight */
	MEM_ARENA_A_TENANT_POOL_BYTES,	/* u64: pool blocks of all its arenas */
	MEM_ARENA_A_SHARE_BYTES,	/* u64: its weighted share of the cap */
	__MEM_ARENA_A_MAX
};
#define MEM_ARENA_A_MAX (__MEM_ARENA_A_MAX - 1)

/* In MEM_ARENA_A_STATS: each stat as a u64, type = its id + 1. */
#define __MEM_ARENA_STAT_ATTR(name, id, unit, doc) MEM_ARENA_STAT_A_##name = (id) + 1,
enum {
	MEM_ARENA_STAT_A_UNSPEC,
	MEM_ARENA_STATS(__MEM_ARENA_STAT_ATTR)
};
#undef __MEM_ARENA_STAT_ATTR
#define MEM_ARENA_STAT_A_PAD		0x7fff	/* alignment padding only */

#endif /* _UAPI_LINUX_MEM_ARENA_H */
