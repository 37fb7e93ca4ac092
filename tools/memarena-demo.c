// SPDX-License-Identifier: GPL-2.0
/*
 * memarena-demo: a guided tour of mem_arena for a newcomer.  Allocates a
 * region, fills it with mixed data, compresses it, reads it back, shows
 * LRU eviction under a small cap and fragmentation undone by compaction,
 * with a table per step, and verifies every byte.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mem_arena.h>

#include "dataset.h"
#include "util.h"

#define CS 4096UL

static unsigned long long verified;

static void step(int n, const char *title)
{
	printf("\n== Step %d: %s\n", n, title);
}

static void row(const char *what, const char *value)
{
	printf("   %-34s %s\n", what, value);
}

static void row_bytes(const char *what, double bytes)
{
	char b[32];

	row(what, fmt_bytes(b, sizeof(b), bytes));
}

static void row_num(const char *what, unsigned long long v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", v);
	row(what, b);
}

static void table(struct mem_arena *arena)
{
	struct mem_arena_stats s;
	char b[64];

	mem_arena_get_stats(arena, &s);
	row_bytes("process RSS", proc_status_kb("VmRSS") * 1024.0);
	row_bytes("raw chunk pages (raw_bytes)", s.raw_bytes);
	row_bytes("held compressed (logical_input)", s.logical_input_bytes);
	row_bytes("LZ4 output (compressed_bytes_live)", s.compressed_bytes_live);
	row_bytes("kernel pool (pool_bytes)", s.pool_bytes);
	row_num("chunks compressed (compress_ops)", s.compress_ops);
	row_num("same-filled chunks (zero_chunks)", s.zero_chunks);
	row_num("incompressible chunks", s.incompressible_chunks);
	row_num("chunks brought back (decompress_ops)", s.decompress_ops);
	if (s.pool_bytes) {
		snprintf(b, sizeof(b), "%.2f x", (double)s.logical_input_bytes / s.pool_bytes);
		row("ratio (logical / pool)", b);
	}
}

static void verify(const char *p, const char *want, size_t len, const char *what)
{
	if (memcmp(p, want, len))
		die(1, "%s: data read back differs", what);
	verified += len;
}

static struct mem_arena *arena_new(size_t cap)
{
	struct mem_arena_config cfg;
	struct mem_arena *arena;
	int err;

	mem_arena_config_init(&cfg);
	cfg.cap_bytes = cap;
	err = mem_arena_create(&cfg, &arena);
	if (err)
		die(1, "%s", mem_arena_strerror(err));
	return arena;
}

static char *region_new(struct mem_arena *arena, size_t len, struct mem_arena_region **r)
{
	int err = mem_arena_region_alloc(arena, len, r);

	if (err)
		die(1, "region: %s", mem_arena_strerror(err));
	return mem_arena_region_base(*r);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "region-mb", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long mb = 32;
	struct mem_arena_region *r, *r2;
	struct mem_arena_defrag_result d;
	struct mem_arena *arena, *small;
	struct mem_arena_stats s, s0;
	char err[512], b[64], b2[32], *data, *p, *q, *text;
	const char *dataset = "mixed";
	double t0;
	size_t len, i;
	int c, n;

	tool_init("memarena-demo");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: memarena-demo [--region-mb N]\n\n"
			       "A guided tour: fill a region (default 32 MiB) with mixed data,\n"
			       "compress it, read it back, watch LRU eviction under a small cap\n"
			       "and compaction undo fragmentation; every byte is verified.\n");
			return 0;
		}
		if (c == 'r') {
			mb = parse_num(optarg, "--region-mb", 4, 4096);
			continue;
		}
		die_bad_option(argv);
	}
	check_extra_args(argc, argv, 0);
	len = mb << 20;
	data = malloc(len);
	if (!data)
		die(1, "out of memory");
	if (dataset_fill(dataset, data, len, 1, err, sizeof(err))) {
		/* No /usr to read text and binaries from: generate instead. */
		printf("(%s; using generated data)\n", err);
		dataset_fill("repetitive", data, len / 2, 1, err, sizeof(err));
		dataset_fill("random", data + len / 2, len / 4, 1, err, sizeof(err));
		memset(data + len / 4 * 3, 0, len / 4);
		dataset = "generated";
	}

	printf("mem_arena demo: a %llu MiB region of %s data, chunks of %lu bytes\n",
	       mb, dataset, CS);
	arena = arena_new(0);
	step(1, "allocate a region and fill it");
	p = region_new(arena, len, &r);
	memcpy(p, data, len);
	table(arena);

	step(2, "compress the region");
	t0 = now_seconds();
	n = mem_arena_compress_region(r);
	if (n < 0)
		die(1, "compress: %s", mem_arena_strerror(n));
	snprintf(b, sizeof(b), "%d chunks in %.2f s", n, now_seconds() - t0);
	row("compressed or same-filled", b);
	table(arena);

	step(3, "read every byte back (page faults decompress on access)");
	t0 = now_seconds();
	verify(p, data, len, "region");
	snprintf(b, sizeof(b), "%.2f s, every byte equal", now_seconds() - t0);
	row("read and compared", b);
	table(arena);

	step(4, "LRU eviction under a 1 MiB cap");
	small = arena_new(1 << 20);
	text = malloc(8 << 20);
	if (!text)
		die(1, "out of memory");
	/* Chunks that compress to ~1.6 KiB: 8 MiB of them need ~3 MiB. */
	dataset_fill("repetitive", text, 8 << 20, 1, err, sizeof(err));
	for (i = 0; i < (8 << 20) / CS; i++)
		dataset_fill("random", text + i * CS, 1536, i, err, sizeof(err));
	q = region_new(small, 8 << 20, &r2);
	memcpy(q, text, 8 << 20);
	for (i = 0; i < 8; i++)		/* compress 1 MiB at a time */
		mem_arena_compress_range(r2, i << 20, 1 << 20);
	mem_arena_get_stats(small, &s);
	{
		char now[32], peak[32];

		snprintf(b, sizeof(b), "%s / %s (cap 1 MiB)",
			 fmt_bytes(now, sizeof(now), s.pool_bytes),
			 fmt_bytes(peak, sizeof(peak), s.pool_bytes_peak));
		row("pool now / at its peak", b);
	}
	row_num("evicted to make room (evictions_lru)", s.evictions_lru);
	row_num("still compressed (newest)", s.logical_input_bytes / CS);
	snprintf(b, sizeof(b), "%s / %s",
		 mem_arena_touch(r2, (8 << 20) - CS, CS) == 1 ? "compressed" : "raw",
		 mem_arena_touch(r2, 0, CS) == 1 ? "compressed" : "raw");
	row("newest chunk / oldest chunk were", b);
	verify(q, text, 8 << 20, "capped region");
	mem_arena_destroy(small);
	free(text);

	step(5, "fragmentation, and compaction undoing it");
	mem_arena_get_stats(arena, &s0);
	n = mem_arena_compress_region(r);
	for (i = 0; i < len / CS; i += 2)	/* every other chunk comes back */
		(void)*(volatile char *)(p + i * CS);
	mem_arena_get_stats(arena, &s);
	snprintf(b, sizeof(b), "%llu blocks, %.0f%% full, fragmentation %.2f",
		 (unsigned long long)s.pool_blocks,
		 s.pool_bytes ? 100.0 * s.slot_bytes_live / s.pool_bytes : 0,
		 s.pool_free_bytes ? 1 - (double)s.pool_largest_free / s.pool_free_bytes : 0);
	row("pool after every other chunk left", b);
	mem_arena_defrag(arena, &d);
	mem_arena_get_stats(arena, &s);
	/* The background compactor may have started while chunks left. */
	snprintf(b, sizeof(b), "%llu runs, %s moved, %llu pages released",
		 (unsigned long long)(s.defrag_runs - s0.defrag_runs),
		 fmt_bytes(b2, sizeof(b2), s.defrag_bytes_moved - s0.defrag_bytes_moved),
		 (unsigned long long)(s.defrag_pages_released - s0.defrag_pages_released));
	row("compaction (background + requested)", b);
	snprintf(b, sizeof(b), "%llu blocks, %.0f%% full, fragmentation %.2f",
		 (unsigned long long)s.pool_blocks,
		 s.pool_bytes ? 100.0 * s.slot_bytes_live / s.pool_bytes : 0,
		 s.pool_free_bytes ? 1 - (double)s.pool_largest_free / s.pool_free_bytes : 0);
	row("pool after compaction", b);
	printf("   (mactl map --demo draws it block by block)\n");
	verify(p, data, len, "region after compaction");

	mem_arena_region_free(r);
	mem_arena_destroy(arena);
	free(data);
	printf("\nDone: %s verified, every byte equal to what was written.\n",
	       fmt_bytes(b, sizeof(b), verified));
	return 0;
}
