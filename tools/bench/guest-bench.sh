#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest (tools/bench/run-bench): every benchmark in one boot,
# one JSON object per line in $MEM_ARENA_OUT/results.jsonl; progress on
# stderr.  Usage: guest-bench.sh [--quick] [--runs N]
# --runs N: every comparison N times, interleaved (summarize.py reports
# the best run and the median).
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/tools/bin
out=${MEM_ARENA_OUT:-/tmp}/results.jsonl
mb=256 scale=32,512 threads_mb=128 runs=1
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help)
		cat <<USAGE
Usage: guest-bench.sh [--quick] [--runs N]

Runs in the guest of tools/bench/run-bench (make bench): every benchmark
in one boot, one JSON object per line in \$MEM_ARENA_OUT/results.jsonl
(default /tmp), progress on stderr.  --quick: small regions; --runs N:
every comparison N times, interleaved.
USAGE
		exit 0 ;;
	--quick) mb=32 scale=8,32 threads_mb=16; shift ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "guest-bench: unknown option '$1'" >&2; exit 2 ;;
	esac
done
: > "$out"
say() { echo "bench: $*" >&2; }
say "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

# zram and its allocator, and the LZ4 limit module.
. "$top/tools/bench/guest-zram.sh"
zram_modules
insmod "$top/bench/kmod/mem_arena_lz4bench.ko" || { say "cannot load mem_arena_lz4bench.ko"; exit 1; }

lz4_limit() {	# DATASET FILE
	exec 3<>/dev/mem_arena_lz4bench
	cat "$2" >&3
	line=$(dd bs=4096 count=1 <&3 2>/dev/null)
	exec 3>&-
	echo "$line" | awk -v d="$1" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		c = v["compress_ns"] / 1e9; dd = v["decompress_ns"] / 1e9
		printf "{\"bench\": \"lz4\", \"dataset\": \"%s\", \"compress_mbps\": %.3f, \"decompress_mbps\": %.3f, \"stored_chunks\": %d, \"errors\": %d}\n",
			d, c ? v["bytes"] / 1048576 / c : 0,
			dd ? v["stored"] * 4096 / 1048576 / dd : 0, v["stored"], v["errors"] }'
}

for run in $(seq 1 "$runs"); do
[ "$runs" = 1 ] || say "run $run of $runs"
for d in repetitive text binary random zero mixed; do
	say "$d: mem_arena"
	"$bin/arena_bench" run --dataset "$d" --region-mb $mb >> "$out" || exit 1
	say "$d: zram"
	zram_setup $mb
	"$bin/arena_bench" zram --dataset "$d" --region-mb $mb >> "$out" || exit 1
	echo 1 > /sys/block/zram0/reset
	say "$d: lz4 alone"
	"$bin/dataset-dump" --dataset "$d" --mb $mb /tmp/data.bin || exit 1
	lz4_limit "$d" /tmp/data.bin >> "$out"
	rm -f /tmp/data.bin
done
say "mixed: two threads"
"$bin/arena_bench" threads --dataset mixed --region-mb $threads_mb >> "$out" || exit 1
done
say "mixed: per-chunk cost at $scale MiB"
"$bin/arena_bench" scale --dataset mixed --region-mb $scale >> "$out" || exit 1
rmmod mem_arena_lz4bench
say "done: $(wc -l < "$out") results"
