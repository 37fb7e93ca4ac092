// SPDX-License-Identifier: GPL-2.0
/*
 * memarena-run: run an unmodified program with its heap in a mem_arena
 * region, through libmemarena-heap.so and a preloaded allocator.  See
 * memarena-run(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/mem_arena.h>

#include "../libmemarena/heap_size.h"
#include "util.h"

#ifndef MEMARENA_HEAP_DIR
#define MEMARENA_HEAP_DIR "/usr/local/lib/memarena"
#endif
#ifndef MULTIARCH
#define MULTIARCH "x86_64-linux-gnu"
#endif

static const char *const prog = "memarena-run";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"Run COMMAND with its heap in a mem_arena region: its private anonymous\n"
"mmap()s are served from the region (libmemarena-heap.so), through a\n"
"preloaded allocator, since glibc's malloc cannot be interposed.\n"
"\n"
"Options:\n"
"  --heap SIZE            region size, suffix K, M or G (default 4G; virtual:\n"
"                         only what the program touches costs memory)\n"
"  --malloc NAME          jemalloc, mimalloc or libc (default: jemalloc if\n"
"                         installed, else mimalloc, else libc); libc serves\n"
"                         only the program's own mmap() calls\n"
"  --idle-compress SEC    compress memory not accessed for SEC seconds, every\n"
"                         SEC seconds (default 0: never; mactl compress --idle\n"
"                         PID does it from outside)\n"
"  --readahead KIB        read ahead sequential fault streams by KIB KiB\n"
"                         (0..16384; default 0: none, the program cannot\n"
"                         madvise() its heap)\n"
"  --map-ahead            with --readahead: also map what is read ahead, one\n"
"                         fault per window instead of one per page (its use\n"
"                         is then not seen: readahead_mapped)\n"
"  --readahead-async      with --readahead: read ahead from a worker, on\n"
"                         another CPU, while the program goes on; with\n"
"                         --map-ahead too, the program's faults read toward\n"
"                         the worker and map what both read\n"
"  --stats-json PATH      write the arena's stats and VmRSS there at exit\n"
"  -h, --help             this text\n"
"\n"
"Without the module (no /dev/mem_arena) COMMAND runs unchanged, after one\n"
"line on stderr.  Exit status: COMMAND's; 127 when it cannot be run, 2 on\n"
"a usage error.\n", prog);
}

/* The allocator's shared object, or NULL. */
static const char *find_lib(const char *soname, char *buf, size_t len)
{
	static const char *const dirs[] = {
		"/usr/lib/" MULTIARCH, "/lib/" MULTIARCH, "/usr/lib64",
		"/usr/lib", "/usr/local/lib",
	};
	unsigned int i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (snprintf(buf, len, "%s/%s", dirs[i], soname) < (int)len &&
		    !access(buf, R_OK))
			return buf;
	}
	return NULL;
}

/* libmemarena-heap.so: $MEMARENA_HEAP_LIB, the build tree, or installed. */
static const char *find_heap(char *buf, size_t len)
{
	const char *env = getenv("MEMARENA_HEAP_LIB");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		if (snprintf(buf, len, "%s/../../libmemarena/libmemarena-heap.so",
			     exe) < (int)len && !access(buf, R_OK))
			return buf;
	}
	snprintf(buf, len, "%s", MEMARENA_HEAP_DIR "/libmemarena-heap.so");
	return access(buf, R_OK) ? NULL : buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 's' },
		{ "malloc", required_argument, NULL, 'm' },
		{ "idle-compress", required_argument, NULL, 'i' },
		{ "stats-json", required_argument, NULL, 'j' },
		{ "readahead", required_argument, NULL, 'r' },
		{ "map-ahead", no_argument, NULL, 'a' },
		{ "readahead-async", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *heap_size = "4G", *malloc_name = NULL, *stats = NULL;
	const char *idle = "0", *readahead = "0", *heap, *alloc = NULL, *old;
	char heap_buf[PATH_MAX], lib_buf[PATH_MAX], pid[16];
	char *preload;
	int c, fd, map_ahead = 0, ra_async = 0;

	tool_init(prog);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!memarena_heap_size(optarg))
				die(2, "--heap: '%s' is not a size", optarg);
			/* Else the heap library would turn the arena off. */
			if (memarena_heap_size(optarg) > MEM_ARENA_REGION_SIZE_MAX)
				die(2, "--heap: '%s' is more than 64G", optarg);
			heap_size = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "jemalloc") && strcmp(optarg, "mimalloc") &&
			    strcmp(optarg, "libc"))
				die(2, "--malloc: '%s' is not jemalloc, mimalloc or libc",
				    optarg);
			malloc_name = optarg;
			break;
		case 'i':
			parse_num(optarg, "--idle-compress", 0, ULONG_MAX);
			idle = optarg;
			break;
		case 'j':
			stats = optarg;
			break;
		case 'r':
			parse_num(optarg, "--readahead", 0, MEM_ARENA_READAHEAD_KIB_MAX);
			readahead = optarg;
			break;
		case 'a':
			map_ahead = 1;
			break;
		case 'A':
			ra_async = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			die_bad_option(argv);
		}
	}
	if (optind >= argc)
		die(2, "no COMMAND to run (see --help)");
	if ((map_ahead || ra_async) && !strcmp(readahead, "0"))
		die(2, "--%s needs --readahead KIB (nothing is read ahead without it)",
		    map_ahead ? "map-ahead" : "readahead-async");

	fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s; running %s without an arena\n", prog,
			MEM_ARENA_DEVICE, strerror(errno), argv[optind]);
		goto exec;
	}
	close(fd);

	heap = find_heap(heap_buf, sizeof(heap_buf));
	if (!heap)
		die(127, "libmemarena-heap.so not found (set MEMARENA_HEAP_LIB)");
	if (!malloc_name || !strcmp(malloc_name, "jemalloc"))
		alloc = find_lib("libjemalloc.so.2", lib_buf, sizeof(lib_buf));
	if (!alloc && (!malloc_name || !strcmp(malloc_name, "mimalloc")))
		alloc = find_lib("libmimalloc.so.2", lib_buf, sizeof(lib_buf));
	if (!alloc && malloc_name && strcmp(malloc_name, "libc"))
		die(127, "lib%s not found (Debian: libjemalloc2, libmimalloc2.0)",
		    malloc_name);
	if (!alloc && !malloc_name)
		fprintf(stderr, "%s: no jemalloc or mimalloc: only %s's own mmap() calls use the arena\n",
			prog, argv[optind]);

	old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s%s%s", alloc ?: "", alloc ? " " : "", heap,
		     old && *old ? " " : "", old ?: "") < 0)
		die(127, "%s", strerror(ENOMEM));
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (setenv("LD_PRELOAD", preload, 1) ||
	    setenv("MEMARENA_HEAP_SIZE", heap_size, 1) ||
	    setenv("MEMARENA_IDLE_COMPRESS", idle, 1) ||
	    setenv("MEMARENA_READAHEAD_KIB", readahead, 1) ||
	    setenv("MEMARENA_MAP_AHEAD", map_ahead ? "1" : "0", 1) ||
	    setenv("MEMARENA_READAHEAD_ASYNC", ra_async ? "1" : "0", 1) ||
	    (stats && (setenv("MEMARENA_STATS_JSON", stats, 1) ||
		       setenv("MEMARENA_STATS_PID", pid, 1))))
		die(127, "%s", strerror(errno));
exec:
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], strerror(errno));
	return 127;
}
