/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the mem_arena command-line tools. */
#ifndef MEM_ARENA_TOOLS_UTIL_H
#define MEM_ARENA_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSFS_DIR "/sys/kernel/mem_arena"

/* Print "PROG: message" on stderr and exit with @code. */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void tool_init(const char *prog);
/* getopt_long() met an unknown option or a missing value: die(2). */
void die_bad_option(char **argv) __attribute__((noreturn));
/* More than @allowed arguments after the options: die(2). */
void check_extra_args(int argc, char **argv, int allowed);
/* Parse a whole decimal number in [min, max] or die(2) naming @what. */
unsigned long long parse_num(const char *s, const char *what,
			     unsigned long long min, unsigned long long max);
double parse_seconds(const char *s, const char *what);
/* A module-wide value from sysfs, or -1. */
long long sysfs_value(const char *name);
/* "12.3 MiB" into @buf. */
const char *fmt_bytes(char *buf, size_t len, double bytes);
double now_seconds(void);
/* A "Key:  N kB" line of /proc/self/status, in kB, or -1. */
long proc_status_kb(const char *key);
/* qsort() comparator for doubles, ascending. */
int cmp_double(const void *a, const void *b);

#endif
