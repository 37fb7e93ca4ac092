// SPDX-License-Identifier: GPL-2.0
/*
 * Races between the operations of one arena, each checked on the data:
 *   free_vs_*              REGION_FREE against COMPRESS, TOUCH (also on
 *                          several CPUs: TOUCH_PARALLEL), faults
 *                          (also in a MADV_SEQUENTIAL mapping, with
 *                          WILLNEED: readahead; mapping ahead; readahead
 *                          in a worker) and
 *                          mmap of the same region in other threads;
 *   stale_mapping_sigbus   after REGION_FREE returns, every byte of the
 *                          old mapping raises SIGBUS, even with faults in
 *                          flight when it was called;
 *   two_compress_passes    two COMPRESS of one region at once while a
 *                          reader verifies it (exact compress counts);
 *   idle_passes_vs_writer  idle-only COMPRESS passes while a writer keeps
 *                          a few chunks hot: no write lost, cold chunks
 *                          all compressed;
 *   close_during_ioctl     close() of the arena (and munmap) while a
 *                          thread is inside a long COMPRESS;
 *   close_during_async_readahead  the same while its readahead worker
 *                          reads a window;
 *   fork_shares_region     parent and child both read, compress and write
 *                          one MAP_SHARED region;
 *   pool_leak_on_close     concurrent compress and touch, then close: the
 *                          module-wide pool_bytes returns to its base;
 *   copy_vs_everything     COPY from one arena into another while the
 *                          source is compressed and touched, the copy read,
 *                          compressed and discarded, and either region is
 *                          freed: a copy reads as zero or as the source,
 *                          a quiet copy equals it, nothing leaks;
 *   close_vs_shrinker      arenas holding spares close while the
 *                          shrinker frees spares all along;
 *   kill_during_parallel_touch  SIGKILL to a process inside a
 *                          TOUCH_PARALLEL: it dies, its workers stop, and
 *                          its arena goes with it.
 * Threads meet at barriers and flags, never sleeps.  Each test loops for
 * MA_RACE_SECONDS (default 3), at least MIN_ITERS times (pool_leak_on_close
 * at least F_MIN_ITERS, two_compress_passes until 4 passes).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

#include "helpers.h"
#include "kselftest_harness.h"

/* Chunks of one page, whatever the page size (the arena's default). */
#define CS		((size_t)getpagesize())
#define MIN_ITERS	20
#define MAX_ITERS	100000
#define MAX_WORKERS	4
#define MAX_MAPS	32
#define POST_FREE	32	/* accesses a faulting thread makes after a free */

#define barrier()	__asm__ __volatile__("" ::: "memory")

/* ---- SIGBUS as a return value, per thread ---- */

static __thread sigjmp_buf *volatile bus_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = bus_jmp;

	if (!jb) {		/* not expected here: die of it */
		signal(SIGBUS, SIG_DFL);
		return;
	}
	bus_jmp = NULL;
	siglongjmp(*jb, 1);
}

static void sigbus_catch(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_sigbus,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	sigaction(SIGBUS, &sa, NULL);
}

/* Read the byte at @p into *v: 0, or -1 when the access raised SIGBUS. */
static int __attribute__((noinline)) try_read(const volatile char *p, char *v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return -1;
	bus_jmp = &jb;
	barrier();
	*v = *p;
	barrier();
	bus_jmp = NULL;
	return 0;
}

static int __attribute__((noinline)) try_write(volatile char *p, char v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return -1;
	bus_jmp = &jb;
	barrier();
	*p = v;
	barrier();
	bus_jmp = NULL;
	return 0;
}

/* ---- one region raced by worker threads, round after round ---- */

struct worker;
typedef void (*role_fn)(struct worker *w);

struct race {
	int fd;
	__u32 id;
	__u64 off;		/* mmap offset of the region */
	char *base;
	size_t len;
	unsigned int nr;	/* chunks */
	char *want;		/* every byte as it should read */
	pthread_barrier_t start, done;
	unsigned int iter;	/* set by the main thread before each round */
	unsigned int ops;	/* operations per worker in a round (test f) */
	int quit, freed;
	unsigned long progress;
	/* outcomes */
	unsigned long errors, sigbus, stale_workers, ok_ops, enoent_ops;
	char first[320];
};

struct worker {
	struct race *r;
	role_fn fn;
	pthread_t tid;
	uint64_t rnd;
	unsigned long done;	/* chunks a COMPRESS reported */
	void *maps[MAX_MAPS];	/* mmap role: mappings made this round */
	unsigned int nr_maps;
};

static void __attribute__((format(printf, 2, 3)))
race_error(struct race *r, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(r->first, sizeof(r->first), fmt, ap);
	va_end(ap);
}

static int is_freed(struct race *r)
{
	return __atomic_load_n(&r->freed, __ATOMIC_ACQUIRE);
}

static void tally(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (__atomic_load_n(&r->quit, __ATOMIC_ACQUIRE))
			return NULL;
		w->fn(w);
		pthread_barrier_wait(&r->done);
	}
}

static struct race *race_new(int fd, unsigned int nr, unsigned int nr_workers)
{
	struct race *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = fd;
	r->nr = nr;
	r->len = nr * CS;
	r->want = malloc(r->len);
	if (!r->want)
		return NULL;
	pthread_barrier_init(&r->start, NULL, nr_workers + 1);
	pthread_barrier_init(&r->done, NULL, nr_workers + 1);
	return r;
}

static int workers_start(struct race *r, struct worker *w, const role_fn *roles,
			 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		w[i] = (struct worker){ .r = r, .fn = roles[i], .rnd = 0x5eed + i };
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			return -1;
	}
	return 0;
}

static void workers_stop(struct race *r, struct worker *w, unsigned int n)
{
	unsigned int i;

	__atomic_store_n(&r->quit, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&r->start);
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
}

/* A fresh region of r->nr chunks of text seeded by @iter, mapped. */
static int race_region(struct race *r, unsigned int iter, int compress)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a), .length = r->len };
	unsigned int i;

	if (ma_ioc(r->fd, MEM_ARENA_IOC_REGION_ALLOC, &a))
		return -1;
	r->id = a.id;
	r->off = a.mmap_offset;
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       r->off);
	if (r->base == MAP_FAILED)
		return -1;
	for (i = 0; i < r->nr; i++)
		ma_fill_text(r->want + i * CS, CS, (uint64_t)iter << 16 | i);
	memcpy(r->base, r->want, r->len);
	if (compress)
		return ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0, r->len, NULL);
	return 0;
}

static void round_begin(struct race *r)
{
	__atomic_store_n(&r->freed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->progress, 0, __ATOMIC_RELAXED);
	pthread_barrier_wait(&r->start);
}

static void round_end(struct race *r)
{
	pthread_barrier_wait(&r->done);
}

/* Let the workers get going: up to @n operations, at most a second. */
static void wait_progress(struct race *r, unsigned long n)
{
	double until = ma_now_s() + 1;

	while (__atomic_load_n(&r->progress, __ATOMIC_RELAXED) < n &&
	       ma_now_s() < until)
		sched_yield();
}

static void race_free(struct race *r)
{
	struct mem_arena_cmd_region_free f = { .size = sizeof(f), .id = r->id };
	int err = ma_ioc(r->fd, MEM_ARENA_IOC_REGION_FREE, &f);

	if (err)
		race_error(r, "REGION_FREE returned %d", err);
	__atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
}

/*
 * An ioctl on the region racing its free: 0 before, -ENOENT once it is
 * gone, and -ENOENT for certain when it started after the free returned.
 * Returns 1 when the worker should stop.
 */
static int check_range_ioctl(struct race *r, const char *what, int err, int after)
{
	__atomic_add_fetch(&r->progress, 1, __ATOMIC_RELAXED);
	if (err == -ENOENT) {
		tally(&r->enoent_ops);
		return 1;
	}
	if (err) {
		race_error(r, "%s returned %d", what, err);
		return 1;
	}
	tally(&r->ok_ops);
	if (after) {
		race_error(r, "%s succeeded after REGION_FREE returned", what);
		return 1;
	}
	return 0;
}

static void role_compress(struct worker *w)
{
	struct race *r = w->r;
	int after, err;

	do {
		after = is_freed(r);
		err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0, r->len, NULL);
	} while (!check_range_ioctl(r, "COMPRESS", err, after));
}

/* The same, on even rounds only: odd rounds race faults alone. */
static void role_compress_even(struct worker *w)
{
	if (!(w->r->iter & 1))
		role_compress(w);
}

/* Touch chunk by chunk; compress the whole region again at each wrap. */
static void role_touch(struct worker *w)
{
	struct race *r = w->r;
	unsigned int i = ma_rand(&w->rnd) % r->nr;
	int after, err;

	do {
		after = is_freed(r);
		if (++i == r->nr) {
			i = 0;
			err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0,
				       r->len, NULL);
			if (check_range_ioctl(r, "COMPRESS", err, after))
				return;
		}
		err = ma_range(r->fd, MEM_ARENA_IOC_TOUCH, r->id, i * CS, CS, NULL);
	} while (!check_range_ioctl(r, "TOUCH", err, after));
}

/* Compress the whole region, then bring it back on several CPUs. */
static void role_touch_parallel(struct worker *w)
{
	struct race *r = w->r;
	int after, err;

	do {
		after = is_freed(r);
		err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0, r->len, NULL);
		if (check_range_ioctl(r, "COMPRESS", err, after))
			return;
		err = ma_range_flags(r->fd, MEM_ARENA_IOC_TOUCH,
				     MEM_ARENA_TOUCH_PARALLEL, r->id, 0, r->len,
				     NULL);
	} while (!check_range_ioctl(r, "TOUCH_PARALLEL", err, after));
}

/*
 * Random one-byte reads (checked) and writes (of the same byte) anywhere
 * in the region: the data, or SIGBUS.  Stops POST_FREE accesses after the
 * free returned, counting those that did not raise SIGBUS.
 */
static void role_fault(struct worker *w)
{
	struct race *r = w->r;
	unsigned int post = 0;

	while (post < POST_FREE) {
		size_t at = ma_rand(&w->rnd) % r->len;
		int after = is_freed(r), rc;
		char v = 0;

		if (ma_rand(&w->rnd) & 1) {
			rc = try_read(r->base + at, &v);
			if (!rc && v != r->want[at])
				race_error(r, "chunk %zu byte %zu read %#x, wrote %#x",
					   at / CS, at % CS, v & 0xff,
					   r->want[at] & 0xff);
		} else {
			rc = try_write(r->base + at, r->want[at]);
		}
		if (rc)
			tally(&r->sigbus);
		else if (after)
			tally(&r->stale_workers);
		post += after;
		__atomic_add_fetch(&r->progress, 1, __ATOMIC_RELAXED);
	}
}

/* Faults in a mapping advised MADV_SEQUENTIAL: each miss reads ahead. */
static void role_fault_seq(struct worker *w)
{
	if (madvise(w->r->base, w->r->len, MADV_SEQUENTIAL)) {
		race_error(w->r, "MADV_SEQUENTIAL: %s", strerror(errno));
		return;
	}
	role_fault(w);
}

/*
 * POSIX_FADV_WILLNEED on the arena fd over the region, a chunk's worth
 * and then all of it, with COMPRESS between: 0 before the free, ENOENT
 * once the region is gone.
 */
static void role_willneed(struct worker *w)
{
	struct race *r = w->r;
	int after, err;

	do {
		unsigned int i = ma_rand(&w->rnd) % r->nr;

		after = is_freed(r);
		err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0, r->len, NULL);
		if (check_range_ioctl(r, "COMPRESS", err, after))
			return;
		err = -posix_fadvise(r->fd, r->off + i * CS, ma_rand(&w->rnd) & 1 ? CS : 0,
				     POSIX_FADV_WILLNEED);
	} while (!check_range_ioctl(r, "POSIX_FADV_WILLNEED", err, after));
}

/*
 * mmap the region again and again: EINVAL once it is gone (for certain
 * after the free returned), else a mapping that reads the data or SIGBUS.
 * Keeps up to MAX_MAPS mappings for the main thread to probe.
 */
static void role_mmap(struct worker *w)
{
	struct race *r = w->r;
	int after;

	w->nr_maps = 0;
	for (;;) {
		size_t at = ma_rand(&w->rnd) % r->len;
		char *p;
		char v;

		after = is_freed(r);
		p = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
			 r->off);
		__atomic_add_fetch(&r->progress, 1, __ATOMIC_RELAXED);
		if (p == MAP_FAILED) {
			if (errno != EINVAL)
				race_error(r, "mmap failed with %d", errno);
			if (after)
				return;
			continue;
		}
		if (after)
			race_error(r, "mmap succeeded after REGION_FREE returned");
		if (try_read(p + at, &v))
			tally(&r->sigbus);
		else if (v != r->want[at])
			race_error(r, "new mapping: byte %zu read %#x, wrote %#x",
				   at, v & 0xff, r->want[at] & 0xff);
		if (w->nr_maps < MAX_MAPS)
			w->maps[w->nr_maps++] = p;
		else
			munmap(p, r->len);
		if (after)
			return;
	}
}

/*
 * After REGION_FREE returned: one byte in each chunk of @p must raise
 * SIGBUS on a read and on a write.  Returns the accesses that did not.
 */
static unsigned int probe_dead(struct race *r, char *p, const char *when,
			       unsigned int iter)
{
	unsigned int i, stale = 0;
	char v;

	for (i = 0; i < r->nr; i++) {
		size_t at = i * CS + (i * 97) % CS;

		if (!try_read(p + at, &v)) {
			stale++;
			race_error(r, "iteration %u, %s: chunk %u of the freed region still reads (%#x, wrote %#x)",
				   iter, when, i, v & 0xff, r->want[at] & 0xff);
		}
		if (!try_write(p + at, r->want[at])) {
			stale++;
			race_error(r, "iteration %u, %s: chunk %u of the freed region still writable",
				   iter, when, i);
		}
	}
	return stale;
}

/* With its only region freed, the arena holds nothing. */
static void check_arena_empty(struct race *r, unsigned int iter)
{
	struct mem_arena_stats s;

	if (ma_stats(r->fd, &s)) {
		race_error(r, "GET_STATS failed");
		return;
	}
	if (s.raw_bytes || s.logical_input_bytes || s.compressed_bytes_live ||
	    s.slot_bytes_live || s.zero_chunks)
		race_error(r, "iteration %u: after REGION_FREE the arena keeps raw %llu, logical %llu, compressed %llu, slot %llu, same-filled %llu",
			   iter, s.raw_bytes, s.logical_input_bytes,
			   s.compressed_bytes_live, s.slot_bytes_live, s.zero_chunks);
}

/* ---- the fixture: one arena, the module-wide gauges at the start ---- */

static const char *const gauges[] = {
	"arenas", "pool_bytes", "raw_bytes", "logical_input_bytes",
	"compressed_bytes_live", "slot_bytes_live", "zero_chunks", "spare_bytes",
};
#define NR_GAUGES ARRAY_SIZE(gauges)

FIXTURE(race) {
	int fd;
	long long defrag_pct;		/* to restore, or -1 */
	long long defrag_delay;		/* to restore, or -1 */
	double deadline;
	long long base[NR_GAUGES];
};

FIXTURE_SETUP(race)
{
	unsigned int i;

	self->defrag_pct = -1;
	self->defrag_delay = -1;
	self->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		return;
	/* Background compaction at once, to race with everything else. */
	self->defrag_delay = ma_sysfs_read("defrag_delay_ms");
	if (self->defrag_delay >= 0)
		ma_sysfs_write("defrag_delay_ms", 0);
	for (i = 0; i < NR_GAUGES; i++)
		self->base[i] = ma_sysfs_read(gauges[i]);
	self->base[0]--;		/* "arenas" without ours */
	if (self->base[1])
		TH_LOG("pool_bytes is %lld before the test: an earlier leak",
		       self->base[1]);
	sigbus_catch();
	self->deadline = ma_race_deadline();
}

FIXTURE_TEARDOWN(race)
{
	if (self->defrag_pct >= 0)
		ma_sysfs_write("defrag_threshold_pct", self->defrag_pct);
	if (self->defrag_delay >= 0)
		ma_sysfs_write("defrag_delay_ms", self->defrag_delay);
	if (self->fd >= 0)
		close(self->fd);
}

#define NEED_MODULE() do {						\
	if (self->fd < 0)						\
		SKIP(return, "module not loaded");			\
} while (0)

static int more(FIXTURE_DATA(race) *self, unsigned int iter)
{
	return iter < MAX_ITERS && (iter < MIN_ITERS || ma_now_s() < self->deadline);
}

/* Close the fixture's arena: every module-wide gauge is back to its base. */
static void check_gauges(struct __test_metadata *_metadata,
			 FIXTURE_DATA(race) *self)
{
	unsigned int i;

	close(self->fd);
	self->fd = -1;
	for (i = 0; i < NR_GAUGES && ma_sysfs_read(gauges[i]) == self->base[i]; i++)
		;
	EXPECT_EQ(NR_GAUGES, i) TH_LOG("module-wide %s is %lld, was %lld",
				       gauges[i % NR_GAUGES],
				       ma_sysfs_read(gauges[i % NR_GAUGES]),
				       self->base[i % NR_GAUGES]);
}

/* ---- a: REGION_FREE against each operation; b: the old mapping ---- */

struct free_race {
	unsigned int nr;		/* chunks */
	int compress_first;
	unsigned int spin;		/* free after 0..spin-1 operations */
	unsigned int nr_roles;
	role_fn roles[MAX_WORKERS];
	int probe;			/* the old mapping must SIGBUS */
};

static void free_race(struct __test_metadata *_metadata,
		      FIXTURE_DATA(race) *self, const struct free_race *fr)
{
	struct worker w[MAX_WORKERS];
	unsigned long stale_now = 0, stale_later = 0, map_stale = 0, bad_iters = 0;
	unsigned int iter, i, k;
	struct mem_arena_stats s;
	uint64_t rnd = 42;
	struct race *r;

	r = race_new(self->fd, fr->nr, fr->nr_roles);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, workers_start(r, w, fr->roles, fr->nr_roles));
	for (iter = 0; more(self, iter); iter++) {
		unsigned long errors = r->errors;

		ASSERT_EQ(0, race_region(r, iter, fr->compress_first));
		r->iter = iter;
		round_begin(r);
		wait_progress(r, ma_rand(&rnd) % fr->spin);
		race_free(r);
		if (fr->probe)
			stale_now += probe_dead(r, r->base, "at once", iter);
		round_end(r);
		if (fr->probe)
			stale_later += probe_dead(r, r->base, "after the racers stopped", iter);
		for (i = 0; i < fr->nr_roles; i++) {
			for (k = 0; k < w[i].nr_maps; k++) {
				map_stale += probe_dead(r, w[i].maps[k],
							"a mapping made in the race", iter);
				munmap(w[i].maps[k], r->len);
			}
			w[i].nr_maps = 0;
		}
		check_arena_empty(r, iter);
		munmap(r->base, r->len);
		bad_iters += r->errors != errors;
	}
	workers_stop(r, w, fr->nr_roles);

	TH_LOG("%u iterations (%lu failed): %lu ioctls ok, %lu -ENOENT, %lu SIGBUS; old mapping still accessible: %lu at once, %lu later, %lu via racing mmaps; racers' own accesses after the free that did not SIGBUS: %lu",
	       iter, bad_iters, r->ok_ops, r->enoent_ops, r->sigbus, stale_now,
	       stale_later, map_stale, r->stale_workers);
	EXPECT_EQ(0, r->errors) TH_LOG("%lu errors, the first: %s", r->errors, r->first);
	if (fr->probe)
		EXPECT_EQ(0, r->stale_workers);
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	EXPECT_EQ(0, s.decompress_errors);
	check_gauges(_metadata, self);
}

TEST_F_TIMEOUT(race, free_vs_compress, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 0, .spin = 8,
		.nr_roles = 1, .roles = { role_compress },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

TEST_F_TIMEOUT(race, free_vs_touch, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64,
		.nr_roles = 1, .roles = { role_touch },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

/* 1 MiB: four batches of a parallel touch, so its workers take part. */
TEST_F_TIMEOUT(race, free_vs_parallel_touch, 120)
{
	const struct free_race fr = {
		.nr = MiB / CS, .compress_first = 1, .spin = 64,
		.nr_roles = 2, .roles = { role_touch_parallel, role_fault },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

TEST_F_TIMEOUT(race, free_vs_fault, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64,
		.nr_roles = 2, .roles = { role_fault, role_fault },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

/* Readahead from sequential faults and from WILLNEED, against the free. */
TEST_F_TIMEOUT(race, free_vs_readahead, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64,
		.nr_roles = 2, .roles = { role_fault_seq, role_willneed },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

/*
 * MEM_ARENA_CONFIG_MAP_AHEAD: each miss of the sequential faults maps what
 * it read ahead, while COMPRESS unmaps windows of the region and the free
 * comes: a page mapped ahead must go with every unmap like a faulted one.
 */
TEST_F_TIMEOUT(race, free_vs_map_ahead, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64,
		.nr_roles = 3, .roles = { role_fault_seq, role_fault_seq, role_compress },
	};
	struct mem_arena_cmd_config c = {
		.size = sizeof(c), .flags = MEM_ARENA_CONFIG_MAP_AHEAD, .chunk_size = CS,
	};

	NEED_MODULE();
	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	free_race(_metadata, self, &fr);
}

/*
 * MEM_ARENA_CONFIG_READAHEAD_ASYNC: the misses of the sequential faults
 * hand windows to a worker, which decompresses while COMPRESS unmaps and
 * the free comes: the worker must stop at the free and leave nothing.
 * With MAP_AHEAD too, the faults read toward the worker and map what both
 * read: those pages must go with every unmap like faulted ones.
 */
static void async_free_race(struct __test_metadata *_metadata,
			    FIXTURE_DATA(race) *self, __u32 flags)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64,
		.nr_roles = 3, .roles = { role_fault_seq, role_fault_seq, role_compress },
	};
	struct mem_arena_cmd_config c = {
		.size = sizeof(c), .flags = flags, .chunk_size = CS,
	};

	ASSERT_EQ(0, ma_ioc(self->fd, MEM_ARENA_IOC_SET_CONFIG, &c));
	free_race(_metadata, self, &fr);
}

TEST_F_TIMEOUT(race, free_vs_async_readahead, 120)
{
	NEED_MODULE();
	async_free_race(_metadata, self, MEM_ARENA_CONFIG_READAHEAD_ASYNC);
}

TEST_F_TIMEOUT(race, free_vs_async_map_ahead, 120)
{
	long long mapped;

	NEED_MODULE();
	mapped = ma_sysfs_read("readahead_mapped");
	async_free_race(_metadata, self, MEM_ARENA_CONFIG_READAHEAD_ASYNC |
			MEM_ARENA_CONFIG_MAP_AHEAD);
	mapped = ma_sysfs_read("readahead_mapped") - mapped;
	TH_LOG("%lld chunks read ahead and mapped by the faults", mapped);
	EXPECT_LT(0, mapped);	/* the race reached the mapping */
}

TEST_F_TIMEOUT(race, free_vs_mmap, 120)
{
	const struct free_race fr = {
		.nr = 16, .compress_first = 1, .spin = 16,
		.nr_roles = 1, .roles = { role_mmap },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

/*
 * The hole fixed in abaed96: the core installed a fault's PTE after the
 * chunk lock was dropped, after REGION_FREE's last unmap.  Faults kept in flight by
 * two threads, and on even rounds a compressor; the main thread probes
 * every chunk at once and again after the racers stopped, and the racers'
 * own accesses after the free must raise SIGBUS too.
 */
TEST_F_TIMEOUT(race, stale_mapping_sigbus, 120)
{
	const struct free_race fr = {
		.nr = 64, .compress_first = 1, .spin = 64, .probe = 1,
		.nr_roles = 3,
		.roles = { role_fault, role_fault, role_compress_even },
	};

	NEED_MODULE();
	free_race(_metadata, self, &fr);
}

/*
 * ---- c: two compress passes and a reader ----
 * Each pass unmaps a window of chunks at once; the reader faults chunks
 * back behind it, which the pass must unmap again under the chunk lock.
 */

#define C_CHUNKS	512
#define C_CAP		(512 * KiB)

static void role_compress_passes(struct worker *w)
{
	struct race *r = w->r;
	__u64 done;
	int err;

	while (!is_freed(r)) {		/* "freed": the main thread's stop */
		err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, 0, r->len, &done);
		if (err) {
			race_error(r, "COMPRESS returned %d", err);
			return;
		}
		w->done += done;
		tally(&r->ok_ops);
	}
}

/* The shrinker, as memory pressure runs it: every arena's spares go. */
static void role_shrink(struct worker *w)
{
	struct race *r = w->r;

	while (!is_freed(r)) {
		if (ma_file_write("/proc/sys/vm/drop_caches", "2")) {
			race_error(r, "cannot write drop_caches");
			return;
		}
		w->done++;
	}
}

/*
 * Two compress passes and a reader; with @shrink, a third thread runs the
 * shrinker all along, freeing the spares the passes keep and the
 * evictions and faults take.
 */
static void compress_passes_race(struct __test_metadata *_metadata,
				 FIXTURE_DATA(race) *self, int shrink)
{
	const role_fn roles[3] = {
		role_compress_passes, role_compress_passes, role_shrink
	};
	const unsigned int nr_roles = shrink ? 3 : 2;
	unsigned long reads = 0, mism = 0;
	struct worker w[3];
	struct mem_arena_stats s;
	unsigned int i;
	struct race *r;
	int fd;

	/* A fresh arena: the cap must be set before its first region. */
	fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ma_set_config(fd, CS, 0, C_CAP));
	r = race_new(fd, C_CHUNKS, nr_roles);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, race_region(r, 1, 0));
	ASSERT_EQ(0, workers_start(r, w, roles, nr_roles));
	round_begin(r);
	/* The main thread is the reader: the time, and 4 passes at least. */
	for (i = 0; more(self, reads / C_CHUNKS) ||
	     (__atomic_load_n(&r->ok_ops, __ATOMIC_RELAXED) < 4 &&
	      ma_now_s() < self->deadline + 60); i = (i + 1) % C_CHUNKS, reads++)
		mism += ma_fnv1a(r->base + i * CS, CS) != ma_fnv1a(r->want + i * CS, CS);
	__atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
	round_end(r);
	workers_stop(r, w, nr_roles);

	mism += memcmp(r->base, r->want, r->len) != 0;
	ASSERT_EQ(0, ma_stats(fd, &s));
	TH_LOG("%lu passes, %lu + %lu chunks compressed, %lu chunk reads; %llu evictions, %llu busy skips; %llu pages recycled, %lu shrinker runs",
	       r->ok_ops, w[0].done, w[1].done, reads, s.evictions_lru, s.busy_skips,
	       s.recycled_pages, shrink ? w[2].done : 0);
	EXPECT_EQ(0, r->errors) TH_LOG("%s", r->first);
	EXPECT_EQ(0, mism);
	EXPECT_EQ(0, s.decompress_errors);
	EXPECT_LE(4, r->ok_ops);
	/* Each chunk compressed is counted by exactly one of the passes. */
	EXPECT_EQ(w[0].done + w[1].done, s.compress_ops);
	EXPECT_EQ(0, s.zero_chunks);
	EXPECT_EQ(s.compress_ops, s.decompress_ops + s.logical_input_bytes / CS);
	EXPECT_GE(C_CAP, s.pool_bytes_peak);
	/*
	 * Nothing pins these pages: a busy skip is a PTE that a pass failed
	 * to remove, i.e. a chunk the reader faulted back between the pass's
	 * window unmap and its chunk lock that was not unmapped again.
	 */
	EXPECT_EQ(0, s.busy_skips);
	if (shrink)
		EXPECT_LT(0, w[2].done);
	munmap(r->base, r->len);
	close(fd);
	check_gauges(_metadata, self);
}

TEST_F_TIMEOUT(race, two_compress_passes, 120)
{
	NEED_MODULE();
	compress_passes_race(_metadata, self, 0);
}

TEST_F_TIMEOUT(race, two_compress_passes_and_the_shrinker, 120)
{
	NEED_MODULE();
	compress_passes_race(_metadata, self, 1);
}

/*
 * ---- c2: idle-only passes against a writer ----
 * One thread runs idle-only passes over the region while the main thread
 * keeps writing into its first H_HOT chunks and checks them.  A chunk is
 * compressed only when no access came between two passes, so the writes
 * land (none lost to a compress that read the chunk before them), the
 * chunks never written again all end compressed, and every fault that
 * cleared a mark answers a skip that set it.
 */

#define H_CHUNKS	256
#define H_HOT		16

static void role_idle_passes(struct worker *w)
{
	struct race *r = w->r;
	__u64 done;
	int err;

	while (!is_freed(r)) {
		err = ma_range_flags(r->fd, MEM_ARENA_IOC_COMPRESS,
				     MEM_ARENA_COMPRESS_IDLE_ONLY, r->id, 0,
				     r->len, &done);
		if (err) {
			race_error(r, "idle-only COMPRESS returned %d", err);
			return;
		}
		w->done += done;
		tally(&r->ok_ops);
	}
}

TEST_F_TIMEOUT(race, idle_passes_vs_writer, 120)
{
	const role_fn roles[1] = { role_idle_passes };
	unsigned long writes = 0, mism = 0;
	uint64_t rnd = 0x1d1e;
	struct mem_arena_stats s;
	struct worker w[1];
	struct race *r;

	NEED_MODULE();
	r = race_new(self->fd, H_CHUNKS, 1);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, race_region(r, 1, 0));
	ASSERT_EQ(0, workers_start(r, w, roles, 1));
	round_begin(r);
	/* The time, and 4 passes at least: 2 to compress the cold chunks. */
	while (more(self, writes / H_HOT) ||
	       (__atomic_load_n(&r->ok_ops, __ATOMIC_RELAXED) < 4 &&
		ma_now_s() < self->deadline + 60)) {
		unsigned int c = writes++ % H_HOT;
		size_t at = c * CS + ma_rand(&rnd) % CS;
		char v = (char)ma_rand(&rnd);

		r->want[at] = v;
		((volatile char *)r->base)[at] = v;
		mism += ma_fnv1a(r->base + c * CS, CS) != ma_fnv1a(r->want + c * CS, CS);
	}
	__atomic_store_n(&r->freed, 1, __ATOMIC_RELEASE);
	round_end(r);
	workers_stop(r, w, 1);

	/* The stats first: reading the whole region faults it all back. */
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	mism += memcmp(r->base, r->want, r->len) != 0;
	TH_LOG("%lu passes, %lu compressed, %lu writes; %llu hot skips, %llu refaults, %llu decompressed",
	       r->ok_ops, w[0].done, writes, s.hot_skips, s.idle_refaults,
	       s.decompress_ops);
	EXPECT_EQ(0, r->errors) TH_LOG("%s", r->first);
	EXPECT_EQ(0, mism);
	EXPECT_EQ(0, s.decompress_errors);
	EXPECT_EQ(0, s.busy_skips);
	EXPECT_EQ(w[0].done, s.compress_ops);
	EXPECT_LE(s.idle_refaults, s.hot_skips);
	/* Only the hot chunks came back; the cold ones stayed compressed. */
	EXPECT_LE((H_CHUNKS - H_HOT) * CS, s.logical_input_bytes);
	EXPECT_GE(H_HOT * CS, s.raw_bytes);
	munmap(r->base, r->len);
	check_gauges(_metadata, self);
}

/* ---- d: close() while another thread is in an ioctl ---- */

#define D_CHUNKS	256

struct closer {
	int fd;
	__u32 id;
	pthread_barrier_t go;
	int err;
	double t0, t1;
};

static void *long_compress(void *arg)
{
	struct closer *c = arg;

	pthread_barrier_wait(&c->go);
	c->t0 = ma_now_s();
	c->err = ma_range(c->fd, MEM_ARENA_IOC_COMPRESS, c->id, 0, D_CHUNKS * CS, NULL);
	c->t1 = ma_now_s();
	return NULL;
}

TEST_F_TIMEOUT(race, close_during_ioctl, 120)
{
	unsigned long inside = 0, early = 0, bad_data = 0, unexpected = 0;
	long long arenas0 = self->base[0] + 1;	/* the fixture's own */
	char *want = malloc(D_CHUNKS * CS);
	unsigned int iter, i, spin;
	uint64_t rnd = 7;
	struct closer c;
	pthread_t tid;
	double c0, c1;
	char *p;

	NEED_MODULE();
	ASSERT_NE(NULL, want);
	for (i = 0; i < D_CHUNKS; i++)
		ma_fill_text(want + i * CS, CS, i);
	for (iter = 0; more(self, iter); iter++) {
		int unmap = iter & 1;

		c.fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, c.fd);
		p = ma_region_map(c.fd, D_CHUNKS * CS, &c.id);
		ASSERT_NE(NULL, p);
		memcpy(p, want, D_CHUNKS * CS);
		pthread_barrier_init(&c.go, NULL, 2);
		ASSERT_EQ(0, pthread_create(&tid, NULL, long_compress, &c));
		pthread_barrier_wait(&c.go);
		for (spin = ma_rand(&rnd) % 4096; spin; spin--)
			barrier();
		c0 = ma_now_s();
		ASSERT_EQ(0, close(c.fd));
		if (unmap)
			ASSERT_EQ(0, munmap(p, D_CHUNKS * CS));
		c1 = ma_now_s();
		pthread_join(tid, NULL);
		pthread_barrier_destroy(&c.go);

		if (c.err == -EBADF)
			early++;
		else if (c.err)
			unexpected++;
		else if (c.t0 < c0 && c1 < c.t1)
			inside++;
		if (c.err && c.err != -EBADF)
			TH_LOG("iteration %u: COMPRESS returned %d", iter, c.err);
		if (!unmap) {
			/* Closed, yet mapped: the arena lives and faults work. */
			EXPECT_EQ(arenas0 + 1, ma_sysfs_read("arenas"));
			bad_data += memcmp(p, want, D_CHUNKS * CS) != 0;
			ASSERT_EQ(0, munmap(p, D_CHUNKS * CS));
		}
		/* The last reference went with the ioctl or the munmap. */
		ASSERT_EQ(arenas0, ma_sysfs_read("arenas")) TH_LOG("iteration %u", iter);
	}
	TH_LOG("%u iterations: close inside the ioctl %lu times, before it %lu times",
	       iter, inside, early);
	EXPECT_EQ(0, unexpected);
	EXPECT_EQ(0, bad_data);
	EXPECT_LT(0, inside);
	free(want);
	check_gauges(_metadata, self);
}

/*
 * The last close of an arena (close, then munmap, or the other way) while
 * its readahead worker may be inside a window (MEM_ARENA_CONFIG_READAHEAD_ASYNC,
 * the window the whole region): the release stops and waits for the
 * worker, which never reads more than its window, and nothing leaks.
 */
TEST_F_TIMEOUT(race, close_during_async_readahead, 120)
{
	long long arenas0 = self->base[0] + 1, ra0, ra;
	size_t len = D_CHUNKS * CS;
	char *want = malloc(len);
	unsigned long cut = 0;
	unsigned int iter, spin, i;
	uint64_t rnd = 11;
	__u32 id;
	char *p;
	int fd;

	NEED_MODULE();
	ASSERT_NE(NULL, want);
	for (i = 0; i < D_CHUNKS; i++)
		ma_fill_text(want + i * CS, CS, i);
	for (iter = 0; more(self, iter); iter++) {
		struct mem_arena_cmd_config c = {
			.size = sizeof(c), .flags = MEM_ARENA_CONFIG_READAHEAD_ASYNC,
			.chunk_size = CS, .readahead_kib = len / KiB,
		};

		fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ma_ioc(fd, MEM_ARENA_IOC_SET_CONFIG, &c));
		p = ma_region_map(fd, len, &id);
		ASSERT_NE(NULL, p);
		memcpy(p, want, len);
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL));
		ASSERT_EQ(0, madvise(p, len, MADV_SEQUENTIAL));
		ra0 = ma_sysfs_read("readahead_chunks");
		ASSERT_EQ(0, memcmp(p, want, CS));	/* the miss: the worker starts */
		for (spin = ma_rand(&rnd) % 4096; spin; spin--)
			barrier();
		if (iter & 1) {
			ASSERT_EQ(0, close(fd));
			ASSERT_EQ(0, munmap(p, len));
		} else {
			ASSERT_EQ(0, munmap(p, len));
			ASSERT_EQ(0, close(fd));
		}
		/* Gone, and its worker's counts are the module's now. */
		ASSERT_EQ(arenas0, ma_sysfs_read("arenas")) TH_LOG("iteration %u", iter);
		ra = ma_sysfs_read("readahead_chunks") - ra0;
		ASSERT_GE(D_CHUNKS - 1, ra) TH_LOG("iteration %u", iter);
		cut += ra < D_CHUNKS - 1;
	}
	TH_LOG("%u iterations: the arena went before its worker had read the window %lu times",
	       iter, cut);
	EXPECT_LT(0, cut);
	free(want);
	check_gauges(_metadata, self);
}

/* ---- e: fork with regions mapped and compressed ---- */

#define E_CHUNKS	256

struct shared {
	int go;
	__u32 version[E_CHUNKS];
};

static void fill_version(char *p, unsigned int i, __u32 v)
{
	ma_fill_text(p, CS, (uint64_t)i << 20 | v);
}

/* Chunks whose version differs from what they hold, among those @owned says. */
static unsigned int verify_versions(const char *base, const struct shared *sh,
				    unsigned int owner, int owned, char *scratch)
{
	unsigned int i, bad = 0;

	for (i = 0; i < E_CHUNKS; i++) {
		if (owned >= 0 && ((i % 4 == owner) != owned))
			continue;
		fill_version(scratch, i, sh->version[i]);
		bad += memcmp(base + i * CS, scratch, CS) != 0;
	}
	return bad;
}

/* The child: verify all, compress a range, rewrite its own chunks. */
static void __attribute__((noreturn))
fork_child(int fd, __u32 id, char *base, struct shared *sh, unsigned int owner,
	   uint64_t rnd)
{
	char scratch[MA_PAGE_MAX];
	unsigned int i, bad;
	size_t off = (ma_rand(&rnd) % (E_CHUNKS / 64)) * 64 * CS;

	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		sched_yield();
	bad = verify_versions(base, sh, 0, -1, scratch);
	if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, off, 64 * CS, NULL))
		_exit(2);
	for (i = owner; i < E_CHUNKS; i += 4) {
		fill_version(base + i * CS, i, sh->version[i] + 1);
		sh->version[i]++;
	}
	bad += verify_versions(base, sh, owner, 1, scratch);
	_exit(bad ? 1 : 0);
}

TEST_F_TIMEOUT(race, fork_shares_region, 120)
{
	unsigned long bad_parent = 0, bad_after = 0, children_bad = 0;
	struct mem_arena_stats s;
	struct shared *sh;
	char scratch[MA_PAGE_MAX];
	unsigned int iter, i;
	uint64_t rnd = 99;
	int status;
	__u32 id;
	pid_t pid;
	char *p;

	NEED_MODULE();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	p = ma_region_map(self->fd, E_CHUNKS * CS, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < E_CHUNKS; i++)
		fill_version(p + i * CS, i, 0);
	for (iter = 0; more(self, iter); iter++) {
		unsigned int owner = iter % 4;
		size_t off = (ma_rand(&rnd) % (E_CHUNKS / 64)) * 64 * CS;

		ASSERT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, 0,
				      E_CHUNKS * CS / 2 + off / 2, NULL));
		sh->go = 0;
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			fork_child(self->fd, id, p, sh, owner, rnd + iter);
		__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
		/* Meanwhile: read what the child does not write, compress. */
		bad_parent += verify_versions(p, sh, owner, 0, scratch);
		EXPECT_EQ(0, ma_range(self->fd, MEM_ARENA_IOC_COMPRESS, id, off,
				      64 * CS, NULL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (!children_bad++)
				TH_LOG("iteration %u: child status %#x", iter, status);
		}
		/* The child's writes, seen through the parent's mapping. */
		bad_after += verify_versions(p, sh, 0, -1, scratch);
		if (bad_parent || bad_after || children_bad)
			break;
	}
	ASSERT_EQ(0, ma_stats(self->fd, &s));
	TH_LOG("%u forks, %llu decompressions", iter, s.decompress_ops);
	EXPECT_EQ(0, children_bad);
	EXPECT_EQ(0, bad_parent);
	EXPECT_EQ(0, bad_after);
	EXPECT_EQ(0, s.decompress_errors);
	munmap(p, E_CHUNKS * CS);
	munmap(sh, sizeof(*sh));
	check_gauges(_metadata, self);
}

/*
 * ---- f: concurrent compress and touch, then close: no pool block left ----
 *
 * A compress that finds no room drops the pool lock to create a block; if
 * a touch frees a slot meanwhile, the retry may take that hole and leave
 * the new block empty, and nothing releases an empty block but a slot
 * free or a compaction.  Rounds of 1..F_OPS compresses per thread with
 * touches throughout, a fresh arena each, at least F_MIN_ITERS of them,
 * background compaction off (it would release such a block before the
 * close and hide the leak).
 */
#define F_CHUNKS	128
#define F_OPS		2
#define F_MIN_ITERS	100	/* the leak came in about 1 round of 20 */

static void role_compress32(struct worker *w)
{
	struct race *r = w->r;
	unsigned int n, start;
	int err;

	for (n = 0; n < r->ops; n++) {
		start = (ma_rand(&w->rnd) % (r->nr / 32)) * 32;
		err = ma_range(r->fd, MEM_ARENA_IOC_COMPRESS, r->id, start * CS,
			       32 * CS, NULL);
		if (err)
			race_error(r, "COMPRESS returned %d", err);
	}
	__atomic_add_fetch(&r->progress, 1, __ATOMIC_RELEASE);
}

/* ---- h: COPY between two arenas against everything else ---- */

struct copy_race {
	int src, dst;
	__u32 src_id, dst_id;
	char *s, *d;
	size_t len;
	const char *want;	/* the source's bytes, constant in a round */
	int stop, stop_reader;
	unsigned long copies, enoent, errors, torn;
	char first[160];
};

static void copy_race_error(struct copy_race *c, const char *what, int err)
{
	if (!__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED))
		snprintf(c->first, sizeof(c->first), "%s returned %d", what, err);
}

static int copy_race_stopped(struct copy_race *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
}

static int copy_once(struct copy_race *c)
{
	return ma_copy(c->dst, c->dst_id, 0, c->src, c->src_id, 0, c->len, NULL);
}

static void *copy_role_copier(void *arg)
{
	struct copy_race *c = arg;
	int err;

	while (!copy_race_stopped(c)) {
		err = copy_once(c);
		if (err == -ENOENT)
			tally(&c->enoent);
		else if (err)
			copy_race_error(c, "COPY", err);
		else
			tally(&c->copies);
	}
	return NULL;
}

/* The source: compressed and touched back, never written in a round. */
static void *copy_role_source(void *arg)
{
	struct copy_race *c = arg;
	unsigned int n = 0;
	int err;

	while (!copy_race_stopped(c)) {
		err = ma_range(c->src, n++ & 1 ? MEM_ARENA_IOC_TOUCH :
			       MEM_ARENA_IOC_COMPRESS, c->src_id, 0, c->len, NULL);
		if (err && err != -ENOENT)
			copy_race_error(c, "source COMPRESS/TOUCH", err);
	}
	return NULL;
}

/* The copy: read (each chunk zero or the source's), compressed, discarded. */
static void *copy_role_dest(void *arg)
{
	struct copy_race *c = arg;
	uint64_t rnd = 0xc09;
	unsigned int n = 0;
	size_t i, off;
	int err;

	while (!copy_race_stopped(c) &&
	       !__atomic_load_n(&c->stop_reader, __ATOMIC_ACQUIRE)) {
		off = ma_rand(&rnd) % (c->len / CS) * CS;
		for (i = 0; i < CS; i += 512) {
			char v = c->d[off + i];

			if (v && v != c->want[off + i])
				tally(&c->torn);
		}
		switch (n++ % 4) {
		case 1:
			err = ma_range(c->dst, MEM_ARENA_IOC_COMPRESS, c->dst_id,
				       0, c->len, NULL);
			break;
		case 3:
			err = ma_range(c->dst, MEM_ARENA_IOC_DISCARD, c->dst_id,
				       off, CS, NULL);
			break;
		default:
			err = 0;
		}
		if (err && err != -ENOENT)
			copy_race_error(c, "copy COMPRESS/DISCARD", err);
	}
	return NULL;
}

/*
 * Each round: a fresh source of text (half compressed) and a fresh copy
 * region, three racers for a while; on odd rounds the copy region is freed
 * under them (its mapping is gone first, so the reader stops), on even
 * ones it must then equal the source after one quiet COPY.  At the end
 * both arenas close and every module-wide gauge is back to its base.
 */
TEST_F_TIMEOUT(race, copy_vs_everything, 120)
{
	const size_t nr = 64, len = nr * CS;
	struct copy_race c = { .len = len };
	struct mem_arena_stats st;
	pthread_t t[3];
	unsigned int iter, i;
	char *want;

	NEED_MODULE();
	c.src = self->fd;
	c.dst = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, c.dst);
	want = malloc(len);
	ASSERT_NE(NULL, want);
	c.want = want;
	for (iter = 0; more(self, iter); iter++) {
		struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
		uint64_t quiet = 0;

		c.s = ma_region_map(c.src, len, &c.src_id);
		c.d = ma_region_map(c.dst, len, &c.dst_id);
		ASSERT_NE(NULL, c.s);
		ASSERT_NE(NULL, c.d);
		for (i = 0; i < nr; i++)
			ma_fill_text(want + i * CS, CS, (uint64_t)iter << 16 | i);
		memcpy(c.s, want, len);
		ASSERT_EQ(0, ma_range(c.src, MEM_ARENA_IOC_COMPRESS, c.src_id, 0,
				      len / 2, NULL));
		c.stop = c.stop_reader = 0;
		ASSERT_EQ(0, pthread_create(&t[0], NULL, copy_role_copier, &c));
		ASSERT_EQ(0, pthread_create(&t[1], NULL, copy_role_source, &c));
		ASSERT_EQ(0, pthread_create(&t[2], NULL, copy_role_dest, &c));
		while (__atomic_load_n(&c.copies, __ATOMIC_RELAXED) < (iter + 1) * 2 &&
		       !c.errors)
			sched_yield();
		if (iter & 1) {		/* free the copy's region under COPY */
			f.id = c.dst_id;
			__atomic_store_n(&c.stop_reader, 1, __ATOMIC_RELEASE);
			pthread_join(t[2], NULL);	/* the reader first */
			munmap(c.d, len);
			EXPECT_EQ(0, ma_ioc(c.dst, MEM_ARENA_IOC_REGION_FREE, &f));
			__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
			pthread_join(t[0], NULL);
			pthread_join(t[1], NULL);
		} else {
			__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
			for (i = 0; i < 3; i++)
				pthread_join(t[i], NULL);
			EXPECT_EQ(0, copy_once(&c));
			quiet = memcmp(c.d, want, len);
			EXPECT_EQ(0, quiet) TH_LOG("round %u: the copy differs", iter);
			munmap(c.d, len);
			f.id = c.dst_id;
			EXPECT_EQ(0, ma_ioc(c.dst, MEM_ARENA_IOC_REGION_FREE, &f));
		}
		EXPECT_EQ(0, memcmp(c.s, want, len)) TH_LOG("round %u: the source changed", iter);
		munmap(c.s, len);
		f.id = c.src_id;
		EXPECT_EQ(0, ma_ioc(c.src, MEM_ARENA_IOC_REGION_FREE, &f));
		if (c.errors || quiet)
			break;
	}
	ASSERT_EQ(0, ma_stats(c.dst, &st));
	TH_LOG("%u rounds: %lu copies, %lu -ENOENT, %lu chunks copied in all",
	       iter, c.copies, c.enoent, (unsigned long)st.copied_chunks);
	EXPECT_EQ(0, c.errors) TH_LOG("%lu errors, the first: %s", c.errors, c.first);
	EXPECT_EQ(0, c.torn);
	EXPECT_EQ(0, st.decompress_errors);
	close(c.dst);
	free(want);
	check_gauges(_metadata, self);
}

/* Until both compressors are done. */
static void role_touch1(struct worker *w)
{
	struct race *r = w->r;
	unsigned int i;
	int err;

	while (__atomic_load_n(&r->progress, __ATOMIC_ACQUIRE) < 2) {
		i = ma_rand(&w->rnd) % r->nr;
		err = ma_range(r->fd, MEM_ARENA_IOC_TOUCH, r->id, i * CS, CS, NULL);
		if (err)
			race_error(r, "TOUCH returned %d", err);
	}
}

TEST_F_TIMEOUT(race, pool_leak_on_close, 120)
{
	const role_fn roles[4] = { role_compress32, role_compress32,
				   role_touch1, role_touch1 };
	long long pool0 = self->base[1], arenas0 = self->base[0] + 1;
	unsigned long mism = 0;
	long long pool = 0;
	struct worker w[4];
	unsigned int iter;
	uint64_t rnd = 3;
	struct race *r;

	NEED_MODULE();
	self->defrag_pct = ma_sysfs_read("defrag_threshold_pct");
	ASSERT_EQ(0, ma_sysfs_write("defrag_threshold_pct", 0));
	r = race_new(-1, F_CHUNKS, 4);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, workers_start(r, w, roles, 4));
	for (iter = 0; iter < F_MIN_ITERS || more(self, iter); iter++) {
		r->fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, r->fd);
		ASSERT_EQ(0, race_region(r, iter, 0));
		r->iter = iter;
		r->ops = 1 + ma_rand(&rnd) % F_OPS;
		round_begin(r);
		round_end(r);
		mism += memcmp(r->base, r->want, r->len) != 0;
		munmap(r->base, r->len);
		close(r->fd);
		ASSERT_EQ(arenas0, ma_sysfs_read("arenas"));
		pool = ma_sysfs_read("pool_bytes");
		if (pool != pool0 || mism || r->errors)
			break;
	}
	workers_stop(r, w, 4);
	TH_LOG("%u arenas raced and closed", iter);
	EXPECT_EQ(0, r->errors) TH_LOG("%s", r->first);
	EXPECT_EQ(0, mism);
	EXPECT_EQ(pool0, pool) TH_LOG("iteration %u: pool_bytes %lld after close, %lld before",
				      iter, pool, pool0);
	check_gauges(_metadata, self);
}

/*
 * Arenas close while memory pressure frees spares: the shrinker walks the
 * open arenas (spare.c), and one that closes leaves that walk before its
 * spares and its charge go.  Each arena keeps every page its compress
 * freed (same-filled chunks); the shrinker takes some, the close the rest.
 */
#define S_CHUNKS	64

static void *shrink_loop(void *arg)
{
	volatile int *stop = arg;

	while (!*stop)
		if (ma_file_write("/proc/sys/vm/drop_caches", "2"))
			return (void *)1;
	return NULL;
}

TEST_F_TIMEOUT(race, close_vs_shrinker, 120)
{
	const long long spare0 = ma_sysfs_read("spare_bytes");
	const size_t len = S_CHUNKS * CS;
	unsigned int iter, shrunk = 0;
	long long spare = spare0;
	volatile int stop = 0;
	pthread_t shrinker;
	void *failed;

	NEED_MODULE();
	ASSERT_EQ(0, pthread_create(&shrinker, NULL, shrink_loop, (void *)&stop));
	/*
	 * Until the race has been seen (or a minute more): on a loaded host
	 * drop_caches may not reach the shrinker while an arena is open for
	 * all of the usual time.
	 */
	for (iter = 0; more(self, iter) ||
	     (!shrunk && iter < MAX_ITERS && ma_now_s() < self->deadline + 60); iter++) {
		struct mem_arena_stats s;
		__u64 done;
		__u32 id;
		char *p;
		int fd;

		fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		p = ma_region_map(fd, len, &id);
		ASSERT_NE(NULL, p);
		memset(p, 0x5a, len);
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, &done));
		ASSERT_EQ(S_CHUNKS, done);
		ASSERT_EQ(0, ma_stats(fd, &s));
		shrunk += s.spare_bytes < len;
		munmap(p, len);
		close(fd);
		spare = ma_sysfs_read("spare_bytes");
		if (spare != spare0)
			break;
	}
	stop = 1;
	ASSERT_EQ(0, pthread_join(shrinker, &failed));
	TH_LOG("%u arenas closed, %u of them shrunk while open", iter, shrunk);
	EXPECT_EQ(NULL, failed) TH_LOG("cannot write drop_caches");
	EXPECT_EQ(spare0, spare) TH_LOG("iteration %u: spare_bytes %lld after close",
					iter, spare);
	EXPECT_LT(0, shrunk) TH_LOG("the shrinker never freed an open arena's spares");
	check_gauges(_metadata, self);
}

/*
 * SIGKILL to a process inside a parallel touch: its own walk stops with
 * -EINTR, its workers at their next batch, and the ioctl returns only
 * once they have (they use its stack), so the process dies and its arena
 * is released with it.  The child counts its calls in shared memory, so
 * the parent knows which one a kill met (odd: a TOUCH_PARALLEL).  Its
 * 20 rounds take 52 s on the KCSAN kernel at 4 MiB (at 8 MiB they passed
 * 120 s there): five minutes allowed.
 */
#define K_CHUNKS	(4 * MiB / CS)	/* 16 batches */

static void __attribute__((noreturn)) kill_child(int ready, volatile unsigned long *calls)
{
	const size_t len = K_CHUNKS * CS;
	unsigned int i;
	__u32 id;
	char *p;
	int fd;

	fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	p = fd < 0 ? NULL : ma_region_map(fd, len, &id);
	if (!p)
		_exit(1);
	for (i = 0; i < K_CHUNKS; i++)
		ma_fill_text(p + i * CS, CS, i);
	if (write(ready, "", 1) != 1)
		_exit(1);
	for (;;) {
		if (ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, len, NULL))
			_exit(2);
		++*calls;
		if (ma_range_flags(fd, MEM_ARENA_IOC_TOUCH, MEM_ARENA_TOUCH_PARALLEL,
				   id, 0, len, NULL))
			_exit(3);
		++*calls;
	}
}

TEST_F_TIMEOUT(race, kill_during_parallel_touch, 300)
{
	volatile unsigned long *calls;
	unsigned int iter, spin, in_touch = 0, other = 0;
	double t0 = ma_now_s();
	uint64_t rnd = 13;
	int ready[2], status;
	pid_t pid;
	char c;

	NEED_MODULE();
	calls = mmap(NULL, sizeof(*calls), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, calls);
	for (iter = 0; more(self, iter); iter++) {
		unsigned long at;

		*calls = 0;
		ASSERT_EQ(0, pipe(ready));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			kill_child(ready[1], calls);
		close(ready[1]);
		ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the child failed to start");
		close(ready[0]);
		/* Into its first calls, then a few microseconds more. */
		while (*calls < 1 + iter % 4)
			sched_yield();
		for (spin = ma_rand(&rnd) % 100000; spin; spin--)
			barrier();
		at = *calls;
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("iteration %u: status %#x", iter, status);
		if (at & 1)
			in_touch++;
		else
			other++;
	}
	TH_LOG("%u kills in %.1f s: %u in or just before a parallel touch, %u in a compress",
	       iter, ma_now_s() - t0, in_touch, other);
	EXPECT_LT(0, in_touch);
	munmap((void *)calls, sizeof(*calls));
	check_gauges(_metadata, self);
}

TEST_HARNESS_MAIN
