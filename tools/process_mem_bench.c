// SPDX-License-Identifier: GPL-2.0
/*
 * process_mem_bench: what compressing a region costs and saves, measured
 * on this process itself.  Each run: fill a region of an arena with the
 * dataset, compress it (timed), read one byte per page back (timed; the
 * faults decompress), verify every byte, read the arena's stats.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <mem_arena.h>

#include "dataset.h"
#include "util.h"

/* The columns, in order; the first ten are the contract. */
#define COLUMNS(X)							\
	X(rss_pre_kb) X(rss_post_compress_kb) X(rss_post_readback_kb)	\
	X(vmhwm_kb) X(compress_thread_cpu_ms) X(compress_process_cpu_ms) \
	X(compress_wall_ms) X(decompress_thread_cpu_ms)			\
	X(decompress_process_cpu_ms) X(decompress_wall_ms)		\
	X(pool_kb) X(logical_kb) X(compressed_kb) X(ratio)		\
	X(compress_mbps) X(readback_mbps) X(kernel_compress_ms)		\
	X(kernel_decompress_ms) X(compress_ops) X(zero_chunks)		\
	X(incompressible_chunks) X(small_gain_rejects) X(evictions_lru)	\
	X(cap_rejects)

#define ENUM(c) COL_##c,
enum { COLUMNS(ENUM) NR_COLS };
#define NAME(c) #c,
static const char *col_names[] = { COLUMNS(NAME) };

struct opts {
	const char *dataset, *csv, *json;
	unsigned long long region_mb, cap_mb, chunk_kb, pct, runs, warmups, seed;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: process_mem_bench [OPTIONS]\n"
"\n"
"Fill a region of a mem_arena arena with a dataset, compress it, read it\n"
"back through page faults, verify every byte, and report what the process\n"
"paid and saved: RSS, CPU and wall time, and the arena's pool.\n"
"\n"
"  --dataset NAME          %s (default mixed)\n"
"  --region-mb N           region size (default 64)\n"
"  --arena-cap-mb N        pool cap of the arena, 0 = module-wide (default 0)\n"
"  --chunk-kb N            chunk size: 4, 8, 16, 32 or 64 (default 4)\n"
"  --min-savings-pct N     0..99 (default 0)\n"
"  --runs N                measured runs (default 3)\n"
"  --warmups N             unmeasured runs first (default 1)\n"
"  --seed N                for the random parts of datasets (default 1)\n"
"  --csv PATH              one row per measured run\n"
"  --json PATH             parameters, runs and summary as one object\n"
"  -h, --help\n"
"\n"
"The terminal table gives min/median/max over runs; progress goes to\n"
"stderr.  pool_kb is kernel memory, not in RSS: compare rss_* with it.\n"
"Exit status: 0 ok, 1 failure (module missing, data differs), 2 usage.\n",
		DATASET_NAMES);
}

static double ts_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct times {
	double thread, process, wall;
};

static void times_now(struct times *t)
{
	t->thread = ts_ms(CLOCK_THREAD_CPUTIME_ID);
	t->process = ts_ms(CLOCK_PROCESS_CPUTIME_ID);
	t->wall = ts_ms(CLOCK_MONOTONIC);
}

/* One run; fills row[] and returns 0, or dies. */
static void run_once(const struct opts *o, const unsigned char *data, size_t len,
		     double *row)
{
	struct mem_arena_config cfg;
	struct mem_arena_region *region;
	struct mem_arena_stats s;
	struct mem_arena *arena;
	struct times a, b;
	long page = sysconf(_SC_PAGESIZE);
	volatile unsigned char sink = 0;
	unsigned char *p;
	size_t i;
	int err;

	mem_arena_config_init(&cfg);
	cfg.chunk_size = o->chunk_kb * 1024;
	cfg.cap_bytes = o->cap_mb << 20;
	cfg.min_savings_pct = o->pct;
	err = mem_arena_create(&cfg, &arena);
	if (err)
		die(1, "%s", mem_arena_strerror(err));
	err = mem_arena_region_alloc(arena, len, &region);
	if (err)
		die(1, "region of %zu bytes: %s", len, mem_arena_strerror(err));
	p = mem_arena_region_base(region);
	memcpy(p, data, len);

	row[COL_rss_pre_kb] = proc_status_kb("VmRSS");
	times_now(&a);
	err = mem_arena_compress_region(region);
	times_now(&b);
	if (err < 0)
		die(1, "compress: %s", mem_arena_strerror(err));
	row[COL_rss_post_compress_kb] = proc_status_kb("VmRSS");
	row[COL_compress_thread_cpu_ms] = b.thread - a.thread;
	row[COL_compress_process_cpu_ms] = b.process - a.process;
	row[COL_compress_wall_ms] = b.wall - a.wall;
	mem_arena_get_stats(arena, &s);

	times_now(&a);
	for (i = 0; i < len; i += page)
		sink += p[i];
	times_now(&b);
	(void)sink;
	row[COL_rss_post_readback_kb] = proc_status_kb("VmRSS");
	row[COL_vmhwm_kb] = proc_status_kb("VmHWM");
	row[COL_decompress_thread_cpu_ms] = b.thread - a.thread;
	row[COL_decompress_process_cpu_ms] = b.process - a.process;
	row[COL_decompress_wall_ms] = b.wall - a.wall;
	if (memcmp(p, data, len))
		die(1, "data read back differs from data written");

	row[COL_pool_kb] = s.pool_bytes / 1024.0;
	row[COL_logical_kb] = s.logical_input_bytes / 1024.0;
	row[COL_compressed_kb] = s.compressed_bytes_live / 1024.0;
	row[COL_ratio] = s.pool_bytes ? (double)s.logical_input_bytes / s.pool_bytes : 0;
	row[COL_compress_mbps] = len / 1048576.0 / (row[COL_compress_wall_ms] / 1e3);
	row[COL_readback_mbps] = len / 1048576.0 / (row[COL_decompress_wall_ms] / 1e3);
	row[COL_kernel_compress_ms] = s.compress_ns / 1e6;
	mem_arena_get_stats(arena, &s);
	row[COL_kernel_decompress_ms] = s.decompress_ns / 1e6;
	row[COL_compress_ops] = s.compress_ops;
	row[COL_zero_chunks] = s.zero_chunks;
	row[COL_incompressible_chunks] = s.incompressible_chunks;
	row[COL_small_gain_rejects] = s.compression_reject_small_gain;
	row[COL_evictions_lru] = s.evictions_lru;
	row[COL_cap_rejects] = s.cap_rejects;
	mem_arena_destroy(arena);
}

static void summarize(double *rows, size_t runs, int col, double *min,
		      double *med, double *max)
{
	double v[runs];
	size_t i;

	for (i = 0; i < runs; i++)
		v[i] = rows[i * NR_COLS + col];
	qsort(v, runs, sizeof(double), cmp_double);
	*min = v[0];
	*max = v[runs - 1];
	*med = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static void write_csv(const struct opts *o, const double *rows)
{
	FILE *f = fopen(o->csv, "w");
	size_t r;
	int c;

	if (!f)
		die(1, "%s: %s", o->csv, strerror(errno));
	for (c = 0; c < NR_COLS; c++)
		fprintf(f, "%s,", col_names[c]);
	fprintf(f, "run,dataset,region_mb,chunk_kb,arena_cap_mb,min_savings_pct\n");
	for (r = 0; r < o->runs; r++) {
		for (c = 0; c < NR_COLS; c++)
			fprintf(f, "%.3f,", rows[r * NR_COLS + c]);
		fprintf(f, "%zu,%s,%llu,%llu,%llu,%llu\n", r + 1, o->dataset,
			o->region_mb, o->chunk_kb, o->cap_mb, o->pct);
	}
	if (fclose(f))
		die(1, "%s: %s", o->csv, strerror(errno));
}

static void write_json(const struct opts *o, const double *rows)
{
	json_object *root = json_object_new_object(), *params = json_object_new_object();
	json_object *runs = json_object_new_array(), *sum = json_object_new_object();
	double mn, md, mx;
	size_t r;
	int c;

	json_object_object_add(params, "dataset", json_object_new_string(o->dataset));
	json_object_object_add(params, "region_mb", json_object_new_int64(o->region_mb));
	json_object_object_add(params, "chunk_kb", json_object_new_int64(o->chunk_kb));
	json_object_object_add(params, "arena_cap_mb", json_object_new_int64(o->cap_mb));
	json_object_object_add(params, "min_savings_pct", json_object_new_int64(o->pct));
	json_object_object_add(params, "runs", json_object_new_int64(o->runs));
	json_object_object_add(params, "warmups", json_object_new_int64(o->warmups));
	json_object_object_add(root, "params", params);
	for (r = 0; r < o->runs; r++) {
		json_object *row = json_object_new_object();

		for (c = 0; c < NR_COLS; c++)
			json_object_object_add(row, col_names[c],
					       json_object_new_double(rows[r * NR_COLS + c]));
		json_object_array_add(runs, row);
	}
	json_object_object_add(root, "runs", runs);
	for (c = 0; c < NR_COLS; c++) {
		json_object *m = json_object_new_object();

		summarize((double *)rows, o->runs, c, &mn, &md, &mx);
		json_object_object_add(m, "min", json_object_new_double(mn));
		json_object_object_add(m, "median", json_object_new_double(md));
		json_object_object_add(m, "max", json_object_new_double(mx));
		json_object_object_add(sum, col_names[c], m);
	}
	json_object_object_add(root, "summary", sum);
	if (json_object_to_file_ext(o->json, root, JSON_C_TO_STRING_PRETTY))
		die(1, "%s: cannot write", o->json);
	json_object_put(root);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "region-mb", required_argument, NULL, 'r' },
		{ "arena-cap-mb", required_argument, NULL, 'c' },
		{ "chunk-kb", required_argument, NULL, 'k' },
		{ "min-savings-pct", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'n' },
		{ "warmups", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "csv", required_argument, NULL, 'C' },
		{ "json", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .dataset = "mixed", .region_mb = 64, .chunk_kb = 4,
			  .runs = 3, .warmups = 1, .seed = 1 };
	char err[512];
	unsigned char *data;
	double *rows, mn, md, mx;
	size_t len, r;
	int c;

	tool_init("process_mem_bench");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dataset = optarg; break;
		case 'r': o.region_mb = parse_num(optarg, "--region-mb", 1, 65536); break;
		case 'c': o.cap_mb = parse_num(optarg, "--arena-cap-mb", 0, 1 << 20); break;
		case 'k': o.chunk_kb = parse_num(optarg, "--chunk-kb", 4, 64); break;
		case 'p': o.pct = parse_num(optarg, "--min-savings-pct", 0, 99); break;
		case 'n': o.runs = parse_num(optarg, "--runs", 1, 1000); break;
		case 'w': o.warmups = parse_num(optarg, "--warmups", 0, 1000); break;
		case 's': o.seed = parse_num(optarg, "--seed", 0, ~0ULL); break;
		case 'C': o.csv = optarg; break;
		case 'J': o.json = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			die_bad_option(argv);
		}
	}
	check_extra_args(argc, argv, 0);
	if (o.chunk_kb & (o.chunk_kb - 1))
		die(2, "--chunk-kb: %llu is not a power of two", o.chunk_kb);
	if (!dataset_valid(o.dataset))
		die(2, "--dataset: unknown '%s' (%s)", o.dataset, DATASET_NAMES);
	if (access(MEM_ARENA_DEVICE, F_OK))
		die(1, "%s missing: mem_arena module not loaded (modprobe mem_arena)",
		    MEM_ARENA_DEVICE);

	len = o.region_mb << 20;
	data = malloc(len);
	rows = calloc(o.runs, NR_COLS * sizeof(double));
	if (!data || !rows)
		die(1, "out of memory for a %llu MiB dataset", o.region_mb);
	fprintf(stderr, "process_mem_bench: loading %llu MiB of %s\n", o.region_mb, o.dataset);
	if (dataset_fill(o.dataset, data, len, o.seed, err, sizeof(err)))
		die(1, "%s", err);
	for (r = 0; r < o.warmups + o.runs; r++) {
		double scratch[NR_COLS];
		int measured = r >= o.warmups;

		fprintf(stderr, "process_mem_bench: %s %llu/%llu\n",
			measured ? "run" : "warmup",
			measured ? r - o.warmups + 1 : r + 1,
			measured ? o.runs : o.warmups);
		run_once(&o, data, len, measured ? rows + (r - o.warmups) * NR_COLS : scratch);
	}

	printf("dataset %s, region %llu MiB, chunk %llu KiB, cap %llu MiB, min savings %llu%%, "
	       "%llu runs (every byte verified)\n", o.dataset, o.region_mb, o.chunk_kb,
	       o.cap_mb, o.pct, o.runs);
	printf("%-28s %12s %12s %12s\n", "metric", "min", "median", "max");
	for (c = 0; c < NR_COLS; c++) {
		summarize(rows, o.runs, c, &mn, &md, &mx);
		printf("%-28s %12.2f %12.2f %12.2f\n", col_names[c], mn, md, mx);
	}
	if (o.csv)
		write_csv(&o, rows);
	if (o.json)
		write_json(&o, rows);
	free(rows);
	free(data);
	return 0;
}
