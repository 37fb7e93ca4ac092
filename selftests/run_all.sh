#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest (tools/vm-run): every selftest binary and shell test,
# then one line "N passed, N failed, N skipped", also written to
# $MEM_ARENA_OUT/summary.  Usage: run_all.sh [NAME...] (default: all)
set -o pipefail
dir=$(cd "$(dirname "$0")" && pwd)
out=${MEM_ARENA_OUT:-/tmp}
pass=0 fail=0 skip=0 ran=

field() { echo "$1" | sed -n "s/.* $2:\([0-9]*\).*/\1/p"; }

run_harness() {	# a kselftest-harness binary: read its Totals line
	log=/tmp/$(basename "$1").log
	"$1" 2>&1 | tee "$log"
	rc=$?
	totals=$(grep '^# Totals:' "$log" | tail -1)
	if [ -z "$totals" ] && [ $rc = 4 ] && grep -q '^1\.\.0 # SKIP' "$log"; then
		skip=$((skip + 1))	# skipped as a whole (MA_NEEDS_MODULE)
		return
	fi
	if [ -z "$totals" ]; then
		echo "not ok $(basename "$1") # died (exit $rc) before its totals"
		fail=$((fail + 1))
		return
	fi
	p=$(field "$totals" pass) f=$(field "$totals" fail)
	s=$(field "$totals" skip) e=$(field "$totals" error)
	pass=$((pass + p)) fail=$((fail + f + e)) skip=$((skip + s))
	if [ $rc != 0 ] && [ $rc != 4 ] && [ $((f + e)) = 0 ]; then
		echo "not ok $(basename "$1") # exit $rc with no failed test"
		fail=$((fail + 1))
	fi
}

run_tap() {	# a shell test printing TAP "ok"/"not ok" lines
	log=/tmp/$(basename "$1").log
	sh "$1" 2>&1 | tee "$log"
	rc=$?
	p=$(grep -c '^ok .*' "$log" | tr -d ' ')
	s=$(grep -c '^ok .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -c '^not ok' "$log" | tr -d ' ')
	pass=$((pass + p - s)) skip=$((skip + s)) fail=$((fail + f))
	if [ $rc != 0 ] && [ "$f" = 0 ]; then
		echo "not ok $(basename "$1") # exit $rc with no failed test"
		fail=$((fail + 1))
	fi
}

selected() {
	[ $# -eq 0 ] && return 0
	case " $* " in *" $name "*) return 0 ;; esac
	return 1
}

for t in "$dir"/bin/*_test "$dir"/*_test.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	selected "$@" || continue
	ran="$ran $name"
	echo "# ===== $name"
	t0=$(date +%s)
	case $t in
	*.sh) run_tap "$t" ;;
	*) run_harness "$t" ;;
	esac
	echo "# ===== $name: $(($(date +%s) - t0)) s"
done

# A name asked for that is no test must not pass silently.
for want in "$@"; do
	case " $ran " in *" $want "*) ;; *)
		echo "not ok $want # no such test (names as in selftests/bin, *_test.sh without .sh)"
		fail=$((fail + 1)) ;;
	esac
done

summary="$pass passed, $fail failed, $skip skipped"
echo "$summary" > "$out/summary"
echo "guest: $summary"
[ $fail = 0 ]
