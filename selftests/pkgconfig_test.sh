#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The program written from the man pages, built by host-checks.sh against
# the staged install with pkg-config, static and shared, run against the
# module.  TAP output.
dir=$(cd "$(dirname "$0")/.." && pwd)/build/pkgconfig
n=0
for kind in static shared; do
	n=$((n + 1))
	prog=$dir/from_man_$kind
	if [ ! -x "$prog" ]; then
		echo "not ok $n from_man_$kind # not built (host-checks.sh builds it)"
	elif "$prog"; then
		echo "ok $n from_man_$kind"
	else
		echo "not ok $n from_man_$kind # exit $?"
	fi
done
echo "1..$n"
