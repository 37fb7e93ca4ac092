// SPDX-License-Identifier: GPL-2.0
/*
 * arena_bench: mem_arena's side of the benchmarks, one JSON object per
 * line on stdout (progress on stderr), for tools/bench/ to put beside
 * zram and the plain LZ4 figures measured in the same guest.
 *
 *   arena_bench density --dataset D --region-mb N
 *	compress, read back every other chunk (the pool fragments), compact:
 *	density compressed_bytes_live / pool_bytes at each step
 *   arena_bench scale --dataset D --region-mb N[,N...]
 *	per-chunk compress cost (wall and kernel codec time) per region size
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <mem_arena.h>

#include "../dataset.h"
#include "../util.h"

#define CS 4096UL

static void usage(FILE *out)
{
	fprintf(out,
"Usage: arena_bench density [--dataset D] [--region-mb N]\n"
"       arena_bench scale [--dataset D] [--region-mb N,N,...] [--runs N]\n\n"
"density: compress the region, read back every other chunk so the pool\n"
"  fragments, compact it; report compressed_bytes_live / pool_bytes after\n"
"  each step.\n"
"scale: compress regions of each size; report the per-chunk cost (wall\n"
"  clock and kernel codec time), median of --runs (default 3).\n"
"Datasets: %s (default mixed).  One JSON object per line on stdout.\n",
		DATASET_NAMES);
}

static struct mem_arena *make_arena(void)
{
	struct mem_arena *arena;
	int err = mem_arena_create(NULL, &arena);

	if (err)
		die(1, "%s", mem_arena_strerror(err));
	return arena;
}

static char *make_region(struct mem_arena *arena, size_t len,
			 struct mem_arena_region **r, const char *dataset)
{
	char err[512], *p;
	int e = mem_arena_region_alloc(arena, len, r);

	if (e)
		die(1, "region of %zu bytes: %s", len, mem_arena_strerror(e));
	p = mem_arena_region_base(*r);
	if (dataset_fill(dataset, p, len, 1, err, sizeof(err)))
		die(1, "%s", err);
	return p;
}

static void add_density(json_object *o, const char *key, struct mem_arena *arena)
{
	struct mem_arena_stats s;

	mem_arena_get_stats(arena, &s);
	json_object_object_add(o, key, json_object_new_double(
		s.pool_bytes ? (double)s.compressed_bytes_live / s.pool_bytes : 0));
}

static void emit(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static int cmd_density(const char *dataset, size_t mb)
{
	struct mem_arena_defrag_result d;
	struct mem_arena_region *r;
	struct mem_arena_stats s;
	struct mem_arena *arena = make_arena();
	json_object *o = json_object_new_object();
	size_t len = mb << 20, i;
	char *p = make_region(arena, len, &r, dataset);
	int n;

	fprintf(stderr, "arena_bench: density of %zu MiB of %s\n", mb, dataset);
	n = mem_arena_compress_region(r);
	if (n < 0)
		die(1, "compress: %s", mem_arena_strerror(n));
	mem_arena_get_stats(arena, &s);
	json_object_object_add(o, "bench", json_object_new_string("density"));
	json_object_object_add(o, "dataset", json_object_new_string(dataset));
	json_object_object_add(o, "region_mb", json_object_new_int64(mb));
	json_object_object_add(o, "compressed_bytes_live", json_object_new_int64(s.compressed_bytes_live));
	json_object_object_add(o, "slot_bytes_live", json_object_new_int64(s.slot_bytes_live));
	json_object_object_add(o, "pool_bytes", json_object_new_int64(s.pool_bytes));
	json_object_object_add(o, "logical_input_bytes", json_object_new_int64(s.logical_input_bytes));
	add_density(o, "density_after_compress", arena);
	for (i = 0; i < len / CS; i += 2)
		(void)*(volatile char *)(p + i * CS);
	add_density(o, "density_fragmented", arena);
	mem_arena_defrag(arena, &d);
	add_density(o, "density_after_compaction", arena);
	/* Background compaction usually started first: report the totals. */
	mem_arena_get_stats(arena, &s);
	json_object_object_add(o, "defrag_runs", json_object_new_int64(s.defrag_runs));
	json_object_object_add(o, "defrag_pages_released",
			       json_object_new_int64(s.defrag_pages_released));
	emit(o);
	mem_arena_destroy(arena);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_scale(const char *dataset, const char *sizes, unsigned int runs)
{
	char *list = strdup(sizes), *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t mb = parse_num(tok, "--region-mb", 1, 65536), len = mb << 20;
		double wall[runs], codec[runs];
		json_object *o = json_object_new_object();
		unsigned int k;

		for (k = 0; k < runs; k++) {
			struct mem_arena *arena = make_arena();
			struct mem_arena_region *r;
			struct mem_arena_stats s;
			double t0;
			int n;

			fprintf(stderr, "arena_bench: scale %zu MiB of %s, run %u/%u\n",
				mb, dataset, k + 1, runs);
			make_region(arena, len, &r, dataset);
			t0 = now_seconds();
			n = mem_arena_compress_region(r);
			wall[k] = (now_seconds() - t0) * 1e9 / (len / CS);
			if (n < 0)
				die(1, "compress: %s", mem_arena_strerror(n));
			mem_arena_get_stats(arena, &s);
			codec[k] = (double)s.compress_ns / (len / CS);
			mem_arena_destroy(arena);
		}
		qsort(wall, runs, sizeof(double), cmp_double);
		qsort(codec, runs, sizeof(double), cmp_double);
		json_object_object_add(o, "bench", json_object_new_string("scale"));
		json_object_object_add(o, "dataset", json_object_new_string(dataset));
		json_object_object_add(o, "region_mb", json_object_new_int64(mb));
		json_object_object_add(o, "ns_per_chunk_wall", json_object_new_double(wall[runs / 2]));
		json_object_object_add(o, "ns_per_chunk_codec", json_object_new_double(codec[runs / 2]));
		emit(o);
	}
	free(list);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "region-mb", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dataset = "mixed", *sizes = NULL, *cmd;
	unsigned int runs = 3;
	int c;

	tool_init("arena_bench");
	if (argc < 2)
		die(2, "no command (try --help)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	cmd = argv[1];
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dataset = optarg; break;
		case 'r': sizes = optarg; break;
		case 'n': runs = parse_num(optarg, "--runs", 1, 100); break;
		case 'h': usage(stdout); return 0;
		default:
			die(2, "unknown option or missing value: '%s' (try --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(2, "unexpected argument '%s' (try --help)", argv[optind]);
	if (!dataset_valid(dataset))
		die(2, "--dataset: unknown '%s' (%s)", dataset, DATASET_NAMES);
	if (!strcmp(cmd, "density"))
		return cmd_density(dataset, sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64);
	if (!strcmp(cmd, "scale"))
		return cmd_scale(dataset, sizes ? sizes : "16,256", runs);
	die(2, "unknown command '%s' (try --help)", cmd);
}
