// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk state machine: empty -> raw <-> compressed | same-filled.
 *
 * Locking:
 *   Every function here runs with the chunk lock of its chunk held
 *   (asserted with ma_chunk_assert_locked()).  Eviction takes a second
 *   chunk's lock only with ma_chunk_trylock(), from the LRU tail under the
 *   pool lock, so two chunk locks never wait on each other.
 *   A chunk is on ma_pool.lru exactly while it holds a slot (pool.c adds
 *   and removes it with the slot, under the pool lock); that changes only
 *   under its chunk lock.
 *   Order: chunk lock -> ma_stream.lock -> compact_lock -> ma_pool.lock.
 *
 * compress_ns and decompress_ns are read with local_clock(): the CPU's
 * own counter, not a clocksource device (in a guest, each hpet read is an
 * emulated device access).  A pass times one codec call in MA_CLOCK_EVERY
 * (struct ma_clock): neighbouring chunks of a region cost alike, and a
 * reading costs tens of nanoseconds on hardware, several times that under
 * emulation, against a microsecond or more of codec per chunk.  Faults and
 * evictions, one call each from any task, share a per-arena sampler
 * (struct ma_shared_clock): one in MA_CLOCK_EVERY is timed, and each of
 * the others counts the last timed call's time.  A task that migrates
 * mid-call may read two CPUs' counters; the sums are exact to their small
 * skew.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/clock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "arena.h"
#include "codec.h"

/* ma_slot_data_below() of the largest chunk fits in a block. */
static_assert(MEM_ARENA_CHUNK_SIZE_MAX - MA_SLOT_ALIGN - MA_SLOT_HDR_SIZE <=
	      MA_SLOT_DATA_MAX);

static struct ma_arena *chunk_arena(const struct ma_chunk *chunk)
{
	return chunk->region->arena;
}

/* A codec call of a pass begins: the clock's reading if it is timed, else 0. */
static u64 ma_clock_begin(struct ma_clock *clock)
{
	if (clock->calls % MA_CLOCK_EVERY) {
		clock->calls++;
		return 0;
	}
	return local_clock() ?: 1;
}

static void ma_clock_close(struct ma_arena *arena, unsigned int stat,
			   struct ma_clock *clock)
{
	if (!clock->calls)
		return;
	ma_stat_add(arena, stat, clock->ns * clock->calls);
	clock->calls = 0;
}

/* The codec call that ma_clock_begin() returned @t0 for has ended. */
static void ma_clock_end(struct ma_arena *arena, unsigned int stat,
			 struct ma_clock *clock, u64 t0)
{
	u64 ns;

	if (!t0)
		return;
	ns = local_clock() - t0;
	ma_clock_close(arena, stat, clock);
	clock->ns = ns;
	clock->calls = 1;
}

/*
 * A decompression outside a pass begins.  Untimed, it counts the last
 * timed call's time now (nothing can fail between here and its return
 * that a timed call would not count either) and returns 0; else the
 * clock's reading.  The arena's first call is timed, and so is the one
 * after a call the clock stood still across.
 */
static u64 ma_shared_clock_begin(struct ma_arena *arena)
{
	struct ma_shared_clock *clock = &arena->decompress_clock;
	u64 ns = READ_ONCE(clock->ns);

	if (ns && atomic_inc_return(&clock->calls) % MA_CLOCK_EVERY) {
		ma_stat_add(arena, MEM_ARENA_STAT_decompress_ns, ns);
		return 0;
	}
	return local_clock() ?: 1;
}

static void ma_shared_clock_end(struct ma_arena *arena, u64 t0)
{
	u64 ns;

	if (!t0)
		return;
	ns = local_clock() - t0;
	WRITE_ONCE(arena->decompress_clock.ns, ns);
	ma_stat_add(arena, MEM_ARENA_STAT_decompress_ns, ns);
}

/* The pass over @arena's chunks has ended: count its open groups. */
void ma_pass_clock_close(struct ma_arena *arena, struct ma_pass *pass)
{
	ma_clock_close(arena, MEM_ARENA_STAT_compress_ns, &pass->compress_clock);
	ma_clock_close(arena, MEM_ARENA_STAT_decompress_ns, &pass->decompress_clock);
}

/* Bytes the chunk holds in its state, as charged to the opener (charge.c). */
static u32 ma_chunk_held(const struct ma_chunk *chunk)
{
	switch (chunk->state) {
	case MA_CHUNK_RAW:
		return ma_chunk_size(chunk_arena(chunk));
	case MA_CHUNK_COMPRESSED:
		return ma_slot_bytes(chunk->slot.len);
	default:
		return 0;
	}
}

/*
 * A fault allocates like any page fault: under memory cgroup pressure the
 * OOM killer may run and the fault gets VM_FAULT_OOM.  An ioctl must not
 * kill anyone: it reclaims what it can, then fails with -ENOMEM.
 */
static gfp_t ma_gfp(enum ma_access how)
{
	if (how == MA_ACCESS_FAULT)
		return GFP_HIGHUSER | __GFP_ACCOUNT;
	return GFP_HIGHUSER | __GFP_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
}

static int ma_pages_alloc(struct ma_arena *arena, struct page **pages,
			  unsigned int nr, gfp_t gfp)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		pages[i] = alloc_page(gfp);
		if (!pages[i])
			goto out_free_pages;
	}
	return 0;

out_free_pages:
	while (i--)
		put_page(pages[i]);
	ma_stat_inc(arena, MEM_ARENA_STAT_alloc_failures);
	return -ENOMEM;
}

/*
 * Give back pages charged for @more bytes: each to the spares while @more
 * covers it (its charge stays with it), else to the kernel; the rest of
 * @more is uncharged.
 */
static void ma_pages_uncharge_free(struct ma_arena *arena, struct page **pages,
				   unsigned int nr, s64 more)
{
	s64 kept = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (kept + PAGE_SIZE <= more && ma_spare_keep(arena, pages[i]))
			kept += PAGE_SIZE;
		else
			put_page(pages[i]);
	}
	if (kept != more)
		ma_charge(arena, kept - more);
}

/*
 * @nr pages for @more bytes the arena will hold: spares first (charged
 * already; cleared if @gfp asks for zeroes), then the page allocator, and
 * the rest of @more charged to the opener (charge.c).  On failure neither
 * stays.
 */
static int ma_pages_charge_alloc(struct ma_arena *arena, struct page **pages,
				 unsigned int nr, s64 more, gfp_t gfp)
{
	unsigned int i, reused = ma_spare_take(arena, pages, nr);
	s64 charge = more - (s64)reused * PAGE_SIZE;
	int err;

	err = ma_charge(arena, charge);
	if (err)
		goto out_unspare;
	err = ma_pages_alloc(arena, pages + reused, nr - reused, gfp);
	if (err) {
		ma_charge(arena, -charge);
		goto out_unspare;
	}
	if (gfp & __GFP_ZERO)
		for (i = 0; i < reused; i++)
			clear_highpage(pages[i]);
	ma_stat_add(arena, MEM_ARENA_STAT_recycled_pages, reused);
	return 0;

out_unspare:
	ma_pages_uncharge_free(arena, pages, reused, (s64)reused * PAGE_SIZE);
	return err;
}

/*
 * Drop the chunk's references to its raw pages (a pinner keeps its own)
 * and give back @more bytes of their charge: ma_pages_uncharge_free().
 */
static void ma_chunk_put_pages(struct ma_chunk *chunk, s64 more)
{
	struct ma_arena *arena = chunk_arena(chunk);
	unsigned int nr = 1U << arena->chunk_order;

	ma_pages_uncharge_free(arena, chunk->pages, nr, more);
	memset(chunk->pages, 0, nr * sizeof(*chunk->pages));
	ma_stat_add(arena, MEM_ARENA_STAT_raw_bytes, -(s64)ma_chunk_size(arena));
}

/*
 * A compressed or same-filled chunk lets its raw pages go and now holds
 * @held bytes.  Its pages become spares only if the opener's limit has
 * room for them beside @held (charged first); else they go back to the
 * kernel.  Either way the charge falls.
 */
static void ma_chunk_drop_pages(struct ma_chunk *chunk, u32 held)
{
	struct ma_arena *arena = chunk_arena(chunk);
	s64 size = ma_chunk_size(arena);

	if (!ma_charge_quiet(arena, held)) {
		ma_chunk_put_pages(chunk, size);
	} else {
		ma_chunk_put_pages(chunk, 0);
		ma_charge(arena, held - size);
	}
}

static void ma_chunk_set_pages(struct ma_chunk *chunk, struct page **pages)
{
	struct ma_arena *arena = chunk_arena(chunk);
	unsigned int nr = 1U << arena->chunk_order;

	memcpy(chunk->pages, pages, nr * sizeof(*pages));
	chunk->state = MA_CHUNK_RAW;
	chunk->idle = false;
	chunk->readahead = false;
	ma_stat_add(arena, MEM_ARENA_STAT_raw_bytes, ma_chunk_size(arena));
}

/*
 * A chunk's pages as one buffer for the codec, which reads and writes a
 * chunk whole: the page itself, or the pages mapped side by side with
 * vm_map_ram() (as erofs decompresses into a page vector: a per-CPU vmap
 * block, whose TLB flush is deferred and batched), so that no chunk is
 * copied through a bounce buffer.  NULL, counted as an allocation
 * failure, when no virtual space could be had.
 */
static void *ma_pages_map(struct ma_arena *arena, struct page **pages,
			  unsigned int nr)
{
	void *addr;

	if (nr == 1)
		return kmap_local_page(pages[0]);
	addr = vm_map_ram(pages, nr, NUMA_NO_NODE);
	if (!addr)
		ma_stat_inc(arena, MEM_ARENA_STAT_alloc_failures);
	return addr;
}

static void ma_pages_unmap(void *addr, unsigned int nr)
{
	if (nr == 1)
		kunmap_local(addr);
	else
		vm_unmap_ram(addr, nr);
}

static bool ma_pages_same_filled(struct page **pages, unsigned int nr,
				 unsigned long *pattern)
{
	unsigned int i, w;
	unsigned long first = 0;
	bool same = true;

	for (i = 0; i < nr && same; i++) {
		const unsigned long *p = kmap_local_page(pages[i]);

		if (i == 0)
			first = p[0];
		for (w = 0; w < PAGE_SIZE / sizeof(*p); w++) {
			if (p[w] != first) {
				same = false;
				break;
			}
		}
		kunmap_local(p);
	}
	*pattern = first;
	return same;
}

static void ma_pages_fill(struct page **pages, unsigned int nr,
			  unsigned long pattern)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		unsigned long *p = kmap_local_page(pages[i]);

		memset_l(p, pattern, PAGE_SIZE / sizeof(*p));
		kunmap_local(p);
	}
}

/*
 * Bring a compressed or same-filled chunk back to raw in fresh pages.
 * @pass: the pass over this chunk's arena that this is part of, or NULL.
 * On failure the chunk is unchanged.
 */
static int ma_chunk_decompress(struct ma_chunk *chunk, enum ma_access how,
			       struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	unsigned int nr = 1U << arena->chunk_order;
	u32 size = ma_chunk_size(arena);
	struct ma_clock *clock = pass ? &pass->decompress_clock : NULL;
	struct page *pages[MA_CHUNK_PAGES_MAX];
	s64 more = (s64)size - ma_chunk_held(chunk);
	void *dst;
	u64 t0;
	int err;

	ma_chunk_assert_locked(chunk);
	err = ma_pages_charge_alloc(arena, pages, nr, more, ma_gfp(how));
	if (err)
		return err;

	if (chunk->state == MA_CHUNK_SAME) {
		ma_pages_fill(pages, nr, chunk->pattern);
		ma_stat_add(arena, MEM_ARENA_STAT_zero_chunks, -1);
		goto out_raw;
	}

	dst = ma_pages_map(arena, pages, nr);
	if (!dst) {
		ma_pages_uncharge_free(arena, pages, nr, more);
		return -ENOMEM;
	}
	t0 = clock ? ma_clock_begin(clock) : ma_shared_clock_begin(arena);
	err = ma_codec->decompress(ma_slot_data(&chunk->slot), chunk->slot.len,
				   dst, size);
	if (clock)
		ma_clock_end(arena, MEM_ARENA_STAT_decompress_ns, clock, t0);
	else
		ma_shared_clock_end(arena, t0);
	ma_pages_unmap(dst, nr);
	if (err) {
		ma_stat_inc(arena, MEM_ARENA_STAT_decompress_errors);
		pr_err_ratelimited("chunk %lu of region %u: corrupt slot\n",
				   ma_chunk_index(chunk), chunk->region->id);
		ma_pages_uncharge_free(arena, pages, nr, more);
		return -EIO;
	}
	ma_pool_free(&arena->pool, &chunk->slot);

out_raw:
	ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, -(s64)size);
	ma_stat_inc(arena, MEM_ARENA_STAT_decompress_ops);
	ma_chunk_set_pages(chunk, pages);
	return 0;
}

/*
 * Evict the least recently used compressed chunk of @arena that nobody
 * holds.  Returns 0 when one went back to raw, -ENOSPC when none could,
 * -ENOMEM when its pages could not be had, -EDQUOT when they would pass
 * the opener's RLIMIT_MEMLOCK (it stays compressed).  A victim
 * whose slot does not decompress leaves the LRU (its data is lost and
 * faults on it raise SIGBUS), so it cannot block eviction forever; the
 * caller may then try the next one.
 */
static int ma_evict_one(struct ma_arena *arena)
{
	struct ma_chunk *victim = ma_pool_lru_victim(&arena->pool);
	int err;

	if (!victim)
		return -ENOSPC;
	/* Still compressed: it leaves the LRU only under its chunk lock. */
	err = ma_chunk_decompress(victim, MA_ACCESS_EVICT, NULL);
	if (!err)
		ma_stat_inc(arena, MEM_ARENA_STAT_evictions_lru);
	else if (err == -EIO)
		ma_pool_lru_forget(&arena->pool, victim);
	ma_chunk_unlock(victim);
	return err;
}

/*
 * The module-wide cap stopped @arena's pool: if another tenant has more
 * than its share (share.c), evict from its largest pool until a block of
 * it goes back.  0 when one did; -ENOSPC when nobody is above us (the
 * caller evicts its own), or the victim's error.
 */
static int ma_reclaim_fair(struct ma_arena *arena)
{
	struct ma_arena *victim = ma_share_victim(arena);
	u64 reserved;
	int err;

	if (!victim)
		return -ENOSPC;
	reserved = READ_ONCE(victim->pool.reserved_bytes);
	for (;;) {
		if (READ_ONCE(victim->pool.reserved_bytes) < reserved ||
		    ma_pool_compact_for_room(&victim->pool)) {
			err = 0;
			break;
		}
		err = ma_evict_one(victim);
		if (err == -EIO)
			continue;
		if (err)
			break;
		ma_stat_inc(victim, MEM_ARENA_STAT_evictions_fair);
	}
	ma_share_victim_put(victim);
	return err;
}

/*
 * Store @len bytes of @data in a slot of the pool.  At a cap, compact first
 * if that can free a whole block; at the module-wide cap, have a tenant
 * above its share give room; then evict our own LRU chunks as needed.
 * -ENOSPC when nothing more can be evicted, -ENOMEM or -EDQUOT when an
 * eviction could not have its pages.
 */
static int ma_chunk_store(struct ma_chunk *chunk, const void *data, u32 len,
			  struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	bool compacted = false;
	int err;

	for (;;) {
		err = ma_pool_alloc(&arena->pool, len, chunk, &chunk->slot);
		if (err != -ENOSPC && err != -ENOBUFS)
			break;
		if (!compacted) {
			compacted = true;
			if (ma_pool_compact_for_room(&arena->pool))
				continue;
		}
		if (err == -ENOBUFS && !ma_reclaim_fair(arena))
			continue;
		err = ma_evict_one(arena);
		if (!err)
			pass->evicted++;
		else if (err != -EIO)
			return err;
	}
	if (err)
		return err;
	memcpy(ma_slot_data(&chunk->slot), data, len);
	return 0;
}

/*
 * Put what @stream compressed (@len bytes) in a slot.  When the pool has
 * no room, making it may take compaction and many evictions, another
 * tenant's too: the bytes are copied out and this CPU's stream let go
 * first, so the other compressors that come to it do not wait meanwhile
 * (unless no copy can be had).  Puts the stream.
 */
static int ma_chunk_store_stream(struct ma_chunk *chunk, struct ma_stream *stream,
				 u32 len, struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	void *data;
	int err;

	err = ma_pool_alloc(&arena->pool, len, chunk, &chunk->slot);
	if (!err) {
		memcpy(ma_slot_data(&chunk->slot), stream->cbuf, len);
	} else if (err == -ENOSPC || err == -ENOBUFS) {
		data = kmemdup(stream->cbuf, len, GFP_KERNEL | __GFP_NOWARN);
		if (data) {
			ma_stream_put(stream);
			err = ma_chunk_store(chunk, data, len, pass);
			kfree(data);
			return err;
		}
		err = ma_chunk_store(chunk, stream->cbuf, len, pass);
	}
	ma_stream_put(stream);
	return err;
}

/* Compress @src (one chunk) into the pool; 1 if stored, 0 if left raw. */
static int ma_chunk_encode(struct ma_chunk *chunk, const void *src,
			   struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	struct ma_stream *stream = ma_stream_get();
	u32 size = ma_chunk_size(arena);
	unsigned int len;
	u64 t0;
	int err;

	/*
	 * Room for the worst case lets LZ4 skip its output bounds checks (its
	 * noLimit path, which zram's two-page buffer gets too): 5% fewer
	 * instructions on text.  Worth a slot only if the slot (header,
	 * alignment) is smaller than the chunk: so compressing always frees
	 * memory, and lowers the opener's charge.
	 */
	t0 = ma_clock_begin(&pass->compress_clock);
	len = ma_codec->compress(src, size, stream->cbuf, ma_codec->bound(size),
				 stream->wrkmem);
	ma_clock_end(arena, MEM_ARENA_STAT_compress_ns, &pass->compress_clock, t0);
	if (!len || len > ma_slot_data_below(size)) {
		ma_stream_put(stream);
		ma_stat_inc(arena, MEM_ARENA_STAT_incompressible_chunks);
		return 0;
	}
	if ((u64)(size - len) * 100 < (u64)size * arena->config.min_savings_pct) {
		ma_stream_put(stream);
		ma_stat_inc(arena, MEM_ARENA_STAT_compression_reject_small_gain);
		return 0;
	}
	err = ma_chunk_store_stream(chunk, stream, len, pass);
	if (err == -ENOSPC)
		ma_stat_inc(arena, MEM_ARENA_STAT_cap_rejects);
	/* No room without passing a cap, the pool's or the opener's: stay raw. */
	if (err == -ENOSPC || err == -EDQUOT) {
		pass->cap_reached = true;
		return 0;
	}
	return err ? err : 1;
}

/* The chunk's raw data goes: if it was read ahead and never used, a waste. */
static void ma_chunk_drop_readahead(struct ma_chunk *chunk)
{
	if (chunk->readahead) {
		chunk->readahead = false;
		ma_stat_inc(chunk_arena(chunk), MEM_ARENA_STAT_readahead_wasted);
	}
}

/**
 * ma_chunk_compress - compress one raw chunk, if it is worth it
 *
 * Returns 1 when the chunk became compressed or same-filled, 0 when it
 * stays as it was (with the reason counted), -ENOMEM when no memory could
 * be had (the chunk is unchanged).
 */
int ma_chunk_compress(struct ma_chunk *chunk, struct ma_pass *pass)
{
	struct ma_region *region = chunk->region;
	struct ma_arena *arena = region->arena;
	unsigned int i, nr = 1U << arena->chunk_order;
	struct page **pages = chunk->pages;
	u32 size = ma_chunk_size(arena);
	unsigned long pattern;
	const void *src;
	int ret;

	ma_chunk_assert_locked(chunk);
	if (chunk->state != MA_CHUNK_RAW)
		return 0;

	/*
	 * No process may write while we read: unmap first (the walk unmapped
	 * this chunk's window; again only if it was mapped since).  No fault
	 * can map the chunk again while we hold its lock, so a page with a
	 * reference besides ours is pinned (get_user_pages) and must stay.
	 */
	if (pass->unmap)
		ma_chunk_unmap_since(chunk, pass->unmap_ticket);
	else
		ma_chunk_unmap(chunk);
	/*
	 * Idle-only: a chunk accessed since the previous such pass is not
	 * marked (its fault cleared the mark).  Unmapped now, it is marked:
	 * its next access must fault, and clears the mark again.
	 */
	if (pass->idle_only && !chunk->idle) {
		chunk->idle = true;
		ma_stat_inc(arena, MEM_ARENA_STAT_hot_skips);
		return 0;
	}
	for (i = 0; i < nr; i++) {
		if (page_count(pages[i]) != 1) {
			ma_stat_inc(arena, MEM_ARENA_STAT_busy_skips);
			return 0;
		}
	}

	if (ma_pages_same_filled(pages, nr, &pattern)) {
		ma_chunk_drop_readahead(chunk);
		ma_chunk_drop_pages(chunk, 0);
		chunk->pattern = pattern;
		chunk->state = MA_CHUNK_SAME;
		ma_stat_inc(arena, MEM_ARENA_STAT_zero_chunks);
		ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, size);
		return 1;
	}

	src = ma_pages_map(arena, pages, nr);
	if (!src)
		return -ENOMEM;
	ret = ma_chunk_encode(chunk, src, pass);
	ma_pages_unmap((void *)src, nr);
	if (ret <= 0)
		return ret;

	ma_chunk_drop_readahead(chunk);
	ma_chunk_drop_pages(chunk, ma_slot_bytes(chunk->slot.len));
	chunk->state = MA_CHUNK_COMPRESSED;
	ma_stat_inc(arena, MEM_ARENA_STAT_compress_ops);
	ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, size);
	return 1;
}

/**
 * ma_chunk_make_raw - make a chunk's pages resident for an access
 *
 * A fault needs pages even for an empty chunk (zero-filled); a touch leaves
 * empty chunks alone and counts raw ones as hits.  @pass: the TOUCH pass,
 * or NULL for a fault.  Returns 1 when data was brought back, 0 when
 * nothing had to be, or -ENOMEM / -EDQUOT / -EIO.
 */
int ma_chunk_make_raw(struct ma_chunk *chunk, enum ma_access how,
		      struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	struct page *pages[MA_CHUNK_PAGES_MAX];
	int err;

	ma_chunk_assert_locked(chunk);
	switch (chunk->state) {
	case MA_CHUNK_RAW:
		if (how == MA_ACCESS_TOUCH) {
			ma_stat_inc(arena, MEM_ARENA_STAT_access_hits_raw);
			chunk->idle = false;	/* a touch is a use */
			chunk->readahead = false;
		}
		return 0;
	case MA_CHUNK_EMPTY:
		if (how == MA_ACCESS_TOUCH)
			return 0;
		err = ma_pages_charge_alloc(arena, pages, 1U << arena->chunk_order,
					    ma_chunk_size(arena), ma_gfp(how) | __GFP_ZERO);
		if (err)
			return err;
		ma_chunk_set_pages(chunk, pages);
		return 0;
	default:
		err = ma_chunk_decompress(chunk, how, pass);
		if (err)
			return err;
		ma_stat_inc(arena, MEM_ARENA_STAT_access_hits_decompressed);
		return 1;
	}
}

/*
 * Unmapping many chunks at once: one page-table walk and one TLB flush for
 * a whole window, not one per chunk.  ma_region_unmap() takes a ticket,
 * then unmaps; it holds no chunk lock, so a fault may map a chunk of the
 * window again before the chunk's lock is taken.  The fault path records
 * the ticket it saw after mapping (ma_chunk_note_pte()), and whoever then
 * holds the chunk lock unmaps that one chunk again if the ticket says it
 * may have escaped (ma_chunk_unmap_since()).
 *
 * Why a ticket suffices: the fault stores its PTE, then (full barrier)
 * loads the ticket; ma_region_unmap() stores the ticket (a fully ordered
 * atomic), then walks the page tables.  Either the walk sees the PTE and
 * removes it, or the fault sees the new ticket.
 *
 * Unmaps of a region are serialised by its unmap_lock: a zap that finds a
 * PTE already cleared by a concurrent zap returns before that one flushed
 * the TLB and dropped its page reference, and the page would look pinned
 * to a compress that followed (a false busy skip).
 */
u32 ma_region_unmap(struct ma_region *region, u64 start, u64 len)
{
	u32 ticket;

	mutex_lock(&region->unmap_lock);
	ticket = atomic_inc_return(&region->unmap_seq);
	unmap_mapping_range(region->arena->inode->i_mapping,
			    ((loff_t)region->pgoff << PAGE_SHIFT) + start, len, 1);
	mutex_unlock(&region->unmap_lock);
	return ticket;
}

/* A PTE of @chunk was just stored: note the ticket it may have escaped. */
static void ma_chunk_note_pte(struct ma_chunk *chunk)
{
	ma_chunk_assert_locked(chunk);
	smp_mb();	/* the PTE before the ticket: see ma_region_unmap() */
	chunk->mapped_seq = atomic_read(&chunk->region->unmap_seq);
}

/* The fault path mapped a page of @chunk: it is being accessed. */
void ma_chunk_mapped(struct ma_chunk *chunk)
{
	ma_chunk_note_pte(chunk);
	chunk->readahead = false;
	if (chunk->idle) {
		chunk->idle = false;
		ma_stat_inc(chunk->region->arena, MEM_ARENA_STAT_idle_refaults);
	}
}

/*
 * The fault path mapped @chunk, just read ahead, into the faulting mapping
 * before anyone asked for it (MEM_ARENA_CONFIG_MAP_AHEAD): its first use
 * will take no fault, so it is neither a hit nor, if it goes unused, waste.
 */
void ma_chunk_mapped_ahead(struct ma_chunk *chunk)
{
	ma_chunk_note_pte(chunk);
	if (chunk->readahead) {
		chunk->readahead = false;
		ma_stat_inc(chunk->region->arena, MEM_ARENA_STAT_readahead_mapped);
	}
}

/* Unmap @chunk if it may have been mapped after ma_region_unmap()'s @ticket. */
void ma_chunk_unmap_since(struct ma_chunk *chunk, u32 ticket)
{
	ma_chunk_assert_locked(chunk);
	if ((s32)(chunk->mapped_seq - ticket) >= 0)
		ma_chunk_unmap(chunk);
}

/* Remove every PTE that maps @chunk, in every process. */
void ma_chunk_unmap(struct ma_chunk *chunk)
{
	struct ma_region *region = chunk->region;
	struct ma_arena *arena = region->arena;

	ma_chunk_assert_locked(chunk);
	if (chunk->state != MA_CHUNK_RAW)
		return;
	ma_region_unmap(region, (u64)chunk->index << (PAGE_SHIFT + arena->chunk_order),
			ma_chunk_size(arena));
}

/**
 * ma_chunk_discard - drop a chunk's data without reading it
 *
 * The pass unmapped the chunk's window; the chunk is unmapped again if a
 * fault mapped it since.  Returns 1 if it held data, 0 if it was empty.
 */
int ma_chunk_discard(struct ma_chunk *chunk, struct ma_pass *pass)
{
	ma_chunk_assert_locked(chunk);
	if (chunk->state == MA_CHUNK_EMPTY)
		return 0;
	ma_chunk_unmap_since(chunk, pass->unmap_ticket);
	ma_chunk_release(chunk);
	ma_stat_inc(chunk_arena(chunk), MEM_ARENA_STAT_discarded_chunks);
	return 1;
}

/*
 * ma_chunk_readahead - bring a compressed or same-filled chunk back to raw
 * before anyone asks for it
 *
 * Marked, so that its first use is not counted as an access hit and its
 * loss unused is counted as waste.  Never OOM-kills: an allocation that
 * fails says -ENOMEM.  Returns 1 when the chunk was read, 0 if it was not
 * compressed.
 */
int ma_chunk_readahead(struct ma_chunk *chunk, struct ma_pass *pass)
{
	int err;

	ma_chunk_assert_locked(chunk);
	if (chunk->state != MA_CHUNK_COMPRESSED && chunk->state != MA_CHUNK_SAME)
		return 0;
	err = ma_chunk_decompress(chunk, MA_ACCESS_TOUCH, pass);
	if (err)
		return err;
	chunk->readahead = true;
	ma_stat_inc(chunk_arena(chunk), MEM_ARENA_STAT_readahead_chunks);
	return 1;
}

/* Free whatever the chunk holds; it becomes empty.  Unmapped by the caller. */
void ma_chunk_release(struct ma_chunk *chunk)
{
	struct ma_arena *arena = chunk_arena(chunk);
	u32 size = ma_chunk_size(arena);
	s64 less = ma_chunk_held(chunk);

	ma_chunk_assert_locked(chunk);
	ma_chunk_drop_readahead(chunk);
	switch (chunk->state) {
	case MA_CHUNK_RAW:
		ma_chunk_put_pages(chunk, less);	/* uncharges them */
		less = 0;
		break;
	case MA_CHUNK_COMPRESSED:
		ma_pool_free(&arena->pool, &chunk->slot);
		ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, -(s64)size);
		break;
	case MA_CHUNK_SAME:
		ma_stat_add(arena, MEM_ARENA_STAT_zero_chunks, -1);
		ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, -(s64)size);
		break;
	}
	ma_charge(arena, -less);
	chunk->state = MA_CHUNK_EMPTY;
	chunk->idle = false;
}

/**
 * ma_chunk_copy_out - take a copy of a chunk's data, in its state
 * @chunk: the source, locked
 * @to: the arena the copy goes to: raw pages are allocated and charged there
 * @cp: filled; a compressed chunk's slot bytes go to @cp->data as they are
 *
 * Nothing is decompressed.  Returns 0, or -ENOMEM / -EDQUOT (raw pages).
 */
int ma_chunk_copy_out(struct ma_chunk *chunk, struct ma_arena *to,
		      struct ma_chunk_copy *cp)
{
	unsigned int i, nr = 1U << to->chunk_order;
	int err;

	ma_chunk_assert_locked(chunk);
	cp->state = chunk->state;
	switch (chunk->state) {
	case MA_CHUNK_COMPRESSED:
		cp->len = chunk->slot.len;
		memcpy(cp->data, ma_slot_data(&chunk->slot), cp->len);
		break;
	case MA_CHUNK_SAME:
		cp->pattern = chunk->pattern;
		break;
	case MA_CHUNK_RAW:
		err = ma_pages_charge_alloc(to, cp->pages, nr, ma_chunk_size(to),
					    ma_gfp(MA_ACCESS_TOUCH));
		if (err)
			return err;
		for (i = 0; i < nr; i++)
			copy_highpage(cp->pages[i], chunk->pages[i]);
		break;
	}
	return 0;
}

/* Undo ma_chunk_copy_out() for a copy that went nowhere. */
void ma_chunk_copy_drop(struct ma_arena *to, struct ma_chunk_copy *cp)
{
	unsigned int nr = 1U << to->chunk_order;

	if (cp->state != MA_CHUNK_RAW)
		return;
	ma_pages_uncharge_free(to, cp->pages, nr, ma_chunk_size(to));
	cp->state = MA_CHUNK_EMPTY;
}

/**
 * ma_chunk_copy_in - replace a chunk's data with a copy
 * @chunk: the destination, locked; what it held is dropped unread
 * @cp: from ma_chunk_copy_out() of a chunk of the same size; its raw pages
 *	become the chunk's (and @cp says empty then)
 * @pass: counts evictions made to find room for a slot
 *
 * A compressed copy takes a slot of its own, its bytes as they were.
 * Returns 1 when the chunk holds data, 0 when the copy was empty, or
 * -ENOSPC / -ENOMEM / -EDQUOT when no slot could be had (@cp is untouched,
 * the chunk left empty).
 */
int ma_chunk_copy_in(struct ma_chunk *chunk, struct ma_chunk_copy *cp,
		     struct ma_pass *pass)
{
	struct ma_arena *arena = chunk_arena(chunk);
	u32 size = ma_chunk_size(arena);
	s64 held;
	int err;

	ma_chunk_assert_locked(chunk);
	if (chunk->state != MA_CHUNK_EMPTY) {
		ma_chunk_unmap(chunk);
		ma_chunk_release(chunk);
	}
	switch (cp->state) {
	case MA_CHUNK_EMPTY:
		return 0;
	case MA_CHUNK_RAW:
		ma_chunk_set_pages(chunk, cp->pages);
		cp->state = MA_CHUNK_EMPTY;
		ma_stat_inc(arena, MEM_ARENA_STAT_copied_chunks);
		return 1;
	case MA_CHUNK_SAME:
		chunk->pattern = cp->pattern;
		ma_stat_inc(arena, MEM_ARENA_STAT_zero_chunks);
		break;
	case MA_CHUNK_COMPRESSED:
		held = ma_slot_bytes(cp->len);
		err = ma_charge(arena, held);
		if (err)
			return err;
		err = ma_chunk_store(chunk, cp->data, cp->len, pass);
		if (err) {
			ma_charge(arena, -held);
			return err;
		}
		break;
	}
	chunk->state = cp->state;
	ma_stat_add(arena, MEM_ARENA_STAT_logical_input_bytes, size);
	ma_stat_inc(arena, MEM_ARENA_STAT_copied_chunks);
	return 1;
}
