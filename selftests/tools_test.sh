#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The researcher's tools in the guest, small: memarena-demo ends with
# every byte verified; process_mem_bench's CSV starts with the contract's
# ten columns and its figures are plausible; both workloads run with and
# without the arena and their JSON holds every stat.  JSON and CSV are
# parsed with the host's python3 (tools/vm-run --host-usr).  TAP.
. "$(dirname "$0")/tap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
out=${MEM_ARENA_OUT:-/tmp}/tools
mkdir -p "$out"

if [ ! -x /usr/bin/python3 ]; then
	echo "ok 1 tools # SKIP no python3 in the guest (vm-run --host-usr)"
	echo "1..1"
	exit 0
fi

"$top/tools/bin/memarena-demo" --region-mb 8 > "$out/demo.txt" 2>&1
rc=$?
check demo_verifies_every_byte sh -c "test $rc = 0 && tail -1 $out/demo.txt | grep -q 'every byte equal'"

"$top/tools/bin/process_mem_bench" --dataset repetitive --region-mb 8 --runs 2 \
	--warmups 1 --csv "$out/pmb.csv" --json "$out/pmb.json" > "$out/pmb.txt" 2>&1
check process_mem_bench_runs test $? = 0
pycheck process_mem_bench_csv_and_json "
import csv, json
rows = list(csv.DictReader(open('$out/pmb.csv')))
head = open('$out/pmb.csv').readline().strip().split(',')
assert head[:10] == ['rss_pre_kb', 'rss_post_compress_kb', 'rss_post_readback_kb',
    'vmhwm_kb', 'compress_thread_cpu_ms', 'compress_process_cpu_ms',
    'compress_wall_ms', 'decompress_thread_cpu_ms', 'decompress_process_cpu_ms',
    'decompress_wall_ms'], head[:10]
assert len(rows) == 2 and 'pool_kb' in head
for r in rows:
    f = {k: float(v) for k, v in r.items() if k != 'dataset'}
    assert f['rss_post_compress_kb'] < f['rss_pre_kb'] - 6 * 1024, f
    assert f['rss_post_readback_kb'] >= f['rss_pre_kb'] - 64, f
    assert 0 < f['pool_kb'] < 1024 and f['ratio'] > 8, f
    assert f['compress_ops'] == 2048 and f['compress_wall_ms'] > 0, f
j = json.load(open('$out/pmb.json'))
assert j['params']['dataset'] == 'repetitive' and len(j['runs']) == 2
assert j['summary']['ratio']['min'] <= j['summary']['ratio']['median']
"

# Two passes of the streamer need more than a second on the debug kernel
# (kmemleak) and its KCSAN flavour.
dur=1
if [ -e /sys/kernel/debug/kmemleak ] || [ -e /sys/kernel/debug/kcsan ]; then
	dur=4
fi
for w in anon_streamer interactive_burst; do
	for mode in baseline arena; do
		flag=
		[ $mode = arena ] && flag=--use-mem-arena
		"$top/workloads/bin/$w" --duration-sec $dur --region-mb 8 --idle-ms 50 $flag \
			--dataset repetitive \
			--arena-stats-json "$out/$w-$mode.json" > /dev/null 2> "$out/$w-$mode.err"
		check "${w}_${mode}_runs" test $? = 0
	done
	pycheck "${w}_json_holds_every_stat" "
import json, re
base = json.load(open('$out/$w-baseline.json'))
arena = json.load(open('$out/$w-arena.json'))
names = set(re.findall(r'X\((\w+),\s*\d+,', open('$top/uapi/linux/mem_arena.h').read()))
assert len(names) >= 26, names
for d, on in ((base, False), (arena, True)):
    assert d['workload'] == '$w' and d['params']['use_mem_arena'] is on, d['params']
    assert set(d['stats']) == names, set(d['stats']) ^ names
assert all(v == 0 for v in base['stats'].values())
s, r = arena['stats'], arena['results']
assert s['compress_ops'] > 0 and s['decompress_errors'] == 0, s
if '$w' == 'anon_streamer':
    assert r['passes'] >= 2 and r['mismatched_words'] == 0 and r['mean_mbps'] > 0, r
    assert min(r['rss_timeline_kb'][1::2]) < 2048, r['rss_timeline_kb']
else:
    assert r['lost_updates'] == 0 and r['accesses_hit_compressed'] > 0, r
    assert 0 < r['latency_us_p50'] <= r['latency_us_p99'] <= r['latency_us_max'], r
"
done
pycheck_run
echo "1..$n"
