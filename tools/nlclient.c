// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nlclient.h"
#include "util.h"

static struct nla_policy policy[MEM_ARENA_A_MAX + 1] = {
	[MEM_ARENA_A_ARENA_ID] = { .type = NLA_U32 },
	[MEM_ARENA_A_PID] = { .type = NLA_U32 },
	[MEM_ARENA_A_COMM] = { .type = NLA_STRING },
	[MEM_ARENA_A_UID] = { .type = NLA_U32 },
	[MEM_ARENA_A_CHUNK_SIZE] = { .type = NLA_U32 },
	[MEM_ARENA_A_MIN_SAVINGS_PCT] = { .type = NLA_U32 },
	[MEM_ARENA_A_CAP_BYTES] = { .type = NLA_U64 },
	[MEM_ARENA_A_REGIONS] = { .type = NLA_U32 },
	[MEM_ARENA_A_STATS] = { .type = NLA_NESTED },
	[MEM_ARENA_A_EVENT_CHUNKS] = { .type = NLA_U64 },
	[MEM_ARENA_A_EVENT_BYTES] = { .type = NLA_U64 },
	[MEM_ARENA_A_EVENT_PAGES] = { .type = NLA_U64 },
	[MEM_ARENA_A_EVENT_POOL_BYTES] = { .type = NLA_U64 },
	[MEM_ARENA_A_TENANT] = { .type = NLA_U64 },
	[MEM_ARENA_A_WEIGHT] = { .type = NLA_U32 },
	[MEM_ARENA_A_TENANT_POOL_BYTES] = { .type = NLA_U64 },
	[MEM_ARENA_A_SHARE_BYTES] = { .type = NLA_U64 },
};

void ma_nl_open(struct ma_nl *nl)
{
	int err;

	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		die(1, "out of memory");
	err = genl_connect(nl->sk);
	if (err)
		die(1, "generic netlink: %s", nl_geterror(err));
	nl->family = genl_ctrl_resolve(nl->sk, MEM_ARENA_GENL_NAME);
	if (nl->family < 0)
		die(1, "no generic netlink family '%s': mem_arena module not loaded "
		    "(modprobe mem_arena)", MEM_ARENA_GENL_NAME);
}

void ma_nl_close(struct ma_nl *nl)
{
	nl_socket_free(nl->sk);
}

static uint32_t get_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

static uint64_t get_u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

static void get_comm(struct nlattr **tb, char *comm, size_t len)
{
	comm[0] = 0;
	if (tb[MEM_ARENA_A_COMM])
		snprintf(comm, len, "%s", nla_get_string(tb[MEM_ARENA_A_COMM]));
}

static int parse(struct nl_msg *msg, struct nlattr **tb, int *cmd)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	*cmd = gh->cmd;
	return nla_parse(tb, MEM_ARENA_A_MAX, genlmsg_attrdata(gh, 0),
			 genlmsg_attrlen(gh, 0), policy);
}

struct arenas {
	struct ma_nl_arena *v;
	size_t n, cap;
};

static int on_arena(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MEM_ARENA_A_MAX + 1], *a;
	struct arenas *as = arg;
	struct ma_nl_arena *x;
	int cmd, rem;

	if (parse(msg, tb, &cmd) || cmd != MEM_ARENA_NL_CMD_ARENA_GET)
		return NL_SKIP;
	if (as->n == as->cap) {
		as->cap = as->cap ? as->cap * 2 : 16;
		as->v = realloc(as->v, as->cap * sizeof(*as->v));
		if (!as->v)
			die(1, "out of memory");
	}
	x = &as->v[as->n++];
	memset(x, 0, sizeof(*x));
	x->id = get_u32(tb, MEM_ARENA_A_ARENA_ID);
	x->pid = get_u32(tb, MEM_ARENA_A_PID);
	x->uid = get_u32(tb, MEM_ARENA_A_UID);
	x->chunk_size = get_u32(tb, MEM_ARENA_A_CHUNK_SIZE);
	x->min_savings_pct = get_u32(tb, MEM_ARENA_A_MIN_SAVINGS_PCT);
	x->regions = get_u32(tb, MEM_ARENA_A_REGIONS);
	x->cap_bytes = get_u64(tb, MEM_ARENA_A_CAP_BYTES);
	x->tenant = tb[MEM_ARENA_A_TENANT] ? get_u64(tb, MEM_ARENA_A_TENANT) : ~0ULL;
	x->weight = get_u32(tb, MEM_ARENA_A_WEIGHT);
	x->tenant_pool_bytes = get_u64(tb, MEM_ARENA_A_TENANT_POOL_BYTES);
	x->share_bytes = get_u64(tb, MEM_ARENA_A_SHARE_BYTES);
	get_comm(tb, x->comm, sizeof(x->comm));
	if (tb[MEM_ARENA_A_STATS])
		nla_for_each_nested(a, tb[MEM_ARENA_A_STATS], rem) {
			int t = nla_type(a);

			if (t >= 1 && t <= MEM_ARENA_NR_STATS && nla_len(a) == 8)
				((__u64 *)&x->stats)[t - 1] = nla_get_u64(a);
		}
	return NL_OK;
}

size_t ma_nl_arenas(struct ma_nl *nl, struct ma_nl_arena **out)
{
	struct arenas as = { 0 };
	int err;

	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_arena, &as);
	err = genl_send_simple(nl->sk, nl->family, MEM_ARENA_NL_CMD_ARENA_GET,
			       MEM_ARENA_GENL_VERSION, NLM_F_DUMP);
	if (err >= 0)
		err = nl_recvmsgs_default(nl->sk);
	if (err < 0)
		die(1, "ARENA_GET dump: %s", nl_geterror(err));
	*out = as.v;
	return as.n;
}

struct events {
	bool (*fn)(const struct ma_nl_event *, void *);
	void *arg;
	bool stop;
};

static const char *event_name(int cmd)
{
	switch (cmd) {
	case MEM_ARENA_NL_EVENT_EVICTION: return "EVICTION";
	case MEM_ARENA_NL_EVENT_CAP_REACHED: return "CAP_REACHED";
	case MEM_ARENA_NL_EVENT_DEFRAG_DONE: return "DEFRAG_DONE";
	case MEM_ARENA_NL_EVENT_ARENA_CREATED: return "ARENA_CREATED";
	case MEM_ARENA_NL_EVENT_ARENA_DESTROYED: return "ARENA_DESTROYED";
	}
	return NULL;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MEM_ARENA_A_MAX + 1];
	struct events *ev = arg;
	struct ma_nl_event e;

	memset(&e, 0, sizeof(e));
	if (parse(msg, tb, &e.cmd) || !(e.name = event_name(e.cmd)))
		return NL_SKIP;
	e.arena = get_u32(tb, MEM_ARENA_A_ARENA_ID);
	e.pid = get_u32(tb, MEM_ARENA_A_PID);
	get_comm(tb, e.comm, sizeof(e.comm));
	e.chunks = get_u64(tb, MEM_ARENA_A_EVENT_CHUNKS);
	e.bytes = get_u64(tb, MEM_ARENA_A_EVENT_BYTES);
	e.pages = get_u64(tb, MEM_ARENA_A_EVENT_PAGES);
	e.pool_bytes = get_u64(tb, MEM_ARENA_A_EVENT_POOL_BYTES);
	if (!ev->fn(&e, ev->arg))
		ev->stop = true;
	return NL_OK;
}

void ma_nl_events(struct ma_nl *nl, bool (*fn)(const struct ma_nl_event *, void *),
		  void *arg)
{
	struct events ev = { .fn = fn, .arg = arg };
	int grp, err;

	grp = genl_ctrl_resolve_grp(nl->sk, MEM_ARENA_GENL_NAME, MEM_ARENA_GENL_MCGRP_EVENTS);
	if (grp < 0)
		die(1, "no multicast group '%s': %s", MEM_ARENA_GENL_MCGRP_EVENTS,
		    nl_geterror(grp));
	err = nl_socket_add_membership(nl->sk, grp);
	if (err)
		die(1, "joining the events group: %s (needs CAP_NET_ADMIN)",
		    nl_geterror(err));
	nl_socket_disable_seq_check(nl->sk);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &ev);
	fprintf(stderr, "mactl: listening for events\n");
	while (!ev.stop) {
		err = nl_recvmsgs_default(nl->sk);
		if (err < 0 && err != -NLE_INTR && err != -NLE_AGAIN)
			die(1, "receiving events: %s", nl_geterror(err));
	}
}
