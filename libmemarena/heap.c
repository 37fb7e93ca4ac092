// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmemarena-heap.so: an LD_PRELOAD interposer that serves a program's
 * private anonymous mmap()s from one mem_arena region, so that an
 * unmodified program's heap can be compressed.  memarena-run(1) sets it up;
 * glibc's malloc calls mmap() internally, past any interposer, so the heap
 * of a program comes here through a preloaded allocator that calls mmap()
 * and madvise() through the PLT (jemalloc, mimalloc).
 *
 * The region is mapped once (MAP_SHARED, chunk size = page size) and handed
 * out in page runs, next fit over a bitmap of the pages in use.  What the
 * interposer owes the program is what the kernel owes it for private
 * anonymous memory:
 *  - mmap: pages that read as zero.  A run is discarded (MEM_ARENA_IOC_DISCARD:
 *    empty, not decompressed) when it is freed, and fresh chunks are empty.
 *  - munmap, madvise(MADV_DONTNEED/MADV_FREE/MADV_REMOVE), mmap(MAP_FIXED)
 *    over a run: discard, so freeing compressed memory costs no decompression.
 *    Advice the program gave a run (MADV_DONTFORK, MADV_DONTDUMP,
 *    MADV_SEQUENTIAL, MADV_RANDOM) ends when it is freed, as it would with
 *    its mapping; a run moved by mremap() does not take it along.
 *  - mremap: shrink in place, grow in place when the pages after are free,
 *    else (MREMAP_MAYMOVE) copy to a new run; MREMAP_FIXED is refused.
 *  - fork(), _Fork(), clone() without CLONE_VM and the fork system calls
 *    made with syscall(): a private copy (clone() without CLONE_FILES; see
 *    clone() below; a fork from a stack in the heap: fork_run()).  The
 *    region is shared, so while the parent waits in its fork handler the
 *    child opens an arena of its own, has the kernel copy the region into
 *    it (MEM_ARENA_IOC_COPY: compressed chunks as their compressed bytes,
 *    nothing decompressed in either arena) and maps the copy in the
 *    region's place.  The child has no idle-compress thread.  If the child
 *    cannot have an arena (RLIMIT_MEMLOCK, no memory), it copies the pages
 *    in use that hold data (lseek SEEK_DATA), unreadable ones too, into
 *    private anonymous memory instead, which faults compressed pages back
 *    in the parent's arena, and leaves the arena.
 *  - pthread_create() on a stack in the heap: the stack leaves the region
 *    for private memory until it is freed (heap_privatize()).
 * Anything else (file mappings, MAP_SHARED, MAP_FIXED elsewhere, PROT_EXEC,
 * stacks, huge pages, a full region) goes to the kernel unchanged.
 *
 * Environment (memarena-run(1)):
 *   MEMARENA_HEAP_SIZE       region bytes, suffix K, M or G (default 4G)
 *   MEMARENA_IDLE_COMPRESS   seconds between idle-only compress passes of a
 *                            thread started here (default 0: none)
 *   MEMARENA_READAHEAD_KIB   the arena's readahead_kib (default 0: none;
 *                            the program cannot advise its heap)
 *   MEMARENA_MAP_AHEAD       1: the arena maps what it reads ahead
 *                            (MEM_ARENA_CONFIG_MAP_AHEAD; default 0)
 *   MEMARENA_READAHEAD_ASYNC 1: it reads ahead from a worker
 *                            (MEM_ARENA_CONFIG_READAHEAD_ASYNC; default 0)
 *   MEMARENA_STATS_JSON      file written at exit with the arena's stats ...
 *   MEMARENA_STATS_PID       ... by the process with this pid only
 * When the arena cannot be created (no module, no memory) everything is
 * passed through; the stats file then says why.
 *
 * Locking: heap.lock protects the bitmap, heap.hint and the counters; it is
 * held over no system call but the fork handshake.  Nothing here allocates
 * with malloc() after the constructor: the allocator in front calls back
 * into mmap().
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <linux/sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "heap_size.h"
#include "mem_arena.h"

#ifndef MAP_32BIT
#define MAP_32BIT 0	/* x86's alone */
#endif

#define EXPORT __attribute__((visibility("default")))
#define BPL (8 * sizeof(unsigned long))

static struct {
	pthread_mutex_t lock;
	bool on;			/* constant after the constructor, but
					 * for the child of a fork */
	int fd;				/* the arena: constant, but for the
					 * child of a fork */
	__u32 id;			/* its one region: likewise */
	off_t offset;			/* the region's mmap offset: likewise */
	char *base;
	size_t size, page, pages;
	__u32 readahead_kib;		/* constant: the arenas' readahead */
	__u32 config_flags;		/* constant: MEM_ARENA_CONFIG_* */
	__u64 features;			/* constant: MEM_ARENA_FEATURE_* */
	unsigned long *used;		/* protected by lock: pages handed out */
	size_t hint;			/* protected by lock: next fit */
	size_t in_use, peak;		/* protected by lock: pages */
	unsigned long long maps, fallbacks;	/* protected by lock */
	unsigned long long discards;		/* atomic */
	unsigned long *advised;		/* protected by lock: pages given advice
					 * (heap_remap()); set once, NULL
					 * until any is */
	unsigned long *private;		/* protected by lock: pages of a thread's
					 * stack, moved out of the region
					 * (heap_privatize()); as advised */
	int fork_pipe[2];		/* the fork handshake */
	int err;			/* why the arena is off */
} heap = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1,
	    .fork_pipe = { -1, -1 } };

/* The kernel's own calls, without a lookup that could allocate. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int sys_munmap(void *addr, size_t len)
{
	return syscall(SYS_munmap, addr, len);
}

static int sys_madvise(void *addr, size_t len, int advice)
{
	return syscall(SYS_madvise, addr, len, advice);
}

static int sys_mprotect(void *addr, size_t len, int prot)
{
	return syscall(SYS_mprotect, addr, len, prot);
}

static void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
			void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
			       new_addr);
}

/* A bitmap of the region's pages (heap.used, heap.advised): its bytes. */
static size_t bitmap_bytes(void)
{
	return (heap.pages + BPL - 1) / BPL * sizeof(long);
}

static bool bit_at(const unsigned long *map, size_t i)
{
	return map[i / BPL] >> (i % BPL) & 1;
}

static void bits_mark(unsigned long *map, size_t first, size_t n, bool on)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (on)
			map[i / BPL] |= 1UL << (i % BPL);
		else
			map[i / BPL] &= ~(1UL << (i % BPL));
	}
}

static bool page_used(size_t i)
{
	return bit_at(heap.used, i);
}

/* Are pages [first, first + n) all in the region and all @used? */
static bool pages_all(size_t first, size_t n, bool used)
{
	size_t i;

	if (first + n > heap.pages)
		return false;
	for (i = first; i < first + n; i++)
		if (page_used(i) != used)
			return false;
	return true;
}

/* Hand out free pages [first, first + n); the caller holds heap.lock. */
static void pages_take(size_t first, size_t n)
{
	bits_mark(heap.used, first, n, true);
	heap.in_use += n;
	if (heap.in_use > heap.peak)
		heap.peak = heap.in_use;
}

/* Take back pages [first, first + n), whichever of them were handed out. */
static void pages_give(size_t first, size_t n)
{
	size_t i, freed = 0;

	pthread_mutex_lock(&heap.lock);
	for (i = first; i < first + n; i++)
		freed += page_used(i);
	bits_mark(heap.used, first, n, false);
	heap.in_use -= freed;
	pthread_mutex_unlock(&heap.lock);
}

/* The first run of @n free pages in [from, to), or -1. */
static long pages_find(size_t from, size_t to, size_t n)
{
	size_t i = from, start = from;

	while (i < to) {
		if (!(i % BPL) && heap.used[i / BPL] == ~0UL) {
			i += BPL;
			start = i;
		} else if (page_used(i)) {
			start = ++i;
		} else if (!(i % BPL) && !heap.used[i / BPL] && i + BPL <= to) {
			i += BPL;
		} else {
			i++;
		}
		if (i - start >= n && start + n <= to)
			return start;
	}
	return -1;
}

/* Page index of [addr, addr + len) if it lies wholly in the region. */
static bool in_heap(const void *addr, size_t len, size_t *first, size_t *n)
{
	const char *p = addr;

	if (!heap.on || p < heap.base || p >= heap.base + heap.size ||
	    len > (size_t)(heap.base + heap.size - p))
		return false;
	*first = (p - heap.base) / heap.page;
	*n = (len + (p - heap.base) % heap.page + heap.page - 1) / heap.page;
	return true;
}

static bool overlaps_heap(const void *addr, size_t len)
{
	const char *p = addr;

	return heap.on && p < heap.base + heap.size && p + len > heap.base;
}

static void *heap_map(size_t len, int prot)
{
	size_t n;
	long first;

	/* Before rounding up, which wraps past SIZE_MAX - page. */
	if (!len || len > heap.size)
		return NULL;
	n = (len + heap.page - 1) / heap.page;
	pthread_mutex_lock(&heap.lock);
	first = pages_find(heap.hint, heap.pages, n);
	if (first < 0)
		first = pages_find(0, heap.pages, n);
	if (first < 0) {
		heap.fallbacks++;
		pthread_mutex_unlock(&heap.lock);
		return NULL;
	}
	pages_take(first, n);
	heap.hint = first + n;
	heap.maps++;
	pthread_mutex_unlock(&heap.lock);

	/* A run freed after an mprotect() may carry another protection. */
	if (sys_mprotect(heap.base + first * heap.page, n * heap.page, prot)) {
		pages_give(first, n);
		return NULL;
	}
	return heap.base + first * heap.page;
}

/*
 * The arena is driven with its ioctls, not the library's handles: the child
 * of a fork replaces it without allocating.
 */
static int heap_range(unsigned long cmd, __u32 flags, size_t first, size_t n)
{
	struct mem_arena_cmd_range range = {
		.size = sizeof(range),
		.flags = flags,
		.id = heap.id,
		.offset = first * heap.page,
		.length = n * heap.page,
	};

	return ioctl(heap.fd, cmd, &range);
}

/* Empty pages [first, first + n): they read as zero from now on. */
static int heap_discard(size_t first, size_t n)
{
	if (heap_range(MEM_ARENA_IOC_DISCARD, 0, first, n))
		return -1;
	__atomic_fetch_add(&heap.discards, 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Note pages [first, first + n) in *@bits (heap.advised, heap.private),
 * mapped on first use; false if it cannot be.
 */
static bool heap_note(unsigned long **bits, size_t first, size_t n)
{
	unsigned long *map = MAP_FAILED;
	bool noted;

	/* The first note: a bitmap, mapped outside the lock. */
	if (!__atomic_load_n(bits, __ATOMIC_RELAXED))
		map = sys_mmap(NULL, bitmap_bytes(), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_mutex_lock(&heap.lock);
	if (!*bits && map != MAP_FAILED) {
		__atomic_store_n(bits, map, __ATOMIC_RELAXED);
		map = MAP_FAILED;
	}
	noted = *bits;
	if (noted)
		bits_mark(*bits, first, n, true);
	pthread_mutex_unlock(&heap.lock);
	if (map != MAP_FAILED)
		sys_munmap(map, bitmap_bytes());
	return noted;
}

/* Pages [first, first + n) are no longer noted in *@bits. */
static void heap_forget(unsigned long **bits, size_t first, size_t n)
{
	pthread_mutex_lock(&heap.lock);
	if (*bits)
		bits_mark(*bits, first, n, false);
	pthread_mutex_unlock(&heap.lock);
}

/* Is any page of [first, first + n) noted in @bits? */
static bool heap_noted(unsigned long *const *bits, size_t first, size_t n)
{
	bool any = false;
	size_t i;

	if (!__atomic_load_n(bits, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&heap.lock);
	for (i = first; i < first + n && !any; i++)
		any = bit_at(*bits, i);
	pthread_mutex_unlock(&heap.lock);
	return any;
}

/* Is @addr in the region and mapped from it (not a stack moved out)? */
static bool shared_heap(const void *addr)
{
	size_t first, n;

	return in_heap(addr, 1, &first, &n) && !heap_noted(&heap.private, first, 1);
}

/*
 * Map the region anew, with @prot, over the pages of [first, first + n)
 * noted in *@bits, and forget them: pages the program frees go back as the
 * kernel hands out a new mapping.
 *
 * The advice the program gave a freed run is the old mapping's, not the
 * next owner's.  Kept, a run advised MADV_DONTFORK would be missing from
 * the child of a fork once reused, and MADV_SEQUENTIAL or MADV_RANDOM
 * would steer the next owner's readahead.  So the advised pages of the
 * run, emptied already, are mapped anew: the kernel refuses MADV_DODUMP on
 * this mapping (VM_MIXEDMAP), and from some kernel on MADV_DOFORK too (7.3
 * does).  Only those: the mapping never merges, so each new mapping inside
 * an old one would split it for good, while the advice split it at these
 * pages already.  In a child this also fills the holes its parent's
 * MADV_DONTFORK runs left.  A thread's stack moved out of the region
 * (heap.private) comes back into it the same way.  A failure (no room for
 * one more mapping) leaves the advice, or the private pages.
 */
static void heap_remap(unsigned long **bits, size_t first, size_t n, int prot)
{
	size_t i = first, end = first + n, from;

	if (!__atomic_load_n(bits, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&heap.lock);
	while (i < end) {
		if (!bit_at(*bits, i)) {
			i++;
			continue;
		}
		for (from = i; i < end && bit_at(*bits, i); i++)
			;
		bits_mark(*bits, from, i - from, false);
		pthread_mutex_unlock(&heap.lock);
		sys_mmap(heap.base + from * heap.page, (i - from) * heap.page, prot,
			 MAP_SHARED | MAP_FIXED, heap.fd, heap.offset + from * heap.page);
		pthread_mutex_lock(&heap.lock);
	}
	pthread_mutex_unlock(&heap.lock);
}

/* Pages [first, first + n) go back to the program as fresh memory, @prot. */
static void heap_renew(size_t first, size_t n, int prot)
{
	heap_remap(&heap.advised, first, n, prot);
	heap_remap(&heap.private, first, n, prot);
}

/* Discard, then hand back: a page is never reused before it reads as zero. */
static int heap_unmap(size_t first, size_t n)
{
	if (heap_discard(first, n))
		return -1;
	heap_renew(first, n, PROT_READ | PROT_WRITE);
	pages_give(first, n);
	return 0;
}

static bool page_aligned(const void *addr)
{
	return !((unsigned long)addr % heap.page);
}

/* The fd is ignored with MAP_ANONYMOUS, as the kernel does. */
static bool wants_heap(int prot, int flags)
{
	if ((flags & MAP_TYPE) != MAP_PRIVATE || !(flags & MAP_ANONYMOUS))
		return false;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN |
		     MAP_STACK | MAP_HUGETLB | MAP_32BIT))
		return false;
	return !(prot & ~(PROT_READ | PROT_WRITE));
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	size_t first, n;
	void *p;

	if (heap.on && wants_heap(prot, flags)) {
		p = heap_map(len, prot);
		if (p)
			return p;
	} else if (heap.on && flags & MAP_FIXED && overlaps_heap(addr, len)) {
		/* Fresh private pages over a run the program holds. */
		if ((flags & MAP_TYPE) != MAP_PRIVATE || !(flags & MAP_ANONYMOUS) ||
		    !page_aligned(addr) || !in_heap(addr, len, &first, &n) ||
		    !pages_all(first, n, true)) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		if (heap_discard(first, n) ||
		    sys_mprotect(addr, n * heap.page, prot))
			return MAP_FAILED;
		heap_renew(first, n, prot);
		return addr;
	}
	return sys_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	char *p = addr, *end = p + len;
	char *lo, *hi;
	size_t first, n;

	if (!overlaps_heap(addr, len))
		return sys_munmap(addr, len);
	if (!page_aligned(addr) || !len || end < p) {
		errno = EINVAL;
		return -1;
	}
	/* The parts outside the region are the kernel's. */
	lo = p < heap.base ? heap.base : p;
	hi = end > heap.base + heap.size ? heap.base + heap.size : end;
	if (p < lo && sys_munmap(p, lo - p))
		return -1;
	if (hi < end && sys_munmap(hi, end - hi))
		return -1;
	in_heap(lo, hi - lo, &first, &n);
	return heap_unmap(first, n);
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	size_t first, n;

	switch (advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_REMOVE:
		if (!len || !overlaps_heap(addr, len))
			break;		/* the kernel's: 0 for no bytes */
		if (!page_aligned(addr) || !in_heap(addr, len, &first, &n)) {
			errno = EINVAL;
			return -1;
		}
		if (heap_discard(first, n))
			return -1;
		/* A thread's stack moved out: private memory, the kernel's. */
		if (heap_noted(&heap.private, first, n))
			return sys_madvise(addr, len, MADV_DONTNEED);
		return 0;
	case MADV_DONTFORK:
	case MADV_DONTDUMP:
	case MADV_SEQUENTIAL:
	case MADV_RANDOM:
		if (len && in_heap(addr, len, &first, &n))
			heap_note(&heap.advised, first, n);
		break;
	}
	return sys_madvise(addr, len, advice);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	size_t first, n, more;
	void *new_addr = NULL;
	va_list ap;
	void *p;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!overlaps_heap(old, old_len))
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	if (flags & ~MREMAP_MAYMOVE || !page_aligned(old) || !old_len ||
	    !new_len || !in_heap(old, old_len, &first, &n) ||
	    !pages_all(first, n, true)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	/* Larger than the region (rounding up could wrap): not in place. */
	more = new_len > heap.size ? heap.pages + 1 :
	       (new_len + heap.page - 1) / heap.page;
	if (more <= n) {
		if (more < n && heap_unmap(first + more, n - more))
			return MAP_FAILED;
		return old;
	}
	pthread_mutex_lock(&heap.lock);
	if (pages_all(first + n, more - n, false)) {
		pages_take(first + n, more - n);
		pthread_mutex_unlock(&heap.lock);
		/*
		 * As heap_map(): freed pages may carry another protection.
		 * They get read and write, as a move gets them.
		 */
		if (sys_mprotect(heap.base + (first + n) * heap.page,
				 (more - n) * heap.page, PROT_READ | PROT_WRITE)) {
			pages_give(first + n, more - n);
			errno = ENOMEM;
			return MAP_FAILED;
		}
		return old;
	}
	pthread_mutex_unlock(&heap.lock);
	if (!(flags & MREMAP_MAYMOVE)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	p = mmap(NULL, new_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return p;
	memcpy(p, old, n * heap.page);
	heap_unmap(first, n);
	return p;
}

/*
 * fork(): the child must not share the parent's heap.  The parent holds
 * heap.lock from prepare until the child has its copy (fork_child()), so
 * no page of the region is freed or reused meanwhile.  The parent closes its
 * end of the pipe first, so a failed fork (no child) does not wait.
 *
 * The allocator in front keeps its state, locks included, in the heap, so
 * its fork handlers must run inside ours: its prepare (taking its locks)
 * before ours, its child and parent handlers (rewriting and releasing
 * them) after.  Handlers run prepare last-registered first, the others in
 * order, so ours must be registered before any other: jemalloc registers
 * its own while it initialises, which libstdc++'s constructor does, before
 * this library's constructor runs.  So this library interposes
 * __register_atfork(), which pthread_atfork() calls, and registers its
 * handlers first, on the first registration anyone makes (or in the
 * constructor if there was none).  Were ours registered after, a child
 * would rewrite the allocator's locks in the parent's heap while the
 * parent's threads use them, and a thread mapping memory under an
 * allocator lock would deadlock the fork.
 */
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void),
				  void *);
extern void *__dso_handle __attribute__((visibility("hidden")));
static register_atfork_fn libc_register_atfork;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_err;		/* constant after atfork_once */
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static void atfork_register(void)
{
	libc_register_atfork = (register_atfork_fn)dlsym(RTLD_NEXT, "__register_atfork");
	atfork_err = libc_register_atfork ?
		     libc_register_atfork(fork_prepare, fork_parent, fork_child,
					  __dso_handle) : ENOSYS;
}

EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void),
			     void (*child)(void), void *dso)
{
	pthread_once(&atfork_once, atfork_register);
	if (!libc_register_atfork)
		return ENOSYS;
	return libc_register_atfork(prepare, parent, child, dso);
}

static void fork_prepare(void)
{
	if (!heap.on)
		return;
	pthread_mutex_lock(&heap.lock);
	if (pipe2(heap.fork_pipe, O_CLOEXEC))
		heap.fork_pipe[0] = heap.fork_pipe[1] = -1;
}

static void fork_parent(void)
{
	char c;

	if (!heap.on)
		return;
	if (heap.fork_pipe[0] >= 0) {
		close(heap.fork_pipe[1]);
		while (read(heap.fork_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		close(heap.fork_pipe[0]);
	}
	pthread_mutex_unlock(&heap.lock);
}

/*
 * _Fork() (glibc 2.34) makes a child as fork() does, but runs no fork
 * handlers: its child would share the parent's heap.  Ours run around it
 * (no one else's, as without this library).  glibc's own fork() calls its
 * _Fork() directly, not through this symbol.  Ours takes heap.lock, so
 * unlike glibc's it is not async-signal-safe.  clone() and syscall() are
 * below; a fork system call made otherwise (inline, as Go's runtime does)
 * still makes a child that shares the heap.
 */
typedef pid_t (*libc_fork_fn)(void);

/* A fork of ours: @arg is a struct raw_fork, or NULL for glibc's. */
typedef pid_t (*fork_fn)(void *arg);

/* A fork system call made with syscall(): its number and arguments. */
struct raw_fork {
	long nr;
	long a[6];
};

/*
 * System call @nr as the kernel takes it: its result, or -errno.  Made
 * here, not by glibc's syscall(), which this library interposes.
 */
static long sys_call(const struct raw_fork *c)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = c->a[3];
	register long r8 __asm__("r8") = c->a[4];
	register long r9 __asm__("r9") = c->a[5];
	long ret;

	__asm__ volatile ("syscall"
			  : "=a" (ret)
			  : "a" (c->nr), "D" (c->a[0]), "S" (c->a[1]), "d" (c->a[2]),
			    "r" (r10), "r" (r8), "r" (r9)
			  : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = c->nr;
	register long x0 __asm__("x0") = c->a[0];
	register long x1 __asm__("x1") = c->a[1];
	register long x2 __asm__("x2") = c->a[2];
	register long x3 __asm__("x3") = c->a[3];
	register long x4 __asm__("x4") = c->a[4];
	register long x5 __asm__("x5") = c->a[5];

	__asm__ volatile ("svc 0"
			  : "+r" (x0)
			  : "r" (x8), "r" (x1), "r" (x2), "r" (x3), "r" (x4), "r" (x5)
			  : "memory", "cc");
	return x0;
#else
#error "libmemarena-heap: no system call stub for this architecture"
#endif
}

/* sys_call()'s result as glibc's syscall() returns it: -1 and errno. */
static long sys_result(long ret)
{
	if (ret < 0 && ret > -4096) {
		errno = -ret;
		return -1;
	}
	return ret;
}

/* glibc's @name, looked up once into *@cache; NULL (ENOSYS) if it has none. */
static void *libc_call(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_RELAXED);

	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		if (!f) {
			errno = ENOSYS;
			return NULL;
		}
		__atomic_store_n(cache, f, __ATOMIC_RELAXED);
	}
	return f;
}

static void *glibc_fork, *glibc__Fork;

/*
 * glibc's _Fork() (@arg NULL) or the system call @arg, with the heap's
 * fork handlers around it.
 */
static pid_t fork_with_handlers(void *arg)
{
	struct raw_fork *raw = arg;
	libc_fork_fn f = NULL;
	pid_t pid;
	int err;

	if (!raw) {
		f = (libc_fork_fn)libc_call(&glibc__Fork, "_Fork");
		if (!f)
			return -1;
	}
	fork_prepare();
	pid = raw ? sys_result(sys_call(raw)) : f();
	err = errno;
	if (pid)
		fork_parent();
	else
		fork_child();
	errno = err;
	return pid;
}

/* A stack of ours, private memory, for a child to make its copy on. */
#define OWN_STACK	(256 << 10)

static void *own_stack_map(void)
{
	void *own = sys_mmap(NULL, OWN_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			     MAP_STACK, -1, 0);

	return own == MAP_FAILED ? NULL : own;
}

/*
 * A fork from code running on a stack in the region (a coroutine's or a
 * fiber's, taken from the heap): parent and child return from the system
 * call on the same addresses, in memory they share until the child has its
 * copy, and each would overwrite the other's frames.  So such a fork runs
 * on a private stack of ours (swapcontext()), and each side comes back to
 * the caller's stack only when the child has its copy: the child after
 * fork_child(), the parent after fork_parent(), which waits for it.
 *
 * A thread whose own descriptor is in the region (pthread_attr_setstack()
 * over heap memory, glibc putting it and the thread's TLS at the top of
 * that stack, which heap_privatize() could not move out) cannot fork: the
 * kernel writes the child's thread id there before the child runs any code
 * (CLONE_CHILD_SETTID), and glibc's child code rewrites more of it, all in
 * the parent's memory.  Its fork fails with ENOMEM and leaves the parent
 * as it was (descriptor_in_heap()).
 */
static bool descriptor_in_heap(void)
{
	if (!shared_heap((void *)pthread_self()))
		return false;
	errno = ENOMEM;
	return true;
}

struct fork_call {
	fork_fn fn;
	void *arg;
	pid_t pid;
	int err;
	ucontext_t caller, call;
};

static void fork_call_run(unsigned int hi, unsigned int lo)
{
	struct fork_call *fc = (void *)(uintptr_t)((uint64_t)hi << 32 | lo);

	fc->pid = fc->fn(fc->arg);
	fc->err = errno;
}	/* on to fc->caller (uc_link), on the child's own copy of it */

static pid_t fork_run(fork_fn fn, void *arg)
{
	struct fork_call fc = { .fn = fn, .arg = arg, .pid = -1 };
	uint64_t addr = (uintptr_t)&fc;
	void *own;

	if (descriptor_in_heap())
		return -1;
	if (!shared_heap(&fc) && !shared_heap((char *)&fc + sizeof(fc) - 1))
		return fn(arg);
	own = own_stack_map();
	if (!own || getcontext(&fc.call)) {
		if (own)
			sys_munmap(own, OWN_STACK);
		errno = ENOMEM;
		return -1;
	}
	fc.call.uc_stack.ss_sp = own;
	fc.call.uc_stack.ss_size = OWN_STACK;
	fc.call.uc_link = &fc.caller;
	makecontext(&fc.call, (void (*)(void))fork_call_run, 2,
		    (unsigned int)(addr >> 32), (unsigned int)addr);
	if (swapcontext(&fc.caller, &fc.call))
		fc.err = errno;		/* fc.pid is -1 */
	sys_munmap(own, OWN_STACK);
	errno = fc.err;
	return fc.pid;
}

EXPORT pid_t _Fork(void)
{
	return fork_run(fork_with_handlers, NULL);
}

/* glibc's fork(), which runs the handlers itself. */
static pid_t fork_glibc(void *arg __attribute__((unused)))
{
	libc_fork_fn f = (libc_fork_fn)libc_call(&glibc_fork, "fork");

	return f ? f() : -1;
}

EXPORT pid_t fork(void)
{
	return fork_run(fork_glibc, NULL);
}

/*
 * The flags and stack of clone3()'s @ca, read without faulting where the
 * kernel would return EFAULT: through process_vm_readv() on ourselves (or
 * directly, if a seccomp filter refuses that).  False if unreadable.
 */
static bool clone_args_read(const struct clone_args *ca, unsigned long *flags,
			    unsigned long *stack)
{
	struct clone_args got;
	struct iovec local = { &got, offsetof(struct clone_args, stack_size) };
	struct iovec remote = { (void *)ca, local.iov_len };
	struct raw_fork c = {
		.nr = SYS_process_vm_readv,
		.a = { getpid(), (long)&local, 1, (long)&remote, 1, 0 },
	};
	long ret = sys_call(&c);

	if (ret < 0 && ret != -EFAULT) {
		got = *ca;
		ret = local.iov_len;
	}
	if (ret != (long)local.iov_len)
		return false;
	*flags = got.flags;
	*stack = got.stack;
	return true;
}

/*
 * Is @c a fork the heap must see: a new process that does not share the
 * parent's memory or fd table, continuing on the caller's stack (a new
 * stack through syscall() can only be the caller's own contrivance)?
 */
static bool raw_forks(const struct raw_fork *c)
{
	unsigned long flags, stack;

	if (!heap.on)
		return false;
	switch (c->nr) {
#ifdef SYS_fork
	case SYS_fork:
		return true;
#endif
	case SYS_clone:
		flags = c->a[0];
		stack = c->a[1];
		break;
#ifdef SYS_clone3
	case SYS_clone3:
		if ((size_t)c->a[1] < CLONE_ARGS_SIZE_VER0 ||
		    !clone_args_read((const struct clone_args *)c->a[0], &flags,
				     &stack))
			return false;	/* the kernel's to refuse */
		break;
#endif
	default:
		return false;
	}
	return !(flags & (CLONE_VM | CLONE_FILES | CLONE_THREAD)) && !stack;
}

/*
 * syscall(): programs that make their children with the system call
 * (clone(2) for namespaces, as bubblewrap and systemd do, or clone3(2),
 * or fork(2)) get the child the same copy as from fork().  Every other
 * call goes to the kernel as glibc's syscall() would take it.  The
 * arguments are read as six longs whatever the call, as glibc does.
 */
EXPORT long syscall(long nr, ...)
{
	struct raw_fork c = { .nr = nr };
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		c.a[i] = va_arg(ap, long);
	va_end(ap);
	if (raw_forks(&c))
		return fork_run(fork_with_handlers, &c);
	return sys_result(sys_call(&c));
}

/*
 * clone() without CLONE_VM makes a child as fork() does, with no fork
 * handlers, and the child runs on a stack the caller gives, which may be
 * in the heap: the copy would replace it under the running child.  So the
 * child starts on a private stack of ours (a copy of the parent's mapping,
 * as the child has its own memory), runs the fork handler there, and only
 * then switches to the caller's stack to run @fn (makecontext()), exiting
 * with its value as glibc's clone() does.  Our stack stays mapped in the
 * child, unused.  With CLONE_FILES the child shares the fd table and
 * would take the parent's arena fd with its own: such a clone, as one
 * with CLONE_VM, goes to glibc unchanged.  From a thread whose descriptor
 * is in the region it fails with ENOMEM, as fork_run() does.
 */
static struct {
	int (*fn)(void *);
	void *arg;
	ucontext_t uc;
} clone_call;	/* protected by heap.lock, which fork_prepare() takes */

static void clone_run(void)
{
	syscall(SYS_exit, clone_call.fn(clone_call.arg));
}

static int clone_start(void *unused __attribute__((unused)))
{
	fork_child();
	setcontext(&clone_call.uc);
	return 1;	/* not reached */
}

typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static void *libc_clone;
	clone_fn f = (clone_fn)libc_call(&libc_clone, "clone");
	void *tls, *own;
	pid_t *ptid, *ctid;
	va_list ap;
	int pid, err;

	va_start(ap, arg);	/* whether or not @flags says they are there */
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!f)
		return -1;
	if (!heap.on || flags & (CLONE_VM | CLONE_FILES) || !fn || !stack)
		return f(fn, stack, flags, arg, ptid, tls, ctid);
	/* As fork_run(): the child would write our descriptor, in the heap. */
	if (descriptor_in_heap())
		return -1;
	own = own_stack_map();
	if (!own)
		return -1;
	fork_prepare();
	clone_call.fn = fn;
	clone_call.arg = arg;
	getcontext(&clone_call.uc);
	/* makecontext() starts at the top of the stack it is given. */
	clone_call.uc.uc_stack.ss_sp = (char *)stack - heap.page;
	clone_call.uc.uc_stack.ss_size = heap.page;
	clone_call.uc.uc_link = NULL;
	makecontext(&clone_call.uc, clone_run, 0);
	pid = f(clone_start, (char *)own + OWN_STACK, flags, NULL, ptid, tls, ctid);
	err = errno;
	fork_parent();
	sys_munmap(own, OWN_STACK);
	errno = err;
	return pid;
}

/*
 * Call @fn on each VMA of the region in [@from, @to), clipped to it, from
 * /proc/self/maps.  The maps file resumes by address, so a VMA @fn changes
 * behind the line being read is not seen again.  Private memory in the
 * region (a thread's stack moved out: anonymous, inode 0) is not the
 * region's and is left out.  Without /proc (a chroot, a namespace that
 * hides it) the range is taken as one VMA, read and write, but for those
 * pages: a fork's child then has its copy, but not the protections the
 * program gave parts of it, and has pages where the parent's were
 * MADV_DONTFORK.
 */
static void heap_vmas(char *from, char *to,
		      void (*fn)(char *lo, char *hi, int prot, void *arg), void *arg)
{
	char buf[4096], line[512];
	size_t len = 0, pg, end;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pg = (from - heap.base) / heap.page;
		end = (to - heap.base) / heap.page;
		while (pg < end) {
			size_t run = 0;

			while (pg + run < end &&
			       !(heap.private && bit_at(heap.private, pg + run)))
				run++;
			if (run)
				fn(heap.base + pg * heap.page,
				   heap.base + (pg + run) * heap.page,
				   PROT_READ | PROT_WRITE, arg);
			pg += run + 1;
		}
		return;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			unsigned long lo, hi, ino;
			char perms[5];

			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (sscanf(line, "%lx-%lx %4s %*x %*s %lu", &lo, &hi, perms,
				   &ino) != 4 || !ino ||
			    (char *)hi <= from || (char *)lo >= to)
				continue;
			fn((char *)lo < from ? from : (char *)lo,
			   (char *)hi > to ? to : (char *)hi,
			   (perms[0] == 'r' ? PROT_READ : 0) |
			   (perms[1] == 'w' ? PROT_WRITE : 0), arg);
		}
	}
	close(fd);
}

/* Map the copy (@arg: its mmap offset) over one VMA, with its protection. */
static void map_copy(char *lo, char *hi, int prot, void *arg)
{
	off_t off = *(off_t *)arg + (lo - heap.base);

	if (sys_mmap(lo, hi - lo, prot, MAP_SHARED | MAP_FIXED, heap.fd,
		     off) == MAP_FAILED)
		abort();	/* half a heap: the child cannot run */
}

/*
 * The first address in [@lo, @hi) of the region that holds data
 * (@whence SEEK_DATA) or a hole (SEEK_HOLE), @hi when there is none, by
 * lseek() on the arena (mem_arena(7), "Which chunks hold data").  Without
 * the feature, or when the call fails, all of it is taken as data.
 */
static char *heap_seek(char *lo, char *hi, int whence)
{
	bool seek_hole = heap.features & MEM_ARENA_FEATURE_SEEK_HOLE;
	off_t off = -1;

	if (seek_hole)
		off = lseek(heap.fd, heap.offset + (lo - heap.base), whence);
	if (off < 0)
		return whence == SEEK_DATA && (!seek_hole || errno != ENXIO) ?
		       lo : hi;
	off -= heap.offset;
	return off < hi - heap.base ? heap.base + off : hi;
}

/*
 * Put private anonymous memory (@arg) in the place of one VMA, with the
 * pages in use that hold data copied in, and the VMA's protection.  Pages
 * the program never wrote are not read: a read would allocate them in the
 * parent's arena.  The VMA is made readable first (this view of the region
 * is replaced right after): without /proc, @prot is a guess, and parts of
 * it may be unreadable.  An unreadable VMA is not copied without the
 * kernel's help to find its data, since it may be a large reservation the
 * program never wrote.  mremap() moves one VMA at a time, so each piece
 * of the copy moves before it is split by an mprotect().  @copy is laid
 * out as the region.  False if the VMA stays (no room for one more).
 */
static bool move_vma(char *lo, char *hi, int prot, char *copy)
{
	char *to = copy + (lo - heap.base), *from, *end;
	size_t pg, last, run;

	if ((prot & PROT_READ || heap.features & MEM_ARENA_FEATURE_SEEK_HOLE) &&
	    (!sys_mprotect(lo, hi - lo, PROT_READ) || prot & PROT_READ)) {
		for (from = heap_seek(lo, hi, SEEK_DATA); from < hi;
		     from = heap_seek(end, hi, SEEK_DATA)) {
			end = heap_seek(from, hi, SEEK_HOLE);
			if (end <= from)	/* it changed meanwhile */
				end = from + heap.page;
			pg = (from - heap.base) / heap.page;
			last = (end - heap.base) / heap.page;
			for (; pg < last; pg += run) {
				for (run = 0; pg + run < last && page_used(pg + run); run++)
					;
				if (run)
					memcpy(copy + pg * heap.page,
					       heap.base + pg * heap.page,
					       run * heap.page);
				else
					run = 1;
			}
			if (end == hi)
				break;
		}
	}
	if (sys_mremap(to, hi - lo, hi - lo, MREMAP_MAYMOVE | MREMAP_FIXED,
		       lo) == MAP_FAILED) {
		sys_mprotect(lo, hi - lo, prot);
		return false;
	}
	if (prot != (PROT_READ | PROT_WRITE))
		sys_mprotect(lo, hi - lo, prot);
	return true;
}

/* A fork's child leaving the arena: each VMA of the region, or none. */
static void move_private(char *lo, char *hi, int prot, void *copy)
{
	if (!move_vma(lo, hi, prot, copy))
		abort();	/* half a heap shared: the child cannot run */
}

/*
 * Move one VMA of a thread's stack out of the region (heap_privatize()).
 * Its pages are noted before they move: a fork meanwhile must not take
 * private pages for the region's, while taking the region's for private is
 * harmless (the child maps by /proc, and a free maps the region again
 * either way).
 */
static void privatize_vma(char *lo, char *hi, int prot, void *copy)
{
	size_t first = (lo - heap.base) / heap.page, n = (hi - lo) / heap.page;

	heap_note(&heap.private, first, n);
	if (move_vma(lo, hi, prot, copy))
		heap_discard(first, n);
	else
		heap_forget(&heap.private, first, n);
}

/*
 * A thread's stack in the heap (pthread_attr_setstack() over memory the
 * program took from it): glibc puts the thread's descriptor and TLS at its
 * top.  There the kernel writes the thread id of each child the thread
 * forks, before the child runs, which would land in the parent's heap; and
 * there pthread_join() waits on a shared futex, which arena memory cannot
 * hold.  So before the thread starts, the stack's whole pages leave the
 * region: their data is copied into private anonymous memory put in their
 * place (move_vma(), VMA by VMA, with the program's protections: a
 * guard page stays one), and the region's pages are emptied.  They are
 * noted in heap.private: a fork's child keeps them as the kernel copied
 * them, a discard empties them too, and when the program frees them
 * (munmap(), mmap(MAP_FIXED), mremap()) the region comes back in their
 * place.  A stack is hot memory, not worth compressing.  A stack whose
 * top is not page aligned keeps its last page in the region, with the
 * descriptor perhaps in it: that thread cannot fork (fork_run()).
 */
static void heap_privatize(void *stack, size_t size)
{
	uintptr_t lo = ((uintptr_t)stack + heap.page - 1) / heap.page * heap.page;
	uintptr_t hi = ((uintptr_t)stack + size) / heap.page * heap.page;
	size_t first, n;
	char *copy;

	/* Without /proc the protections are not known: the stack stays. */
	if (hi <= lo || !in_heap((void *)lo, hi - lo, &first, &n) ||
	    !pages_all(first, n, true) || heap_noted(&heap.private, first, n) ||
	    access("/proc/self/maps", R_OK))
		return;
	copy = sys_mmap(NULL, hi - lo, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (copy == MAP_FAILED)
		return;
	/* The bitmap first, so that privatize_vma()'s notes cannot fail. */
	if (heap_note(&heap.private, first, 0))
		heap_vmas((char *)lo, (char *)hi, privatize_vma,
			  (char *)((uintptr_t)copy - (lo - (uintptr_t)heap.base)));
	sys_munmap(copy, hi - lo);	/* what no VMA took */
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *,
				 void *(*)(void *), void *);

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	static void *glibc_create;
	pthread_create_fn f = (pthread_create_fn)libc_call(&glibc_create,
							   "pthread_create");
	void *stack;
	size_t size;

	if (!f)
		return ENOSYS;
	if (heap.on && attr && !pthread_attr_getstack(attr, &stack, &size) &&
	    overlaps_heap(stack, size))
		heap_privatize(stack, size);
	return f(thread, attr, fn, arg);
}

/*
 * A new arena with one region of heap.size bytes (chunk = page, the
 * default: discards are exact): its fd, the region's id and mmap offset.
 */
static int arena_open(int *fd, __u32 *id, off_t *offset)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	struct mem_arena_cmd_region_alloc alloc = {
		.size = sizeof(alloc),
		.length = heap.size,
	};
	struct mem_arena_cmd_config config = {
		.size = sizeof(config),
		.flags = heap.config_flags,
		.readahead_kib = heap.readahead_kib,
	};
	int err = 0;

	*fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (*fd < 0)	/* no device node: the module is not loaded */
		return errno == ENOENT || errno == ENXIO ? -ENODEV : -errno;
	if (ioctl(*fd, MEM_ARENA_IOC_GET_INFO, &info) ||
	    ((config.readahead_kib || config.flags) &&
	     ioctl(*fd, MEM_ARENA_IOC_SET_CONFIG, &config)) ||
	    ioctl(*fd, MEM_ARENA_IOC_REGION_ALLOC, &alloc))
		err = -errno;
	else if (info.api != MEM_ARENA_API || alloc.length != heap.size)
		err = -EPROTO;
	if (err) {
		close(*fd);
		return err;
	}
	*id = alloc.id;
	*offset = alloc.mmap_offset;
	heap.features = info.features;
	return 0;
}

/*
 * The child's own arena, a copy of the parent's region made by the kernel
 * chunk by chunk (compressed chunks stay compressed), mapped over each VMA
 * of the region.  The parent's other threads run meanwhile: a snapshot
 * copy holds their writes to the heap back in page faults until it is
 * whole, so the child sees the heap as it was at one instant, as a fork's
 * child sees the rest of its memory (a module without the flag copies
 * chunk by chunk, as the writes come).  0, or -errno before anything
 * changed.
 */
static int fork_arena(void)
{
	struct mem_arena_cmd_copy copy = {
		.size = sizeof(copy),
		.src_fd = heap.fd,
		.src_id = heap.id,
		.length = heap.size,
	};
	off_t off;
	int fd, err;

	err = arena_open(&fd, &copy.id, &off);
	if (err)
		return err;
	if (heap.features & MEM_ARENA_FEATURE_COPY_SNAPSHOT)
		copy.flags = MEM_ARENA_COPY_SNAPSHOT;
	if (ioctl(fd, MEM_ARENA_IOC_COPY, &copy)) {
		err = -errno;
		close(fd);
		return err;
	}
	close(heap.fd);		/* the parent's arena stays the parent's */
	heap.fd = fd;
	heap.id = copy.id;
	heap.offset = off;
	heap_vmas(heap.base, heap.base + heap.size, map_copy, &off);
	return 0;
}

static void fork_child(void)
{
	char *copy;

	if (!heap.on)
		return;
	if (fork_arena()) {
		copy = sys_mmap(NULL, heap.size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (copy == MAP_FAILED)
			abort();	/* no heap: the child cannot run */
		heap_vmas(heap.base, heap.base + heap.size, move_private, copy);
		sys_munmap(copy, heap.size);	/* what no VMA of the region took */
		close(heap.fd);		/* the parent's arena stays */
		heap.fd = -1;
		heap.on = false;
	}
	if (heap.fork_pipe[1] >= 0) {
		while (write(heap.fork_pipe[1], "", 1) < 0 && errno == EINTR)
			;
		close(heap.fork_pipe[0]);
		close(heap.fork_pipe[1]);
	}
	pthread_mutex_unlock(&heap.lock);
}

/* MEMARENA_HEAP_SIZE, @def when unset or empty; 0 when not a size. */
static unsigned long long parse_size(const char *s, unsigned long long def)
{
	return s && *s ? memarena_heap_size(s) : def;
}

static void *idle_compress(void *arg)
{
	struct timespec ts = { .tv_sec = (time_t)(unsigned long)arg };

	for (;;) {
		while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
			;
		ts.tv_sec = (time_t)(unsigned long)arg;
		if (!heap.on)
			return NULL;
		heap_range(MEM_ARENA_IOC_COMPRESS, MEM_ARENA_COMPRESS_IDLE_ONLY,
			   0, heap.pages);
	}
	return NULL;
}

__attribute__((constructor)) static void heap_init(void)
{
	unsigned long long size = parse_size(getenv("MEMARENA_HEAP_SIZE"), 4ULL << 30);
	unsigned long idle = strtoul(getenv("MEMARENA_IDLE_COMPRESS") ?: "0", NULL, 10);
	pthread_t t;
	int err;

	heap.page = sysconf(_SC_PAGESIZE);
	heap.readahead_kib = strtoul(getenv("MEMARENA_READAHEAD_KIB") ?: "0", NULL, 10);
	if (strtoul(getenv("MEMARENA_MAP_AHEAD") ?: "0", NULL, 10))
		heap.config_flags |= MEM_ARENA_CONFIG_MAP_AHEAD;
	if (strtoul(getenv("MEMARENA_READAHEAD_ASYNC") ?: "0", NULL, 10))
		heap.config_flags |= MEM_ARENA_CONFIG_READAHEAD_ASYNC;
	if (!size || size > MEM_ARENA_REGION_SIZE_MAX) {
		heap.err = -EINVAL;
		return;
	}
	heap.size = (size + heap.page - 1) / heap.page * heap.page;
	heap.pages = heap.size / heap.page;
	err = arena_open(&heap.fd, &heap.id, &heap.offset);
	if (err)
		goto out_err;
	heap.base = sys_mmap(NULL, heap.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     heap.fd, heap.offset);
	if (heap.base == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	heap.used = sys_mmap(NULL, bitmap_bytes(), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap.used == MAP_FAILED) {
		err = -ENOMEM;
		goto out_unmap_base;
	}
	pthread_once(&atfork_once, atfork_register);
	if (atfork_err) {
		err = -atfork_err;
		goto out_unmap_used;
	}
	heap.on = true;
	if (idle && pthread_create(&t, NULL, idle_compress, (void *)idle) == 0)
		pthread_detach(t);
	return;

out_unmap_used:
	sys_munmap(heap.used, bitmap_bytes());
out_unmap_base:
	sys_munmap(heap.base, heap.size);
out_close:
	close(heap.fd);
	heap.fd = -1;
out_err:
	heap.base = NULL;
	heap.size = 0;
	heap.err = err;
}

static long vm_rss_bytes(void)
{
	char buf[4096];
	ssize_t got;
	char *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return -1;
	buf[got] = 0;
	p = strstr(buf, "\nVmRSS:");
	return p ? strtol(p + 8, NULL, 10) * 1024 : -1;
}

/* The stats file: one JSON object, written once at exit. */
__attribute__((destructor)) static void heap_exit(void)
{
	const char *path = getenv("MEMARENA_STATS_JSON");
	const char *pid = getenv("MEMARENA_STATS_PID");
	struct mem_arena_cmd_stats cmd = {
		.size = sizeof(cmd),
		.stats_size = sizeof(struct mem_arena_stats),
	};
	struct mem_arena_stats st;
	unsigned int id;
	FILE *f;

	if (!path || !pid || strtol(pid, NULL, 10) != getpid())
		return;
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "{\"pid\": %d, \"arena\": %s, \"error\": \"%s\", "
		"\"vm_rss_bytes\": %ld", getpid(), heap.on ? "true" : "false",
		heap.err ? mem_arena_strerror(heap.err) : "", vm_rss_bytes());
	memset(&st, 0, sizeof(st));
	cmd.stats_ptr = (uintptr_t)&st;
	if (heap.on && !ioctl(heap.fd, MEM_ARENA_IOC_GET_STATS, &cmd)) {
		pthread_mutex_lock(&heap.lock);
		fprintf(f, ", \"heap_size\": %zu, "
			"\"heap_in_use_bytes\": %zu, \"heap_peak_bytes\": %zu, "
			"\"heap_maps\": %llu, \"heap_fallback_maps\": %llu, "
			"\"heap_discards\": %llu, \"stats\": {",
			heap.size, heap.in_use * heap.page,
			heap.peak * heap.page, heap.maps, heap.fallbacks,
			__atomic_load_n(&heap.discards, __ATOMIC_RELAXED));
		pthread_mutex_unlock(&heap.lock);
		for (id = 0; mem_arena_stat_name(id); id++)
			fprintf(f, "%s\"%s\": %llu", id ? ", " : "",
				mem_arena_stat_name(id),
				mem_arena_stat_value(&st, id));
		fputs("}", f);
	}
	fputs("}\n", f);
	fclose(f);
}
