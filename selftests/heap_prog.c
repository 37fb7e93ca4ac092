// SPDX-License-Identifier: GPL-2.0
/*
 * heap_prog: run by heap_test.sh under memarena-run --malloc libc --heap 4M,
 * so that its own mmap() calls are the heap.  Checks, against the kernel's
 * view (/proc/self/maps, the arena's stats by ioctl on the fd it finds in
 * /proc/self/fd), what libmemarena-heap.so promises: anonymous memory from
 * the region that reads as zero, frees without decompression, mremap, and
 * a private copy across fork() that decompresses nothing.  Prints TAP;
 * dynamically linked, since LD_PRELOAD needs it.  "heap_prog plain" runs the same without expecting
 * the arena (the reference run).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/mem_arena.h>
#include <linux/sched.h>

#include "helpers.h"

#define HEAP	(4 * MiB)
#define MB	MiB

typedef pid_t (*fork_fn)(void);

static int n, failed;
static long page;
static bool plain;

static void check(bool cond, const char *name)
{
	printf("%sok %d %s\n", cond ? "" : "not ", ++n, name);
	failed += !cond;
}

/* Is @p in a mapping of /dev/mem_arena? */
static bool in_arena(const void *p)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    (unsigned long)p >= lo && (unsigned long)p < hi) {
			found = strstr(line, MEM_ARENA_DEVICE) != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static int arena_fd(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int fd = -1;
	ssize_t len;

	while (dir && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0 && (target[len] = 0, !strcmp(target, MEM_ARENA_DEVICE))) {
			fd = atoi(d->d_name);
			break;
		}
	}
	if (dir)
		closedir(dir);
	return fd;
}

static unsigned long long stat_of(int fd, unsigned int id)
{
	struct mem_arena_stats st;

	if (ma_stats(fd, &st))
		return ~0ULL;
	return ((__u64 *)&st)[id];
}

/*
 * Compress [p, p + len): the heap's one region, at the file offset of the
 * mapping that holds @p.
 */
static int compress(int fd, const void *p, size_t len)
{
	struct mem_arena_cmd_region_info info = { .size = sizeof(info) };
	unsigned long lo, hi, off;
	__u64 chunks;
	int err;
	char line[512];
	bool found = false;
	FILE *f;

	err = ma_ioc(fd, MEM_ARENA_IOC_REGION_INFO, &info);
	if (err)
		return err;
	f = fopen("/proc/self/maps", "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, MEM_ARENA_DEVICE) &&
			sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 &&
			(unsigned long)p >= lo && (unsigned long)p < hi;
	if (f)
		fclose(f);
	if (!found)
		return -ENOENT;
	err = ma_range(fd, MEM_ARENA_IOC_COMPRESS, info.id,
		       off - info.mmap_offset + ((unsigned long)p - lo), len, &chunks);
	return err ?: (int)chunks;
}

static void fill_text(char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = "the quick brown fox jumps over the lazy dog "[(i + seed) % 44];
}

static bool is_text(const char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != "the quick brown fox jumps over the lazy dog "[(i + seed) % 44])
			return false;
	return true;
}

static bool is_zero(const char *p, size_t len)
{
	return !ma_nonzero_bytes(p, len);
}

/* Has the mapping at @p the VmFlags mnemonic @flag (proc(5), smaps)? */
static bool vm_flag(const void *p, const char *flag)
{
	char line[512];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)	/* a mapping's line */
			in = (unsigned long)p >= lo && (unsigned long)p < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			for (char *t = strtok(line + 8, " \n"); t; t = strtok(NULL, " \n"))
				found |= !strcmp(t, flag);
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Map runs of @len until one is at @want: the heap hands out next fit, so
 * it comes round to a freed run.  The others are unmapped again.
 */
static char *map_at(char *want, size_t len)
{
	static char *other[HEAP / 4096];
	size_t i, nr = 0;
	char *p = MAP_FAILED;

	while (nr < sizeof(other) / sizeof(*other)) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == want || p == MAP_FAILED || !in_arena(p))
			break;
		other[nr++] = p;
	}
	for (i = 0; i < nr; i++)
		munmap(other[i], len);
	if (p != want && p != MAP_FAILED)
		munmap(p, len);
	return p == want ? p : MAP_FAILED;
}

/* The child of clone() without CLONE_VM: as the _Fork() child below. */
static int clone_child(void *arg)
{
	char *a = arg;
	bool copy = is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page);

	fill_text(a, MB - page, 10);	/* the parent must not see it */
	return copy ? 0 : 1;
}

/* Can @p be read in the child of a fork, and holds it @len bytes of text? */
static bool text_in_child(const char *p, size_t len, unsigned int seed)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(!is_text(p, len, seed));
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status);
}

/* Can @p be written?  Tried in a child, which a SIGSEGV would kill. */
static bool writable(char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		*(volatile char *)p = 1;
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status);
}

/*
 * RLIMIT_MEMLOCK down to the 1 MiB heap a test filled and half of it: the
 * child of a fork then cannot have its arena take a copy.
 */
static bool lower_memlock(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return false;
	rl.rlim_cur = MB + MB / 2;
	return !setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* Two pages of text (seed 5) at @b, made unreadable. */
static bool hide_text(char *b)
{
	fill_text(b, 2 * page, 5);
	return !mprotect(b, 2 * page, PROT_NONE);
}

/* ... readable again, and still that text. */
static bool hidden_text_kept(char *b)
{
	return !mprotect(b, 2 * page, PROT_READ) && is_text(b, 2 * page, 5);
}

/*
 * "heap_prog fork-fallback N" (as a user whose RLIMIT_MEMLOCK counts,
 * numbering its checks after N): with the limit lowered to what the
 * parent's heap holds plus half of it, the child's arena cannot take a copy
 * (MEM_ARENA_IOC_COPY fails with -EDQUOT part way); the child must then
 * get a private copy out of the arena, and the parent keep its heap.  The
 * copy holds what the program made unreadable too, and the pages it never
 * wrote are not read: reading one would allocate it in the parent's arena.
 */
static int fork_fallback(void)
{
	int status = -1, fd = arena_fd();
	unsigned long long raw;
	char *a, *b, *c;
	pid_t pid;

	a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	check(a != MAP_FAILED && in_arena(a) && b != MAP_FAILED && in_arena(b) &&
	      c != MAP_FAILED && in_arena(c), "fallback_heap_in_the_arena");
	if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED)
		return 1;
	fill_text(a, MB, 3);
	check(hide_text(b), "fallback_data_made_unreadable");
	raw = stat_of(fd, MEM_ARENA_STAT_raw_bytes);
	check(lower_memlock(), "fallback_memlock_lowered");
	pid = fork();
	if (pid == 0) {
		bool copy = is_text(a, MB, 3), out = !in_arena(a);
		bool hidden = hidden_text_kept(b);

		fill_text(a, MB, 8);	/* the parent must not see it */
		_exit((copy ? 0 : 1) | (out ? 0 : 2) | (hidden ? 0 : 4) |
		      (is_zero(c, 2 * MB) ? 0 : 8));
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !(WEXITSTATUS(status) & 1), "fallback_child_sees_a_private_copy");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
	      "fallback_child_left_the_arena");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 4),
	      "fallback_child_keeps_unreadable_data");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 8),
	      "fallback_child_has_zeros_where_nothing_was_written");
	check(stat_of(fd, MEM_ARENA_STAT_raw_bytes) == raw,
	      "fallback_allocates_nothing_in_the_parents_arena");
	check(in_arena(a) && is_text(a, MB, 3) && hidden_text_kept(b),
	      "fallback_parent_keeps_its_heap");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * heap_prog readahead N, under memarena-run --readahead (numbering after
 * N): compressed heap memory read in order, with no madvise(), misses at
 * its first two pages only; the rest was read ahead.  With --map-ahead
 * (MEMARENA_MAP_AHEAD=1) what is read ahead is mapped too, so the stream
 * misses again at the page after each window, and the pages read ahead
 * all count as mapped.  With --readahead-async (MEMARENA_READAHEAD_ASYNC=1)
 * a worker reads ahead while the reader goes on: each page is a miss or
 * read ahead, how many of each depends on timing; with both, what the
 * reader maps is some of what was read ahead.
 */
static int readahead_run(void)
{
	unsigned long long hits, ra, mapped, pages = MB / page, misses = 2;
	unsigned long win = strtoul(getenv("MEMARENA_READAHEAD_KIB") ?: "0", NULL, 10) * 1024 / page;
	int map_ahead = !!strtoul(getenv("MEMARENA_MAP_AHEAD") ?: "0", NULL, 10);
	int ra_async = !!strtoul(getenv("MEMARENA_READAHEAD_ASYNC") ?: "0", NULL, 10);
	char *a;
	int fd;

	a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = arena_fd();
	check(a != MAP_FAILED && in_arena(a) && fd >= 0, "readahead_heap_in_the_arena");
	if (a == MAP_FAILED || fd < 0)
		return 1;
	fill_text(a, MB, 5);
	check(compress(fd, a, MB) == (int)(MB / page), "readahead_compress");
	hits = stat_of(fd, MEM_ARENA_STAT_access_hits_decompressed);
	ra = stat_of(fd, MEM_ARENA_STAT_readahead_chunks);
	mapped = stat_of(fd, MEM_ARENA_STAT_readahead_mapped);
	check(is_text(a, MB, 5), "readahead_reads_back");
	if (map_ahead)	/* the first miss, then one per window and page */
		misses = 1 + (pages - 1 + win) / (win + 1);
	hits = stat_of(fd, MEM_ARENA_STAT_access_hits_decompressed) - hits;
	ra = stat_of(fd, MEM_ARENA_STAT_readahead_chunks) - ra;
	if (ra_async)
		check(hits >= 2 && hits + ra == pages,
		      "readahead_async_each_page_a_miss_or_read_ahead");
	else
		check(hits == misses && ra == pages - misses,
		      map_ahead ? "readahead_in_order_misses_once_per_window"
				: "readahead_in_order_misses_twice");
	mapped = stat_of(fd, MEM_ARENA_STAT_readahead_mapped) - mapped;
	if (ra_async && map_ahead)
		check(mapped <= ra, "readahead_async_maps_only_what_was_read_ahead");
	else
		check(mapped == (map_ahead ? pages - misses : 0),
		      "readahead_mapped_only_with_map_ahead");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * heap_prog fork-threads N, under memarena-run with an allocator in front
 * (numbering after N): threads allocate, fill, check and free blocks of
 * every size while the main thread forks, and each child allocates and
 * checks too.  The region is shared until the child has its copy, so the
 * allocator's fork handlers must run inside the heap's: its locks taken
 * before the heap's prepare, and its child handler (which rewrites its
 * locks, in the heap) run once the child has its copy.  Otherwise a child
 * writes into the parent's heap while the parent's threads run, and a
 * thread that maps under an allocator lock can deadlock the fork.
 */
#define FT_THREADS	4
#define FT_LIVE		64

static volatile int ft_stop;
static unsigned long ft_bad, ft_ops;

static size_t ft_size(unsigned int r)
{
	return (size_t)16 << (r % 15);		/* 16 B .. 256 KiB */
}

static void *ft_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, i = 0, j;
	struct { unsigned char *p; size_t len; unsigned char v; } live[FT_LIVE] = {};
	unsigned long bad = 0, ops = 0;

	while (!ft_stop) {
		j = i++ % FT_LIVE;
		if (live[j].p) {
			size_t k;

			for (k = 0; k < live[j].len; k += 61)
				bad += live[j].p[k] != live[j].v;
			free(live[j].p);
		}
		live[j].len = ft_size(rand_r(&seed));
		live[j].v = (unsigned char)rand_r(&seed);
		live[j].p = malloc(live[j].len);
		if (live[j].p)
			memset(live[j].p, live[j].v, live[j].len);
		ops++;
	}
	for (j = 0; j < FT_LIVE; j++)
		free(live[j].p);
	__atomic_add_fetch(&ft_bad, bad, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ft_ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static int fork_threads(int forks)
{
	pthread_t th[FT_THREADS];
	int i, status, children_bad = 0;
	pid_t pid;

	for (i = 0; i < FT_THREADS; i++)
		if (pthread_create(&th[i], NULL, ft_thread, (void *)(uintptr_t)(i + 1)))
			return 1;
	for (i = 0; i < forks; i++) {
		pid = fork();
		if (pid == 0) {
			unsigned int seed = i, k;
			bool ok = true;

			for (k = 0; k < 32 && ok; k++) {
				size_t len = ft_size(rand_r(&seed));
				unsigned char *p = malloc(len);

				ok = p && (memset(p, 0x5a, len), p[len - 1] == 0x5a);
				free(p);
			}
			_exit(ok ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			children_bad++;
			printf("# fork %d: child status %#x\n", i, pid < 0 ? -1 : status);
		}
	}
	ft_stop = 1;
	for (i = 0; i < FT_THREADS; i++)
		pthread_join(th[i], NULL);
	printf("# %d forks while %d threads made %lu allocations\n", forks,
	       FT_THREADS, ft_ops);
	check(children_bad == 0, "fork_under_threads_children_allocate");
	check(ft_bad == 0, "fork_under_threads_parent_heap_intact");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * "heap_prog fork-noproc N" (with /proc unmounted, numbering its checks
 * after N): a child of a fork still gets a private copy of the heap, what
 * the program made unreadable included.  "fork-noproc-fallback N" (as a
 * user whose RLIMIT_MEMLOCK counts) lowers the limit first, as
 * fork-fallback does, so that the child copies out of the arena.
 */
static int fork_noproc(bool fallback)
{
	char *a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = -1;
	pid_t pid;

	check(a != MAP_FAILED && b != MAP_FAILED && access("/proc/self/maps", F_OK),
	      "no_proc");
	if (a == MAP_FAILED || b == MAP_FAILED) {
		printf("1..%d\n", n);
		return 1;
	}
	fill_text(a, MB, 3);
	check(hide_text(b), "no_proc_data_made_unreadable");
	if (fallback)
		check(lower_memlock(), "no_proc_memlock_lowered");
	pid = fork();
	if (pid == 0) {
		bool copy = is_text(a, MB, 3);
		bool hidden = hidden_text_kept(b);

		fill_text(a, MB, 8);	/* the parent must not see it */
		_exit((copy ? 0 : 1) | (hidden ? 0 : 2));
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !(WEXITSTATUS(status) & 1), "fork_without_proc_gives_the_child_a_copy");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
	      "fork_without_proc_keeps_unreadable_data");
	if (status)
		printf("# child: status %#x\n", status);
	check(is_text(a, MB, 3), "fork_without_proc_parent_keeps_its_heap");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * "heap_prog fork-writer N": a thread writes the heap while the main thread
 * forks, as a program's threads do while another forks, and each child
 * must see the heap as it was at one instant, as a fork's child sees
 * plain memory.  The thread sweeps a counter through the first word of
 * each page, in order, so at any instant the words fall from first to
 * last by at most one; a copy made while the sweeps go on (page by page)
 * finds later pages written by later sweeps.
 */
#define FW_PAGES	((unsigned int)(MB / page))	/* 1 MiB: a quarter of the heap */

static struct ma_sweeper fw;

/* 0 if the words fall from first to last by at most one, and were written. */
static int fw_torn(void)
{
	return ma_sweep_torn(fw.p, page, FW_PAGES) >= 0 ||
	       !*ma_sweep_word(fw.p, page, 0);
}

static int fork_writer(int forks)
{
	int i, status, torn = 0, bad = 0;
	__u64 before;
	pthread_t th;
	pid_t pid;

	fw = (struct ma_sweeper){ .stride = page, .n = FW_PAGES };
	fw.p = mmap(NULL, FW_PAGES * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(fw.p != MAP_FAILED && in_arena(fw.p), "writer_heap_in_the_region");
	if (fw.p == MAP_FAILED || pthread_create(&th, NULL, ma_sweep, &fw)) {
		printf("1..%d\n", n);
		return 1;
	}
	while (!*ma_sweep_word(fw.p, page, FW_PAGES - 1))
		sched_yield();
	for (i = 0; i < forks; i++) {
		pid = fork();
		if (pid == 0)
			_exit(fw_torn());
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
			bad++;
			continue;
		}
		torn += WEXITSTATUS(status) != 0;
	}
	before = *ma_sweep_word(fw.p, page, 0);
	while (*ma_sweep_word(fw.p, page, 0) == before)	/* the writer goes on after them */
		sched_yield();
	fw.stop = 1;
	pthread_join(th, NULL);
	if (torn || bad)
		printf("# %d of %d children saw a torn heap, %d did not exit\n",
		       torn, forks, bad);
	check(!bad, "fork_under_a_writer_children_exit");
	check(!torn, "fork_under_a_writer_child_sees_one_instant");
	check(!fw_torn(), "fork_under_a_writer_parent_heap_intact");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * fork() from code whose stack is in the heap (a coroutine's, taken from
 * the heap with mmap()): parent and child return from fork() on the same
 * addresses, in a region they share until the child has its copy.  Each
 * must come back with its own frames: the parent with the child's pid, the
 * child with 0, the locals of both as they were.  A thread whose stack was
 * given to pthread_create() (pthread_attr_setstack()) has glibc's thread
 * descriptor at the top of it, where the kernel writes the child's thread
 * id and pthread_join() waits on a shared futex: that stack leaves the
 * region for private memory, with its data and its guard page, and comes
 * back when it is freed.  @noproc: the thread forks with /proc gone (a
 * mount namespace of our own), so that a fork's child finds the region's
 * mappings from the library's own notes.
 */
#define HS_STACK	(256 << 10)
#define HS_MARKS	64

static fork_fn hs_fork;
static int hs_forks;
static bool hs_in_arena;	/* where the stack of the forks is */
static sem_t hs_gate;		/* the thread forks when it is posted */
static long hs_bad;		/* forks that went wrong */
static ucontext_t hs_main, hs_co;

static void heap_stack_forks(void)
{
	volatile unsigned long mark[HS_MARKS];
	int i, j, status;
	pid_t pid;

	for (i = 0; i < hs_forks; i++) {
		for (j = 0; j < HS_MARKS; j++)
			mark[j] = (unsigned long)i * HS_MARKS + j;
		pid = hs_fork();
		for (j = 0; j < HS_MARKS && mark[j] == (unsigned long)i * HS_MARKS + j; j++)
			;
		if (pid == 0)
			_exit(j == HS_MARKS &&
			      in_arena((const void *)mark) == hs_in_arena ? 0 : 1);
		if (pid < 0 || j < HS_MARKS || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			hs_bad++;
	}
}

static void *heap_stack_thread(void *arg __attribute__((unused)))
{
	while (sem_wait(&hs_gate) && errno == EINTR)
		;
	heap_stack_forks();
	return NULL;
}

/* Check that no fork by @how (fork, _Fork) from @where went wrong. */
static void hs_check(const char *how, const char *where)
{
	char name[96];

	if (hs_bad)
		printf("# %s %s: %ld of %d went wrong\n", how, where, hs_bad, hs_forks);
	snprintf(name, sizeof(name), "%s_%s_returns_to_both", how, where);
	check(!hs_bad, name);
}

/* Run heap_stack_forks() on @stack, as a coroutine; 0, or -1 (errno). */
static int heap_stack_coroutine(char *stack)
{
	if (getcontext(&hs_co))
		return -1;
	hs_co.uc_stack.ss_sp = stack;
	hs_co.uc_stack.ss_size = HS_STACK;
	hs_co.uc_link = &hs_main;
	makecontext(&hs_co, heap_stack_forks, 0);
	return swapcontext(&hs_main, &hs_co);
}

/* A mount namespace of our own: /proc can go in it, and nowhere else. */
static void own_mount_namespace(void)
{
	check(!unshare(CLONE_NEWNS) &&
	      !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL),
	      "a_mount_namespace_of_our_own");
}

/* @nr stacks of HS_STACK in the heap, and @sem at 0; NULL if none. */
static char *heap_stacks(int nr, sem_t *sem)
{
	char *stack = mmap(NULL, nr * HS_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	check(stack != MAP_FAILED && in_arena(stack) && !sem_init(sem, 0, 0),
	      "heap_stack_in_the_region");
	return stack == MAP_FAILED ? NULL : stack;
}

static int fork_heap_stack(int forks, bool noproc)
{
	static const struct { const char *name; fork_fn fn; } how[] = {
		{ "fork", fork }, { "_Fork", _Fork },
	};
	pthread_attr_t attr;
	pthread_t th;
	char *stack, *t, *p;
	unsigned int k;
	bool kept = true, guarded = true, out = true, gone = true;

	if (noproc)
		own_mount_namespace();
	/* One stack for the coroutines, one for each thread. */
	stack = heap_stacks(3, &hs_gate);
	if (!stack) {
		printf("1..%d\n", n);
		return 1;
	}
	hs_forks = forks;
	for (k = 0; k < sizeof(how) / sizeof(*how); k++) {
		/* A coroutine of the main thread on a heap stack. */
		hs_fork = how[k].fn;
		hs_in_arena = true;
		hs_bad = 0;
		if (heap_stack_coroutine(stack))
			hs_bad = forks;
		hs_check(how[k].name, "from_a_heap_stack");

		/*
		 * A thread on a heap stack, its descriptor at the top, a guard
		 * page at the bottom and data above it.
		 */
		t = stack + (k + 1) * HS_STACK;
		fill_text(t + page, page, 20 + k);
		hs_in_arena = false;
		hs_bad = 0;
		if (mprotect(t, page, PROT_NONE) || pthread_attr_init(&attr) ||
		    pthread_attr_setstack(&attr, t, HS_STACK) ||
		    pthread_create(&th, &attr, heap_stack_thread, NULL)) {
			hs_bad = forks;
		} else {
			if (noproc) {
				gone &= !umount2("/proc", MNT_DETACH) &&
					access("/proc/self/maps", F_OK);
			}
			sem_post(&hs_gate);
			if (pthread_join(th, NULL))
				hs_bad = forks;
			if (noproc)
				gone &= !mount("proc", "/proc", "proc", 0, NULL);
		}
		pthread_attr_destroy(&attr);
		hs_check(how[k].name, "on_a_thread_stack_in_the_heap");
		kept &= is_text(t + page, page, 20 + k);
		guarded &= !writable(t);
		out &= !in_arena(t + page) && !in_arena(t + HS_STACK - page);
	}
	if (noproc)
		check(gone, "proc_gone_while_the_threads_fork");
	check(out, "thread_stack_leaves_the_region");
	check(kept, "thread_stack_keeps_its_data");
	check(guarded, "thread_stack_keeps_its_guard_page");
	check(madvise(stack + HS_STACK + page, page, MADV_DONTNEED) == 0 &&
	      is_zero(stack + HS_STACK + page, page), "thread_stack_dontneed_reads_zero");
	/* Fresh memory over a page of one: the region's again, zero. */
	t = stack + 2 * HS_STACK + page;
	fill_text(t, page, 23);
	check(mmap(t, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == t &&
	      in_arena(t) && is_zero(t, page), "map_fixed_over_a_thread_stack_reads_zero");
	/* Freed, the stacks come back into the region as fresh memory. */
	fill_text(stack + HS_STACK + page, page, 22);
	munmap(stack + HS_STACK, 2 * HS_STACK);
	p = map_at(stack + HS_STACK, 2 * HS_STACK);
	check(p != MAP_FAILED && in_arena(p) && in_arena(p + 2 * HS_STACK - page) &&
	      is_zero(p, 2 * HS_STACK), "freed_thread_stack_returns_to_the_region");
	printf("1..%d\n", n);
	return !!failed;
}

/*
 * A thread whose descriptor stays in the region: created on a heap stack
 * while /proc is gone (a mount namespace of our own), where the library
 * cannot see the stack's protections and so leaves it in place.  Its
 * fork(), _Fork() and clone() without CLONE_VM must each fail with ENOMEM
 * and leave the parent's heap as it was: the kernel (CLONE_CHILD_SETTID)
 * and the child's libc code would write into that descriptor, in the
 * parent's memory.  The thread is never joined (glibc's join waits on a
 * futex in the arena, and aborts): it reports and parks, and the process
 * exits.
 */
static const char * const hd_names[] = { "fork", "_Fork", "clone" };
static int hd_err[3];
static void *hd_self;
static char *hd_clone_stack;
static sem_t hd_done;

static int hd_child(void *arg __attribute__((unused)))
{
	return 0;
}

static void *heap_descriptor_thread(void *arg __attribute__((unused)))
{
	int k, status;
	pid_t pid;

	hd_self = (void *)pthread_self();
	for (k = 0; k < 3; k++) {
		errno = 0;
		if (k == 0)
			pid = fork();
		else if (k == 1)
			pid = _Fork();
		else
			pid = clone(hd_child, hd_clone_stack + HS_STACK, SIGCHLD, NULL);
		if (pid == 0)
			_exit(0);
		hd_err[k] = pid < 0 ? errno : -1;
		if (pid > 0)
			waitpid(pid, &status, 0);
	}
	sem_post(&hd_done);
	for (;;)
		pause();
	return NULL;
}

static int heap_descriptor(void)
{
	pthread_attr_t attr;
	char *stack, name[80];
	pthread_t th;
	bool gone;
	int k;

	own_mount_namespace();
	stack = heap_stacks(2, &hd_done);
	if (!stack) {
		printf("1..%d\n", n);
		return 1;
	}
	hd_clone_stack = stack + HS_STACK;
	fill_text(hd_clone_stack, HS_STACK, 40);
	gone = !umount2("/proc", MNT_DETACH) && access("/proc/self/maps", F_OK);
	check(gone, "proc_gone_before_the_thread");
	if (pthread_attr_init(&attr) || pthread_attr_setstack(&attr, stack, HS_STACK) ||
	    pthread_create(&th, &attr, heap_descriptor_thread, NULL)) {
		check(false, "thread_on_a_heap_stack_starts");
		printf("1..%d\n", n);
		return 1;
	}
	while (sem_wait(&hd_done) && errno == EINTR)
		;
	check(!mount("proc", "/proc", "proc", 0, NULL) && in_arena(hd_self),
	      "its_descriptor_stays_in_the_region");
	for (k = 0; k < 3; k++) {
		if (hd_err[k] != ENOMEM)
			printf("# %s: %s\n", hd_names[k],
			       hd_err[k] < 0 ? "made a child" : strerror(hd_err[k]));
		snprintf(name, sizeof(name), "%s_from_it_fails_with_enomem", hd_names[k]);
		check(hd_err[k] == ENOMEM, name);
	}
	check(is_text(hd_clone_stack, HS_STACK, 40), "the_parents_heap_is_unchanged");
	printf("1..%d\n", n);
	fflush(stdout);
	_exit(failed ? 1 : 0);	/* the thread stays parked */
}

/*
 * Children made with the system call through syscall(): fork(2), clone(2)
 * as bubblewrap and systemd make theirs, clone3(2).  Each must get a copy
 * of the heap of its own: what it writes, the parent must not see.  Other
 * calls go through unchanged, errno and all, and a clone3() the kernel
 * would refuse is refused, not crashed on.
 */
static int raw_fork(void)
{
	static const char * const names[] = { "fork", "clone", "clone3" };
	struct clone_args ca = { .exit_signal = SIGCHLD };
	char *a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char name[64];
	int k, status;
	long pid;

	check(a != MAP_FAILED && in_arena(a), "raw_fork_heap_in_the_region");
	if (a == MAP_FAILED) {
		printf("1..%d\n", n);
		return 1;
	}
	fill_text(a, MB, 30);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "raw_%s_child_gets_a_copy", names[k]);
		if (k == 0) {
#ifdef SYS_fork
			pid = syscall(SYS_fork);
#else
			printf("ok %d %s # SKIP no fork(2) on this architecture\n", ++n, name);
			continue;
#endif
		} else if (k == 1) {
			pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		} else {
			pid = syscall(SYS_clone3, &ca, sizeof(ca));
		}
		if (pid == 0) {
			bool copy = is_text(a, MB, 30);

			fill_text(a, MB, 31);	/* the parent must not see it */
			_exit(copy ? 0 : 1);
		}
		status = -1;
		if (pid > 0)
			waitpid(pid, &status, 0);
		if (status)
			printf("# %s: pid %ld, status %#x\n", names[k], pid, status);
		check(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status) &&
		      is_text(a, MB, 30), name);
	}
	errno = 0;
	check(syscall(SYS_clone3, (void *)8, sizeof(ca)) == -1 && errno == EFAULT,
	      "raw_clone3_of_a_bad_pointer_fails_with_efault");
	check(syscall(SYS_getppid) == getppid(), "syscall_passes_other_calls");
	errno = 0;
	check(syscall(SYS_close, -1) == -1 && errno == EBADF, "syscall_sets_errno");
	printf("1..%d\n", n);
	return !!failed;
}

int main(int argc, char **argv)
{
	char *a, *b, *c;
	int fd, status, vmas, i;
	unsigned long long d0, live;
	pid_t pid;

	page = sysconf(_SC_PAGESIZE);
	plain = argc > 1 && !strcmp(argv[1], "plain");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "fork-fallback")) {
		n = atoi(argv[2]);
		return fork_fallback();
	}
	if (argc > 2 && !strcmp(argv[1], "fork-threads")) {
		n = atoi(argv[2]);
		return fork_threads(argc > 3 ? atoi(argv[3]) : 50);
	}
	if (argc > 2 && !strcmp(argv[1], "fork-writer")) {
		n = atoi(argv[2]);
		return fork_writer(argc > 3 ? atoi(argv[3]) : 20);
	}
	if (argc > 2 && !strcmp(argv[1], "fork-heap-stack")) {
		n = atoi(argv[2]);
		return fork_heap_stack(argc > 3 ? atoi(argv[3]) : 20, false);
	}
	if (argc > 2 && !strcmp(argv[1], "fork-heap-stack-noproc")) {
		n = atoi(argv[2]);
		return fork_heap_stack(argc > 3 ? atoi(argv[3]) : 20, true);
	}
	if (argc > 2 && !strcmp(argv[1], "heap-descriptor")) {
		n = atoi(argv[2]);
		return heap_descriptor();
	}
	if (argc > 2 && !strcmp(argv[1], "raw-fork")) {
		n = atoi(argv[2]);
		return raw_fork();
	}
	if (argc > 2 && !strcmp(argv[1], "fork-noproc")) {
		n = atoi(argv[2]);
		return fork_noproc(false);
	}
	if (argc > 2 && !strcmp(argv[1], "fork-noproc-fallback")) {
		n = atoi(argv[2]);
		return fork_noproc(true);
	}
	if (argc > 2 && !strcmp(argv[1], "readahead")) {
		n = atoi(argv[2]);
		return readahead_run();
	}

	a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(a != MAP_FAILED && in_arena(a) != plain, "mmap_is_served_from_the_region");
	check(a != MAP_FAILED && is_zero(a, MB), "fresh_memory_reads_zero");
	fd = arena_fd();
	if (plain || fd < 0 || a == MAP_FAILED) {
		check(plain, "arena_fd_found");
		printf("1..%d\n", n);
		return !!failed;
	}

	/* Freeing compressed memory costs no decompression. */
	fill_text(a, MB, 0);
	check(compress(fd, a, MB) == (int)(MB / page), "compress_the_run");
	d0 = stat_of(fd, MEM_ARENA_STAT_decompress_ops);
	check(madvise(a, MB / 2, MADV_DONTNEED) == 0 &&
	      stat_of(fd, MEM_ARENA_STAT_decompress_ops) == d0,
	      "madvise_dontneed_of_compressed_memory_does_not_decompress");
	check(is_zero(a, MB / 2), "dontneed_reads_zero");
	check(munmap(a, MB) == 0 && stat_of(fd, MEM_ARENA_STAT_decompress_ops) == d0 &&
	      stat_of(fd, MEM_ARENA_STAT_compressed_bytes_live) == 0,
	      "munmap_of_compressed_memory_does_not_decompress");

	/* A 4 MiB heap: after a free, the whole heap is one run, reused. */
	b = mmap(NULL, HEAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(b != MAP_FAILED && in_arena(b) && is_zero(b, HEAP),
	      "reused_pages_read_zero");
	c = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(c != MAP_FAILED && !in_arena(c), "a_full_heap_falls_back_to_the_kernel");
	munmap(c, page);
	check(munmap(b + MB, HEAP - MB) == 0, "partial_munmap");

	/* mremap: grow in place, shrink, move. */
	fill_text(b, MB, 1);
	c = mremap(b, MB, 2 * MB, 0);
	check(c == b && is_text(b, MB, 1) && is_zero(b + MB, MB), "mremap_grows_in_place");
	c = mremap(b, 2 * MB, MB, 0);
	check(c == b && is_text(b, MB, 1), "mremap_shrinks");
	a = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill_text(a, MB, 2);
	c = mremap(b, MB, 3 * MB, MREMAP_MAYMOVE);
	check(c != MAP_FAILED && c != b && is_text(c, MB, 1) && is_zero(c + MB, 2 * MB),
	      "mremap_moves_the_data");
	check(mremap(a, MB, 2 * HEAP, 0) == MAP_FAILED && errno == ENOMEM,
	      "mremap_without_maymove_fails_when_it_cannot_grow");
	munmap(c, 3 * MB);

	/* Sizes whose rounding up to pages wraps: the kernel's ENOMEM. */
	errno = 0;
	c = mmap(NULL, SIZE_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(c == MAP_FAILED && errno == ENOMEM, "mmap_of_a_size_that_wraps_fails");
	c = mremap(a, MB, SIZE_MAX, MREMAP_MAYMOVE);
	check(c == MAP_FAILED && in_arena(a) && is_text(a, MB, 2),
	      "mremap_to_a_size_that_wraps_fails_and_keeps_the_data");
	check(madvise(a, 0, MADV_DONTNEED) == 0 && is_text(a, MB, 2),
	      "madvise_of_no_bytes_is_0");

	/* Grown in place over pages freed while PROT_NONE: read and write. */
	c = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(c != MAP_FAILED && !mprotect(c + page, page, PROT_NONE) &&
	      !munmap(c + page, page) && mremap(c, page, 2 * page, 0) == c &&
	      writable(c + page), "mremap_in_place_gives_read_write_pages");
	munmap(c, 2 * page);

	/* MAP_FIXED over a run the program holds: fresh zero pages. */
	b = mmap(a, page, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(b == a && mprotect(a, page, PROT_READ | PROT_WRITE) == 0 &&
	      is_zero(a, page) && is_text(a + page, MB - page, 2 + page),
	      "map_fixed_over_a_run_gives_zero_pages");

	/*
	 * Advice is the mapping's, as for the kernel's anonymous memory: a run
	 * advised MADV_DONTFORK is not in a child, and once freed neither it
	 * nor MADV_RANDOM nor MADV_DONTDUMP passes to the next owner of its
	 * pages.
	 */
	c = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(c != MAP_FAILED && in_arena(c) && !madvise(c, page, MADV_DONTFORK) &&
	      !madvise(c + page, page, MADV_RANDOM) &&
	      !madvise(c + page, page, MADV_DONTDUMP) && vm_flag(c, "dc") &&
	      vm_flag(c + page, "rr") && vm_flag(c + page, "dd"),
	      "madvise_dontfork_random_and_dontdump");
	if (c != MAP_FAILED) {
		fill_text(c, 2 * page, 5);
		check(!text_in_child(c, page, 5) && text_in_child(c + page, page, 5 + page),
		      "a_dontfork_run_is_not_in_the_child");
		check(!munmap(c, 2 * page) && !vm_flag(c, "dc") && !vm_flag(c + page, "rr") &&
		      !vm_flag(c + page, "dd"), "advice_ends_when_the_run_is_freed");
		b = map_at(c, 2 * page);
		if (b != MAP_FAILED)
			fill_text(b, 2 * page, 6);
		check(b == c && text_in_child(b, 2 * page, 6),
		      "a_reused_run_is_in_the_child");
		munmap(b, 2 * page);
	}
	/* Runs never advised, freed after: the region is not split. */
	vmas = ma_device_mappings(0);
	for (i = 0; i < 64; i++) {
		b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b != MAP_FAILED)
			munmap(b, page);
	}
	i = ma_device_mappings(0);
	check(i == vmas, "frees_after_advice_keep_the_mappings");
	if (i != vmas)
		printf("# %d mappings of the region, %d before\n", i, vmas);

	/*
	 * fork: the child gets a private copy in an arena of its own, its
	 * compressed pages copied compressed: neither arena decompresses.
	 */
	check(compress(fd, a, MB / 2) == (int)(MB / 2 / page), "compress_before_fork");
	mprotect(a + MB - page, page, PROT_NONE);
	d0 = stat_of(fd, MEM_ARENA_STAT_decompress_ops);
	live = stat_of(fd, MEM_ARENA_STAT_compressed_bytes_live);
	pid = fork();
	if (pid == 0) {
		bool closed = fcntl(fd, F_GETFD) < 0;	/* the parent's */
		int cfd = arena_fd();
		bool own = closed && cfd >= 0 && in_arena(a);
		bool slots = own &&
			stat_of(cfd, MEM_ARENA_STAT_compressed_bytes_live) == live &&
			stat_of(cfd, MEM_ARENA_STAT_decompress_ops) == 0 &&
			stat_of(cfd, MEM_ARENA_STAT_copied_chunks) > 0;
		bool copy = is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page);

		fill_text(a, MB - page, 7);	/* the parent must not see it */
		_exit((copy ? 0 : 1) | (own ? 0 : 2) | (slots ? 0 : 4));
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !(WEXITSTATUS(status) & 1), "fork_child_sees_a_private_copy");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
	      "fork_child_has_an_arena_of_its_own");
	check(WIFEXITED(status) && !(WEXITSTATUS(status) & 4),
	      "fork_child_gets_the_compressed_bytes");
	if (status)
		printf("# child: status %#x\n", status);
	check(stat_of(fd, MEM_ARENA_STAT_decompress_ops) == d0 &&
	      stat_of(fd, MEM_ARENA_STAT_compressed_bytes_live) == live,
	      "fork_decompresses_nothing_in_the_parent");
	check(in_arena(a) && is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page),
	      "fork_parent_keeps_its_heap");
	pid = fork();
	if (pid == 0)
		_exit(*(volatile char *)(a + MB - page));	/* PROT_NONE */
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGSEGV, "fork_keeps_protections");

	/* _Fork() runs no fork handlers: its child must get a copy all the same. */
	pid = _Fork();
	if (pid == 0) {
		bool copy = is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page);

		fill_text(a, MB - page, 9);	/* the parent must not see it */
		_exit(copy ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "underscore_fork_child_sees_a_private_copy");
	check(in_arena(a) && is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page),
	      "underscore_fork_parent_keeps_its_heap");

	/*
	 * clone() without CLONE_VM is a fork without fork handlers too, and
	 * its child runs on a stack the caller gives: here one of the heap,
	 * which the child's copy must not change under it (a malloc()ed stack
	 * may be; one mapped MAP_STACK is not).
	 */
	b = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(b != MAP_FAILED && in_arena(b), "clone_stack_in_the_heap");
	pid = b != MAP_FAILED ? clone(clone_child, b + 256 * 1024, SIGCHLD, a) : -1;
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "clone_child_sees_a_private_copy");
	if (status)
		printf("# child: status %#x\n", status);
	check(in_arena(a) && is_zero(a, page) && is_text(a + page, MB - 2 * page, 2 + page),
	      "clone_parent_keeps_its_heap");
	if (b != MAP_FAILED)
		munmap(b, 256 * 1024);
	printf("1..%d\n", n);
	return !!failed;
}
