#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest (tools/bench/profile): each phase of arena_bench under
# perf record (cpu-clock samples on every CPU, enabled by arena_bench for
# the phase only, not its setup), then perf report's self time per symbol
# into $MEM_ARENA_OUT/PHASE.txt and the phase's own figures into
# PHASE.json; then bench_calib's figures into calib-guest.json.
# With a fourth argument "insns" (make profile --insns), no perf: the
# host's QEMU counts each phase's instructions (tools/bench/insn_count.c),
# and this writes the phases' order (insn-phases.txt) and the kernel's
# symbols (kallsyms).
# Usage: profile-guest.sh DATASET REGION_MB CHUNK_KB [insns]
case ${1:-} in
-h|--help)
	cat <<USAGE
Usage: profile-guest.sh DATASET REGION_MB CHUNK_KB [insns]

Runs in the guest of tools/bench/profile (make profile): each phase under
perf record, its per-symbol report in \$MEM_ARENA_OUT/PHASE.txt (default
/tmp); with insns, no perf: the host's QEMU counts instructions.
USAGE
	exit 0 ;;
-*) echo "profile-guest.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac
[ $# = 3 ] || [ $# = 4 ] ||
	{ echo "profile-guest.sh: usage: profile-guest.sh DATASET REGION_MB CHUNK_KB [insns]" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${MEM_ARENA_OUT:-/tmp}
ds=$1 mb=$2 ckb=${3:-4} insns=${4:-}
[ "$insns" = insns ] || command -v perf >/dev/null ||
	{ echo "profile: no perf in the guest (linux-perf, vm-run --host-usr)" >&2; exit 1; }
. "$top/tools/bench/guest-zram.sh"
echo 0 > /proc/sys/kernel/kptr_restrict
echo "profile: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" >&2
for ph in compress fault mapahead rasyncmap random touch ptouch threads zread zrandom zwrite; do
	echo "profile: $ph ($ds, $mb MiB)" >&2
	chunk="--chunk-kb $ckb"
	case $ph in z*) zram_modules; zram_setup "$mb"; chunk= ;; esac
	if [ "$insns" = insns ]; then
		"$top/tools/bin/arena_bench" phase "$ph" --dataset "$ds" --region-mb "$mb" $chunk \
			> "$out/$ph.json" || exit 1
		echo "$ph" >> "$out/insn-phases.txt"
		continue
	fi
	rm -f /tmp/perf.ctl /tmp/perf.ack
	mkfifo /tmp/perf.ctl /tmp/perf.ack
	MA_PERF_CTL=/tmp/perf.ctl MA_PERF_ACK=/tmp/perf.ack \
	perf record -q -a -e cpu-clock -F 1999 -D -1 \
		--control=fifo:/tmp/perf.ctl,/tmp/perf.ack -o "/tmp/$ph.data" -- \
		"$top/tools/bin/arena_bench" phase "$ph" --dataset "$ds" --region-mb "$mb" $chunk \
		> "$out/$ph.json" || exit 1
	perf report -i "/tmp/$ph.data" --stdio --no-children --sort dso,sym -q \
		--percent-limit 0.01 > "$out/$ph.txt" 2> "$out/$ph.err" || exit 1
	perf report -i "/tmp/$ph.data" --stdio -q --sort dso -F sample \
		> "$out/$ph.samples" 2>/dev/null
done
if [ "$insns" = insns ]; then
	cat /proc/kallsyms > "$out/kallsyms"
	exit
fi
echo "profile: bench_calib ($ds)" >&2
"$top/tools/bin/bench_calib" --dataset "$ds" --chunk-kb "$ckb" > "$out/calib-guest.json"
