/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failure injection for the selftests: failslab and
 * fail_page_alloc (debugfs), armed for the tasks that set
 * /proc/thread-self/make-it-fail (task-filter).  fi_available() says why
 * not; fi_save() before fi_configure(), fi_restore() after.  Needs
 * helpers.h.
 */
#ifndef MA_FAULT_INJECT_H
#define MA_FAULT_INJECT_H

#include <sys/mount.h>

#define DEBUGFS		"/sys/kernel/debug"
#define FAILSLAB	DEBUGFS "/failslab"
#define FAILPAGE	DEBUGFS "/fail_page_alloc"
#define TIMES		1000000000	/* "times" counts the injected failures down */

struct fi_attr {
	const char *dir, *name;
	char saved[32];
	int have;
};

static struct fi_attr fi_attrs[] = {
	{ FAILSLAB, "probability" }, { FAILPAGE, "probability" },
	{ FAILSLAB, "task-filter" }, { FAILPAGE, "task-filter" },
	{ FAILSLAB, "interval" }, { FAILPAGE, "interval" },
	{ FAILSLAB, "times" }, { FAILPAGE, "times" },
	{ FAILSLAB, "space" }, { FAILPAGE, "space" },
	{ FAILSLAB, "verbose" }, { FAILPAGE, "verbose" },
	{ FAILSLAB, "ignore-gfp-wait" }, { FAILPAGE, "ignore-gfp-wait" },
	{ FAILPAGE, "ignore-gfp-highmem" }, { FAILPAGE, "min-order" },
};
#define NR_FI_ATTRS ARRAY_SIZE(fi_attrs)

static inline int fi_write(const char *dir, const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return ma_file_write(path, val);
}

static inline long long fi_read(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return ma_file_read_ll(path);
}

static inline void fi_save(void)
{
	char path[128];
	unsigned int i;
	ssize_t n;
	int fd;

	for (i = 0; i < NR_FI_ATTRS; i++) {
		struct fi_attr *a = &fi_attrs[i];

		snprintf(path, sizeof(path), "%s/%s", a->dir, a->name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, a->saved, sizeof(a->saved) - 1);
		close(fd);
		if (n > 0) {
			a->saved[n] = 0;
			a->have = 1;
		}
	}
}

/* Probability first, so nothing fails while the rest is put back. */
static inline void fi_restore(void)
{
	unsigned int i;

	fi_write(FAILSLAB, "probability", "0");
	fi_write(FAILPAGE, "probability", "0");
	for (i = 0; i < NR_FI_ATTRS; i++)
		if (fi_attrs[i].have)
			fi_write(fi_attrs[i].dir, fi_attrs[i].name, fi_attrs[i].saved);
}

/* Fail @pct% of the allocations of tasks with make-it-fail set. */
static inline int fi_configure(unsigned int pct)
{
	static const char *const dirs[] = { FAILSLAB, FAILPAGE };
	char p[16], t[16];
	unsigned int i;
	int err = 0;

	snprintf(p, sizeof(p), "%u", pct);
	snprintf(t, sizeof(t), "%d", TIMES);
	for (i = 0; i < 2; i++) {
		err = err ?: fi_write(dirs[i], "probability", "0");
		err = err ?: fi_write(dirs[i], "task-filter", "Y");
		err = err ?: fi_write(dirs[i], "interval", "1");
		err = err ?: fi_write(dirs[i], "times", t);
		err = err ?: fi_write(dirs[i], "space", "0");
		err = err ?: fi_write(dirs[i], "verbose", "0");
		err = err ?: fi_write(dirs[i], "ignore-gfp-wait", "N");
	}
	err = err ?: fi_write(FAILPAGE, "ignore-gfp-highmem", "N");
	err = err ?: fi_write(FAILPAGE, "min-order", "0");
	err = err ?: fi_write(FAILSLAB, "probability", p);
	err = err ?: fi_write(FAILPAGE, "probability", p);
	return err;
}

/* Why the test cannot run here, or NULL. */
static inline const char *fi_available(void)
{
	if (access(FAILSLAB, F_OK))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (access(FAILSLAB "/probability", W_OK) ||
	    access(FAILPAGE "/probability", W_OK) ||
	    access("/proc/self/make-it-fail", W_OK))
		return "kernel without CONFIG_FAILSLAB/FAIL_PAGE_ALLOC";
	return NULL;
}

/*
 * The calling thread's make-it-fail, to arm and disarm it with: opened
 * before arming, as an open under injection may fail, and before a change
 * of uid, after which the file is no longer the thread's to open.
 */
static inline int fi_open(void)
{
	return open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
}

/* Arm (1) or disarm (0) it; disarming is retried, as the write may fail. */
static inline int fi_set(int fd, int on)
{
	int i;

	for (i = 0; i < (on ? 1 : 1000); i++)
		if (pwrite(fd, on ? "1" : "0", 1, 0) == 1)
			return 0;
	return -1;
}

/*
 * Write the stack pages the caller's next calls will use, before arming.
 * The first write to a stack page needs a new page (after fork(), a
 * copy), and under injection that fault can fail: a copy_to_user() into a
 * struct there returns -EFAULT, the failure of the fault-in and not the
 * module's, and a signal frame that cannot be written kills the task with
 * SIGSEGV.  Not inlined: the frames of the calls after it lie where its
 * own did.
 */
static __attribute__((noinline, unused)) void fi_prefault_stack(void)
{
	volatile char buf[64 * 1024];
	size_t i;

	for (i = 0; i < sizeof(buf); i += 1024)
		buf[i] = 0;
}

#endif
