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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <mem_arena.h>

#include "../dataset.h"
#include "../util.h"

#define CS 4096UL

/* The chunk size of the arenas made (phase --chunk-kb); 0: the page size. */
static size_t arena_chunk;

static void usage(FILE *out)
{
	fprintf(out,
"Usage: arena_bench run|density|threads|zram [--dataset D] [--region-mb N]\n"
"       arena_bench scale [--dataset D] [--region-mb N,N,...] [--runs N]\n"
"       arena_bench phase PHASE [--dataset D] [--region-mb N] [--chunk-kb K]\n\n"
"run: compress throughput, fault readback in order (without and with\n"
"  MADV_SEQUENTIAL readahead, with readahead mapped ahead in an arena\n"
"  with MEM_ARENA_CONFIG_MAP_AHEAD, and from a worker in an arena with\n"
"  MEM_ARENA_CONFIG_READAHEAD_ASYNC, without and with MAP_AHEAD) and in\n"
"  random order (with per-fault latency), touch readback (also on several\n"
"  CPUs: mem_arena_touch_parallel()), density; every byte checked.\n"
"threads: two threads compressing two regions at once, against one.\n"
"zram: the same bytes written to and read from /dev/zram0 with O_DIRECT\n"
"  in 4 KiB and 1 MiB requests, the 4 KiB reads also in random order (set\n"
"  up by tools/bench/guest-bench.sh).\n"
"density: compress the region, read back every other chunk so the pool\n"
"  fragments, compact it; report compressed_bytes_live / pool_bytes after\n"
"  each step.\n"
"scale: compress regions of each size; report the per-chunk cost (wall\n"
"  clock and kernel codec time), median of --runs (default 3).\n"
"phase compress|fault|readahead|rasync|rasyncmap|mapahead|random|touch|\n"
"      ptouch|threads|zread|zrandom|zwrite:\n"
"  one phase alone, after its setup (readahead: in-order faults with\n"
"  MADV_SEQUENTIAL; rasync: the same in an arena with READAHEAD_ASYNC;\n"
"  rasyncmap: with READAHEAD_ASYNC and MAP_AHEAD;\n"
"  mapahead: with MAP_AHEAD; ptouch: a touch on several CPUs;\n"
"  random: faults in random order, each\n"
"  timed; zread, zrandom: 4 KiB O_DIRECT reads of /dev/zram0, set up by\n"
"  the caller, in order or in the random order, each timed; zwrite: the\n"
"  4 KiB writes of those bytes, in order); --chunk-kb: the arena's chunk\n"
"  size (default the page size; faults touch one byte per chunk);\n"
"  its JSON has the seconds, the p50 and p99 of timed accesses, and\n"
"  what the arena did meanwhile: compaction (defrag_runs,\n"
"  defrag_bytes_moved), pages taken from its spares (recycled_pages)\n"
"  and the decompressor's time per call as the module clocks it\n"
"  (decompress_us_per_call);\n"
"  with MA_PERF_CTL and MA_PERF_ACK (perf record --control fifo:CTL,ACK\n"
"  -D -1) perf records the phase only (tools/bench/profile).\n"
"Datasets: %s (default mixed).  One JSON object per line on stdout.\n",
		DATASET_NAMES);
}

/* An arena with the default config and @flags (MEM_ARENA_CONFIG_*). */
static struct mem_arena *make_arena(unsigned int flags)
{
	struct mem_arena_config cfg;
	struct mem_arena *arena;
	int err;

	mem_arena_config_init(&cfg);
	cfg.flags = flags;
	cfg.chunk_size = arena_chunk;
	err = mem_arena_create(&cfg, &arena);
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
	struct mem_arena *arena = make_arena(0);
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

static int cmd_scale(const char *dataset, const char *sizes, unsigned int runs)
{
	char *list = strdup(sizes), *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t mb = parse_num(tok, "--region-mb", 1, 65536), len = mb << 20;
		double wall[runs], codec[runs];
		json_object *o = json_object_new_object();
		unsigned int k;

		for (k = 0; k < runs; k++) {
			struct mem_arena *arena = make_arena(0);
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

static double secs_since(double t0)
{
	return now_seconds() - t0;
}

static void add_pct(json_object *o, const char *key, double *v, size_t n, double q)
{
	json_object_object_add(o, key, json_object_new_double(n ? v[(size_t)(q * (n - 1))] : 0));
}

/*
 * "--- phase: NAME begin|end" on stderr, the guest's console: the host's
 * tools/phase-meter reads QEMU's CPU time at each, a measure of the phase
 * that host load does not distort (bench/README.md).
 */
static void __attribute__((format(printf, 2, 3)))
mark_phase(const char *what, const char *fmt, ...)
{
	va_list ap;

	fputs("--- phase: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " %s\n", what);
	fflush(stderr);
}

static void compress_or_die(struct mem_arena_region *r)
{
	int n = mem_arena_compress_region(r);

	if (n < 0)
		die(1, "compress: %s", mem_arena_strerror(n));
}

/* 0 .. @n - 1 in a fixed pseudo-random order (Fisher-Yates, xorshift). */
static size_t *shuffled(size_t n)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	size_t *order = malloc(n * sizeof(*order)), i;

	if (!order)
		die(1, "out of memory");
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		size_t j, t;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		j = x % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	return order;
}

/* One byte of each of @n chunks of @cs bytes at @p, in order: a fault each. */
static void fault_in_order(const char *p, size_t n, size_t cs)
{
	volatile char sink;
	size_t i;

	for (i = 0; i < n; i++)
		sink = p[i * cs];
	(void)sink;
}

/* madvise(), or die saying why. */
static void advise(void *p, size_t len, int advice)
{
	if (madvise(p, len, advice))
		die(1, "madvise: %s", strerror(errno));
}

/* Touch one byte of each chunk (@cs bytes) of @p in @order, timing each fault. */
static void timed_faults(const char *p, const size_t *order, size_t n, size_t cs,
			 double *lat)
{
	volatile char sink;
	size_t i;

	for (i = 0; i < n; i++) {
		double a = now_seconds();

		sink = p[order[i] * cs];
		lat[i] = (now_seconds() - a) * 1e6;
	}
	(void)sink;
}

/* Write @n requests of @req bytes of @buf to the same places of @fd, in order. */
static void write_all(int fd, const char *dev, const char *buf, size_t req, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pwrite(fd, buf + i * req, req, i * req) != (ssize_t)req)
			die(1, "%s: write: %s", dev, strerror(errno));
}

/*
 * Read @n requests of @req bytes of @fd into the same places of @buf, in
 * @order (NULL: in order), timing each; returns the seconds of them all.
 */
static double timed_reads(int fd, const char *dev, char *buf, size_t req,
			  size_t n, const size_t *order, double *lat)
{
	double t0 = now_seconds();
	size_t i;

	for (i = 0; i < n; i++) {
		size_t k = order ? order[i] : i;
		double a = now_seconds();

		if (pread(fd, buf + k * req, req, k * req) != (ssize_t)req)
			die(1, "%s: read: %s", dev, strerror(errno));
		lat[i] = (now_seconds() - a) * 1e6;
	}
	return secs_since(t0);
}

/*
 * The sequential phases: in-order faults in a MADV_SEQUENTIAL mapping of
 * an arena with these config flags.  readahead: in the faulting task;
 * mapahead: what a miss reads ahead is mapped at once, so only the misses
 * fault; rasync: a worker reads ahead while the faults go on; rasyncmap:
 * both, the faults reading toward the worker and mapping what both read.
 */
static const struct seq_phase {
	const char *name;
	unsigned int flags;
} seq_phases[] = {
	{ "readahead", 0 },
	{ "mapahead", MEM_ARENA_CONFIG_MAP_AHEAD },
	{ "rasync", MEM_ARENA_CONFIG_READAHEAD_ASYNC },
	{ "rasyncmap", MEM_ARENA_CONFIG_READAHEAD_ASYNC | MEM_ARENA_CONFIG_MAP_AHEAD },
};
#define NR_SEQ_PHASES (sizeof(seq_phases) / sizeof(seq_phases[0]))

static const struct seq_phase *find_seq_phase(const char *name)
{
	size_t i;

	for (i = 0; i < NR_SEQ_PHASES; i++)
		if (!strcmp(seq_phases[i].name, name))
			return &seq_phases[i];
	return NULL;
}

/*
 * In-order fault readback again (MADV_SEQUENTIAL), in an arena with the
 * config flags of the sequential phase @phase.  The same bytes as @copy,
 * checked.
 */
static void run_ahead(json_object *o, const char *dataset, const char *copy,
		      size_t len, unsigned int flags, const char *phase)
{
	struct mem_arena *arena = make_arena(flags);
	struct mem_arena_region *r;
	struct mem_arena_stats st;
	char key[64];
	double t0;
	char *p;

	p = make_region(arena, len, &r, dataset);
	compress_or_die(r);
	advise(p, len, MADV_SEQUENTIAL);
	mark_phase("begin", "run/%s/%s", dataset, phase);
	t0 = now_seconds();
	fault_in_order(p, len / CS, CS);
	snprintf(key, sizeof(key), "readback_%s_mbps", phase);
	json_object_object_add(o, key, json_object_new_double(len / 1048576.0 / secs_since(t0)));
	mark_phase("end", "run/%s/%s", dataset, phase);
	mem_arena_get_stats(arena, &st);
	snprintf(key, sizeof(key), "%s_readahead_chunks", phase);
	json_object_object_add(o, key, json_object_new_int64(st.readahead_chunks));
	if (flags & MEM_ARENA_CONFIG_MAP_AHEAD) {
		snprintf(key, sizeof(key), "%s_readahead_mapped", phase);
		json_object_object_add(o, key, json_object_new_int64(st.readahead_mapped));
	}
	if (memcmp(p, copy, len))
		die(1, "%s: data read back in phase %s differs", dataset, phase);
	mem_arena_destroy(arena);
}

/*
 * Compress @r whole, then bring it back with one call of @touch (phase
 * run/DATASET/@phase): MB/s as @key.
 */
static void timed_touch(json_object *o, struct mem_arena_region *r,
			const char *dataset, const char *phase, const char *key,
			int (*touch)(struct mem_arena_region *, size_t, size_t))
{
	size_t len = mem_arena_region_size(r);
	double t0;
	int err;

	compress_or_die(r);
	mark_phase("begin", "run/%s/%s", dataset, phase);
	t0 = now_seconds();
	err = touch(r, 0, len);
	if (err < 0)
		die(1, "%s: %s", phase, mem_arena_strerror(err));
	json_object_object_add(o, key, json_object_new_double(len / 1048576.0 /
							      secs_since(t0)));
	mark_phase("end", "run/%s/%s", dataset, phase);
}

/* Throughput of every readback path, fault latency, density. */
static int cmd_run(const char *dataset, size_t mb)
{
	struct mem_arena *arena = make_arena(0);
	struct mem_arena_region *r;
	struct mem_arena_stats st;
	json_object *o = json_object_new_object();
	size_t len = mb << 20, pages = len / CS;
	double t0, mib = len / 1048576.0, *lat;
	unsigned long long ra;
	size_t *order, i;
	char *p, *copy;

	p = make_region(arena, len, &r, dataset);
	copy = malloc(len);
	order = shuffled(pages);
	lat = malloc(pages * sizeof(*lat));
	if (!copy || !lat)
		die(1, "out of memory");
	memcpy(copy, p, len);
	fprintf(stderr, "arena_bench: run %s, %zu MiB\n", dataset, mb);
	json_object_object_add(o, "bench", json_object_new_string("run"));
	json_object_object_add(o, "dataset", json_object_new_string(dataset));
	json_object_object_add(o, "region_mb", json_object_new_int64(mb));

	mark_phase("begin", "run/%s/compress", dataset);
	t0 = now_seconds();
	compress_or_die(r);
	json_object_object_add(o, "compress_mbps", json_object_new_double(mib / secs_since(t0)));
	mark_phase("end", "run/%s/compress", dataset);
	mem_arena_get_stats(arena, &st);
	add_density(o, "density", arena);
	json_object_object_add(o, "logical_input_bytes", json_object_new_int64(st.logical_input_bytes));
	json_object_object_add(o, "compress_codec_ms", json_object_new_double(st.compress_ns / 1e6));

	mark_phase("begin", "run/%s/readback", dataset);
	t0 = now_seconds();			/* faults, in order */
	fault_in_order(p, pages, CS);
	json_object_object_add(o, "readback_mbps", json_object_new_double(mib / secs_since(t0)));
	mark_phase("end", "run/%s/readback", dataset);

	compress_or_die(r);			/* in order, with readahead */
	advise(p, len, MADV_SEQUENTIAL);
	mem_arena_get_stats(arena, &st);
	mark_phase("begin", "run/%s/readahead", dataset);
	t0 = now_seconds();
	fault_in_order(p, pages, CS);
	json_object_object_add(o, "readback_readahead_mbps",
			       json_object_new_double(mib / secs_since(t0)));
	mark_phase("end", "run/%s/readahead", dataset);
	ra = st.readahead_chunks;
	mem_arena_get_stats(arena, &st);
	json_object_object_add(o, "readahead_chunks",
			       json_object_new_int64(st.readahead_chunks - ra));
	advise(p, len, MADV_NORMAL);
	compress_or_die(r);	/* for the random faults; small meanwhile */
	for (i = 0; i < NR_SEQ_PHASES; i++)	/* readahead's arena is this one */
		if (seq_phases[i].flags)
			run_ahead(o, dataset, copy, len, seq_phases[i].flags,
				  seq_phases[i].name);

	/* Faults in random order, each timed. */
	t0 = now_seconds();
	timed_faults(p, order, pages, CS, lat);
	json_object_object_add(o, "readback_random_mbps",
			       json_object_new_double(mib / secs_since(t0)));
	qsort(lat, pages, sizeof(*lat), cmp_double);
	add_pct(o, "fault_p50_us", lat, pages, 0.50);
	add_pct(o, "fault_p99_us", lat, pages, 0.99);

	/* One touch of the whole region, then the same on several CPUs. */
	timed_touch(o, r, dataset, "touch", "touch_readback_mbps", mem_arena_touch);
	if (memcmp(p, copy, len))
		die(1, "%s: data read back differs", dataset);
	timed_touch(o, r, dataset, "ptouch", "touch_parallel_readback_mbps",
		    mem_arena_touch_parallel);
	if (memcmp(p, copy, len))
		die(1, "%s: data read back differs (parallel touch)", dataset);
	json_object_object_add(o, "verified", json_object_new_boolean(1));
	emit(o);
	free(lat);
	free(order);
	free(copy);
	mem_arena_destroy(arena);
	return 0;
}

/*
 * The phase's bounds for tools/bench/insn_count.c, a QEMU plugin (make
 * profile --insns): "xchg %bx,%bx" begins, "xchg %cx,%cx" ends; both
 * change nothing, and no compiler emits them.
 */
static void insn_mark(bool begin)
{
#ifdef __x86_64__
	if (begin)
		__asm__ volatile(".byte 0x66, 0x87, 0xdb" ::: "memory");
	else
		__asm__ volatile(".byte 0x66, 0x87, 0xc9" ::: "memory");
#else
	(void)begin;
#endif
}

/*
 * perf record --control: "enable" before the phase, "disable" after, each
 * acknowledged, when MA_PERF_CTL and MA_PERF_ACK name its FIFOs; and the
 * phase's marks for insn_count.
 */
static void perf_ctl(const char *cmd)
{
	static FILE *ctl, *ack;
	const char *c = getenv("MA_PERF_CTL"), *a = getenv("MA_PERF_ACK");
	bool enable = !strcmp(cmd, "enable");
	char line[16];

	if (!enable)
		insn_mark(false);
	if (!c || !a)
		goto out;
	if (!ctl && !(ctl = fopen(c, "w")))
		die(1, "%s: %s", c, strerror(errno));
	if (!ack && !(ack = fopen(a, "r")))
		die(1, "%s: %s", a, strerror(errno));
	if (fprintf(ctl, "%s\n", cmd) < 0 || fflush(ctl) || !fgets(line, sizeof(line), ack))
		die(1, "perf control: no answer to '%s'", cmd);
out:
	if (enable)
		insn_mark(true);
}

struct compressor {
	struct mem_arena_region *r;
	double secs;
};

static void *compress_thread(void *arg)
{
	struct compressor *c = arg;
	double t0 = now_seconds();

	compress_or_die(c->r);
	c->secs = secs_since(t0);
	return NULL;
}

/* Two threads compressing two regions at once, against one. */
static int cmd_threads(const char *dataset, size_t mb)
{
	struct mem_arena *a = make_arena(0), *b = make_arena(0);
	struct compressor ca, cb;
	json_object *o = json_object_new_object();
	size_t len = mb << 20;
	pthread_t ta, tb;
	double one, two, t0;
	char *pa, *pb, *copy = malloc(len);

	pa = make_region(a, len, &ca.r, dataset);
	pb = make_region(b, len, &cb.r, dataset);
	if (!copy)
		die(1, "out of memory");
	memcpy(copy, pa, len);
	fprintf(stderr, "arena_bench: threads %s, 2 x %zu MiB\n", dataset, mb);
	mark_phase("begin", "threads/%s/one", dataset);
	compress_thread(&ca);
	mark_phase("end", "threads/%s/one", dataset);
	one = len / 1048576.0 / ca.secs;
	memcpy(pa, copy, len);			/* both raw again */
	mark_phase("begin", "threads/%s/two", dataset);
	t0 = now_seconds();
	pthread_create(&ta, NULL, compress_thread, &ca);
	pthread_create(&tb, NULL, compress_thread, &cb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	two = 2 * len / 1048576.0 / secs_since(t0);
	mark_phase("end", "threads/%s/two", dataset);
	if (memcmp(pa, copy, len) || memcmp(pb, copy, len))
		die(1, "%s: data read back differs", dataset);
	json_object_object_add(o, "bench", json_object_new_string("threads"));
	json_object_object_add(o, "dataset", json_object_new_string(dataset));
	json_object_object_add(o, "one_thread_mbps", json_object_new_double(one));
	json_object_object_add(o, "two_thread_mbps", json_object_new_double(two));
	json_object_object_add(o, "two_thread_speedup", json_object_new_double(two / one));
	emit(o);
	free(copy);
	mem_arena_destroy(a);
	mem_arena_destroy(b);
	return 0;
}

/* The same bytes through zram with O_DIRECT, in @req-byte requests. */
static void zram_pass(const char *dev, const char *dataset, const char *data,
		      size_t len, size_t req, json_object *o, const char *tag)
{
	char key[64], *buf;
	double t0, *lat;
	size_t n = len / req;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0)
		die(1, "%s: %s", dev, strerror(errno));
	if (posix_memalign((void **)&buf, 4096, len))
		die(1, "out of memory");
	lat = malloc(n * sizeof(*lat));
	memcpy(buf, data, len);
	mark_phase("begin", "zram/%s/write_%s", dataset, tag);
	t0 = now_seconds();
	write_all(fd, dev, buf, req, n);
	snprintf(key, sizeof(key), "write_mbps_%s", tag);
	json_object_object_add(o, key, json_object_new_double(len / 1048576.0 / secs_since(t0)));
	mark_phase("end", "zram/%s/write_%s", dataset, tag);
	memset(buf, 0, len);
	mark_phase("begin", "zram/%s/read_%s", dataset, tag);
	t0 = timed_reads(fd, dev, buf, req, n, NULL, lat);
	snprintf(key, sizeof(key), "read_mbps_%s", tag);
	json_object_object_add(o, key, json_object_new_double(len / 1048576.0 / t0));
	mark_phase("end", "zram/%s/read_%s", dataset, tag);
	if (req == CS) {
		qsort(lat, n, sizeof(*lat), cmp_double);
		add_pct(o, "read_p50_us", lat, n, 0.50);
		add_pct(o, "read_p99_us", lat, n, 0.99);
	}
	if (memcmp(buf, data, len))
		die(1, "%s: data read back differs", dev);
	if (req == CS) {	/* in random order, as mem_arena's random faults */
		size_t *order = shuffled(n);

		memset(buf, 0, len);
		mark_phase("begin", "zram/%s/read_random_%s", dataset, tag);
		t0 = timed_reads(fd, dev, buf, req, n, order, lat);
		snprintf(key, sizeof(key), "read_random_mbps_%s", tag);
		json_object_object_add(o, key, json_object_new_double(len / 1048576.0 / t0));
		mark_phase("end", "zram/%s/read_random_%s", dataset, tag);
		qsort(lat, n, sizeof(*lat), cmp_double);
		add_pct(o, "read_random_p50_us", lat, n, 0.50);
		add_pct(o, "read_random_p99_us", lat, n, 0.99);
		if (memcmp(buf, data, len))
			die(1, "%s: data read back in random order differs", dev);
		free(order);
	}
	free(lat);
	free(buf);
	close(fd);
}

/*
 * Phases "zread" and "zrandom": 4 KiB O_DIRECT reads of /dev/zram0 in order
 * or in @order, each timed; "zwrite" (@write): the writes of those bytes,
 * in order, timed as a whole.  Read back and checked either way.
 */
static double phase_zram(const char *dataset, size_t len, const size_t *order,
			 double *lat, int write)
{
	char err[512], *data = malloc(len), *buf;
	size_t n = len / CS;
	int fd = open("/dev/zram0", O_RDWR | O_DIRECT);
	double t0;

	if (fd < 0)
		die(1, "/dev/zram0: %s", strerror(errno));
	if (!data || posix_memalign((void **)&buf, 4096, len))
		die(1, "out of memory");
	if (dataset_fill(dataset, data, len, 1, err, sizeof(err)))
		die(1, "%s", err);
	memcpy(buf, data, len);
	fprintf(stderr, "arena_bench: phase %s, %s, %zu MiB\n",
		write ? "zwrite" : order ? "zrandom" : "zread", dataset, len >> 20);
	if (write) {
		perf_ctl("enable");
		t0 = now_seconds();
		write_all(fd, "/dev/zram0", buf, CS, n);
		t0 = secs_since(t0);
		perf_ctl("disable");
		memset(buf, 0, len);
		if (pread(fd, buf, len, 0) != (ssize_t)len)
			die(1, "/dev/zram0: read: %s", strerror(errno));
	} else {
		write_all(fd, "/dev/zram0", buf, CS, n);
		memset(buf, 0, len);
		perf_ctl("enable");
		t0 = timed_reads(fd, "/dev/zram0", buf, CS, n, order, lat);
		perf_ctl("disable");
	}
	if (memcmp(buf, data, len))
		die(1, "/dev/zram0: data read back differs");
	free(buf);
	free(data);
	close(fd);
	return t0;
}

/* One phase alone, its setup outside the measurement (and the profile). */
static int cmd_phase(const char *phase, const char *dataset, size_t mb)
{
	struct mem_arena *arena = NULL;
	struct mem_arena_region *r, *r2 = NULL;
	struct mem_arena_stats st0, st;
	uint64_t same, calls;
	struct compressor c[2];
	pthread_t t[2];
	json_object *o = json_object_new_object();
	size_t cs = arena_chunk ? arena_chunk : CS;
	size_t len = mb << 20, pages = len / cs, *order = NULL;
	double t0, *lat = NULL;
	const struct seq_phase *seq = find_seq_phase(phase);
	char *p;
	int k;

	if (!seq && strcmp(phase, "compress") && strcmp(phase, "fault") &&
	    strcmp(phase, "random") && strcmp(phase, "touch") &&
	    strcmp(phase, "ptouch") && strcmp(phase, "threads") && strcmp(phase, "zread") &&
	    strcmp(phase, "zrandom") && strcmp(phase, "zwrite"))
		die(2, "phase: unknown '%s' (compress, fault, readahead, rasync, rasyncmap, mapahead, random, touch, ptouch, threads, zread, zrandom, zwrite)",
		    phase);
	if (phase[0] == 'z' && arena_chunk)
		die(2, "--chunk-kb: zram's phases have 4 KiB requests only");
	if (!strcmp(phase, "random") || !strcmp(phase, "zread") ||
	    !strcmp(phase, "zrandom")) {
		lat = malloc(pages * sizeof(*lat));
		if (!lat)
			die(1, "out of memory");
	}
	if (!strcmp(phase, "random") || !strcmp(phase, "zrandom"))
		order = shuffled(pages);
	if (phase[0] == 'z') {
		t0 = phase_zram(dataset, len, order, lat, !strcmp(phase, "zwrite"));
		goto out;
	}
	arena = make_arena(seq ? seq->flags : 0);
	p = make_region(arena, len, &r, dataset);
	if (!strcmp(phase, "threads"))
		make_region(arena, len, &r2, dataset);
	if (strcmp(phase, "compress") && strcmp(phase, "threads"))
		compress_or_die(r);
	if (seq)
		advise(p, len, MADV_SEQUENTIAL);
	fprintf(stderr, "arena_bench: phase %s, %s, %zu MiB\n", phase, dataset, mb);
	mem_arena_get_stats(arena, &st0);

	perf_ctl("enable");
	t0 = now_seconds();
	if (!strcmp(phase, "compress")) {
		compress_or_die(r);
	} else if (!strcmp(phase, "fault") || seq) {
		fault_in_order(p, pages, cs);
	} else if (!strcmp(phase, "random")) {	/* as cmd_run's */
		timed_faults(p, order, pages, cs, lat);
	} else if (!strcmp(phase, "touch")) {
		if (mem_arena_touch(r, 0, len) < 0)
			die(1, "touch failed");
	} else if (!strcmp(phase, "ptouch")) {
		if (mem_arena_touch_parallel(r, 0, len) < 0)
			die(1, "parallel touch failed");
	} else {
		c[0].r = r, c[1].r = r2;
		for (k = 0; k < 2; k++)
			if (pthread_create(&t[k], NULL, compress_thread, &c[k]))
				die(1, "pthread_create failed");
		for (k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
	}
	t0 = secs_since(t0);
	perf_ctl("disable");
	/* What background compaction did meanwhile (it competes for the CPU). */
	mem_arena_get_stats(arena, &st);
	json_object_object_add(o, "defrag_runs",
			       json_object_new_int64(st.defrag_runs - st0.defrag_runs));
	json_object_object_add(o, "defrag_bytes_moved",
			       json_object_new_int64(st.defrag_bytes_moved -
						     st0.defrag_bytes_moved));
	/* Pages the phase took from the spares: not allocated, not zeroed. */
	json_object_object_add(o, "recycled_pages",
			       json_object_new_int64(st.recycled_pages -
						     st0.recycled_pages));
	/*
	 * The decompressor's own time per call, as the module clocks it: a
	 * same-filled chunk brought back counts in decompress_ops without a
	 * call, and leaves zero_chunks (a readback phase makes none).
	 */
	same = st0.zero_chunks > st.zero_chunks ? st0.zero_chunks - st.zero_chunks : 0;
	calls = st.decompress_ops - st0.decompress_ops;
	calls = calls > same ? calls - same : 0;
	json_object_object_add(o, "decompress_us_per_call",
			       json_object_new_double(calls ? (st.decompress_ns - st0.decompress_ns) /
								1e3 / calls : 0));
out:
	json_object_object_add(o, "bench", json_object_new_string("phase"));
	json_object_object_add(o, "phase", json_object_new_string(phase));
	json_object_object_add(o, "dataset", json_object_new_string(dataset));
	json_object_object_add(o, "region_mb", json_object_new_int64(mb));
	json_object_object_add(o, "seconds", json_object_new_double(t0));
	json_object_object_add(o, "chunks",
			       json_object_new_int64((r2 ? 2 : 1) * pages));
	json_object_object_add(o, "chunk_kb", json_object_new_int64(cs >> 10));
	if (lat) {
		qsort(lat, pages, sizeof(*lat), cmp_double);
		add_pct(o, "p50_us", lat, pages, 0.50);
		add_pct(o, "p99_us", lat, pages, 0.99);
	}
	emit(o);
	if (arena)
		mem_arena_destroy(arena);
	free(order);
	free(lat);
	return 0;
}

static int cmd_zram(const char *dataset, size_t mb, const char *dev)
{
	unsigned long long orig, compr, used;
	json_object *o = json_object_new_object();
	size_t len = mb << 20;
	char err[512], *data = malloc(len);
	FILE *f;

	if (!data || dataset_fill(dataset, data, len, 1, err, sizeof(err)))
		die(1, "%s", data ? err : "out of memory");
	fprintf(stderr, "arena_bench: zram %s, %zu MiB\n", dataset, mb);
	json_object_object_add(o, "bench", json_object_new_string("zram"));
	json_object_object_add(o, "dataset", json_object_new_string(dataset));
	json_object_object_add(o, "region_mb", json_object_new_int64(mb));
	zram_pass(dev, dataset, data, len, CS, o, "4k");
	f = fopen("/sys/block/zram0/mm_stat", "r");
	if (!f || fscanf(f, "%llu %llu %llu", &orig, &compr, &used) != 3)
		die(1, "cannot read /sys/block/zram0/mm_stat");
	fclose(f);
	json_object_object_add(o, "density", json_object_new_double(used ? (double)compr / used : 0));
	zram_pass(dev, dataset, data, len, 1 << 20, o, "1m");
	emit(o);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "region-mb", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "chunk-kb", required_argument, NULL, 'c' },
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
		case 'c':
			arena_chunk = parse_num(optarg, "--chunk-kb", 4, 64) << 10;
			if (arena_chunk & (arena_chunk - 1) || arena_chunk < (size_t)getpagesize())
				die(2, "--chunk-kb: a power of two from the page size to 64");
			break;
		case 'h': usage(stdout); return 0;
		default:
			die_bad_option(argv);
		}
	}
	check_extra_args(argc, argv, !strcmp(cmd, "phase"));
	if (arena_chunk && strcmp(cmd, "phase"))
		die(2, "--chunk-kb: for phase only");
	if (!dataset_valid(dataset))
		die(2, "--dataset: unknown '%s' (%s)", dataset, DATASET_NAMES);
	if (!strcmp(cmd, "density"))
		return cmd_density(dataset, sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64);
	if (!strcmp(cmd, "scale"))
		return cmd_scale(dataset, sizes ? sizes : "16,256", runs);
	if (!strcmp(cmd, "run"))
		return cmd_run(dataset, sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64);
	if (!strcmp(cmd, "threads"))
		return cmd_threads(dataset, sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64);
	if (!strcmp(cmd, "phase"))
		return cmd_phase(optind < argc ? argv[optind] : "", dataset,
				 sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64);
	if (!strcmp(cmd, "zram"))
		return cmd_zram(dataset, sizes ? parse_num(sizes, "--region-mb", 1, 65536) : 64,
				"/dev/zram0");
	die(2, "unknown command '%s' (try --help)", cmd);
}
