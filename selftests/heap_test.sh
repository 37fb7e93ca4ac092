#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# memarena-run and libmemarena-heap.so in the guest: heap_prog's checks of
# the heap itself (and of its fork fallback, as nobody), then python3 under jemalloc and mimalloc with the same
# output as a plain run (a fork child writing its copy included), compressed
# from outside (mactl compress --idle PID) and by --idle-compress, with the
# stats file checked.  Needs the host's /usr (tools/vm-run --host-usr).  TAP.
. "$(dirname "$0")/tap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/tools/bin/memarena-run
mactl=$top/tools/bin/mactl
wl=$top/selftests/examples/heap_workload.py
py=/usr/bin/python3

if [ ! -x $py ]; then
	echo "ok 1 heap # SKIP no python3 in the guest (vm-run --host-usr)"
	echo "1..1"
	exit 0
fi

# heap_prog numbers its own lines: ours go on after them.
"$run" --malloc libc --heap 4M -- "$top/selftests/bin/heap_prog" > /tmp/heap_prog.out 2>&1
rc=$?
grep -v '^1\.\.' /tmp/heap_prog.out
n=$(grep -c '^\(not \)\{0,1\}ok ' /tmp/heap_prog.out)
check heap_prog_exits_0 test $rc = 0

# heap_prog NAME "RUN_OPTIONS" MODE [PREFIX...]: heap_prog MODE under
# memarena-run with RUN_OPTIONS (run by PREFIX); it numbers its lines after
# ours and prints its plan, which gives the next number.
heap_prog_run() {
	name=$1 opts=$2 mode=$3
	shift 3
	# shellcheck disable=SC2086
	"$@" "$run" --malloc libc --heap 4M $opts -- "$top/selftests/bin/heap_prog" $mode $n \
		> "/tmp/heap_$name.out" 2>&1
	rc=$?
	grep -v '^1\.\.' "/tmp/heap_$name.out"
	n=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "/tmp/heap_$name.out" | grep . || echo $n)
	check heap_prog_${name}_exits_0 test $rc = 0
}

# The fork fallback, as nobody (root's locked memory is not counted): a
# child whose user's RLIMIT_MEMLOCK cannot take the copy gets a private one.
# util-linux's setpriv (busybox's cannot change ids).
if [ -x /usr/bin/setpriv ]; then
	heap_prog_run fork_fallback "" fork-fallback /usr/bin/setpriv \
		--reuid=65534 --regid=65534 --clear-groups
else
	skip heap_prog_fork_fallback "no /usr/bin/setpriv (util-linux) in the guest's /usr"
fi

# Without /proc (a chroot, a namespace that hides it) a fork child still
# gets its copy.  util-linux's unshare; the library named, as memarena-run
# finds the build tree through /proc/self/exe.
if [ -x /usr/bin/unshare ]; then
	heap_prog_run fork_noproc "" fork-noproc \
		env MEMARENA_HEAP_LIB="$top/libmemarena/libmemarena-heap.so" \
		/usr/bin/unshare -m sh -c 'umount -l /proc && exec "$0" "$@"'
else
	skip heap_prog_fork_noproc "no /usr/bin/unshare (util-linux) in the guest's /usr"
fi
# ... and one that copies out of the arena (the fork fallback, as nobody).
if [ -x /usr/bin/unshare ] && [ -x /usr/bin/setpriv ]; then
	heap_prog_run fork_noproc_fallback "" fork-noproc-fallback \
		env MEMARENA_HEAP_LIB="$top/libmemarena/libmemarena-heap.so" \
		/usr/bin/unshare -m sh -c 'umount -l /proc &&
			exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@"'
else
	skip heap_prog_fork_noproc_fallback "no /usr/bin/unshare or /usr/bin/setpriv (util-linux) in the guest's /usr"
fi

# Children made with the system call through syscall() (clone(2) as
# bubblewrap and systemd make theirs, clone3(2), fork(2)) get a copy too.
heap_prog_run raw_fork "" raw-fork timeout 120

# A thread writes the heap while another forks: each child's copy is the
# heap at one instant (MEM_ARENA_COPY_SNAPSHOT), not torn page by page.
heap_prog_run fork_writer "" fork-writer

# fork() and _Fork() from a coroutine whose stack is in the heap: parent
# and child each return on their own stack, not on one they share; and
# from a thread given a stack in the heap, which leaves the region; its
# forks with /proc and without.
heap_prog_run fork_heap_stack "" fork-heap-stack timeout 120
heap_prog_run fork_heap_stack_noproc "" fork-heap-stack-noproc timeout 120
# A thread whose descriptor stays in the heap (created with /proc gone):
# its fork(), _Fork() and clone() fail with ENOMEM, the parent unchanged.
heap_prog_run heap_descriptor "" heap-descriptor timeout 120

# --readahead: the heap's arena reads ahead an unadvised in-order read.
heap_prog_run readahead "--readahead 64" readahead
check memarena_run_rejects_a_bad_readahead sh -c \
	"! '$run' --readahead 16385 -- true 2> /tmp/ra.err && [ \$(wc -l < /tmp/ra.err) = 1 ]"

# --map-ahead: the same read faults once per window (heap_prog checks it).
heap_prog_run mapahead "--readahead 64 --map-ahead" readahead
check memarena_run_rejects_map_ahead_alone sh -c \
	"! '$run' --map-ahead -- true 2> /tmp/ma.err && [ \$(wc -l < /tmp/ma.err) = 1 ]"

# --readahead-async: the same read, a worker reading ahead; with
# --map-ahead too, the reader reads toward the worker and maps what both read.
heap_prog_run rasync "--readahead 64 --readahead-async" readahead
heap_prog_run rasyncmap "--readahead 64 --readahead-async --map-ahead" readahead
check memarena_run_rejects_readahead_async_alone sh -c \
	"! '$run' --readahead-async -- true 2> /tmp/ma.err && [ \$(wc -l < /tmp/ma.err) = 1 ]"

have() { ls /usr/lib/*/lib$1.so.2 > /dev/null 2>&1; }

# fork() while threads allocate, under each allocator that calls mmap()
# through the PLT: the children and the parent's heap must come out whole,
# and no fork may hang (heap_prog fork-threads).
for m in jemalloc mimalloc; do
	if have $m; then
		heap_prog_run fork_threads_$m "--malloc $m --heap 256M" fork-threads \
			timeout 300
	else
		skip heap_prog_fork_threads_${m}_exits_0 "lib$m.so.2 is not in the guest's /usr"
	fi
done
$py "$wl" 20000 > /tmp/plain.out
alloc=
for m in jemalloc mimalloc; do
	if ! have $m; then
		skip ${m}_output_equals_plain "lib$m.so.2 is not in the guest's /usr"
		continue
	fi
	alloc=${alloc:-$m}
	"$run" --malloc $m --stats-json /tmp/$m.json -- $py "$wl" 20000 > /tmp/$m.out 2> /tmp/$m.err
	check ${m}_output_equals_plain cmp -s /tmp/plain.out /tmp/$m.out
	check ${m}_runs_quietly test ! -s /tmp/$m.err
	pycheck ${m}_heap_was_in_the_arena "
import json
s = json.load(open('/tmp/$m.json'))
assert s['arena'] and s['heap_maps'] > 0 and s['heap_peak_bytes'] >= 4 << 20, s
assert s['stats']['raw_bytes'] > 0 and s['vm_rss_bytes'] > 0, s
"
done

if [ -z "$alloc" ]; then
	pycheck_run
	echo "ok $((n + 1)) idle_compression # SKIP no jemalloc or mimalloc in the guest's /usr"
	echo "1..$((n + 1))"
	exit 0
fi

# Until the program $pid says "ready" in FILE, or is gone.
wait_ready() {
	until grep -q ready "$1" 2>/dev/null; do
		kill -0 $pid 2>/dev/null || break
		usleep 100000
	done
}

# The policy driven from outside: two idle-only passes compress what the
# paused program does not touch; it then checks its data and forks.
rm -f /tmp/heap.fifo
mkfifo /tmp/heap.fifo
exec 3<> /tmp/heap.fifo
"$run" --malloc $alloc --stats-json /tmp/outside.json -- $py "$wl" 20000 pause < /tmp/heap.fifo > /tmp/outside.out &
pid=$!
wait_ready /tmp/outside.out
"$mactl" compress --idle "$pid" > /dev/null
"$mactl" compress --idle --json "$pid" > /tmp/idle.json
"$mactl" stats --json "$pid" > /tmp/outside-stats.json
echo go >&3
wait $pid
check paused_program_output_equals_plain sh -c "grep -v ready /tmp/outside.out | cmp -s /tmp/plain.out -"
pycheck mactl_compresses_the_idle_heap "
import json
st = json.load(open('/tmp/outside-stats.json'))[0]['stats']
assert st['compress_ops'] > 0 and st['compressed_bytes_live'] > 0, st
end = json.load(open('/tmp/outside.json'))['stats']
assert end['decompress_ops'] > 0 and end['decompress_errors'] == 0, end
"

# --idle-compress 1: the program waits (for at most 60 s) until its
# thread has compressed something, then checks its data.
"$run" --malloc $alloc --idle-compress 1 --stats-json /tmp/idle-run.json -- $py "$wl" 20000 pause \
	< /tmp/heap.fifo > /tmp/idle-run.out &
pid=$!
wait_ready /tmp/idle-run.out
i=0
until "$mactl" stats --json "$pid" 2>/dev/null | grep -q '"compress_ops": *[1-9]'; do
	i=$((i + 1))
	[ $i -lt 600 ] || break
	usleep 100000
done
echo go >&3
wait $pid
check idle_compress_thread_compresses test $i -lt 600
check idle_compress_output_equals_plain sh -c "grep -v ready /tmp/idle-run.out | cmp -s /tmp/plain.out -"
exec 3>&-

pycheck_run
echo "1..$n"
