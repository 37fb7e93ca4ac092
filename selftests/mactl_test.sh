#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mactl in the guest: info, stats --json, watch, and map/defrag of another
# process's arena by PID:FD, with the JSON checked against the stats.
# JSON is parsed with the host's python3 (tools/vm-run --host-usr).  TAP.
top=$(cd "$(dirname "$0")/.." && pwd)
mactl=$top/tools/bin/mactl
holder=$top/selftests/bin/arena_holder
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
py() { /usr/bin/python3 -c "$@"; }

if [ ! -x /usr/bin/python3 ]; then
	echo "ok 1 mactl # SKIP no python3 in the guest (vm-run --host-usr)"
	echo "1..1"
	exit 0
fi

check info_lists_defrag sh -c "$mactl info | grep -q 'features.*defrag'"
"$mactl" stats --json > /tmp/stats.json
check stats_json_has_every_stat py '
import json
d = json.load(open("/tmp/stats.json"))
s = d["stats"]
assert d["pool_cap_bytes"] > 0 and d["arenas"] >= 0, d
assert "compress_ops" in s and "defrag_runs" in s, s
assert all(isinstance(v, int) for v in s.values()), s
'
check watch_prints_rates sh -c "$mactl watch -i 0.2 -n 2 | grep -q 'per second'"

# Another process's arena by PID:FD; its "PID FD" line, read through a
# FIFO, is the handshake.
rm -f /tmp/holder.fifo
mkfifo /tmp/holder.fifo
"$holder" > /tmp/holder.fifo &
read -r pid fd < /tmp/holder.fifo
check holder_started test -n "$pid" -a -n "$fd"

"$mactl" map --json "$pid:$fd" > /tmp/map1.json
check map_json_agrees_with_stats py '
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
blocks=$(py 'import json; print(json.load(open("/tmp/map1.json"))["stats"]["pool_blocks"])')
check map_table_has_a_line_per_block test "$lines" = "$blocks"

"$mactl" defrag --json "$pid:$fd" > /tmp/defrag.json
"$mactl" map --json "$pid:$fd" > /tmp/map2.json
check defrag_releases_what_map_shows py '
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
wait "$hpid" 2>/dev/null

"$mactl" map 999999:3 > /dev/null 2> /tmp/err.txt
rc=$?
check map_of_missing_process_fails_cleanly test $rc = 1 -a "$(wc -l < /tmp/err.txt)" = 1
"$mactl" map "$$:0" > /dev/null 2> /tmp/err.txt
rc=$?
check map_of_non_arena_fd_fails_cleanly sh -c "test $rc = 1 && grep -q 'not a mem_arena' /tmp/err.txt"
echo "1..$n"
