// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../dataset.h"
#include "../util.h"
#include "workload.h"

void workload_init(struct workload *w, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->duration_sec = 10;
	w->region_mb = 64;
	w->idle_ms = 200;
	w->seed = 1;
	w->dataset = "text";
	w->results = json_object_new_object();
	tool_init(name);
}

bool workload_option(struct workload *w, int c, const char *arg)
{
	switch (c) {
	case 1000: w->duration_sec = parse_num(arg, "--duration-sec", 1, 86400); break;
	case 1001: w->region_mb = parse_num(arg, "--region-mb", 1, 65536); break;
	case 1002: w->idle_ms = parse_num(arg, "--idle-ms", 0, 3600000); break;
	case 1003: w->use_arena = true; break;
	case 1004: w->cap_mb = parse_num(arg, "--arena-cap-mb", 0, 1 << 20); break;
	case 1005: w->pct = parse_num(arg, "--arena-min-savings-pct", 0, 99); break;
	case 1006: w->stats_json = arg; break;
	case 1007: w->seed = parse_num(arg, "--seed", 0, ~0ULL); break;
	case 1008:
		if (!dataset_valid(arg))
			die(2, "--dataset: unknown '%s' (%s)", arg, DATASET_NAMES);
		w->dataset = arg;
		break;
	default:
		return false;
	}
	return true;
}

void workload_setup(struct workload *w)
{
	char err[512];
	int e;

	w->len = w->region_mb << 20;
	if (w->use_arena) {
		struct mem_arena_config cfg;

		mem_arena_config_init(&cfg);
		cfg.cap_bytes = w->cap_mb << 20;
		cfg.min_savings_pct = w->pct;
		e = mem_arena_create(&cfg, &w->arena);
		if (e)
			die(1, "%s", mem_arena_strerror(e));
		e = mem_arena_region_alloc(w->arena, w->len, &w->region);
		if (e)
			die(1, "region: %s", mem_arena_strerror(e));
		w->base = mem_arena_region_base(w->region);
	} else {
		w->base = mmap(NULL, w->len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->base == MAP_FAILED)
			die(1, "mmap %zu bytes: %s", w->len, strerror(errno));
	}
	if (dataset_fill(w->dataset, w->base, w->len, w->seed, err, sizeof(err)))
		die(1, "%s", err);
}

size_t workload_chunk_size(const struct workload *w)
{
	(void)w;
	return sysconf(_SC_PAGESIZE);
}

int workload_compress(struct workload *w, size_t off, size_t len)
{
	int n;

	if (!w->use_arena || !len)
		return 0;
	n = mem_arena_compress_range(w->region, off, len);
	if (n < 0)
		die(1, "compress: %s", mem_arena_strerror(n));
	return n;
}

void workload_idle(const struct workload *w)
{
	struct timespec ts = { w->idle_ms / 1000, (w->idle_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);	/* the workload's think time */
}

long workload_rss_kb(void)
{
	return proc_status_kb("VmRSS");
}

long workload_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

double workload_now(void)
{
	return now_seconds();
}

void workload_percentiles(json_object *o, const char *prefix, double *v, size_t n)
{
	static const struct { const char *name; double q; } qs[] = {
		{ "p50", 0.50 }, { "p95", 0.95 }, { "p99", 0.99 }, { "max", 1.0 },
	};
	char key[64];
	size_t i;

	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t k = (size_t)(qs[i].q * (n - 1) + 0.5);

		snprintf(key, sizeof(key), "%s_%s", prefix, qs[i].name);
		json_object_object_add(o, key, json_object_new_double(v[k]));
	}
}

void workload_finish(struct workload *w)
{
	struct mem_arena_stats s;
	json_object *root, *params, *stats;
	unsigned int i;

	memset(&s, 0, sizeof(s));
	if (w->arena)
		mem_arena_get_stats(w->arena, &s);
	root = json_object_new_object();
	params = json_object_new_object();
	json_object_object_add(root, "workload", json_object_new_string(w->name));
	json_object_object_add(params, "duration_sec", json_object_new_int64(w->duration_sec));
	json_object_object_add(params, "region_mb", json_object_new_int64(w->region_mb));
	json_object_object_add(params, "idle_ms", json_object_new_int64(w->idle_ms));
	json_object_object_add(params, "use_mem_arena", json_object_new_boolean(w->use_arena));
	json_object_object_add(params, "arena_cap_mb", json_object_new_int64(w->cap_mb));
	json_object_object_add(params, "arena_min_savings_pct", json_object_new_int64(w->pct));
	json_object_object_add(params, "seed", json_object_new_int64(w->seed));
	json_object_object_add(params, "dataset", json_object_new_string(w->dataset));
	json_object_object_add(root, "params", params);
	/* Every stat, zero for the anonymous-memory baseline. */
	stats = json_object_new_object();
	for (i = 0; i < MEM_ARENA_NR_STATS; i++)
		json_object_object_add(stats, mem_arena_stat_name(i),
				       json_object_new_uint64(mem_arena_stat_value(&s, i)));
	json_object_object_add(root, "stats", stats);
	json_object_object_add(root, "results", w->results);
	puts(json_object_to_json_string_ext(w->results, JSON_C_TO_STRING_PRETTY));
	if (w->stats_json &&
	    json_object_to_file_ext(w->stats_json, root, JSON_C_TO_STRING_PRETTY))
		die(1, "%s: cannot write", w->stats_json);
	json_object_put(root);
	if (w->arena)
		mem_arena_destroy(w->arena);
	else
		munmap(w->base, w->len);
}
