// SPDX-License-Identifier: GPL-2.0
/*
 * Print the stats list of <linux/mem_arena.h> as documentation, so that
 * adding a stat stays one line in the uapi header.
 *   gen-stats-doc man   roff table rows for mem_arena(7)
 *   gen-stats-doc abi   Documentation/ABI entries for /sys/kernel/mem_arena
 */
#include <stdio.h>
#include <string.h>
#include <linux/mem_arena.h>

#define ROW(name, id, unit, doc) { #name, id, #unit, doc },
static const struct {
	const char *name;
	int id;
	const char *unit, *doc;
} stats[] = { MEM_ARENA_STATS(ROW) };

/* The head of one Documentation/ABI entry, up to its description. */
static void abi_head(const char *file, const char *date)
{
	printf("What:\t\t/sys/kernel/mem_arena/%s\n"
	       "Date:\t\t%s\nKernelVersion:\t6.1 (out of tree)\n"
	       "Contact:\tmem_arena developers\n"
	       "Description:\n", file, date);
}

int main(int argc, char **argv)
{
	size_t i, n = sizeof(stats) / sizeof(stats[0]);

	if (argc != 2 || (strcmp(argv[1], "man") && strcmp(argv[1], "abi"))) {
		fprintf(stderr, "usage: gen-stats-doc man|abi\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(argv[1], "man")) {
			printf("%s;%d;%s;T{\n%s.\nT}\n", stats[i].name,
			       stats[i].id, stats[i].unit, stats[i].doc);
			continue;
		}
		abi_head(stats[i].name, "November 2026");
		printf("\t\t(RO) %s, summed over all arenas (%s).\n"
		       "\t\tSame meaning as field %d of struct mem_arena_stats.\n\n",
		       stats[i].doc, stats[i].unit, stats[i].id);
	}
	if (!strcmp(argv[1], "abi")) {
		abi_head("arenas", "November 2026");
		printf("\t\t(RO) Arenas now open (an arena lives until its\n"
		       "\t\tfile and every mapping of it are gone).\n\n");
		abi_head("pool_cap_bytes", "November 2026");
		printf("\t\t(RW, root) Bound on the kernel memory of all pools\n"
		       "\t\ttogether, in bytes; default a quarter of RAM, or the\n"
		       "\t\tpool_cap_bytes module parameter.  Lowering it stops\n"
		       "\t\tgrowth; it does not shrink pools.\n\n");
		abi_head("defrag_threshold_pct", "November 2026");
		printf("\t\t(RW, root) Background compaction of an arena's pool\n"
		       "\t\tstarts when its free bytes reach this percentage of\n"
		       "\t\tits pool and a whole block could be freed; 0 turns it\n"
		       "\t\toff.  Default 50.\n\n");
		abi_head("defrag_delay_ms", "December 2026");
		printf("\t\t(RW, root) How long background compaction waits\n"
		       "\t\tafter the free that crossed defrag_threshold_pct;\n"
		       "\t\tthe frees meanwhile join that one pass.  0 to 60000,\n"
		       "\t\tdefault 1000.\n\n");
		abi_head("spare_pages", "December 2026");
		printf("\t\t(RW, root) Pages an arena keeps, still charged,\n"
		       "\t\tfor its next decompressions and pool blocks instead of\n"
		       "\t\tfreeing them; a shrinker and close release them.\n"
		       "\t\t0 keeps none.  Default 256.\n\n");
		abi_head("touch_workers", "December 2026");
		printf("\t\t(RW, root) Kernel workers all parallel touches\n"
		       "\t\t(MEM_ARENA_TOUCH_PARALLEL) share at once; never more\n"
		       "\t\tthan one fewer than the online CPUs.  0 turns them\n"
		       "\t\toff.  Default: one fewer than the CPUs online at load.\n\n");
		abi_head("touch_workers_running", "December 2026");
		printf("\t\t(RO) Kernel workers helping parallel touches now.\n");
	}
	return 0;
}
