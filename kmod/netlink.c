// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "mem_arena": module-wide stats, a dump of
 * every visible arena, and an "events" multicast group.
 *
 * Locking:
 *   ARENA_GET walks ma_arenas under ma_arenas_lock (a mutex: dumps and
 *   doits run in process context) and snapshots each arena's stats under
 *   its pool lock; an arena on the list is alive (release takes it off,
 *   under the same mutex, before it frees anything the dump reads).
 *   Events are sent from process context with no spinlock held (callers
 *   may hold a chunk lock, a stream or compact_lock: GFP_KERNEL is fine).
 *   ma_event_lock (spinlock) guards the rate limiter's per-user budgets.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/cred.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "arena.h"
#include "compat.h"

static struct genl_family ma_genl_family;

enum { MA_MCGRP_EVENTS };

static const struct genl_multicast_group ma_mcgrps[] = {
	[MA_MCGRP_EVENTS] = { .name = MEM_ARENA_GENL_MCGRP_EVENTS,
			      .flags = MA_MCGRP_FLAGS },
};

static const struct nla_policy ma_nl_policy[MEM_ARENA_A_MAX + 1] = {
	[MEM_ARENA_A_ARENA_ID] = { .type = NLA_U32 },
};

static int ma_put_stats(struct sk_buff *skb, const struct mem_arena_stats *s)
{
	struct nlattr *nest = nla_nest_start(skb, MEM_ARENA_A_STATS);
	const u64 *v = (const u64 *)s;
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < MEM_ARENA_NR_STATS; i++) {
		if (nla_put_u64_64bit(skb, i + 1, v[i], MEM_ARENA_STAT_A_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Who may see @arena: a socket opened with the arena owner's euid, or with
 * CAP_SYS_ADMIN.  Both judged by the socket opener's credentials.
 */
static bool ma_arena_visible(const struct ma_arena *arena, struct sk_buff *skb)
{
	struct socket *sock = NETLINK_CB(skb).sk->sk_socket;

	if (sock && sock->file && uid_eq(arena->owner_uid, sock->file->f_cred->euid))
		return true;
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

/* The arena's tenant and its share of the pool; ma_arenas_lock held. */
static int ma_put_tenant(struct sk_buff *skb, const struct ma_arena *arena)
{
	const struct ma_tenant *t = arena->tenant;

	lockdep_assert_held(&ma_arenas_lock);
	if (!t)		/* no region yet: not sharing */
		return 0;
	if (nla_put_u64_64bit(skb, MEM_ARENA_A_TENANT, t->key, MEM_ARENA_A_PAD) ||
	    nla_put_u32(skb, MEM_ARENA_A_WEIGHT, t->weight) ||
	    nla_put_u64_64bit(skb, MEM_ARENA_A_TENANT_POOL_BYTES,
			      atomic64_read(&t->pool_bytes), MEM_ARENA_A_PAD) ||
	    nla_put_u64_64bit(skb, MEM_ARENA_A_SHARE_BYTES, ma_tenant_share(t),
			      MEM_ARENA_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int ma_fill_arena(struct sk_buff *skb, struct ma_arena *arena, u32 portid,
			 u32 seq, int flags, u8 cmd)
{
	struct mem_arena_stats s;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &ma_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	ma_stats_snapshot(arena, &s);
	if (nla_put_u32(skb, MEM_ARENA_A_ARENA_ID, arena->id) ||
	    nla_put_u32(skb, MEM_ARENA_A_PID, arena->owner_pid) ||
	    nla_put_string(skb, MEM_ARENA_A_COMM, arena->owner_comm) ||
	    nla_put_u32(skb, MEM_ARENA_A_UID,
			from_kuid_munged(&init_user_ns, arena->owner_uid)) ||
	    nla_put_u32(skb, MEM_ARENA_A_CHUNK_SIZE, READ_ONCE(arena->config.chunk_size)) ||
	    nla_put_u32(skb, MEM_ARENA_A_MIN_SAVINGS_PCT,
			READ_ONCE(arena->config.min_savings_pct)) ||
	    nla_put_u64_64bit(skb, MEM_ARENA_A_CAP_BYTES, READ_ONCE(arena->config.cap_bytes),
			      MEM_ARENA_A_PAD) ||
	    nla_put_u32(skb, MEM_ARENA_A_REGIONS, atomic_read(&arena->nr_regions)) ||
	    ma_put_tenant(skb, arena) || ma_put_stats(skb, &s)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int ma_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct mem_arena_stats s;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ma_genl_family, 0,
				MEM_ARENA_NL_CMD_GET_STATS);
	if (!hdr)
		goto out_free_msg;
	ma_stats_global(&s);
	if (ma_put_stats(msg, &s))
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int ma_nl_arena_get(struct sk_buff *skb, struct genl_info *info)
{
	struct ma_arena *arena, *found = NULL;
	struct sk_buff *msg;
	u32 id;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, MEM_ARENA_A_ARENA_ID)) {
		NL_SET_ERR_MSG(info->extack, "missing MEM_ARENA_A_ARENA_ID");
		return -EINVAL;
	}
	id = nla_get_u32(info->attrs[MEM_ARENA_A_ARENA_ID]);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&ma_arenas_lock);
	list_for_each_entry(arena, &ma_arenas, node) {
		if (arena->id == id && ma_arena_visible(arena, skb)) {
			found = arena;
			break;
		}
	}
	err = found ? ma_fill_arena(msg, found, info->snd_portid, info->snd_seq, 0,
				    MEM_ARENA_NL_CMD_ARENA_GET) : -ENOENT;
	mutex_unlock(&ma_arenas_lock);
	if (err) {
		if (err == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[MEM_ARENA_A_ARENA_ID],
					    "no such arena visible to the caller");
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: the last arena id sent (ids only grow). */
static int ma_nl_arena_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ma_arena *arena;
	int err = 0;

	mutex_lock(&ma_arenas_lock);
	list_for_each_entry(arena, &ma_arenas, node) {
		if (arena->id <= cb->args[0] || !ma_arena_visible(arena, cb->skb))
			continue;
		err = ma_fill_arena(skb, arena, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI,
				    MEM_ARENA_NL_CMD_ARENA_GET);
		if (err)
			break;
		cb->args[0] = arena->id;
	}
	mutex_unlock(&ma_arenas_lock);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;	/* full: the rest in the next call */
	return err ?: skb->len;
}

static const struct genl_small_ops ma_genl_ops[] = {
	{
		.cmd = MEM_ARENA_NL_CMD_GET_STATS,
		.doit = ma_nl_get_stats,
	},
	{
		.cmd = MEM_ARENA_NL_CMD_ARENA_GET,
		.doit = ma_nl_arena_get,
		.dumpit = ma_nl_arena_dump,
	},
};

static struct genl_family ma_genl_family __ro_after_init = {
	.name = MEM_ARENA_GENL_NAME,
	.version = MEM_ARENA_GENL_VERSION,
	.maxattr = MEM_ARENA_A_MAX,
	.policy = ma_nl_policy,
	.module = THIS_MODULE,
	.small_ops = ma_genl_ops,
	.n_small_ops = ARRAY_SIZE(ma_genl_ops),
	.mcgrps = ma_mcgrps,
	.n_mcgrps = MA_HAVE_EVENTS ? ARRAY_SIZE(ma_mcgrps) : 0,
	/* .resv_start_op 0: strict validation of every op. */
};

/*
 * Events: at most MEM_ARENA_NL_EVENTS_PER_SEC a second per user (the
 * arena's opener's euid), the rest counted, so that one user's loop of
 * opens and closes cannot use up what the listener hears of the others.
 * A user holds a budget while its second runs: with MA_EVENT_USERS
 * budgets in use, further users share one more.
 */
#define MA_EVENT_USERS	64

struct ma_event_budget {
	kuid_t uid;
	unsigned long window;		/* jiffies: when its second began */
	unsigned int count;		/* sent in that second */
};

static DEFINE_SPINLOCK(ma_event_lock);
/* protected by ma_event_lock */
static struct ma_event_budget ma_event_budgets[MA_EVENT_USERS + 1];

static bool ma_event_budget_over(const struct ma_event_budget *b)
{
	return !b->window || time_after(jiffies, b->window + HZ);
}

static struct ma_event_budget *ma_event_budget(kuid_t uid)
{
	struct ma_event_budget *b, *free = NULL;

	lockdep_assert_held(&ma_event_lock);
	for (b = ma_event_budgets; b < ma_event_budgets + MA_EVENT_USERS; b++) {
		if (b->window && uid_eq(b->uid, uid))
			return b;
		if (!free && ma_event_budget_over(b))
			free = b;
	}
	if (!free)
		return &ma_event_budgets[MA_EVENT_USERS];
	free->uid = uid;
	free->window = 0;
	return free;
}

static bool ma_event_allowed(struct ma_arena *arena)
{
	struct ma_event_budget *b;
	bool ok;

	spin_lock(&ma_event_lock);
	b = ma_event_budget(arena->owner_uid);
	if (ma_event_budget_over(b)) {
		b->window = jiffies ?: 1;
		b->count = 0;
	}
	ok = b->count < MEM_ARENA_NL_EVENTS_PER_SEC;
	if (ok)
		b->count++;
	spin_unlock(&ma_event_lock);
	if (!ok)
		ma_stat_inc(arena, MEM_ARENA_STAT_events_dropped);
	return ok;
}

static void ma_event(struct ma_arena *arena, u8 cmd, u64 chunks, u64 bytes,
		     u64 pages, u64 pool_bytes)
{
	struct sk_buff *msg;
	void *hdr;

	if (!MA_HAVE_EVENTS ||
	    !genl_has_listeners(&ma_genl_family, &init_net, MA_MCGRP_EVENTS) ||
	    !ma_event_allowed(arena))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &ma_genl_family, 0, cmd);
	if (!hdr)
		goto out_free_msg;
	if (nla_put_u32(msg, MEM_ARENA_A_ARENA_ID, arena->id) ||
	    nla_put_u32(msg, MEM_ARENA_A_PID, arena->owner_pid) ||
	    nla_put_string(msg, MEM_ARENA_A_COMM, arena->owner_comm))
		goto out_free_msg;
	if ((cmd == MEM_ARENA_NL_EVENT_EVICTION &&
	     nla_put_u64_64bit(msg, MEM_ARENA_A_EVENT_CHUNKS, chunks, MEM_ARENA_A_PAD)) ||
	    ((cmd == MEM_ARENA_NL_EVENT_EVICTION || cmd == MEM_ARENA_NL_EVENT_DEFRAG_DONE) &&
	     nla_put_u64_64bit(msg, MEM_ARENA_A_EVENT_BYTES, bytes, MEM_ARENA_A_PAD)) ||
	    (cmd == MEM_ARENA_NL_EVENT_DEFRAG_DONE &&
	     nla_put_u64_64bit(msg, MEM_ARENA_A_EVENT_PAGES, pages, MEM_ARENA_A_PAD)) ||
	    (cmd == MEM_ARENA_NL_EVENT_CAP_REACHED &&
	     nla_put_u64_64bit(msg, MEM_ARENA_A_EVENT_POOL_BYTES, pool_bytes, MEM_ARENA_A_PAD)))
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&ma_genl_family, msg, 0, MA_MCGRP_EVENTS, GFP_KERNEL);
	return;

out_free_msg:
	nlmsg_free(msg);
}

void ma_event_arena(struct ma_arena *arena, bool created)
{
	ma_event(arena, created ? MEM_ARENA_NL_EVENT_ARENA_CREATED :
		 MEM_ARENA_NL_EVENT_ARENA_DESTROYED, 0, 0, 0, 0);
}

/* After a compress pass: what it evicted, and whether it hit the cap. */
void ma_event_pass(struct ma_arena *arena, const struct ma_pass *pass)
{
	if (pass->cap_reached || pass->evicted)
		ma_event(arena, MEM_ARENA_NL_EVENT_CAP_REACHED, 0, 0, 0,
			 atomic64_read(&arena->stats[MEM_ARENA_STAT_pool_bytes]));
	if (pass->evicted)
		ma_event(arena, MEM_ARENA_NL_EVENT_EVICTION, pass->evicted,
			 pass->evicted * ma_chunk_size(arena), 0, 0);
}

void ma_event_defrag(struct ma_arena *arena, const struct ma_defrag_result *res)
{
	if (res->bytes_moved || res->pages_released)
		ma_event(arena, MEM_ARENA_NL_EVENT_DEFRAG_DONE, 0, res->bytes_moved,
			 res->pages_released, 0);
}

int ma_netlink_init(void)
{
	return genl_register_family(&ma_genl_family);
}

void ma_netlink_exit(void)
{
	genl_unregister_family(&ma_genl_family);
}
