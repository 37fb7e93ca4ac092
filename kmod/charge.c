// SPDX-License-Identifier: GPL-2.0
/*
 * What an arena holds, charged to its opener's RLIMIT_MEMLOCK.
 *
 * Arena memory is unreclaimable like mlock()ed memory, and much of it
 * (pages a TOUCH or an eviction brought back, the pool) is in no process's
 * RSS, where the OOM killer would see it.  So, as io_uring does for the
 * buffers it pins, it is charged to the opening user's locked_vm and bounded
 * by the opener's RLIMIT_MEMLOCK read at open, unless the opener had
 * CAP_IPC_LOCK.  What is charged is what the arena holds: the pages of a
 * raw chunk, the slot bytes of a compressed one, and the spare pages kept
 * for reuse (spare.c); compressing always lowers the charge (a page is
 * kept as a spare only if the limit leaves room for it beside the slot).
 * The pool's slack (holes, partly used blocks) is bounded module-wide by
 * pool_cap_bytes instead.
 *
 * Locking:
 *   ma_arena.charge_lock (spinlock, innermost) guards charged_bytes and
 *   charged_pages; user_struct.locked_vm is atomic and shared with every
 *   other charger of that user (io_uring, perf, ...).
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>

#include "arena.h"

void ma_charge_init(struct ma_arena *arena, struct file *file)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK);

	spin_lock_init(&arena->charge_lock);
	arena->memlock_limit = U64_MAX;
	if (limit == RLIM_INFINITY ||
	    file_ns_capable(file, &init_user_ns, CAP_IPC_LOCK))
		return;
	arena->memlock_limit = limit;
	arena->memlock_user = get_uid(file->f_cred->user);
}

void ma_charge_exit(struct ma_arena *arena)
{
	WARN_ON_ONCE(arena->charged_bytes || arena->charged_pages);
	if (arena->memlock_user)
		free_uid(arena->memlock_user);
}

/* Add @nr pages to @user's locked_vm unless that passes @limit pages. */
static bool ma_lock_pages(struct user_struct *user, unsigned long nr,
			  unsigned long limit)
{
	unsigned long cur = atomic_long_read(&user->locked_vm);

	do {
		if (cur + nr > limit || cur + nr < cur)
			return false;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + nr));
	return true;
}

static int __ma_charge(struct ma_arena *arena, s64 delta, bool quiet)
{
	struct user_struct *user = arena->memlock_user;
	unsigned long want;
	u64 bytes;
	int err = 0;

	spin_lock(&arena->charge_lock);
	bytes = arena->charged_bytes + delta;
	want = DIV_ROUND_UP(bytes, PAGE_SIZE);
	if (user && want > arena->charged_pages) {
		if (!ma_lock_pages(user, want - arena->charged_pages,
				   arena->memlock_limit >> PAGE_SHIFT)) {
			err = -EDQUOT;
			goto out_unlock;
		}
	} else if (user && want < arena->charged_pages) {
		atomic_long_sub(arena->charged_pages - want, &user->locked_vm);
	}
	arena->charged_pages = want;
	arena->charged_bytes = bytes;
out_unlock:
	spin_unlock(&arena->charge_lock);
	if (err && !quiet)
		ma_stat_inc(arena, MEM_ARENA_STAT_memlock_rejects);
	return err;
}

/**
 * ma_charge - change what @arena holds by @delta bytes
 *
 * A rise past the opener's limit fails with -EDQUOT (and is counted in
 * memlock_rejects); a fall never fails.
 */
int ma_charge(struct ma_arena *arena, s64 delta)
{
	return __ma_charge(arena, delta, false);
}

/* The same for a rise that is optional (spares): no reject is counted. */
int ma_charge_quiet(struct ma_arena *arena, s64 delta)
{
	return __ma_charge(arena, delta, true);
}
