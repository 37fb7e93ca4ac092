// SPDX-License-Identifier: GPL-2.0
/*
 * anon_streamer: passes of sequential write-then-read over a region,
 * idling between passes.  With --use-mem-arena the region is compressed
 * at the start of each idle period, so every pass finds it compressed.
 * Reports MB/s per pass, an RSS timeline and minor faults; checks that
 * every word reads back what the previous pass wrote.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "workload.h"

/* Low-entropy (compressible like text), different in every pass. */
static uint64_t pattern(size_t i, unsigned long pass)
{
	uint64_t v = (i / 7 * 0x9E3779B97F4A7C15ULL) ^ pass;

	return (v & 0x0707070707070707ULL) | 0x6060606060606060ULL;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: anon_streamer [OPTIONS]\n\n"
"Passes of sequential write-then-read over a region, with idle gaps;\n"
"with --use-mem-arena the region is compressed as each gap starts.\n\n"
WORKLOAD_USAGE
"\nPer pass: MB/s (bytes written + read over the pass's time), RSS before\n"
"and after the gap's compress, minor faults.  Exit 0 ok, 1 failure\n"
"(data read back differs), 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { WORKLOAD_OPTIONS, { NULL, 0, NULL, 0 } };
	json_object *passes, *timeline;
	struct workload w;
	double t_end, mbps_sum = 0;
	unsigned long pass = 0, bad = 0;
	int c;

	workload_init(&w, "anon_streamer");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (!workload_option(&w, c, optarg))
			die_bad_option(argv);
	}
	check_extra_args(argc, argv, 0);
	workload_setup(&w);

	passes = json_object_new_array();
	timeline = json_object_new_array();
	t_end = workload_now() + w.duration_sec;
	while (workload_now() < t_end) {
		uint64_t *q = (uint64_t *)w.base, sum_w = 0, sum_r = 0;
		size_t i, words = w.len / sizeof(*q);
		long flt0 = workload_minflt(), rss_pass, rss_idle;
		double t0 = workload_now(), secs, mbps;
		json_object *p = json_object_new_object();

		pass++;
		/* Write: each word's old value must be the last pass's (it came
		 * back from compressed chunks), then the new pattern goes in. */
		for (i = 0; i < words; i++) {
			uint64_t v = pattern(i, pass);

			if (pass > 1 && q[i] != pattern(i, pass - 1))
				bad++;
			q[i] = v;
			sum_w += v;
		}
		for (i = 0; i < words; i++)
			sum_r += q[i];
		secs = workload_now() - t0;
		mbps = 2.0 * w.len / 1048576.0 / secs;
		mbps_sum += mbps;
		bad += sum_w != sum_r;
		rss_pass = workload_rss_kb();
		workload_compress(&w, 0, w.len);
		rss_idle = workload_rss_kb();
		json_object_object_add(p, "pass", json_object_new_int64(pass));
		json_object_object_add(p, "mbps", json_object_new_double(mbps));
		json_object_object_add(p, "minor_faults",
				       json_object_new_int64(workload_minflt() - flt0));
		json_object_array_add(passes, p);
		json_object_array_add(timeline, json_object_new_int64(rss_pass));
		json_object_array_add(timeline, json_object_new_int64(rss_idle));
		fprintf(stderr, "anon_streamer: pass %lu: %.1f MB/s, RSS %ld -> %ld kB\n",
			pass, mbps, rss_pass, rss_idle);
		workload_idle(&w);
	}
	json_object_object_add(w.results, "passes", json_object_new_int64(pass));
	json_object_object_add(w.results, "mean_mbps",
			       json_object_new_double(pass ? mbps_sum / pass : 0));
	json_object_object_add(w.results, "mismatched_words", json_object_new_int64(bad));
	json_object_object_add(w.results, "per_pass", passes);
	json_object_object_add(w.results, "rss_timeline_kb", timeline);
	workload_finish(&w);
	if (bad)
		die(1, "%lu words read back other data than was written", bad);
	return 0;
}
