/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Skipping, for tests built on kselftest_harness.h (include this after it).
 *
 * 6.1's harness, which make builds the tests against, runs a test's body
 * after its FIXTURE_SETUP skipped with SKIP(return, ...): it stops only
 * when the setup failed.  The body then runs on a fixture that was never
 * set up and reports its failures (without the module, 51 of
 * compress_test's 54 tests), or passes on nothing.
 */
#ifndef MEM_ARENA_SELFTEST_HARNESS_H
#define MEM_ARENA_SELFTEST_HARNESS_H

#include <errno.h>
#include <string.h>
#include <unistd.h>

/*
 * Skip from a FIXTURE_SETUP: the test ends there, reported as skipped with
 * the reason.  A harness that stops after a setup's skip by itself
 * (mainline's, which also has FIXTURE_TEARDOWN_PARENT) takes
 * SKIP(return, ...).  6.1's is left as its own ASSERTs leave a setup, by
 * longjmp() to the test's wrapper, which then runs neither the body nor
 * (the setup not completed) the teardown.
 */
#ifdef FIXTURE_TEARDOWN_PARENT
#define MA_SETUP_SKIP(fmt, ...) SKIP(return, fmt, ##__VA_ARGS__)
#else
#define MA_SETUP_SKIP(fmt, ...) \
	SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)
#endif

/*
 * In a test binary every test of which needs the module: without
 * /dev/mem_arena the binary skips as a whole, with the reason (exit 4),
 * before any test runs.
 */
#define MA_NEEDS_MODULE(device) \
	static void __attribute__((constructor)) ma_needs_module(void) \
	{ \
		if (access(device, F_OK)) \
			ksft_exit_skip("%s: %s (module not loaded)\n", device, \
				       strerror(errno)); \
	}

#endif
