// SPDX-License-Identifier: GPL-2.0
/*
 * Written from the man pages alone (mem_arena(7), mem_arena_create(3) and
 * the pages it links to), built against the installed library with
 * `pkg-config --cflags --libs memarena`.  Exit 0: every result was right;
 * 1: a wrong result; 2: mem_arena_create() failed (message on stderr).
 */
#include <mem_arena.h>
#include <stdio.h>
#include <string.h>

#define MiB (1024 * 1024)

int main(void)
{
	struct mem_arena_config cfg;
	struct mem_arena_region *region;
	struct mem_arena_stats stats;
	struct mem_arena *arena;
	size_t i, size;
	char *p;
	int err, n;

	mem_arena_config_init(&cfg);
	cfg.cap_bytes = 4 * MiB;
	err = mem_arena_create(&cfg, &arena);
	if (err) {
		fprintf(stderr, "from_man: mem_arena_create: %s (%d)\n",
			mem_arena_strerror(err), err);
		return 2;
	}
	err = mem_arena_region_alloc(arena, 1 * MiB, &region);
	if (err) {
		fprintf(stderr, "from_man: region_alloc: %s\n", mem_arena_strerror(err));
		mem_arena_destroy(arena);
		return 1;
	}
	p = mem_arena_region_base(region);
	size = mem_arena_region_size(region);
	for (i = 0; i < size; i++)		/* compressible, not same-filled */
		p[i] = "mem_arena "[i % 10] + (char)(i / 4096 % 3);

	n = mem_arena_compress_region(region);
	err = mem_arena_get_stats(arena, &stats);
	if (n != (int)(size / 4096) || err || stats.compress_ops != (__u64)n ||
	    stats.logical_input_bytes != size || stats.pool_bytes >= size / 4) {
		fprintf(stderr, "from_man: compress %d, ops %llu, pool %llu\n", n,
			(unsigned long long)stats.compress_ops,
			(unsigned long long)stats.pool_bytes);
		return 1;
	}
	for (i = 0; i < size; i++) {		/* read back: faults */
		if (p[i] != (char)("mem_arena "[i % 10] + (char)(i / 4096 % 3))) {
			fprintf(stderr, "from_man: byte %zu differs\n", i);
			return 1;
		}
	}
	mem_arena_get_stats(arena, &stats);
	if (stats.decompress_ops != (__u64)n || stats.pool_bytes != 0)
		return 1;
	printf("from_man: %d chunks compressed and read back; ratio was %.1f\n",
	       n, (double)size / (double)(stats.pool_bytes_peak ? stats.pool_bytes_peak : 1));
	if (mem_arena_region_free(region))
		return 1;
	mem_arena_destroy(arena);
	return 0;
}
