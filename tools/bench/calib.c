// SPDX-License-Identifier: GPL-2.0
/*
 * bench_calib: what emulation does to each kind of work that make
 * profile bins, measured by one binary on the host and in the guest.
 * tools/bench/project_native.py divides the two and scales each
 * component of a guest profile by its own factor, to see what the same
 * profile implies on the host's CPU.
 *
 * Each probe repeats batches of its operation for 5 ms and reports
 * nanoseconds per operation; all probes run in turn, --rounds times, and
 * each keeps its fastest round (a slow window of the host only
 * subtracts; one that covers a whole round slows every probe alike, and
 * the projection uses only their ratios).  The
 * kernel's LZ4 is the kernel's own source (lib/lz4, built without SSE as
 * the kernel builds it); page clearing and copying use the string
 * instructions this CPU's kernel would pick (ERMS: rep stosb/movsb; else
 * REP_GOOD: rep stosq/movsq; else a loop).  One JSON object on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../dataset.h"
#include "../util.h"

/*
 * The kernel's lib/lz4 (include/linux/lz4.h, which needs the kernel's
 * types: declared here).  Its state is LZ4_MEM_COMPRESS, 16 KiB and a
 * little: WRKMEM leaves room.
 */
#define WRKMEM	(64 * 1024)
int LZ4_compress_fast(const char *source, char *dest, int inputSize,
		      int maxOutputSize, int acceleration, void *wrkmem);
int LZ4_decompress_safe(const char *source, char *dest, int compressedSize,
			int maxDecompressedSize);

#define PG		4096
#define NR_CHUNKS	64
#define BUF_PAGES	1024	/* 4 MiB: cleared, copied and faulted pages */

enum strop { STR_LOOP, STR_REP_Q, STR_REP_B };
static const char *const strop_name[] = { "loop", "rep_good", "erms" };
static enum strop strop;

static size_t cs = PG;	/* LZ4's chunks: --chunk-kb */
static char *text, *cbuf, *out, *wrkmem, *buf, *buf2;
static int clen[NR_CHUNKS];
static int memfd;
static volatile unsigned long sink;

static double now_ns(void)
{
	return now_seconds() * 1e9;
}

/* The string instructions this CPU's kernel uses, by /proc/cpuinfo's flags. */
static enum strop cpu_strop(void)
{
	char line[8192], *tok, *save;
	FILE *f = fopen("/proc/cpuinfo", "r");
	int erms = 0, rep_good = 0;

	if (!f)
		return STR_LOOP;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "flags", 5) || !colon)
			continue;
		for (tok = strtok_r(colon + 1, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			erms |= !strcmp(tok, "erms");
			rep_good |= !strcmp(tok, "rep_good");
		}
		break;
	}
	fclose(f);
	return erms ? STR_REP_B : rep_good ? STR_REP_Q : STR_LOOP;
}

static void str_clear(void *dst)
{
	unsigned long n, *p = dst;
	void *d = dst;

	switch (strop) {
	case STR_REP_B:
		n = PG;
		asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0) : "memory");
		break;
	case STR_REP_Q:
		n = PG / 8;
		asm volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0) : "memory");
		break;
	default:
		for (n = 0; n < PG / 8; n += 8) {
			asm volatile("" : : "r"(p) : "memory");
			p[n] = p[n + 1] = p[n + 2] = p[n + 3] = 0;
			p[n + 4] = p[n + 5] = p[n + 6] = p[n + 7] = 0;
		}
	}
}

static void str_copy(void *dst, const void *src)
{
	unsigned long n, *d8 = dst;
	const unsigned long *s8 = src;
	void *d = dst;
	const void *s = src;

	switch (strop) {
	case STR_REP_B:
		n = PG;
		asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		break;
	case STR_REP_Q:
		n = PG / 8;
		asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		break;
	default:
		for (n = 0; n < PG / 8; n++) {
			asm volatile("" : : "r"(d8) : "memory");
			d8[n] = s8[n];
		}
	}
}

/*
 * A probe does one batch of its operations and returns the nanoseconds
 * they took; *ops says how many.  measure() repeats batches for
 * BATCHES_NS at least.
 */
#define BATCHES_NS	5e6

static double probe_lz4_decompress(unsigned long *ops)
{
	double t = now_ns();
	int i;

	for (i = 0; i < NR_CHUNKS; i++) {
		if (LZ4_decompress_safe(cbuf + i * cs, out, clen[i], cs) != (int)cs)
			abort();
	}
	*ops = NR_CHUNKS;
	return now_ns() - t;
}

static double probe_lz4_compress(unsigned long *ops)
{
	double t = now_ns();
	int i;

	for (i = 0; i < NR_CHUNKS; i++)
		sink += LZ4_compress_fast(text + i * cs, out, cs, cs, 1, wrkmem);
	*ops = NR_CHUNKS;
	return now_ns() - t;
}

static double probe_clear_page(unsigned long *ops)
{
	double t = now_ns();
	int i;

	for (i = 0; i < BUF_PAGES; i++)
		str_clear(buf + (size_t)i * PG);
	*ops = BUF_PAGES;
	return now_ns() - t;
}

static double probe_copy_page(unsigned long *ops)
{
	double t = now_ns();
	int i;

	for (i = 0; i < BUF_PAGES; i++)
		str_copy(buf + (size_t)i * PG, buf2 + (size_t)i * PG);
	*ops = BUF_PAGES;
	return now_ns() - t;
}

/*
 * A write fault on a page already in a shared memfd: exception entry, the
 * page's lookup, the PTE and the return, with no allocation and no fault
 * around (as a fault on an arena's chunk after its readback).
 */
static double probe_fault(unsigned long *ops)
{
	char *p = mmap(NULL, (size_t)BUF_PAGES * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED, memfd, 0);
	double t;
	int i;

	if (p == MAP_FAILED)
		abort();
	t = now_ns();
	for (i = 0; i < BUF_PAGES; i++)
		p[(size_t)i * PG] = 1;
	t = now_ns() - t;
	munmap(p, (size_t)BUF_PAGES * PG);
	*ops = BUF_PAGES;
	return t;
}

static double probe_syscall(unsigned long *ops)
{
	double t = now_ns();
	int i;

	for (i = 0; i < 1000; i++)
		sink += syscall(SYS_getppid);
	*ops = 1000;
	return now_ns() - t;
}

static double probe_clock(unsigned long *ops)
{
	struct timespec ts;
	double t = now_ns();
	int i;

	for (i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		sink += ts.tv_nsec;
	}
	*ops = 1000;
	return now_ns() - t;
}

/*
 * Bookkeeping such as a pool, a page allocator or a list keeps: take a
 * free bit of a bitmap, link a node, count with an atomic, give back.
 */
static double probe_plain(unsigned long *ops)
{
	static unsigned long map[4];
	static struct node { struct node *prev, *next; } nodes[256], head;
	static unsigned long count;
	double t = now_ns();
	int i, w, bit;

	memset(map, 0, sizeof(map));
	head.prev = head.next = &head;
	for (i = 0; i < 20000; i++) {
		for (w = 0; w < 4 && !~map[w]; w++)
			;
		if (w == 4) {
			memset(map, 0, sizeof(map));
			head.prev = head.next = &head;
			w = 0;
		}
		bit = w * 64 + __builtin_ctzl(~map[w]);
		map[w] |= 1UL << (bit % 64);
		nodes[bit].next = head.next;
		nodes[bit].prev = &head;
		head.next->prev = &nodes[bit];
		head.next = &nodes[bit];
		__atomic_fetch_add(&count, 1, __ATOMIC_SEQ_CST);
		if (i & 1) {
			struct node *n = head.prev;

			n->prev->next = &head;
			head.prev = n->prev;
			bit = n - nodes;
			map[bit / 64] &= ~(1UL << (bit % 64));
		}
	}
	sink += count;
	*ops = 20000;
	return now_ns() - t;
}

static const struct probe {
	const char *name;
	double (*run)(unsigned long *ops);
} probes[] = {
	{ "lz4_decompress", probe_lz4_decompress },
	{ "lz4_compress", probe_lz4_compress },
	{ "clear_page", probe_clear_page },
	{ "copy_page", probe_copy_page },
	{ "fault", probe_fault },
	{ "syscall", probe_syscall },
	{ "clock", probe_clock },
	{ "plain", probe_plain },
};
#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

/* ns per operation of @p, over batches of BATCHES_NS at least. */
static double measure(const struct probe *p)
{
	double ns = 0, ops = 0;
	unsigned long n;

	while (ns < BATCHES_NS) {
		ns += p->run(&n);
		ops += n;
	}
	return ns / ops;
}

static void setup(const char *dataset)
{
	char err[256];
	int i;

	text = malloc(NR_CHUNKS * cs);
	cbuf = malloc(NR_CHUNKS * cs);
	out = malloc(cs);
	wrkmem = malloc(WRKMEM);
	buf = aligned_alloc(PG, (size_t)BUF_PAGES * PG);
	buf2 = aligned_alloc(PG, (size_t)BUF_PAGES * PG);
	if (!text || !cbuf || !out || !wrkmem || !buf || !buf2)
		die(1, "out of memory");
	if (dataset_fill(dataset, text, NR_CHUNKS * cs, 1, err, sizeof(err)))
		die(1, "%s", err);
	for (i = 0; i < NR_CHUNKS; i++) {
		clen[i] = LZ4_compress_fast(text + i * cs, cbuf + i * cs, cs, cs, 1,
					    wrkmem);
		if (clen[i] <= 0)
			die(1, "dataset %s does not compress", dataset);
	}
	memset(buf, 1, (size_t)BUF_PAGES * PG);
	memset(buf2, 2, (size_t)BUF_PAGES * PG);
	memfd = memfd_create("bench_calib", 0);
	if (memfd < 0 || ftruncate(memfd, (size_t)BUF_PAGES * PG) ||
	    pwrite(memfd, buf, (size_t)BUF_PAGES * PG, 0) != (ssize_t)BUF_PAGES * PG)
		die(1, "memfd: %s", strerror(errno));
	strop = cpu_strop();
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench_calib [--dataset D] [--rounds N] [--chunk-kb K]\n\n"
"Nanoseconds per operation of the kinds of work make profile bins: the\n"
"kernel's LZ4 on chunks of the dataset (default text) of --chunk-kb KiB\n"
"(default 4), a 4 KiB page cleared and copied with this CPU's kernel\n"
"string instructions, a write fault on a page already in a shared memfd,\n"
"a syscall, a clock read, and plain bookkeeping code.  Each probe keeps\n"
"its fastest of --rounds (default 15) interleaved rounds of 5 ms.  Run\n"
"it on the host and in the guest; tools/bench/project_native.py compares\n"
"them.  One JSON object on stdout.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "chunk-kb", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *dataset = "text";
	double best[NR_PROBES];
	int c, r, rounds = 15;
	unsigned int i;

	tool_init("bench_calib");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dataset = optarg;
			break;
		case 'r':
			rounds = parse_num(optarg, "--rounds", 1, 1000);
			break;
		case 'c':
			cs = parse_num(optarg, "--chunk-kb", 4, 64) << 10;
			if (cs & (cs - 1))
				die(2, "--chunk-kb: a power of two from 4 to 64");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			die_bad_option(argv);
		}
	}
	check_extra_args(argc, argv, 0);
	if (!dataset_valid(dataset))
		die(2, "--dataset: unknown '%s' (%s)", dataset, DATASET_NAMES);
	setup(dataset);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < NR_PROBES; i++) {
			double ns = measure(&probes[i]);

			if (!r || ns < best[i])
				best[i] = ns;
		}
	}
	printf("{\"dataset\": \"%s\", \"chunk_kb\": %zu, \"rounds\": %d, \"string_ops\": \"%s\"",
	       dataset, cs >> 10, rounds, strop_name[strop]);
	for (i = 0; i < NR_PROBES; i++)
		printf(", \"%s_ns\": %.1f", probes[i].name, best[i]);
	printf("}\n");
	return 0;
}
