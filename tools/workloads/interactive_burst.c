// SPDX-License-Identifier: GPL-2.0
/*
 * interactive_burst: a hot working set and a cold remainder; bursts of
 * random accesses (mostly hot, some cold) separated by idle gaps.  With
 * --use-mem-arena each gap compresses every chunk the last burst did not
 * touch.  Reports per-access latency percentiles (clock_gettime around
 * each access) and how many accesses found their chunk compressed.
 * Each access reads 64 bytes and bumps a per-chunk counter whose expected
 * value is kept, so lost or corrupted data is detected.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util.h"
#include "workload.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: interactive_burst [OPTIONS]\n\n"
"Bursts of random accesses to a hot set (and some to the cold rest),\n"
"with idle gaps; with --use-mem-arena each gap compresses the chunks the\n"
"last burst did not touch.\n\n"
WORKLOAD_USAGE
"  --hot-pct N               hot set, percent of the region (default 10)\n"
"  --cold-pct N              accesses that go to the cold rest (default 10)\n"
"  --burst-accesses N        accesses per burst (default 2000)\n"
"\nReports latency p50/p95/p99/max in microseconds and the accesses that\n"
"hit compressed data.  Exit 0 ok, 1 failure (data lost), 2 usage error.\n");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		WORKLOAD_OPTIONS,
		{ "hot-pct", required_argument, NULL, 'H' },
		{ "cold-pct", required_argument, NULL, 'C' },
		{ "burst-accesses", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long hot_pct = 10, cold_pct = 10, burst = 2000;
	size_t cs, nr, nr_hot, i, n_lat = 0, cap_lat;
	unsigned long bursts = 0, bad = 0, compressed_chunks = 0;
	uint64_t seed, *expect, sink = 0;
	struct mem_arena_stats s0, s1;
	unsigned char *touched;
	struct workload w;
	double *lat, t_end;
	int c;

	workload_init(&w, "interactive_burst");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'H': hot_pct = parse_num(optarg, "--hot-pct", 1, 100); break;
		case 'C': cold_pct = parse_num(optarg, "--cold-pct", 0, 100); break;
		case 'B': burst = parse_num(optarg, "--burst-accesses", 1, 100000000); break;
		default:
			if (!workload_option(&w, c, optarg))
				die_bad_option(argv);
		}
	}
	check_extra_args(argc, argv, 0);
	workload_setup(&w);

	cs = workload_chunk_size(&w);
	nr = w.len / cs;
	nr_hot = nr * hot_pct / 100 ? nr * hot_pct / 100 : 1;
	expect = calloc(nr, sizeof(*expect));
	touched = calloc(nr, 1);
	cap_lat = 1 << 20;
	lat = malloc(cap_lat * sizeof(*lat));
	if (!expect || !touched || !lat)
		die(1, "out of memory");
	/* The first 8 bytes of each chunk are its access counter. */
	for (i = 0; i < nr; i++)
		memset(w.base + i * cs, 0, sizeof(uint64_t));
	seed = w.seed * 0x9E3779B97F4A7C15ULL + 1;
	memset(&s0, 0, sizeof(s0));
	if (w.arena)
		mem_arena_get_stats(w.arena, &s0);

	t_end = workload_now() + w.duration_sec;
	while (workload_now() < t_end) {
		unsigned long long k;

		memset(touched, 0, nr);
		for (k = 0; k < burst; k++) {
			bool cold = rnd(&seed) % 100 < cold_pct && nr > nr_hot;
			size_t ch = cold ? nr_hot + rnd(&seed) % (nr - nr_hot)
					 : rnd(&seed) % nr_hot;
			unsigned char *p = w.base + ch * cs;
			size_t off = 8 + rnd(&seed) % (cs - 8 - 64);
			double t0 = now_us();
			uint64_t *ctr = (uint64_t *)p;

			for (i = 0; i < 64; i++)
				sink += p[off + i];
			bad += *ctr != expect[ch];
			*ctr = ++expect[ch];
			if (n_lat < cap_lat)
				lat[n_lat++] = now_us() - t0;
			touched[ch] = 1;
		}
		bursts++;
		/* The gap: compress runs of chunks the burst did not touch. */
		for (i = 0; i < nr; i++) {
			size_t j = i;

			while (j < nr && !touched[j])
				j++;
			if (j > i)
				compressed_chunks += workload_compress(&w, i * cs, (j - i) * cs);
			i = j;
		}
		workload_idle(&w);
	}
	(void)sink;
	for (i = 0; i < nr; i++)
		bad += *(uint64_t *)(w.base + i * cs) != expect[i];

	memset(&s1, 0, sizeof(s1));
	if (w.arena)
		mem_arena_get_stats(w.arena, &s1);
	json_object_object_add(w.results, "bursts", json_object_new_int64(bursts));
	json_object_object_add(w.results, "accesses", json_object_new_int64(n_lat));
	json_object_object_add(w.results, "accesses_hit_compressed",
			       json_object_new_int64(s1.access_hits_decompressed -
						     s0.access_hits_decompressed));
	json_object_object_add(w.results, "chunks_compressed_in_gaps",
			       json_object_new_int64(compressed_chunks));
	json_object_object_add(w.results, "rss_end_kb", json_object_new_int64(workload_rss_kb()));
	json_object_object_add(w.results, "lost_updates", json_object_new_int64(bad));
	workload_percentiles(w.results, "latency_us", lat, n_lat);
	fprintf(stderr, "interactive_burst: %lu bursts, %zu accesses, %llu hit compressed data\n",
		bursts, n_lat,
		(unsigned long long)(s1.access_hits_decompressed - s0.access_hits_decompressed));
	workload_finish(&w);
	free(lat);
	free(touched);
	free(expect);
	if (bad)
		die(1, "%lu chunk counters did not hold what was written", bad);
	return 0;
}
