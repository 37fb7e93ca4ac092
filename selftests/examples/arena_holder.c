// SPDX-License-Identifier: GPL-2.0
/*
 * Hold a fragmented arena open for tools to look at: compress chunks of
 * varied compressibility, read every other one back, print "PID FD" and
 * then its own stats (every value, in id order) on one line, then wait
 * for a signal.  Used by mactl_test.sh.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mem_arena.h>

int main(void)
{
	const size_t cs = 4096, nr = 512;
	struct mem_arena_region *r;
	struct mem_arena *arena;
	unsigned long long x = 88172645463325252ULL;
	size_t i, j;
	char *p;
	int err;

	err = mem_arena_create(NULL, &arena);
	if (!err)
		err = mem_arena_region_alloc(arena, nr * cs, &r);
	if (err) {
		fprintf(stderr, "arena_holder: %s\n", mem_arena_strerror(err));
		return 1;
	}
	p = mem_arena_region_base(r);
	for (i = 0; i < nr; i++) {
		for (j = 0; j < 256 * (1 + i % 8); j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[i * cs + j] = (char)x;
		}
		p[i * cs + cs - 1] = 1;
	}
	if (mem_arena_compress_region(r) != (int)nr)
		return 1;
	for (i = 0; i < nr; i += 2)
		(void)*(volatile char *)(p + i * cs);
	printf("%d %d", getpid(), mem_arena_fd(arena));
	{
		struct mem_arena_stats s;
		unsigned int k;

		mem_arena_get_stats(arena, &s);
		for (k = 0; k < MEM_ARENA_NR_STATS; k++)
			printf(" %llu", mem_arena_stat_value(&s, k));
	}
	putchar('\n');
	fflush(stdout);
	pause();
	return 0;
}
