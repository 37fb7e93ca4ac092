// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failure injection: with failslab and fail_page_alloc armed
 * for one task only (task-filter, /proc/thread-self/make-it-fail), every
 * operation of the module either succeeds or fails with -ENOMEM: compress,
 * read and write faults on compressed chunks, touch, compress with LRU
 * eviction under a small cap, defrag, the pool layout (as many blocks as a
 * call may ask), stats, region alloc and mmap, a copy of a region,
 * opening and configuring an arena, region free (never fails), a netlink
 * dump and the events sent meanwhile.  Once injection stops, every
 * byte of every chunk reads back as written; closing everything brings the
 * module-wide gauges back to zero.
 *
 * The operations run in a forked child that arms itself: a fault that gets
 * VM_FAULT_OOM is retried or kills the task, so a child killed by SIGKILL or
 * SIGBUS counts as an injected fault outcome, not as a failure.  Each
 * probability runs MAX_ROUNDS children or MA_INJECT_SECONDS (default 10).
 *
 * A second test fails each allocation point of each operation exactly once
 * (/proc/thread-self/fail-nth), checking the data after every one.
 * The kernel needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
 * CONFIG_FAULT_INJECTION_DEBUG_FS; without them the tests skip.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "helpers.h"
#include "kselftest_harness.h"
#include "ma_harness.h"
#include "fault_inject.h"

#define CS		4096UL
#define NR_A		128		/* mixed data, no cap */
#define NR_B		192		/* text, under CAP_B: compress evicts */
#define CAP_B		(128 * KiB)
#define NR_NEW		16		/* chunks of a region made under injection */
#define MAX_ROUNDS	12

enum {
	OP_COMPRESS, OP_TOUCH, OP_EVICT, OP_DEFRAG, OP_LAYOUT, OP_STATS,
	OP_REGION_ALLOC, OP_MMAP, OP_REGION_FREE, OP_OPEN, OP_CONFIG,
	OP_NETLINK, OP_COPY, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"compress", "touch", "compress+evict", "defrag", "pool_layout",
	"get_stats", "region_alloc", "mmap", "region_free", "open",
	"set_config", "netlink_dump", "copy",
};

struct op_count {
	unsigned long ok, enomem, bad;
	int bad_err;			/* the first unexpected result */
};

/* Written by the children: a MAP_SHARED page. */
struct results {
	struct op_count op[NR_OPS];
	unsigned long reads;		/* chunks read under injection */
	unsigned long mismatches;	/* ... that read back wrong */
	long first_mismatch;		/* chunk; B's chunks after A's, -1 new */
	unsigned long nl_arenas;	/* arenas seen in complete dumps */
};

/* Arena A: text, half random, zero, same-filled, incompressible. */
static void fill_a(char *p, unsigned int i)
{
	switch (i % 5) {
	case 0:
		ma_fill_text(p, CS, i);
		break;
	case 1:
		ma_fill_half(p, CS, i);
		break;
	case 2:
		memset(p, 0, CS);
		break;
	case 3:
		memset(p, 0x5a, CS);
		break;
	default:
		ma_fill_random(p, CS, i);
		break;
	}
}

static void fill_b(char *p, unsigned int i)
{
	ma_fill_text(p, CS, 1000 + i);
}

/* ---- generic netlink, by hand (no allocation of our own) ---- */

#define for_each_nla(a, start, rem)					\
	for (a = (struct nlattr *)(start);				\
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem; \
	     rem -= NLA_ALIGN(a->nla_len),				\
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

static void *nla_data(struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

/* Family id of mem_arena and the id of its events group; 0 or -errno. */
static int nl_resolve(int *family, int *group)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
		struct nlattr a;
		char name[NLA_ALIGN(sizeof(MEM_ARENA_GENL_NAME))];
	} req = {
		.n = { .nlmsg_len = sizeof(req), .nlmsg_type = GENL_ID_CTRL,
		       .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.g = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 },
		.a = { .nla_len = NLA_HDRLEN + sizeof(MEM_ARENA_GENL_NAME),
		       .nla_type = CTRL_ATTR_FAMILY_NAME },
		.name = MEM_ARENA_GENL_NAME,
	};
	char buf[8192] __attribute__((aligned(4)));
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct nlattr *a, *g, *x;
	int s, n, rem, grem, xrem;

	*family = *group = 0;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s < 0)
		return -errno;
	n = send(s, &req, sizeof(req), 0) < 0 ? -1 : recv(s, buf, sizeof(buf), 0);
	if (n < 0) {
		n = -errno;
		close(s);
		return n;
	}
	close(s);
	if (!NLMSG_OK(nh, n) || nh->nlmsg_type != GENL_ID_CTRL)
		return -ENOENT;
	rem = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for_each_nla(a, (char *)NLMSG_DATA(nh) + GENL_HDRLEN, rem) {
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			*family = *(__u16 *)nla_data(a);
		if ((a->nla_type & NLA_TYPE_MASK) != CTRL_ATTR_MCAST_GROUPS)
			continue;
		grem = a->nla_len - NLA_HDRLEN;
		for_each_nla(g, nla_data(a), grem) {
			const char *gname = NULL;
			int gid = 0;

			xrem = g->nla_len - NLA_HDRLEN;
			for_each_nla(x, nla_data(g), xrem) {
				if (x->nla_type == CTRL_ATTR_MCAST_GRP_NAME)
					gname = nla_data(x);
				if (x->nla_type == CTRL_ATTR_MCAST_GRP_ID)
					gid = *(__u32 *)nla_data(x);
			}
			if (gname && !strcmp(gname, MEM_ARENA_GENL_MCGRP_EVENTS))
				*group = gid;
		}
	}
	return *family ? 0 : -ENOENT;
}

/*
 * A socket subscribed to the events group, or -1.  Bound: an unbound
 * socket has port id 0, the kernel's own, and multicasts skip it.
 */
static int nl_events_open(int group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       NETLINK_GENERIC);

	if (s >= 0 && (bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
		       setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				  &group, sizeof(group)))) {
		close(s);
		s = -1;
	}
	return s;
}

static unsigned long nl_drain(int s)
{
	char buf[8192];
	unsigned long n = 0;

	while (s >= 0 && recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* One ARENA_GET message: the right command, an id and a stats nest. */
static int nl_arena_msg_ok(struct nlmsghdr *nh)
{
	struct genlmsghdr *gh = NLMSG_DATA(nh);
	int rem = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), id = 0, stats = 0;
	struct nlattr *a;

	if (nh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN) ||
	    gh->cmd != MEM_ARENA_NL_CMD_ARENA_GET)
		return 0;
	for_each_nla(a, (char *)gh + GENL_HDRLEN, rem) {
		id |= a->nla_type == MEM_ARENA_A_ARENA_ID &&
		      a->nla_len == NLA_HDRLEN + sizeof(__u32);
		stats |= (a->nla_type & NLA_TYPE_MASK) == MEM_ARENA_A_STATS;
	}
	return id && stats;
}

/*
 * Dump every arena.  0 when the dump completed (*arenas messages), or the
 * error it ended with: -EAGAIN when it stalled (the receive timed out).
 * socket() says ENFILE when it cannot allocate the socket's inode.
 */
static int nl_dump(int family, unsigned long *arenas)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
	} req = {
		.n = { .nlmsg_len = sizeof(req), .nlmsg_type = family,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 2 },
		.g = { .cmd = MEM_ARENA_NL_CMD_ARENA_GET,
		       .version = MEM_ARENA_GENL_VERSION },
	};
	struct timeval tv = { .tv_sec = 1 };
	char buf[16384] __attribute__((aligned(4)));
	struct nlmsghdr *nh;
	int s, n, err = 0;

	*arenas = 0;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(s, &req, sizeof(req), 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0) {
			err = errno == EWOULDBLOCK ? -EAGAIN : -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				err = *(int *)NLMSG_DATA(nh);
				goto out;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			if (nh->nlmsg_type != family || !nl_arena_msg_ok(nh)) {
				err = -EBADMSG;
				goto out;
			}
			(*arenas)++;
		}
	}
out:
	close(s);
	return err;
}

/* ---- what a child does with injection armed ---- */

struct ctx {
	int fd_a, fd_b, nl_family;
	__u32 id_a, id_b;
	char *a, *b;
	struct results *r;
	uint64_t sum_a[NR_A], sum_b[NR_B];
};

static void count(struct results *r, int op, int err)
{
	struct op_count *c = &r->op[op];

	if (!err)
		c->ok++;
	else if (err == -ENOMEM)
		c->enomem++;
	else if (!c->bad++)
		c->bad_err = err;
}

static void mismatch(struct results *r, long chunk)
{
	if (!r->mismatches++)
		r->first_mismatch = chunk;
}

/* Read faults (plain reads of compressed chunks): every @step-th chunk. */
static void read_chunks(struct results *r, const char *base,
			const uint64_t *sums, unsigned int nr,
			unsigned int step, long tag)
{
	unsigned int i;

	for (i = 0; i < nr; i += step) {
		r->reads++;
		if (ma_fnv1a(base + i * CS, CS) != sums[i])
			mismatch(r, tag + i);
	}
}

/* Write faults that change nothing: one byte written back as it was. */
static void rewrite_chunks(char *base, unsigned int nr, unsigned int step)
{
	unsigned int i;

	for (i = 0; i < nr; i += step) {
		volatile char *q = base + i * CS + 123;

		*q = *q;
	}
}

static int defrag(int fd)
{
	struct mem_arena_cmd_defrag d = { .size = sizeof(d) };

	return ma_ioc(fd, MEM_ARENA_IOC_DEFRAG, &d);
}

/*
 * As many blocks as a call may ask: the module's buffer is a vmalloc.
 * Ours is written before arming (child_main()), as the stack is.
 */
static struct mem_arena_block_info layout_blocks[MEM_ARENA_LAYOUT_MAX_BLOCKS];

static int pool_layout(int fd)
{
	struct mem_arena_cmd_pool_layout l = {
		.size = sizeof(l), .max_blocks = MEM_ARENA_LAYOUT_MAX_BLOCKS,
		.entry_size = sizeof(layout_blocks[0]),
		.blocks_ptr = (uintptr_t)layout_blocks,
	};

	return ma_ioc(fd, MEM_ARENA_IOC_POOL_LAYOUT, &l);
}

/* A region of @len bytes in @a, counted: 0 or the error. */
static int region_alloc(struct results *r, int fd, size_t len,
			struct mem_arena_cmd_region_alloc *a)
{
	int err;

	*a = (struct mem_arena_cmd_region_alloc){ .size = sizeof(*a), .length = len };
	err = ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, a);
	count(r, OP_REGION_ALLOC, err);
	return err;
}

static void region_free(struct results *r, int fd, __u32 id)
{
	struct mem_arena_cmd_region_free f = { .size = sizeof(f), .id = id };

	count(r, OP_REGION_FREE, ma_ioc(fd, MEM_ARENA_IOC_REGION_FREE, &f));
}

/* COPY region @id (@len bytes, @sum) into a new one: it reads the same. */
static void copy_region(struct results *r, int fd, __u32 id, size_t len,
			uint64_t sum)
{
	struct mem_arena_cmd_region_alloc a;
	struct mem_arena_cmd_copy c = {
		.size = sizeof(c), .src_fd = fd, .src_id = id, .length = len,
	};
	char *p;
	int err;

	if (region_alloc(r, fd, len, &a))
		return;
	c.id = a.id;
	err = ma_ioc(fd, MEM_ARENA_IOC_COPY, &c);
	count(r, OP_COPY, err);
	p = err ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, a.mmap_offset);
	if (!err)
		count(r, OP_MMAP, p == MAP_FAILED ? -errno : 0);
	if (p != MAP_FAILED) {
		r->reads++;
		if (ma_fnv1a(p, len) != sum)
			mismatch(r, -1);
		munmap(p, len);
	}
	region_free(r, fd, a.id);
}

/*
 * A fresh region: alloc, map, fill, compress, read back, free; @copy: and
 * copy it first (in an arena without a cap, where it cannot be -ENOSPC).
 */
static void new_region(struct results *r, int fd, size_t cs, bool copy)
{
	struct mem_arena_cmd_region_alloc a;
	uint64_t sum;
	unsigned int i;
	char *p;

	if (region_alloc(r, fd, NR_NEW * cs, &a))
		return;
	p = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	count(r, OP_MMAP, p == MAP_FAILED ? -errno : 0);
	if (p != MAP_FAILED) {
		for (i = 0; i < NR_NEW; i++)
			ma_fill_text(p + i * cs, cs, 7000 + i);
		sum = ma_fnv1a(p, a.length);
		count(r, OP_COMPRESS, ma_range(fd, MEM_ARENA_IOC_COMPRESS, a.id,
					       0, a.length, NULL));
		r->reads++;
		if (ma_fnv1a(p, a.length) != sum)
			mismatch(r, -1);
		if (copy)
			copy_region(r, fd, a.id, a.length, sum);
		munmap(p, a.length);
	}
	region_free(r, fd, a.id);
}

/* A fresh arena of 16 KiB chunks under a one-block cap. */
static void new_arena(struct results *r)
{
	int fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);

	count(r, OP_OPEN, fd < 0 ? -errno : 0);
	if (fd < 0)
		return;
	count(r, OP_CONFIG, ma_set_config(fd, 16 * KiB, 0, 64 * KiB));
	new_region(r, fd, 16 * KiB, false);
	close(fd);
}

static void __attribute__((noinline)) child_ops(struct ctx *c)
{
	struct results *r = c->r;
	struct mem_arena_stats s;
	unsigned long arenas;
	unsigned int i;
	int err;

	count(r, OP_COMPRESS, ma_range(c->fd_a, MEM_ARENA_IOC_COMPRESS, c->id_a,
				       0, NR_A * CS, NULL));
	read_chunks(r, c->a, c->sum_a, NR_A, 1, 0);
	count(r, OP_COMPRESS, ma_range(c->fd_a, MEM_ARENA_IOC_COMPRESS, c->id_a,
				       0, NR_A * CS, NULL));
	rewrite_chunks(c->a, NR_A, 4);
	for (i = 0; i < NR_A; i += 8)
		count(r, OP_TOUCH, ma_range(c->fd_a, MEM_ARENA_IOC_TOUCH, c->id_a,
					    i * CS, 8 * CS, NULL));

	count(r, OP_EVICT, ma_range(c->fd_b, MEM_ARENA_IOC_COMPRESS, c->id_b,
				    0, NR_B * CS, NULL));
	read_chunks(r, c->b, c->sum_b, NR_B, 3, NR_A);
	count(r, OP_EVICT, ma_range(c->fd_b, MEM_ARENA_IOC_COMPRESS, c->id_b,
				    0, NR_B * CS, NULL));
	rewrite_chunks(c->b, NR_B, 5);

	count(r, OP_DEFRAG, defrag(c->fd_a));
	count(r, OP_DEFRAG, defrag(c->fd_b));
	count(r, OP_LAYOUT, pool_layout(c->fd_b));
	count(r, OP_STATS, ma_stats(c->fd_b, &s));
	new_region(r, c->fd_a, CS, true);
	new_arena(r);

	if (c->nl_family > 0) {
		err = nl_dump(c->nl_family, &arenas);
		if (!err && arenas < 2)
			err = -ENODATA;		/* A and B at least */
		if (!err)
			r->nl_arenas += arenas;
		/* Out of memory, as the netlink core says it. */
		if (err == -ENOBUFS || err == -EAGAIN || err == -ENFILE)
			err = -ENOMEM;
		count(r, OP_NETLINK, err);
	}
}

/* The child: arm, run, disarm.  Exit 3 when it could not arm. */
static void __attribute__((noreturn)) child_main(struct ctx *c)
{
	int fd = fi_open();

	fi_prefault_stack();	/* child_ops() is not inlined */
	memset(layout_blocks, 0, sizeof(layout_blocks));
	if (fd < 0 || fi_set(fd, 1))
		_exit(3);
	child_ops(c);
	fi_set(fd, 0);
	_exit(0);
}

/* ---- the test ---- */

static const char *const gauges[] = {
	"arenas", "pool_bytes", "raw_bytes", "logical_input_bytes",
	"compressed_bytes_live", "slot_bytes_live", "zero_chunks", "pool_blocks",
};
#define NR_GAUGES ARRAY_SIZE(gauges)

/* The first module-wide gauge not back to zero, or NULL. */
static const char *gauge_not_zero(long long *v)
{
	unsigned int i;

	for (i = 0; i < NR_GAUGES; i++) {
		*v = ma_sysfs_read(gauges[i]);
		if (*v)
			return gauges[i];
	}
	return NULL;
}

FIXTURE(inject) {
	int saved, events;
	struct ctx c;
	long free0, slab0;
};

FIXTURE_VARIANT(inject) {
	unsigned int pct;
};

FIXTURE_VARIANT_ADD(inject, p1) { .pct = 1 };
FIXTURE_VARIANT_ADD(inject, p10) { .pct = 10 };
FIXTURE_VARIANT_ADD(inject, p50) { .pct = 50 };

FIXTURE_SETUP(inject)
{
	const char *why;

	self->c.fd_a = self->c.fd_b = self->events = -1;
	if (access(MEM_ARENA_DEVICE, R_OK | W_OK))
		MA_SETUP_SKIP("module not loaded");
	why = fi_available();
	if (why)
		MA_SETUP_SKIP("%s", why);
	fi_save();
	self->saved = 1;
	self->free0 = ma_proc_kb("/proc/meminfo", "MemFree");
	self->slab0 = ma_proc_kb("/proc/meminfo", "Slab");
	self->c.r = mmap(NULL, sizeof(struct results), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->c.r);
}

FIXTURE_TEARDOWN(inject)
{
	if (self->saved)
		fi_restore();
	if (self->events >= 0)
		close(self->events);
	if (self->c.fd_a >= 0)
		close(self->c.fd_a);
	if (self->c.fd_b >= 0)
		close(self->c.fd_b);
}

/* Arena A (mixed, uncapped) and B (text, capped), filled; their sums. */
static int make_arenas(struct ctx *c)
{
	unsigned int i;

	c->fd_a = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	c->fd_b = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (c->fd_a < 0 || c->fd_b < 0 || ma_set_config(c->fd_b, CS, 0, CAP_B))
		return -1;
	c->a = ma_region_map(c->fd_a, NR_A * CS, &c->id_a);
	c->b = ma_region_map(c->fd_b, NR_B * CS, &c->id_b);
	if (!c->a || !c->b)
		return -1;
	for (i = 0; i < NR_A; i++) {
		fill_a(c->a + i * CS, i);
		c->sum_a[i] = ma_fnv1a(c->a + i * CS, CS);
	}
	for (i = 0; i < NR_B; i++) {
		fill_b(c->b + i * CS, i);
		c->sum_b[i] = ma_fnv1a(c->b + i * CS, CS);
	}
	return 0;
}

/* Injection off: every byte as written?  Returns the first bad chunk or -1. */
static long verify_all(struct ctx *c)
{
	char want[CS];
	unsigned int i;

	for (i = 0; i < NR_A; i++) {
		fill_a(want, i);
		if (memcmp(c->a + i * CS, want, CS))
			return i;
	}
	for (i = 0; i < NR_B; i++) {
		fill_b(want, i);
		if (memcmp(c->b + i * CS, want, CS))
			return NR_A + i;
	}
	return -1;
}

static int stats_sane(int fd, __u64 cap)
{
	struct mem_arena_stats s;

	return !ma_stats(fd, &s) && !s.decompress_errors &&
	       s.compressed_bytes_live <= s.slot_bytes_live &&
	       s.slot_bytes_live <= s.pool_bytes &&
	       (!cap || s.pool_bytes <= cap);
}

TEST_F_TIMEOUT(inject, every_op_succeeds_or_enomem, 300)
{
	const char *env = getenv("MA_INJECT_SECONDS");
	double deadline = ma_now_s() + (env ? atoi(env) : 10);
	unsigned long killed = 0, events = 0, enomem = 0;
	long long af0, af1, left_slab, left_page, v;
	const char *g;
	struct results *r = self->c.r;
	struct ctx *c = &self->c;
	int family, group, status, round, sig_other = 0;
	long bad_chunk = -1;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, make_arenas(c));
	if (!nl_resolve(&family, &group)) {
		c->nl_family = family;
		self->events = group ? nl_events_open(group) : -1;
	}
	af0 = ma_sysfs_read("alloc_failures");
	ASSERT_EQ(0, fi_configure(variant->pct));

	for (round = 0; round < MAX_ROUNDS && (round < 2 || ma_now_s() < deadline); round++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			child_main(c);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL ||
					    WTERMSIG(status) == SIGBUS))
			killed++;
		else if (WIFSIGNALED(status))
			sig_other = WTERMSIG(status);
		else
			ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child could not arm");
		events += nl_drain(self->events);
		bad_chunk = verify_all(c);
		if (bad_chunk >= 0 || sig_other)
			break;
		EXPECT_TRUE(stats_sane(c->fd_a, 0));
		EXPECT_TRUE(stats_sane(c->fd_b, CAP_B));
	}
	fi_write(FAILSLAB, "probability", "0");
	fi_write(FAILPAGE, "probability", "0");
	left_slab = fi_read(FAILSLAB, "times");
	left_page = fi_read(FAILPAGE, "times");
	af1 = ma_sysfs_read("alloc_failures");

	for (i = 0; i < NR_OPS; i++) {
		struct op_count *o = &r->op[i];

		enomem += o->enomem;
		TH_LOG("%-15s %6lu ok %6lu -ENOMEM %3lu other (first %d)",
		       op_names[i], o->ok, o->enomem, o->bad, o->bad_err);
	}
	TH_LOG("%d%%: %d rounds; injected %lld slab + %lld page failures; %lu -ENOMEM seen; module alloc_failures +%lld; %lu children killed; %lu chunk reads; %lu events",
	       variant->pct, round, TIMES - left_slab, TIMES - left_page,
	       enomem, af1 - af0, killed, r->reads, events);

	EXPECT_EQ(0, sig_other) TH_LOG("child died of signal %d", sig_other);
	EXPECT_EQ(-1, bad_chunk) TH_LOG("chunk %ld differs after injection", bad_chunk);
	EXPECT_EQ(0, r->mismatches) TH_LOG("chunk %ld read wrong under injection",
					   r->first_mismatch);
	for (i = 0; i < NR_OPS && !r->op[i].bad; i++)
		;
	EXPECT_EQ(NR_OPS, i) TH_LOG("%s returned %d", op_names[i % NR_OPS],
				    r->op[i % NR_OPS].bad_err);
	EXPECT_EQ(0, r->op[OP_REGION_FREE].enomem);
	EXPECT_LT(0, r->op[OP_COMPRESS].ok + r->op[OP_COMPRESS].enomem);
	if (variant->pct >= 10)
		EXPECT_LT(0, TIMES - left_slab + TIMES - left_page);

	/* Everything closed: the module-wide gauges are back to zero. */
	munmap(c->a, NR_A * CS);
	munmap(c->b, NR_B * CS);
	close(c->fd_a);
	close(c->fd_b);
	c->fd_a = c->fd_b = -1;
	g = gauge_not_zero(&v);
	EXPECT_EQ(NULL, g) TH_LOG("module-wide %s is %lld", g, v);
	TH_LOG("MemFree %ld -> %ld kB, Slab %ld -> %ld kB", self->free0,
	       ma_proc_kb("/proc/meminfo", "MemFree"), self->slab0,
	       ma_proc_kb("/proc/meminfo", "Slab"));
}

/*
 * ---- every failure point of an operation, one at a time ----
 *
 * /proc/thread-self/fail-nth = n fails the n-th allocation this task makes
 * (slab or page, with the filters above); read back, it is still non-zero
 * when the operation made fewer.  For each operation, n = 1, 2, ... until
 * then: each failure point fails once, in this process, and after each the
 * data of both arenas is checked.
 */
enum {
	NTH_COMPRESS, NTH_FAULT, NTH_TOUCH, NTH_EVICT, NTH_DEFRAG, NTH_REGION,
	NTH_OPEN, NTH_NETLINK, NR_NTH
};

static const char *const nth_names[NR_NTH] = {
	"compress", "read fault", "touch", "compress+evict", "defrag",
	"region alloc/map/free", "open/config/alloc", "netlink dump",
};

#define X_CS		(16 * KiB)	/* arena X: 16 KiB chunks, no cap */
#define X_NR		16
#define Y_NR		48		/* arena Y: 4 KiB chunks, one block */
#define Y_CAP		(64 * KiB)
#define MAX_NTH		3000

struct nth {
	int fd_x, fd_y, family, nth_fd;
	__u32 id_x, id_y;
	char *x, *y;
	uint64_t sum_x0;
};

static void fill_x(char *p, unsigned int i)
{
	ma_fill_text(p, X_CS, 3000 + i);
}

static void fill_y(char *p, unsigned int i)
{
	ma_fill_text(p, CS, 5000 + i);
}

static int nth_set(struct nth *t, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(t->nth_fd, buf, len, 0) == len ? 0 : -errno;
}

static long nth_left(struct nth *t)
{
	char buf[16] = "";

	return pread(t->nth_fd, buf, sizeof(buf) - 1, 0) > 0 ? atol(buf) : -1;
}

/* Put the arenas where @op starts from; injection off. */
static int nth_prepare(struct nth *t, int op)
{
	unsigned int i;
	int err;

	switch (op) {
	case NTH_COMPRESS:	/* all raw, the pool empty */
		return ma_range(t->fd_x, MEM_ARENA_IOC_TOUCH, t->id_x, 0,
				X_NR * X_CS, NULL);
	case NTH_FAULT:
	case NTH_TOUCH:		/* chunk 0 compressed */
		return ma_range(t->fd_x, MEM_ARENA_IOC_COMPRESS, t->id_x, 0,
				X_CS, NULL);
	case NTH_EVICT:		/* half compressed: the pool at its cap */
		err = ma_range(t->fd_y, MEM_ARENA_IOC_TOUCH, t->id_y, 0,
			       Y_NR * CS, NULL);
		return err ?: ma_range(t->fd_y, MEM_ARENA_IOC_COMPRESS, t->id_y,
				       0, Y_NR / 2 * CS, NULL);
	case NTH_DEFRAG:	/* every other slot freed */
		err = ma_range(t->fd_x, MEM_ARENA_IOC_TOUCH, t->id_x, 0,
			       X_NR * X_CS, NULL);
		err = err ?: ma_range(t->fd_x, MEM_ARENA_IOC_COMPRESS, t->id_x,
				      0, X_NR * X_CS, NULL);
		for (i = 0; !err && i < X_NR; i += 2)
			err = ma_range(t->fd_x, MEM_ARENA_IOC_TOUCH, t->id_x,
				       i * X_CS, X_CS, NULL);
		return err;
	}
	return 0;
}

/*
 * munmap() itself may fail under injection (it can need maple tree nodes):
 * a mapping left so is unmapped once injection is off, else it would keep
 * its arena alive.
 */
static struct {
	void *p;
	size_t len;
	unsigned int count;
} nth_unmap;

static void nth_munmap(void *p, size_t len)
{
	if (munmap(p, len)) {
		nth_unmap.p = p;
		nth_unmap.len = len;
	}
}

static void nth_unmap_left(void)
{
	if (nth_unmap.p) {
		munmap(nth_unmap.p, nth_unmap.len);
		nth_unmap.p = NULL;
		nth_unmap.count++;
	}
}

/* A region: alloc, map, a write fault, unmap, free (which must work). */
static int nth_region(int fd, size_t cs)
{
	struct mem_arena_cmd_region_alloc a = { .size = sizeof(a), .length = 4 * cs };
	struct mem_arena_cmd_region_free f = { .size = sizeof(f) };
	int err = ma_ioc(fd, MEM_ARENA_IOC_REGION_ALLOC, &a);
	char *p;

	if (err)
		return err;
	p = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	if (p == MAP_FAILED) {
		err = -errno;
	} else {
		p[cs + 5] = 1;
		nth_munmap(p, a.length);
	}
	f.id = a.id;
	if (ma_ioc(fd, MEM_ARENA_IOC_REGION_FREE, &f))
		return -EBADE;		/* never acceptable */
	return err;
}

static int nth_open(void)
{
	int fd = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = ma_set_config(fd, X_CS, 0, Y_CAP);
	err = err ?: nth_region(fd, X_CS);
	close(fd);
	return err;
}

static int nth_run(struct nth *t, int op)
{
	unsigned long arenas;
	int err;

	switch (op) {
	case NTH_COMPRESS:
		return ma_range(t->fd_x, MEM_ARENA_IOC_COMPRESS, t->id_x, 0,
				X_NR * X_CS, NULL);
	case NTH_FAULT:
		return ma_fnv1a(t->x, X_CS) == t->sum_x0 ? 0 : -EIO;
	case NTH_TOUCH:
		return ma_range(t->fd_x, MEM_ARENA_IOC_TOUCH, t->id_x, 0, X_CS, NULL);
	case NTH_EVICT:
		return ma_range(t->fd_y, MEM_ARENA_IOC_COMPRESS, t->id_y,
				Y_NR / 2 * CS, Y_NR / 2 * CS, NULL);
	case NTH_DEFRAG:
		return defrag(t->fd_x);
	case NTH_REGION:
		return nth_region(t->fd_x, X_CS);
	case NTH_OPEN:
		return nth_open();
	default:
		err = nl_dump(t->family, &arenas);
		if (err == -ENOBUFS || err == -EAGAIN || err == -ENFILE)
			err = -ENOMEM;
		return !err && arenas < 2 ? -ENODATA : err;
	}
}

/* Injection off: the first chunk of X or Y (after X's) that differs, or -1. */
static long nth_verify(struct nth *t)
{
	static char want[X_CS];
	unsigned int i;

	for (i = 0; i < X_NR; i++) {
		fill_x(want, i);
		if (memcmp(t->x + i * X_CS, want, X_CS))
			return i;
	}
	for (i = 0; i < Y_NR; i++) {
		fill_y(want, i);
		if (memcmp(t->y + i * CS, want, CS))
			return X_NR + i;
	}
	return -1;
}

static int nth_make_arenas(struct nth *t)
{
	unsigned int i;
	int group;

	t->fd_x = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	t->fd_y = open(MEM_ARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (t->fd_x < 0 || t->fd_y < 0 || ma_set_config(t->fd_x, X_CS, 0, 0) ||
	    ma_set_config(t->fd_y, CS, 0, Y_CAP))
		return -1;
	t->x = ma_region_map(t->fd_x, X_NR * X_CS, &t->id_x);
	t->y = ma_region_map(t->fd_y, Y_NR * CS, &t->id_y);
	if (!t->x || !t->y)
		return -1;
	for (i = 0; i < X_NR; i++)
		fill_x(t->x + i * X_CS, i);
	for (i = 0; i < Y_NR; i++)
		fill_y(t->y + i * CS, i);
	t->sum_x0 = ma_fnv1a(t->x, X_CS);
	if (nl_resolve(&t->family, &group))
		t->family = 0;
	return 0;
}

FIXTURE(nth) {
	int saved;
	struct nth t;
};

FIXTURE_SETUP(nth)
{
	const char *why;

	self->t.fd_x = self->t.fd_y = self->t.nth_fd = -1;
	if (access(MEM_ARENA_DEVICE, R_OK | W_OK))
		MA_SETUP_SKIP("module not loaded");
	why = fi_available();
	if (why)
		MA_SETUP_SKIP("%s", why);
	if (access("/proc/self/fail-nth", W_OK))
		MA_SETUP_SKIP("kernel without fail-nth");
	fi_save();
	self->saved = 1;
}

FIXTURE_TEARDOWN(nth)
{
	if (self->t.nth_fd >= 0) {
		nth_set(&self->t, 0);
		close(self->t.nth_fd);
	}
	if (self->saved)
		fi_restore();
	if (self->t.fd_x >= 0)
		close(self->t.fd_x);
	if (self->t.fd_y >= 0)
		close(self->t.fd_y);
}

TEST_F_TIMEOUT(nth, every_failure_point_fails_once, 600)
{
	unsigned int n, op, points, enomem, survived, bad = 0, total = 0;
	unsigned int hidden = 0;
	struct mem_arena_stats s0, s1;
	int err, bad_err = 0, bad_op = 0;
	struct nth *t = &self->t;
	long bad_chunk = -1, left;
	long long v;
	const char *g;

	ASSERT_EQ(0, nth_make_arenas(t));
	/* Probability 0: only fail-nth fails, with the filters opened. */
	ASSERT_EQ(0, fi_configure(0));
	t->nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, t->nth_fd);

	for (op = 0; op < NR_NTH && bad_chunk < 0; op++) {
		if (op == NTH_NETLINK && !t->family)
			continue;
		enomem = survived = 0;
		for (n = 1; n <= MAX_NTH; n++) {
			ASSERT_EQ(0, nth_prepare(t, op)) TH_LOG("%s", nth_names[op]);
			ASSERT_EQ(0, ma_stats(t->fd_y, &s0));
			ASSERT_EQ(0, nth_set(t, n));
			err = nth_run(t, op);
			left = nth_left(t);
			ASSERT_EQ(0, nth_set(t, 0));
			/*
			 * One thread, victims always on the LRU: a chunk that
			 * stayed raw in arena Y did so because an eviction had
			 * no memory, which must say -ENOMEM, not count as a
			 * cap reject.
			 */
			ASSERT_EQ(0, ma_stats(t->fd_y, &s1));
			if (op == NTH_EVICT && s1.cap_rejects != s0.cap_rejects)
				hidden++;
			nth_unmap_left();
			if (err == -ENOMEM)
				enomem++;
			else if (err && !bad++)
				bad_err = err, bad_op = op;
			else if (!err && !left)
				survived++;
			bad_chunk = nth_verify(t);
			if (bad_chunk >= 0 || left)
				break;
		}
		points = n - 1;
		total += points;
		TH_LOG("%-22s %4u failure points: %4u -ENOMEM, %4u completed anyway",
		       nth_names[op], points, enomem, survived);
		EXPECT_GT(MAX_NTH, n) TH_LOG("%s: no end to its allocations", nth_names[op]);
		EXPECT_EQ(-1, bad_chunk) TH_LOG("%s, allocation %u failed: chunk %ld differs",
						nth_names[op], n, bad_chunk);
	}
	EXPECT_EQ(0, bad) TH_LOG("%u unexpected results, the first: %s returned %d",
				 bad, nth_names[bad_op], bad_err);
	EXPECT_EQ(0, hidden) TH_LOG("%u evictions without memory counted as cap rejects",
				    hidden);
	EXPECT_LT(0, total);
	TH_LOG("%u failure points in all; munmap() failed %u times", total,
	       nth_unmap.count);
	EXPECT_TRUE(stats_sane(t->fd_x, 0));
	EXPECT_TRUE(stats_sane(t->fd_y, Y_CAP));

	munmap(t->x, X_NR * X_CS);
	munmap(t->y, Y_NR * CS);
	close(t->fd_x);
	close(t->fd_y);
	t->fd_x = t->fd_y = -1;
	g = gauge_not_zero(&v);
	EXPECT_EQ(NULL, g) TH_LOG("module-wide %s is %lld", g, v);
}

TEST_HARNESS_MAIN
