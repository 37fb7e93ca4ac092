// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family: ARENA_GET (dump and do) equals what the
 * arena's owner reads with GET_STATS; GET_STATS equals sysfs; a caller
 * without CAP_SYS_ADMIN sees only its own arenas; a capped compress pass
 * sends exactly one EVICTION (with its count) and one CAP_REACHED;
 * malformed requests are rejected with an extack message.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "helpers.h"
#include "kselftest_harness.h"

#define CS 4096UL

struct nl_arena {
	__u32 id, pid;
	int has_stats;
	__u64 stats[MEM_ARENA_NR_STATS];
};

#define DUMP_MAX 1024

struct dump {
	struct nl_arena v[DUMP_MAX];
	int n;
};

static void parse_stats(struct nlattr *nest, __u64 *out, int *has)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) >= 1 && nla_type(a) <= MEM_ARENA_NR_STATS)
			out[nla_type(a) - 1] = nla_get_u64(a);
	}
	*has = 1;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MEM_ARENA_A_MAX + 1];
	struct dump *d = arg;
	struct nl_arena *x;

	if (nla_parse(tb, MEM_ARENA_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL) || d->n == DUMP_MAX)
		return NL_SKIP;
	x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	if (tb[MEM_ARENA_A_ARENA_ID])
		x->id = nla_get_u32(tb[MEM_ARENA_A_ARENA_ID]);
	if (tb[MEM_ARENA_A_PID])
		x->pid = nla_get_u32(tb[MEM_ARENA_A_PID]);
	if (tb[MEM_ARENA_A_STATS])
		parse_stats(tb[MEM_ARENA_A_STATS], x->stats, &x->has_stats);
	return NL_OK;
}

/* A request with no attributes (or one u32 ARENA_ID); 0 or -errno. */
static int nl_request(__u8 cmd, int flags, __s64 arena_id, struct dump *d)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg;
	int family, err;

	if (!sk || genl_connect(sk))
		return -ENOTCONN;
	family = genl_ctrl_resolve(sk, MEM_ARENA_GENL_NAME);
	if (family < 0) {
		nl_socket_free(sk);
		return -ENOENT;
	}
	d->n = 0;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, d);
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
		    MEM_ARENA_GENL_VERSION);
	if (arena_id >= 0)
		nla_put_u32(msg, MEM_ARENA_A_ARENA_ID, (__u32)arena_id);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	return err == -NLE_OBJ_NOTFOUND ? -ENOENT : err < 0 ? -EINVAL : 0;
}

static struct nl_arena *find_pid(struct dump *d, pid_t pid)
{
	int i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].pid == (__u32)pid)
			return &d->v[i];
	return NULL;
}

/* An arena of this process with some of everything in it. */
static int busy_arena(__u32 *id_out)
{
	__u32 id;
	char *p;
	int fd = open(MEM_ARENA_DEVICE, O_RDWR);
	unsigned int i;

	if (fd < 0)
		return -1;
	ma_set_config(fd, CS, 0, 256 * KiB);
	p = ma_region_map(fd, 256 * CS, &id);
	if (!p)
		return -1;
	for (i = 0; i < 256; i++)
		ma_fill_text(p + i * CS, CS, i);
	memset(p, 0, CS);
	ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, 0, 256 * CS, NULL);
	for (i = 1; i < 40; i += 3)
		(void)*(volatile char *)(p + i * CS);
	if (id_out)
		*id_out = id;
	return fd;
}

TEST(dump_and_do_equal_the_owners_stats)
{
	struct mem_arena_stats s;
	struct nl_arena *mine;
	struct dump *d = calloc(1, sizeof(*d));
	int fd = busy_arena(NULL);

	if (fd < 0)
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, nl_request(MEM_ARENA_NL_CMD_ARENA_GET, NLM_F_DUMP, -1, d));
	ASSERT_EQ(0, ma_stats(fd, &s));
	mine = find_pid(d, getpid());
	ASSERT_NE(NULL, mine);
	ASSERT_TRUE(mine->has_stats);
	EXPECT_EQ(0, memcmp(&s, mine->stats, sizeof(s)));
	EXPECT_LT(0, s.compress_ops);
	EXPECT_LT(0, s.evictions_lru);

	/* The same arena by id: exactly one message, the same figures. */
	ASSERT_EQ(0, nl_request(MEM_ARENA_NL_CMD_ARENA_GET, 0, mine->id, d));
	ASSERT_EQ(1, d->n);
	EXPECT_EQ(getpid(), (pid_t)d->v[0].pid);
	EXPECT_EQ(0, memcmp(&s, d->v[0].stats, sizeof(s)));
	EXPECT_EQ(-ENOENT, nl_request(MEM_ARENA_NL_CMD_ARENA_GET, 0, 0x7fffffff, d));
	close(fd);
	free(d);
}

TEST(get_stats_equals_sysfs)
{
	struct dump *d = calloc(1, sizeof(*d));
	char path[128];
	long long v;
	FILE *f;
	int i, fd = busy_arena(NULL);

	if (fd < 0)
		SKIP(return, "module not loaded");
	ASSERT_EQ(0, nl_request(MEM_ARENA_NL_CMD_GET_STATS, 0, -1, d));
	ASSERT_EQ(1, d->n);
	ASSERT_TRUE(d->v[0].has_stats);
	for (i = 0; i < MEM_ARENA_NR_STATS; i++) {
		static const char *names[] = {
#define NAME(n, id, u, doc) #n,
			MEM_ARENA_STATS(NAME)
#undef NAME
		};
		snprintf(path, sizeof(path), "/sys/kernel/mem_arena/%s", names[i]);
		f = fopen(path, "r");
		ASSERT_NE(NULL, f);
		ASSERT_EQ(1, fscanf(f, "%lld", &v));
		fclose(f);
		EXPECT_EQ(v, (long long)d->v[0].stats[i]) TH_LOG("%s", names[i]);
	}
	close(fd);
	free(d);
}

TEST(unprivileged_caller_sees_only_its_own)
{
	struct dump *d = calloc(1, sizeof(*d));
	int status, fd = busy_arena(NULL);
	pid_t child;

	if (fd < 0)
		SKIP(return, "module not loaded");
	if (getuid() != 0)
		SKIP(return, "needs root to become nobody");
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int mine;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		mine = busy_arena(NULL);	/* /dev/mem_arena is 0666 */
		if (mine < 0)
			_exit(11);
		if (nl_request(MEM_ARENA_NL_CMD_ARENA_GET, NLM_F_DUMP, -1, d))
			_exit(12);
		/* Exactly one arena, this child's, not root's. */
		_exit(d->n == 1 && d->v[0].pid == (__u32)getpid() ? 0 : 13);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Root (CAP_SYS_ADMIN) sees its own arena. */
	ASSERT_EQ(0, nl_request(MEM_ARENA_NL_CMD_ARENA_GET, NLM_F_DUMP, -1, d));
	EXPECT_NE(NULL, find_pid(d, getpid()));
	close(fd);
	free(d);
}

struct events {
	__u32 arena;
	int evictions, cap_reached;
	__u64 chunks, bytes;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MEM_ARENA_A_MAX + 1];
	struct events *e = arg;

	if (nla_parse(tb, MEM_ARENA_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL) || !tb[MEM_ARENA_A_ARENA_ID] ||
	    nla_get_u32(tb[MEM_ARENA_A_ARENA_ID]) != e->arena)
		return NL_SKIP;
	if (gh->cmd == MEM_ARENA_NL_EVENT_EVICTION) {
		e->evictions++;
		e->chunks = nla_get_u64(tb[MEM_ARENA_A_EVENT_CHUNKS]);
		e->bytes = nla_get_u64(tb[MEM_ARENA_A_EVENT_BYTES]);
	} else if (gh->cmd == MEM_ARENA_NL_EVENT_CAP_REACHED) {
		e->cap_reached++;
	}
	return NL_OK;
}

/* A non-blocking socket in the events group; NULL if it cannot join. */
static struct nl_sock *events_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp;

	if (!sk)
		return NULL;
	if (genl_connect(sk) ||
	    (grp = genl_ctrl_resolve_grp(sk, MEM_ARENA_GENL_NAME,
					 MEM_ARENA_GENL_MCGRP_EVENTS)) < 0 ||
	    nl_socket_add_membership(sk, grp) ||
	    nl_socket_set_buffer_size(sk, 1 << 20, 0)) {
		nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_set_nonblocking(sk);
	return sk;
}

/* The id of this process's arena (its only one), from a dump; 0 if none. */
static __u32 my_arena_id(void)
{
	struct dump *d = calloc(1, sizeof(*d));
	const struct nl_arena *a;
	__u32 id = 0;

	if (d && !nl_request(MEM_ARENA_NL_CMD_ARENA_GET, NLM_F_DUMP, -1, d) &&
	    (a = find_pid(d, getpid())))
		id = a->id;
	free(d);
	return id;
}

TEST(one_eviction_event_per_capped_pass)
{
	struct mem_arena_cmd_info info = { .size = sizeof(info) };
	struct nl_dump_params unused;
	struct mem_arena_stats s;
	struct events e = { 0 };
	struct nl_sock *sk;
	int fd, pass, err;
	__u64 evicted = 0;
	__u32 id;
	char *p;
	unsigned int i;

	(void)unused;
	(void)info;
	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	sk = events_socket();
	ASSERT_NE(NULL, sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &e);

	ASSERT_EQ(0, ma_set_config(fd, CS, 0, 256 * KiB));
	p = ma_region_map(fd, 1024 * CS, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 1024; i++)
		ma_fill_text(p + i * CS, CS, i);
	/* This arena's id: the one ARENA_CREATED named, via a dump by pid. */
	e.arena = my_arena_id();
	ASSERT_NE(0, e.arena);
	for (pass = 0; pass < 2; pass++) {
		memset(&s, 0, sizeof(s));
		ASSERT_EQ(0, ma_range(fd, MEM_ARENA_IOC_COMPRESS, id, pass * 512 * CS,
				      512 * CS, NULL));
		ASSERT_EQ(0, ma_stats(fd, &s));
		/* Sent before the ioctl returned: all queued on our socket. */
		e.evictions = e.cap_reached = 0;
		do {
			err = nl_recvmsgs_default(sk);
		} while (err >= 0);
		EXPECT_EQ(1, e.evictions) TH_LOG("pass %d", pass);
		EXPECT_EQ(1, e.cap_reached) TH_LOG("pass %d", pass);
		EXPECT_EQ(s.evictions_lru - evicted, e.chunks);
		EXPECT_EQ(e.chunks * CS, e.bytes);
		evicted = s.evictions_lru;
	}
	EXPECT_LT(0, evicted);
	nl_socket_free(sk);
	close(fd);
}

struct passer {
	int fd;
	__u32 id;
	__u64 off;
	int err;
};

/* Touch back, then compress, its own half, eight times. */
static void *passer(void *arg)
{
	struct passer *ps = arg;
	int i;

	for (i = 0; i < 8 && !ps->err; i++) {
		ps->err = ma_range(ps->fd, MEM_ARENA_IOC_TOUCH, ps->id, ps->off, 256 * CS, NULL);
		if (!ps->err)
			ps->err = ma_range(ps->fd, MEM_ARENA_IOC_COMPRESS, ps->id,
					   ps->off, 256 * CS, NULL);
	}
	return NULL;
}

/*
 * Two threads' passes on one arena at once: each event counts what its own
 * pass evicted, so the events add up to the arena's evictions exactly
 * (events inferred from the arena's counters around a pass count the
 * other thread's evictions too).
 */
TEST(concurrent_passes_events_add_up)
{
	struct mem_arena_stats s;
	struct events e = { 0 };
	struct passer ps[2];
	pthread_t t[2];
	struct nl_sock *sk;
	__u64 sum = 0;
	int fd, err, i;
	__u32 id;
	char *p;

	fd = open(MEM_ARENA_DEVICE, O_RDWR);
	if (fd < 0)
		SKIP(return, "module not loaded");
	sk = events_socket();
	ASSERT_NE(NULL, sk);

	ASSERT_EQ(0, ma_set_config(fd, CS, 0, 128 * KiB));
	p = ma_region_map(fd, 512 * CS, &id);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 512; i++)
		ma_fill_text(p + i * CS, CS, i);
	e.arena = my_arena_id();
	ASSERT_NE(0, e.arena);

	for (i = 0; i < 2; i++) {
		ps[i] = (struct passer){ .fd = fd, .id = id, .off = i * 256 * CS };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, passer, &ps[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, ps[i].err);
	}
	ASSERT_EQ(0, ma_stats(fd, &s));
	ASSERT_EQ(0, s.events_dropped) TH_LOG("rate limit hit: the sum is not comparable");

	/* Every event was queued before its ioctl returned; add them up. */
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &e);
	do {
		e.chunks = 0;
		err = nl_recvmsgs_default(sk);
		sum += e.chunks;
	} while (err >= 0);
	EXPECT_LT(0, s.evictions_lru);
	EXPECT_EQ(s.evictions_lru, sum);
	nl_socket_free(sk);
	munmap(p, 512 * CS);
	close(fd);
}

/* Send raw bytes to the family; returns the ack's -errno and its extack. */
static int raw_request(__u8 cmd, const void *attrs, size_t alen, char *why, size_t wlen)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr gh;
		char attrs[128];
	} req;
	char buf[4096];
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1, family, s, len, err = -EIO;
	struct nlmsghdr *nh;

	why[0] = 0;
	if (!sk || genl_connect(sk))
		return -ENOTCONN;
	family = genl_ctrl_resolve(sk, MEM_ARENA_GENL_NAME);
	nl_socket_free(sk);
	if (family < 0)
		return -ENOENT;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + alen);
	req.nh.nlmsg_type = family;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.gh.cmd = cmd;
	req.gh.version = MEM_ARENA_GENL_VERSION;
	memcpy(req.attrs, attrs, alen);
	if (send(s, &req, req.nh.nlmsg_len, 0) < 0)
		goto out;
	/* A reply (if any) comes first, then the ack. */
	for (;;) {
		len = recv(s, buf, sizeof(buf), 0);
		if (len <= 0)
			goto out;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct nlmsgerr *e = NLMSG_DATA(nh);
			struct nlattr *a;
			int rem;

			if (nh->nlmsg_type != NLMSG_ERROR)
				continue;
			err = e->error;
			if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
				goto out;
			a = (struct nlattr *)((char *)e + sizeof(*e));
			rem = nh->nlmsg_len - NLMSG_HDRLEN - sizeof(*e);
			for (; rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a);
			     rem -= NLA_ALIGN(a->nla_len),
			     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
				if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
					snprintf(why, wlen, "%s", (char *)(a + 1));
			}
			goto out;
		}
	}
out:
	close(s);
	return err;
}

static size_t attr(void *buf, __u16 type, const void *val, __u16 len)
{
	struct nlattr *a = buf;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, val, len);
	return NLA_ALIGN(a->nla_len);
}

TEST(malformed_requests_are_rejected_with_a_reason)
{
	char buf[128], why[256], big[64] = { 0 };
	__u32 u32 = 1;
	__u8 u8 = 1;
	__u64 u64 = 1;
	size_t n;

	if (access(MEM_ARENA_DEVICE, F_OK))
		SKIP(return, "module not loaded");
	/* Unknown attribute. */
	n = attr(buf, MEM_ARENA_A_MAX + 5, &u32, 4);
	EXPECT_EQ(-EINVAL, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, buf, n, why, sizeof(why)));
	EXPECT_NE(0, why[0]) TH_LOG("no extack for an unknown attribute");
	/* Wrong type: a u8 and a u64 where a u32 belongs. */
	n = attr(buf, MEM_ARENA_A_ARENA_ID, &u8, 1);
	EXPECT_GT(0, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, buf, n, why, sizeof(why)));
	EXPECT_NE(0, why[0]);
	n = attr(buf, MEM_ARENA_A_ARENA_ID, &u64, 8);
	EXPECT_GT(0, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, buf, n, why, sizeof(why)));
	EXPECT_NE(0, why[0]);
	/* Oversize. */
	n = attr(buf, MEM_ARENA_A_ARENA_ID, big, sizeof(big));
	EXPECT_GT(0, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, buf, n, why, sizeof(why)));
	EXPECT_NE(0, why[0]);
	/* A do without the arena id it needs. */
	EXPECT_EQ(-EINVAL, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "issing")) TH_LOG("extack: '%s'", why);
	/* No such arena: the reason names it. */
	n = attr(buf, MEM_ARENA_A_ARENA_ID, &u32, 4);
	u32 = 0x7ffffff0;
	n = attr(buf, MEM_ARENA_A_ARENA_ID, &u32, 4);
	EXPECT_EQ(-ENOENT, raw_request(MEM_ARENA_NL_CMD_ARENA_GET, buf, n, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "no such arena")) TH_LOG("extack: '%s'", why);
	/* Unknown command, and events are not requests. */
	EXPECT_EQ(-EOPNOTSUPP, raw_request(99, NULL, 0, why, sizeof(why)));
	EXPECT_EQ(-EOPNOTSUPP, raw_request(MEM_ARENA_NL_EVENT_EVICTION, NULL, 0, why, sizeof(why)));
	/* And the family still answers. */
	EXPECT_EQ(0, raw_request(MEM_ARENA_NL_CMD_GET_STATS, NULL, 0, why, sizeof(why)));
}

/*
 * Arenas opened concurrently are all in a dump that spans several
 * messages: the dump resumes after the last id it sent, so ids must
 * ascend along the module's list (they were taken before the list lock).
 */
#define OPENERS 8
#define OPENS_EACH 48

static pthread_barrier_t open_barrier;

static void *open_many(void *arg)
{
	int *fds = arg, i;

	pthread_barrier_wait(&open_barrier);
	for (i = 0; i < OPENS_EACH; i++)
		fds[i] = open(MEM_ARENA_DEVICE, O_RDWR);
	return NULL;
}

TEST(dump_sees_every_concurrently_opened_arena)
{
	static int fds[OPENERS][OPENS_EACH];
	static struct dump d;
	pthread_t th[OPENERS];
	int i, j, mine = 0, round;

	if (access(MEM_ARENA_DEVICE, F_OK))
		SKIP(return, "module not loaded");
	for (round = 0; round < 5; round++) {
		pthread_barrier_init(&open_barrier, NULL, OPENERS);
		for (i = 0; i < OPENERS; i++)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, open_many, fds[i]));
		for (i = 0; i < OPENERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&open_barrier);
		ASSERT_EQ(0, nl_request(MEM_ARENA_NL_CMD_ARENA_GET, NLM_F_DUMP, -1, &d));
		for (i = 0, mine = 0; i < d.n; i++) {
			mine += d.v[i].pid == (__u32)getpid();
			/* Ids ascend along the list, so resuming by id skips none. */
			if (i)
				EXPECT_LT(d.v[i - 1].id, d.v[i].id) TH_LOG("round %d", round);
		}
		for (i = 0; i < OPENERS; i++)
			for (j = 0; j < OPENS_EACH; j++) {
				ASSERT_LE(0, fds[i][j]);
				close(fds[i][j]);
			}
		ASSERT_EQ(OPENERS * OPENS_EACH, mine) TH_LOG("round %d", round);
	}
}

/* Events name other users' processes: joining needs CAP_NET_ADMIN. */
struct creations {
	pid_t pid;
	int n;
};

/* Counts the ARENA_CREATED events of arenas opened by @arg's pid. */
static int on_created(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MEM_ARENA_A_MAX + 1];
	struct creations *c = arg;

	if (gh->cmd == MEM_ARENA_NL_EVENT_ARENA_CREATED &&
	    !nla_parse(tb, MEM_ARENA_A_MAX, genlmsg_attrdata(gh, 0),
		       genlmsg_attrlen(gh, 0), NULL) && tb[MEM_ARENA_A_PID] &&
	    nla_get_u32(tb[MEM_ARENA_A_PID]) == (__u32)c[0].pid)
		c[0].n++;
	else if (gh->cmd == MEM_ARENA_NL_EVENT_ARENA_CREATED)
		c[1].n++;
	return NL_OK;
}

/* Everything queued on the events socket; -1 if some was lost. */
static int drain(struct nl_sock *sk)
{
	int err;

	do {
		err = nl_recvmsgs_default(sk);
	} while (err >= 0);
	return err == -NLE_AGAIN ? 0 : -1;
}

/*
 * The event rate limit is per user: nobody opening and closing arenas as
 * fast as it can, far past the limit, leaves root's events alone.  Root
 * opens an arena after each 100 of nobody's cycles (reported on a pipe),
 * hears every ARENA_CREATED of its own, and none of its arenas counts a
 * dropped event; of nobody's, fewer than it caused were sent.
 */
TEST(one_users_burst_leaves_the_others_events)
{
	enum { NR = 20, CYCLES = 100 };
	struct creations seen[2] = { { .pid = getpid() } };
	int fds[NR], pipefd[2], i, status, big = 8 << 20;
	struct mem_arena_stats s;
	struct nl_sock *sk;
	pid_t child;
	char c;

	if (access(MEM_ARENA_DEVICE, F_OK))
		SKIP(return, "module not loaded");
	if (getuid() != 0)
		SKIP(return, "needs root to become nobody and to join the events group");
	sk = events_socket();
	ASSERT_NE(NULL, sk);
	ASSERT_EQ(0, setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVBUFFORCE,
				&big, sizeof(big)));
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_created, seen);
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		unsigned long cycles = 0;
		int fd;

		close(pipefd[0]);
		if (setgid(65534) || setuid(65534))
			_exit(10);
		for (;;) {		/* until the pipe closes: SIGPIPE */
			fd = open(MEM_ARENA_DEVICE, O_RDWR);
			if (fd < 0)
				_exit(11);
			close(fd);
			if (++cycles % CYCLES == 0 && write(pipefd[1], "", 1) != 1)
				_exit(12);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < NR; i++) {
		ASSERT_EQ(1, read(pipefd[0], &c, 1));
		fds[i] = open(MEM_ARENA_DEVICE, O_RDWR);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, drain(sk));
	}
	close(pipefd[0]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)
		TH_LOG("nobody's loop ended with status %#x", status);
	ASSERT_EQ(0, drain(sk));
	TH_LOG("root: %d of %d arenas heard of; nobody: %d of more than %d",
	       seen[0].n, NR, seen[1].n, NR * CYCLES);
	EXPECT_EQ(NR, seen[0].n);
	EXPECT_GT(NR * CYCLES, seen[1].n);
	for (i = 0; i < NR; i++) {
		ASSERT_EQ(0, ma_stats(fds[i], &s));
		EXPECT_EQ(0, s.events_dropped);
		close(fds[i]);
	}
	nl_socket_free(sk);
}

TEST(unprivileged_events_join_is_refused)
{
	int status;
	pid_t child;

	if (access(MEM_ARENA_DEVICE, F_OK))
		SKIP(return, "module not loaded");
	if (getuid() != 0)
		SKIP(return, "needs root to become nobody");
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct nl_sock *sk;
		int grp;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		sk = nl_socket_alloc();
		if (!sk || genl_connect(sk))
			_exit(11);
		grp = genl_ctrl_resolve_grp(sk, MEM_ARENA_GENL_NAME,
					    MEM_ARENA_GENL_MCGRP_EVENTS);
		if (grp < 0)
			_exit(12);
		_exit(nl_socket_add_membership(sk, grp) == -NLE_PERM ? 0 : 13);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("13: nobody joined the events group");
}

TEST_HARNESS_MAIN
