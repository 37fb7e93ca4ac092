#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest (tools/bench/profile): each phase of arena_bench under
# perf record (cpu-clock samples on every CPU, enabled by arena_bench for
# the phase only, not its setup), then perf report's self time per symbol
# into $MEM_ARENA_OUT/PHASE.txt and the phase's own figures into
# PHASE.json.  Usage: profile-guest.sh DATASET REGION_MB
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${MEM_ARENA_OUT:-/tmp}
ds=$1 mb=$2
command -v perf >/dev/null || { echo "profile: no perf in the guest (linux-perf, vm-run --host-usr)" >&2; exit 1; }
echo 0 > /proc/sys/kernel/kptr_restrict
echo "profile: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" >&2
for ph in compress fault random touch threads zread zrandom; do
	echo "profile: $ph ($ds, $mb MiB)" >&2
	case $ph in z*)	# zram, as tools/bench/guest-bench.sh sets it up
		mods=${MEM_ARENA_MODULES:-/modules}
		for m in $(cat "$mods/order"); do
			grep -q "^$(echo "${m%.ko}" | tr - _) " /proc/modules ||
				insmod "$mods/$m" 2>/dev/null
		done
		echo 1 > /sys/block/zram0/reset
		echo lz4 > /sys/block/zram0/comp_algorithm
		echo $(((mb + 16) * 1048576)) > /sys/block/zram0/disksize ;;
	esac
	rm -f /tmp/perf.ctl /tmp/perf.ack
	mkfifo /tmp/perf.ctl /tmp/perf.ack
	MA_PERF_CTL=/tmp/perf.ctl MA_PERF_ACK=/tmp/perf.ack \
	perf record -q -a -e cpu-clock -F 1999 -D -1 \
		--control=fifo:/tmp/perf.ctl,/tmp/perf.ack -o "/tmp/$ph.data" -- \
		"$top/tools/bin/arena_bench" phase "$ph" --dataset "$ds" --region-mb "$mb" \
		> "$out/$ph.json" || exit 1
	perf report -i "/tmp/$ph.data" --stdio --no-children --sort dso,sym -q \
		--percent-limit 0.01 > "$out/$ph.txt" 2> "$out/$ph.err" || exit 1
	perf report -i "/tmp/$ph.data" --stdio -q --sort dso -F sample \
		> "$out/$ph.samples" 2>/dev/null
done
