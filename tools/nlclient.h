/* SPDX-License-Identifier: GPL-2.0 */
/* The mem_arena generic netlink family, through libnl-genl-3. */
#ifndef MEM_ARENA_TOOLS_NLCLIENT_H
#define MEM_ARENA_TOOLS_NLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/mem_arena.h>

struct nl_sock;

struct ma_nl {
	struct nl_sock *sk;
	int family;
};

struct ma_nl_arena {
	uint32_t id, pid, uid, chunk_size, min_savings_pct, regions;
	uint64_t cap_bytes;
	uint64_t tenant;		/* uid, or 1 << 32 | tenant id; ~0: none yet */
	uint32_t weight;
	uint64_t tenant_pool_bytes, share_bytes;
	char comm[32];
	struct mem_arena_stats stats;
};

struct ma_nl_event {
	int cmd;			/* MEM_ARENA_NL_EVENT_* */
	const char *name;		/* "EVICTION", ... */
	uint32_t arena, pid;
	char comm[32];
	uint64_t chunks, bytes, pages, pool_bytes;
};

/* Connect and resolve the family; 0, or dies with one line. */
void ma_nl_open(struct ma_nl *nl);
void ma_nl_close(struct ma_nl *nl);
/* Every visible arena (a dump); the caller frees *out. */
size_t ma_nl_arenas(struct ma_nl *nl, struct ma_nl_arena **out);
/* Join "events" and call @fn for each event until it returns false. */
void ma_nl_events(struct ma_nl *nl, bool (*fn)(const struct ma_nl_event *, void *),
		  void *arg);

#endif
