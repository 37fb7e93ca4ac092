#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mactl in the guest: info, stats --json, watch, and map/defrag/compress/
# stats of another process's arena by PID:FD or PID, with the JSON checked
# against the stats.
# JSON is parsed with the host's python3 (tools/vm-run --host-usr).  TAP.
. "$(dirname "$0")/tap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
mactl=$top/tools/bin/mactl
holder=$top/selftests/bin/arena_holder

if [ ! -x /usr/bin/python3 ]; then
	echo "ok 1 mactl # SKIP no python3 in the guest (vm-run --host-usr)"
	echo "1..1"
	exit 0
fi

check info_lists_defrag sh -c "$mactl info | grep -q 'features.*defrag'"
"$mactl" stats --json > /tmp/stats.json
pycheck stats_json_has_every_stat '
import json
d = json.load(open("/tmp/stats.json"))
s = d["stats"]
assert d["pool_cap_bytes"] > 0 and d["arenas"] >= 0, d
assert "compress_ops" in s and "defrag_runs" in s, s
assert all(isinstance(v, int) for v in s.values()), s
'
check watch_prints_rates sh -c "$mactl watch -i 0.2 -n 2 | grep -q 'per second'"

# Two processes holding arenas at rest (background compaction off, so
# their stats stay put); each prints "PID FD" and its own stats on one
# line, read through a FIFO: that is the handshake.
threshold=$(cat /sys/kernel/mem_arena/defrag_threshold_pct)
echo 0 > /sys/kernel/mem_arena/defrag_threshold_pct
rm -f /tmp/holder.fifo /tmp/holder2.fifo
mkfifo /tmp/holder.fifo /tmp/holder2.fifo
"$holder" > /tmp/holder.fifo &
read -r pid fd own1 < /tmp/holder.fifo
"$holder" > /tmp/holder2.fifo &
read -r pid2 fd2 own2 < /tmp/holder2.fifo
check holders_started test -n "$pid" -a -n "$fd" -a -n "$pid2"

"$mactl" top --once --json > /tmp/top.json
pycheck top_lists_both_with_their_own_stats "
import json, re
names = re.findall(r'X\\((\\w+),\\s*\\d+,', open('$top/uapi/linux/mem_arena.h').read())
top = {a['pid']: a for a in json.load(open('/tmp/top.json'))}
for pid, own in (($pid, '$own1'), ($pid2, '$own2')):
    a = top[pid]
    assert a['comm'] == 'arena_holder' and a['regions'] == 1, a
    mine = dict(zip(names, map(int, own.split())))
    assert a['stats'] == mine, (pid, {k: (a['stats'][k], mine[k]) for k in mine if a['stats'][k] != mine[k]})
"
# Both are root's: one tenant, whose pool is both pools and whose share,
# alone, is the whole cap.
pycheck top_shows_the_tenant_and_its_share "
import json
top = [a for a in json.load(open('/tmp/top.json')) if a['pid'] in ($pid, $pid2)]
cap = int(open('/sys/kernel/mem_arena/pool_cap_bytes').read())
pools = sum(a['stats']['pool_bytes'] for a in top)
for a in top:
    assert a['tenant'] == 'uid:0' and a['weight'] == 1, a
    assert a['tenant_pool_bytes'] == pools and a['share_bytes'] == cap, (a, pools, cap)
"
"$mactl" top --once > /tmp/top.txt
check top_table_has_both sh -c "grep -q ' $pid .*arena_holder.* uid:0 ' /tmp/top.txt && grep -q ' $pid2 .*arena_holder' /tmp/top.txt"

# Idle-only compression of the second holder, named by PID alone: the
# first pass only watches (the 256 chunks it read back stay raw), the
# second compresses them (the holder is paused, nothing used them).
"$mactl" compress --idle --json "$pid2" > /tmp/idle1.json
"$mactl" compress --idle --json "$pid2" > /tmp/idle2.json
"$mactl" stats --json "$pid2" > /tmp/stats2.json
pycheck compress_idle_by_pid "
import json
a, = json.load(open('/tmp/idle1.json'))
b, = json.load(open('/tmp/idle2.json'))
s, = json.load(open('/tmp/stats2.json'))
assert a['pid'] == b['pid'] == s['pid'] == $pid2 and a['fd'] == s['fd'] == $fd2, (a, s)
assert a['regions'] == 1 and a['chunks'] == 0 and a['hot_skips'] == 256, a
assert b['chunks'] == 256 and b['hot_skips'] == 0 and b['raw_bytes'] == 0, b
st = s['stats']
assert st['hot_skips'] == 256 and st['compress_ops'] == 512 + 256, st
assert st['idle_refaults'] == 0 and st['busy_skips'] == 0, st
"
check compress_table_line sh -c "$mactl compress $pid2:$fd2 | grep -q '^arena $pid2:$fd2: 1 regions, 0 chunks compressed'"
check stats_of_arena_table sh -c "$mactl stats $pid2 | grep -q '^hot_skips  *256  *chunks'"
"$mactl" compress "$$" > /dev/null 2> /tmp/err.txt
rc=$?
check compress_of_process_without_arena_fails_cleanly sh -c "test $rc = 1 && grep -q 'no mem_arena arena open' /tmp/err.txt"
kill "$pid2"

"$mactl" map --json "$pid:$fd" > /tmp/map1.json
pycheck map_json_agrees_with_stats '
import json
d = json.load(open("/tmp/map1.json"))
s, b = d["stats"], d["blocks"]
assert len(b) == s["pool_blocks"] > 0, (len(b), s["pool_blocks"])
assert sum(x["used_bytes"] for x in b) == s["slot_bytes_live"]
assert sum(x["nr_slots"] for x in b) == 256
assert all(len(x["map"]) == d["cells_per_block"] for x in b)
assert 0 < d["density_slots"] < 0.75 and d["fragmentation"] > 0.5, d
'
lines=$("$mactl" map "$pid:$fd" | grep -c '|.*|')
pycheck map_table_has_a_line_per_block "
assert $lines == json.load(open('/tmp/map1.json'))['stats']['pool_blocks'], $lines
"

"$mactl" defrag --json "$pid:$fd" > /tmp/defrag.json
"$mactl" map --json "$pid:$fd" > /tmp/map2.json
pycheck defrag_releases_what_map_shows '
import json
d = json.load(open("/tmp/defrag.json"))
a = json.load(open("/tmp/map1.json"))["stats"]
b = json.load(open("/tmp/map2.json"))["stats"]
assert d["pages_released"] > 0 and d["slots_moved"] > 0, d
assert a["pool_bytes"] - b["pool_bytes"] == d["pages_released"] * 4096, (a, b, d)
assert b["slot_bytes_live"] == a["slot_bytes_live"]
assert b["pool_bytes"] <= (b["slot_bytes_live"] // 65536 + 2) * 65536
'
kill "$pid"
wait 2>/dev/null
echo "$threshold" > /sys/kernel/mem_arena/defrag_threshold_pct

# Events of a capped compress pass, shown while it happens.
rm -f /tmp/events.fifo
mkfifo /tmp/events.fifo
"$mactl" events --json > /tmp/events.json 2> /tmp/events.fifo &
epid=$!
read -r listening < /tmp/events.fifo
"$top/tools/bin/process_mem_bench" --dataset text --region-mb 8 --arena-cap-mb 1 \
	--runs 1 --warmups 0 > /dev/null 2>&1 &
bpid=$!
wait $bpid
kill $epid
wait $epid 2>/dev/null
pycheck events_show_a_capped_pass "
import json
ev = [json.loads(l) for l in open('/tmp/events.json')]
mine = [e for e in ev if e['pid'] == $bpid]
kinds = [e['event'] for e in mine]
assert kinds[0] == 'ARENA_CREATED' and kinds[-1] == 'ARENA_DESTROYED', kinds
assert kinds.count('CAP_REACHED') == 1 and kinds.count('EVICTION') == 1, kinds
e = [e for e in mine if e['event'] == 'EVICTION'][0]
assert e['chunks'] > 0 and e['bytes'] == e['chunks'] * 4096, e
"

"$mactl" map 999999:3 > /dev/null 2> /tmp/err.txt
rc=$?
check map_of_missing_process_fails_cleanly test $rc = 1 -a "$(wc -l < /tmp/err.txt)" = 1
"$mactl" map "$$:0" > /dev/null 2> /tmp/err.txt
rc=$?
check map_of_non_arena_fd_fails_cleanly sh -c "test $rc = 1 && grep -q 'not a mem_arena' /tmp/err.txt"
pycheck_run
echo "1..$n"
