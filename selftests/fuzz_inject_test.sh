#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The fuzzer with 2% of its root workers' slab and page allocations
# failing (fuzz_test --inject): the module's error paths under the same
# races as its other paths.  Skips, saying so in its TAP line, on a
# kernel without failslab and fail_page_alloc (the debug kernel has
# them).  TAP.
"$(dirname "$0")/bin/fuzz_test" --inject 2 --seconds "${MA_FUZZ_SECONDS:-20}"
rc=$?
[ $rc = 4 ] && exit 0	# skipped: the TAP line says why
exit $rc
