/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What anon_streamer and interactive_burst share: their common flags, a
 * region that is plain anonymous memory (the baseline) or a mem_arena
 * region, and the --arena-stats-json report.
 */
#ifndef MEM_ARENA_WORKLOAD_H
#define MEM_ARENA_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <mem_arena.h>

struct workload {
	const char *name;
	/* flags */
	unsigned long long duration_sec, region_mb, idle_ms, cap_mb, pct, seed;
	bool use_arena;
	const char *stats_json, *dataset;
	/* state */
	unsigned char *base;
	size_t len;
	struct mem_arena *arena;
	struct mem_arena_region *region;
	json_object *results;		/* the workload's own figures */
};

/* Common options, for getopt_long tables; ids from 1000 up. */
#define WORKLOAD_OPTIONS						\
	{ "duration-sec", required_argument, NULL, 1000 },		\
	{ "region-mb", required_argument, NULL, 1001 },			\
	{ "idle-ms", required_argument, NULL, 1002 },			\
	{ "use-mem-arena", no_argument, NULL, 1003 },			\
	{ "arena-cap-mb", required_argument, NULL, 1004 },		\
	{ "arena-min-savings-pct", required_argument, NULL, 1005 },	\
	{ "arena-stats-json", required_argument, NULL, 1006 },		\
	{ "seed", required_argument, NULL, 1007 },			\
	{ "dataset", required_argument, NULL, 1008 },			\
	{ "help", no_argument, NULL, 'h' }

#define WORKLOAD_USAGE							\
"  --duration-sec N          run for N seconds (default 10)\n"	\
"  --region-mb N             region size (default 64)\n"		\
"  --idle-ms N               idle gap between passes/bursts (default 200)\n" \
"  --use-mem-arena           use a mem_arena region (default: anonymous\n" \
"                            memory, the baseline, same access pattern)\n" \
"  --arena-cap-mb N          the arena's pool cap, 0 = module-wide\n"	\
"  --arena-min-savings-pct N 0..99 (default 0)\n"			\
"  --arena-stats-json PATH   parameters, every arena stat and the\n"	\
"                            workload's figures as one JSON object\n"	\
"  --seed N                  (default 1)\n"				\
"  --dataset NAME            initial contents: repetitive, text, binary,\n" \
"                            random, zero, mixed, file:PATH (default text)\n" \
"  -h, --help\n"

void workload_init(struct workload *w, const char *name);
/* Handle a common option; false if @c is not one. */
bool workload_option(struct workload *w, int c, const char *arg);
/* Map the region, fill it with the dataset. Dies on failure. */
void workload_setup(struct workload *w);
/* Compress [off, off+len) of the region (arena only); chunks, or 0. */
int workload_compress(struct workload *w, size_t off, size_t len);
size_t workload_chunk_size(const struct workload *w);
void workload_idle(const struct workload *w);
long workload_rss_kb(void);
long workload_minflt(void);
double workload_now(void);
/* Write --arena-stats-json (if asked) and tear down. */
void workload_finish(struct workload *w);
void workload_percentiles(json_object *o, const char *prefix, double *v, size_t n);

#endif
