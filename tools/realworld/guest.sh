#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make realworld, in the guest (tools/vm-run --host-usr): redis-server,
# sqlite3 and python3, each plain and under memarena-run in three modes:
#   arena     the heap in an arena, never compressed
#   compress  one mactl compress pass after the load
#   idle      --idle-compress 2 (a pass every 2 s of what was not touched)
# Each run loads its data, then (after the compress pass, or once the idle
# thread has compressed) runs its measured phase, is measured (VmRSS + the
# arena's pool_bytes) and checked: the same digests as the plain run, and a
# fork (redis BGSAVE, a python os.fork() child writing its copy): how long
# fork() took in the parent (the heap's copy included) and how many chunks
# the parent's arena decompressed meanwhile.
# Each measured phase is marked on the console ("--- phase: NAME begin|end")
# for tools/phase-meter on the host: its host CPU time is a throughput
# measure that host load does not distort.
# Writes $MEM_ARENA_OUT/realworld.csv; exits 1 if a result differs.
case ${1:-} in
-h|--help)
	cat <<USAGE
Usage: guest.sh

Runs in the guest of tools/realworld/run-realworld (make realworld):
redis-server, sqlite3 and python3, plain and under memarena-run
(REALWORLD_MODES, default "plain jemalloc arena compress idle"), on the
redis load file REALWORLD_DATA.  Writes \$MEM_ARENA_OUT/realworld.csv.
USAGE
	exit 0 ;;
?*) echo "guest.sh: takes no arguments, only REALWORLD_DATA and REALWORLD_MODES (try --help)" >&2
	exit 2 ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${MEM_ARENA_OUT:-/tmp}
run=$top/tools/bin/memarena-run
mactl=$top/tools/bin/mactl
data=${REALWORLD_DATA:?the host-made redis load file}
work=/tmp/realworld
modes=${REALWORLD_MODES:-plain jemalloc arena compress idle}
jemalloc=$(ls /usr/lib/*/libjemalloc.so.2 | head -1)
mkdir -p $work
bad=0
csv=$out/realworld.csv
echo "program,mode,footprint_bytes,rss_bytes,pool_bytes,footprint_vs_plain,ops,ops_per_s,p50_ms,p99_ms,identical,compress_ops,decompress_ops,hot_skips,fork_ms,fork_decompress_ops" > $csv

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

# start MODE IN OUT PROGRAM ARGS...: PROGRAM in the background as $pid,
# stdin from IN, stdout and stderr to OUT (an asynchronous command's stdin
# is /dev/null unless redirected on the command itself).
start() {
	mode=$1 in=$2 o=$3
	shift 3
	# The last run's OUT must go now: its "ready" would pass for this one's
	# before the new program truncates the file.
	rm -f $o
	case $mode in
	plain) "$@" < $in > $o 2>&1 & ;;
	jemalloc) LD_PRELOAD=$jemalloc "$@" < $in > $o 2>&1 & ;;
	arena|compress) "$run" --malloc jemalloc --stats-json $work/stats.json -- \
		"$@" < $in > $o 2>&1 & ;;
	idle) "$run" --malloc jemalloc --idle-compress 2 --stats-json $work/stats.json -- \
		"$@" < $in > $o 2>&1 & ;;
	esac
	pid=$!
	rm -f $work/stats.json
}

# After the program exited: was its heap in an arena?  (The stats file
# says why not.)
in_arena() {
	[ "$mode" = plain ] || [ "$mode" = jemalloc ] && return 0
	grep -q '"arena": true' $work/stats.json 2>/dev/null && return 0
	echo "realworld: $1 $mode: no arena: $(cut -c1-200 $work/stats.json 2>/dev/null)" >&2
	ok=no
}

# phase NAME begin|end: a mark for tools/phase-meter, on the console.
phase() { echo "--- phase: $1 $2" >&2; }

# until TIMEOUT_S COMMAND...: poll COMMAND every 0.1 s.
until_ok() {
	i=0 limit=$(($1 * 10))
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $limit ] || { echo "realworld: timed out waiting for: $*" >&2; return 1; }
		usleep 100000
	done
}

stat_of() {	# STAT: of $pid's arena, 0 if it has none
	"$mactl" stats --json "$pid" 2>/dev/null |
		sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -1 | grep . || echo 0
}

compressed() { [ "$(stat_of compress_ops)" -gt 0 ]; }

# After the load: one pass, or the idle thread's first compressions.
policy() {
	case $1 in
	compress) "$mactl" compress "$pid" > /dev/null ;;
	idle) until_ok 120 compressed ;;
	esac
}

# measure: $pid's footprint and stats now, for the next row.
measure() {
	rss=$(($(awk '/^VmRSS/ { print $2 }' /proc/$pid/status) * 1024))
	pool=$(stat_of pool_bytes)
	dec=$(stat_of decompress_ops)
	stats="$(stat_of compress_ops),$dec,$(stat_of hot_skips)"
	fork_ms= fork_dec=
}

# forked MS: after the fork, before anything else reads the heap.
forked() {
	fork_ms=$1
	fork_dec=$(($(stat_of decompress_ops) - dec))
}

# row PROGRAM MODE OPS SECONDS P50 P99 IDENTICAL: a row of what measure saw.
row() {
	foot=$((rss + pool))
	[ "$2" = plain ] && eval "plain_$1=$foot"
	eval "base=\$plain_$1"
	vs=$(awk -v f=$foot -v b="${base:-0}" 'BEGIN { if (b > 0) printf "%.3f", f / b; else printf "" }')
	rate=$(awk -v n=$3 -v s=$4 'BEGIN { if (s > 0) printf "%.0f", n / s }')
	echo "$1,$2,$foot,$rss,$pool,$vs,$3,$rate,$5,$6,$7,$stats,$fork_ms,$fork_dec" >> $csv
	[ "$7" = yes ] || bad=1
	echo "realworld: $1 $2: footprint $((foot >> 20)) MiB (x$vs of plain), $rate ops/s, p50 $5 ms, p99 $6 ms, identical: $7${fork_ms:+, fork $fork_ms ms decompressing $fork_dec chunks}" >&2
}

same() {	# NAME VALUE: $ok, whether VALUE equals the plain run's
	[ "$mode" = plain ] && eval "ref_$1=\$2"
	eval "ref=\${ref_$1-unset}"
	if [ "$2" = "$ref" ]; then ok=yes; else ok=no; fi
}

redis() {
	mode=$1 port=6399
	rm -f $work/dump.rdb
	start $mode /dev/null $work/redis.out redis-server --port $port --save '' --appendonly no --dir $work \
		--enable-debug-command yes --logfile $work/redis.log
	until_ok 60 sh -c "redis-cli -p $port ping 2>/dev/null | grep -q PONG" || return 1
	redis-cli -p $port --pipe < "$data" > /dev/null
	digest=$(redis-cli -p $port debug digest)
	policy $mode || return 1
	# The measured phase: GETs of the hottest tenth (keys 0..9999), three
	# rounds; the median round by requests per second counts (TCG swings).
	for r in 1 2 3; do
		phase redis/$mode/$r begin
		redis-benchmark -p $port -c 4 -n 40000 -r 10000 --csv GET 'key:__rand_int__' \
			2> /dev/null | tail -1 | tr -d '"' | tr ',' ' '
		phase redis/$mode/$r end
	done | sort -n -k3 | sed -n 2p > $work/bench.txt
	# GET key:__rand_int__ rps avg min p50 p95 p99 max
	set -- $(cat $work/bench.txt)
	rps=$3 p50=$6 p99=$8
	measure	# before the fork, which decompresses what the child copies
	# fork: BGSAVE writes a dump that loads, and the data stays the same.
	redis-cli -p $port bgsave > /dev/null
	until_ok 120 sh -c "redis-cli -p $port info persistence | grep -q '^rdb_bgsave_in_progress:0'"
	saved=$(redis-cli -p $port info persistence | sed -n 's/^rdb_last_bgsave_status:\(.*\)\r$/\1/p')
	forked $(redis-cli -p $port info stats | sed -n 's/^latest_fork_usec:\([0-9]*\).*/\1/p' |
		awk '{ printf "%.1f", $1 / 1000 }')
	check=$(redis-check-rdb $work/dump.rdb 2>&1 | grep -c 'RDB looks OK')
	after=$(redis-cli -p $port debug digest)
	same redis_digest "$digest"
	[ "$after" = "$digest" ] && [ "$saved" = ok ] && [ "$check" = 1 ] || ok=no
	redis-cli -p $port shutdown nosave > /dev/null 2>&1
	wait $pid
	in_arena redis
	row redis $mode 40000 $(awk -v r=$rps 'BEGIN { printf "%f", 40000 / r }') $p50 $p99 $ok
}

sqlite() {
	mode=$1
	rm -f $work/sq.fifo
	mkfifo $work/sq.fifo
	exec 7<> $work/sq.fifo
	start $mode $work/sq.fifo $work/sq.out sqlite3 :memory:
	cat >&7 <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, val INTEGER, note TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t SELECT x, 'name-' || x, (x * 7919) % 100003, printf('%0120d', x * 31) FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_val ON t(val);
.print ready
EOF
	until_ok 600 grep -q '^ready$' $work/sq.out || return 1
	policy $mode || return 1
	phase sqlite/$mode begin
	{
		echo ".timer on"
		i=0
		while [ $i -lt 100 ]; do
			echo "SELECT count(*), sum(length(note)), min(name) FROM t WHERE val BETWEEN $((i * 997 % 100000)) AND $((i * 997 % 100000 + 300));"
			i=$((i + 1))
		done
		echo ".timer off"
		echo "SELECT count(*), sum(val), max(note), min(name) FROM t;"
		echo "PRAGMA integrity_check;"
		echo ".print done"
	} >&7
	until_ok 600 grep -q '^done$' $work/sq.out || return 1
	phase sqlite/$mode end
	measure
	result=$(grep -v '^Run Time' $work/sq.out | md5sum | cut -d' ' -f1)
	same sqlite_md5 "$result"
	grep -q '^ok$' $work/sq.out || ok=no
	set -- $(grep '^Run Time' $work/sq.out | awk '{ print $4 * 1000 }' | sort -n |
		awk '{ t[NR] = $1; s += $1 } END { printf "%f %s %s", s / 1000, t[int(NR / 2) + 1], t[int(NR * 0.99) + 1] }')
	echo ".quit" >&7
	wait $pid
	exec 7>&-
	in_arena sqlite
	row sqlite $mode 100 "$@" $ok
}

python() {
	mode=$1
	rm -f $work/py.fifo
	mkfifo $work/py.fifo
	exec 7<> $work/py.fifo
	start $mode $work/py.fifo $work/py.out python3 "$top/tools/realworld/py_work.py"
	until_ok 600 grep -q '^ready$' $work/py.out || return 1
	policy $mode || return 1
	phase python/$mode begin
	echo go >&7
	until_ok 600 grep -q '^done$' $work/py.out || return 1
	phase python/$mode end
	measure
	echo go >&7
	until_ok 600 grep -q '^forked ' $work/py.out || return 1
	forked $(sed -n 's/^forked //p' $work/py.out)
	echo go >&7
	wait $pid
	exec 7>&-
	same python_out "$(grep -v '^ready$\|^done$\|^timing \|^forked ' $work/py.out | md5sum)"
	grep -q '^parent ' $work/py.out || ok=no
	in_arena python
	set -- $(sed -n 's/^timing //p' $work/py.out)
	row python $mode "$@" $ok
}

for prog in ${REALWORLD_PROGRAMS:-redis sqlite python}; do
	for mode in $modes; do
		echo "realworld: $prog $mode" >&2
		$prog $mode || { echo "realworld: $prog $mode failed" >&2; bad=1; }
	done
done
cat $csv
exit $bad
