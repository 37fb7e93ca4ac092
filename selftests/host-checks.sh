#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host-side checks of make check (no module needed), TAP output:
# the library's exported symbols, the man pages, a program built from a
# staged `make install` with pkg-config (static and shared), and that
# program on the host, where no module is loaded, under valgrind.
# Leaves the built programs in build/pkgconfig/ for the guest tests.
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$top/build/stage
out=$top/build/pkgconfig
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; [ -n "${2:-}" ] && echo "# $2"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

syms=$(nm -D --defined-only "$top/libmemarena/libmemarena.so.1" | awk '{ print $3 }')
bad=$(echo "$syms" | grep -v '^MEM_ARENA_1\.[0-9]*$' |
	grep -v '^mem_arena_[a-z_]*@@MEM_ARENA_1\.[0-9]*$')
# A symbol added after 1.0 goes into a new version node, never into 1.0.
echo "$syms" | grep -q '^mem_arena_discard@@MEM_ARENA_1\.1$' || bad="$bad mem_arena_discard-not-at-1.1"
echo "$syms" | grep -q '^mem_arena_compress_idle@@MEM_ARENA_1\.2$' || bad="$bad mem_arena_compress_idle-not-at-1.2"
echo "$syms" | grep -q '^mem_arena_region_copy@@MEM_ARENA_1\.3$' || bad="$bad mem_arena_region_copy-not-at-1.3"
echo "$syms" | grep -q '^mem_arena_set_readahead@@MEM_ARENA_1\.4$' || bad="$bad mem_arena_set_readahead-not-at-1.4"
echo "$syms" | grep -q '^mem_arena_region_snapshot@@MEM_ARENA_1\.5$' || bad="$bad mem_arena_region_snapshot-not-at-1.5"
echo "$syms" | grep -q '^mem_arena_touch_parallel@@MEM_ARENA_1\.6$' || bad="$bad mem_arena_touch_parallel-not-at-1.6"
if [ -n "$syms" ] && [ -z "$bad" ]; then
	ok "exports_only_mem_arena_versioned ($(echo "$syms" | wc -l) symbols)"
else
	not_ok exports_only_mem_arena_versioned "unexpected: $(echo $bad)"
fi

# The heap library interposes five calls, _Fork and clone (no fork
# handlers of glibc's), fork (a fork from a stack in the heap),
# pthread_create (a thread's stack in the heap leaves it), syscall (fork
# system calls made with it) and __register_atfork (its fork handlers go
# first), and exports nothing else.
heap_syms=$(nm -D --defined-only "$top/libmemarena/libmemarena-heap.so" | awk '{ print $3 }' | LC_ALL=C sort | tr '\n' ' ')
check "heap_library_exports_the_interposed_calls_only ($heap_syms)" \
	test "$heap_syms" = "_Fork __register_atfork clone fork madvise mmap mmap64 mremap munmap pthread_create syscall "

if ! command -v man >/dev/null; then
	skip man_pages_render_without_warnings "man not installed (make matrix's chroots)"
elif msg=$(make -s -C "$top/man" check 2>&1); then
	ok "man_pages_render_without_warnings"
else
	not_ok man_pages_render_without_warnings "$(echo "$msg" | head -3)"
fi

rm -rf "$stage" "$out"
mkdir -p "$out"
if make -s -C "$top/libmemarena" install DESTDIR="$stage" PREFIX=/usr >/dev/null &&
   make -s -C "$top/man" install DESTDIR="$stage" PREFIX=/usr >/dev/null &&
   make -s -C "$top" install-udev DESTDIR="$stage" >/dev/null &&
   [ -f "$stage/usr/share/man/man3/mem_arena_create.3" ] &&
   grep -q 'GROUP="mem_arena", MODE="0660"' "$stage/etc/udev/rules.d/70-mem_arena.rules"; then
	ok make_install_destdir
else
	not_ok make_install_destdir
fi

export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$stage/usr/lib/pkgconfig
src=$top/selftests/examples/from_man.c
# shellcheck disable=SC2046
if cc -Wall -Werror -o "$out/from_man_shared" "$src" $(pkg-config --cflags --libs memarena) \
	-Wl,-rpath,"$stage/usr/lib" 2>"$out/cc.log" &&
   cc -Wall -Werror -static -o "$out/from_man_static" "$src" \
	$(pkg-config --static --cflags --libs memarena) 2>>"$out/cc.log"; then
	ok pkg_config_builds_static_and_shared
else
	not_ok pkg_config_builds_static_and_shared "$(head -3 "$out/cc.log")"
fi

if [ -e /dev/mem_arena ]; then
	skip no_module_gives_enodev_without_leaks "/dev/mem_arena exists on the host"
elif ! command -v valgrind >/dev/null; then
	skip no_module_gives_enodev_without_leaks "valgrind not installed"
else
	valgrind --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 \
		"$out/from_man_shared" > "$out/valgrind.log" 2>&1
	rc=$?
	if [ $rc = 2 ] && grep -q 'module not loaded' "$out/valgrind.log" &&
	   grep -q 'All heap blocks were freed' "$out/valgrind.log"; then
		ok no_module_gives_enodev_without_leaks
	else
		not_ok no_module_gives_enodev_without_leaks "exit $rc; see $out/valgrind.log"
	fi
fi
# Each tool: --help exits 0; usage errors exit 2 with one line; a missing
# module exits 1 with one line.
tool_errors() {	# TOOL EXPECTED_STATUS ARGS...
	t=$1 want=$2
	shift 2
	"$top/tools/bin/$t" "$@" > /dev/null 2> "$out/err.txt"
	got=$?
	[ "$got" = "$want" ] && [ "$(wc -l < "$out/err.txt")" = 1 ] ||
		{ echo "# $t $*: exit $got, stderr: $(head -2 "$out/err.txt")"; return 1; }
}
mactl_ok=1
"$top/tools/bin/mactl" --help | grep -q '^Usage: mactl' || mactl_ok=0
tool_errors mactl 2 || mactl_ok=0
tool_errors mactl 2 bogus || mactl_ok=0
tool_errors mactl 2 stats --bogus || mactl_ok=0
tool_errors mactl 2 watch -i -1 || mactl_ok=0
tool_errors mactl 2 watch -n 0 || mactl_ok=0
tool_errors mactl 2 map 12:x || mactl_ok=0
tool_errors mactl 2 map || mactl_ok=0
if [ ! -e /dev/mem_arena ]; then
	tool_errors mactl 1 stats || mactl_ok=0
	tool_errors mactl 1 info || mactl_ok=0
fi
if [ $mactl_ok = 1 ]; then ok mactl_help_and_errors; else not_ok mactl_help_and_errors; fi

for t in process_mem_bench memarena-demo dataset-dump arena_bench \
	 ../../workloads/bin/anon_streamer ../../workloads/bin/interactive_burst; do
	name=$(basename "$t")
	good=1
	"$top/tools/bin/$t" --help | grep -q "^Usage: $name" || good=0
	case $name in
	arena_bench)	# COMMAND first
		tool_errors "$t" 2 || good=0
		tool_errors "$t" 2 bogus || good=0
		tool_errors "$t" 2 run --bogus || good=0
		tool_errors "$t" 2 run --dataset nope || good=0
		tool_errors "$t" 2 phase touch --chunk-kb 12 || good=0
		tool_errors "$t" 2 run --chunk-kb 16 || good=0
		tool_errors "$t" 2 phase zread --chunk-kb 16 || good=0 ;;
	dataset-dump)
		tool_errors "$t" 2 || good=0
		tool_errors "$t" 2 --bogus x || good=0
		tool_errors "$t" 2 --dataset nope x || good=0
		tool_errors "$t" 1 --mb 1 /nonexistent/dir/file || good=0 ;;
	*)
		tool_errors "$t" 2 --bogus || good=0
		tool_errors "$t" 2 extra-argument || good=0 ;;
	esac
	case $name in
	process_mem_bench)
		tool_errors "$t" 2 --runs 0 || good=0
		tool_errors "$t" 2 --chunk-kb 12 || good=0
		tool_errors "$t" 2 --dataset nope || good=0 ;;
	anon_streamer|interactive_burst)
		tool_errors "$t" 2 --duration-sec x || good=0
		tool_errors "$t" 2 --dataset nope || good=0 ;;
	memarena-demo)
		tool_errors "$t" 2 --region-mb 1 || good=0 ;;
	esac
	if [ ! -e /dev/mem_arena ]; then
		case $name in
		process_mem_bench) tool_errors "$t" 1 --region-mb 1 || good=0 ;;
		memarena-demo) tool_errors "$t" 1 --region-mb 4 || good=0 ;;
		arena_bench) tool_errors "$t" 1 run --dataset zero --region-mb 1 || good=0
			tool_errors "$t" 2 phase nope || good=0
			[ -e /dev/zram0 ] || tool_errors "$t" 1 phase zrandom --region-mb 1 ||
				good=0 ;;
		dataset-dump) ;;	# needs no module
		*) tool_errors "$t" 1 --use-mem-arena --region-mb 1 --dataset zero || good=0 ;;
		esac
	fi
	if [ $good = 1 ]; then ok "${name}_help_and_errors"; else not_ok "${name}_help_and_errors"; fi
done

# memarena-run: errors are one line; without the module the command runs
# unchanged after one line, and the heap library alone passes through.
good=1
"$top/tools/bin/memarena-run" --help | grep -q '^Usage: memarena-run' || good=0
tool_errors memarena-run 2 || good=0
tool_errors memarena-run 2 --bogus -- true || good=0
tool_errors memarena-run 2 --heap 1X -- true || good=0
tool_errors memarena-run 2 --heap 65G -- true || good=0
tool_errors memarena-run 2 --malloc tcmalloc -- true || good=0
tool_errors memarena-run 2 --idle-compress -1 -- true || good=0
if [ $good = 1 ]; then ok memarena-run_help_and_errors; else not_ok memarena-run_help_and_errors; fi
if [ -e /dev/mem_arena ]; then
	skip memarena-run_without_module_runs_the_command "/dev/mem_arena exists on the host"
	skip heap_library_without_module_passes_through "/dev/mem_arena exists on the host"
else
	got=$("$top/tools/bin/memarena-run" -- sh -c 'echo ran; exit 3' 2> "$out/err.txt")
	rc=$?
	check memarena-run_without_module_runs_the_command \
		test "$got" = ran -a $rc = 3 -a "$(grep -c 'without an arena' "$out/err.txt")" = 1 \
		-a "$(wc -l < "$out/err.txt")" = 1
	wl=$top/selftests/examples/heap_workload.py
	python3 "$wl" 3000 > "$out/plain.out"
	MEMARENA_STATS_JSON=$out/heap.json sh -c 'MEMARENA_STATS_PID=$$ \
		LD_PRELOAD="$1" exec python3 "$2" 3000' - "$top/libmemarena/libmemarena-heap.so" \
		"$wl" > "$out/heap.out" 2> "$out/heap.err"
	check heap_library_without_module_passes_through \
		sh -c "cmp -s '$out/plain.out' '$out/heap.out' && test ! -s '$out/heap.err' &&
		       grep -q '\"arena\": false, \"error\": \"mem_arena module not loaded' '$out/heap.json'"
fi

# Every script in tools/ (the ones make runs, the ones that boot guests and
# the ones that run inside them): --help prints its usage and does nothing
# else, an unknown option is one line and exit 2.  Found, not listed, so a
# new script is covered; tools/bin (built programs) is checked above.  Each
# runs in a session of its own, killed whole after 10 s or when it returns
# (vm-run puts QEMU in a process group of its own): a script that ignores
# --help must not go on to install, boot or run anything, and nothing it
# started may outlive it.
bounded() {	# OUT ERR CMD...: CMD's exit status, 125 if it left processes behind
	o=$1 e=$2
	shift 2
	setsid timeout -s KILL 10 "$@" > "$o" 2> "$e" &
	sid=$!
	wait $sid
	rc=$?
	# By /proc, not procps: make matrix's chroots have no pgrep.
	python3 -c 'import os, signal, sys
left = 0
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.getsid(int(p)) == int(sys.argv[1]):
            os.kill(int(p), signal.SIGKILL)
            left = 1
    except OSError:
        pass
sys.exit(left)' $sid || return 125
	return $rc
}
bad=
for t in $(cd "$top/tools" && find . -path ./bin -prune -o -path '*/workloads/bin' -prune \
	   -o -type f -perm -u+x -print | sed 's|^\./||' | sort); do
	name=$(basename "$t")
	bounded "$out/help.txt" "$out/err.txt" "$top/tools/$t" --help
	rc=$?
	[ $rc = 0 ] && head -1 "$out/help.txt" | grep -q "^Usage: $name" && [ ! -s "$out/err.txt" ] ||
		{ bad="$bad $t(--help: exit $rc)"; continue; }
	bounded /dev/null "$out/err.txt" "$top/tools/$t" --bogus-option
	rc=$?
	[ $rc = 2 ] && [ "$(wc -l < "$out/err.txt")" = 1 ] ||
		bad="$bad $t(--bogus-option: exit $rc, $(wc -l < "$out/err.txt") lines)"
done
if [ -z "$bad" ]; then
	ok "tools_scripts_help_and_unknown_option"
else
	not_ok "tools_scripts_help_and_unknown_option" "$bad"
fi

# The ioctl type must be free in the kernel's registry (ioctl-number.rst,
# from the linux-source tarball the build already uses).
rst=$top/build/ksrc/Documentation/userspace-api/ioctl/ioctl-number.rst
type=$(sed -n 's/^#define MEM_ARENA_TYPE[[:space:]]*0x\([0-9A-Fa-f]*\).*/\1/p' "$top/uapi/linux/mem_arena.h" | tr a-f A-F)
if [ ! -r "$rst" ]; then
	not_ok ioctl_type_free_in_ioctl_number_rst "$rst missing"
elif [ -z "$type" ]; then
	not_ok ioctl_type_free_in_ioctl_number_rst "MEM_ARENA_TYPE not found"
elif grep -Eq "^0x$type[[:space:]]" "$rst"; then
	not_ok ioctl_type_free_in_ioctl_number_rst "0x$type taken: $(grep -E "^0x$type[[:space:]]" "$rst" | head -1 | tr -s ' ')"
else
	ok "ioctl_type_free_in_ioctl_number_rst (0x$type)"
fi

# A test that does not compile must not leave a stale binary that runs.
stale=$(mktemp -d)
cp -r "$top/selftests/." "$stale/" 2>/dev/null
if make -s -C "$stale" KSELFTEST_DIR="$top/build/ksrc/tools/testing/selftests" \
	-B CC=false bin/netlink_test >/dev/null 2>&1; then
	not_ok failed_compile_fails_make "make succeeded with CC=false"
elif [ -e "$stale/bin/netlink_test" ]; then
	not_ok failed_compile_fails_make "stale bin/netlink_test left behind"
else
	ok failed_compile_fails_make
fi
rm -rf "$stale"

# make bench's targets are ratios taken within each run, then the best and
# the median of them: two runs where the best of each side alone (90 / 100,
# 60 / 200) would mix runs.
bench=$(mktemp -d)
cat >"$bench/results.jsonl" <<'EOF2'
{"bench":"run","dataset":"text","region_mb":8,"compress_mbps":50,"readback_mbps":40,"fault_p50_us":12}
{"bench":"zram","dataset":"text","region_mb":8,"write_mbps_4k":50,"read_mbps_4k":40,"read_p50_us":10,"read_random_p50_us":12}
{"bench":"lz4","dataset":"text","compress_mbps":100,"decompress_mbps":200,"stored_chunks":2048}
{"bench":"run","dataset":"text","region_mb":8,"compress_mbps":90,"readback_mbps":60,"fault_p50_us":9}
{"bench":"zram","dataset":"text","region_mb":8,"write_mbps_4k":60,"read_mbps_4k":60,"read_p50_us":10,"read_random_p50_us":12}
{"bench":"lz4","dataset":"text","compress_mbps":100,"decompress_mbps":100,"stored_chunks":2048}
EOF2
python3 "$top/tools/bench/summarize.py" "$bench" >/dev/null 2>&1
tr -d '\r' <"$bench/targets.csv" >"$bench/targets.txt" 2>/dev/null	# CSV ends lines in CRLF
check bench_targets_are_ratios_within_runs \
	grep -qx -e 'compress / LZ4 limit,text,0.50 0.90,0.90,0.70,>= 0.85,yes,no' \
	"$bench/targets.txt"
check bench_latency_targets_take_the_lowest \
	grep -qx -e 'random fault p50 / zram random-order read p50,text,1.00 0.75,0.75,0.88,<= 1.0,yes,yes' \
	"$bench/targets.txt"
rm -rf "$bench"

# make profile's busy samples per LZ4 sample leave idle samples out: 60%
# busy, of which LZ4 24% and the fault path 36%, is 2.50.
prof=$(mktemp -d)
printf '%s\n' '    40.00%  [kernel.kallsyms]  [k] native_safe_halt' \
	'    24.00%  [kernel.kallsyms]  [k] LZ4_decompress_safe' \
	'    36.00%  [kernel.kallsyms]  [k] do_user_addr_fault' >"$prof/fault.txt"
echo '{"dataset":"text","region_mb":8,"seconds":0.5,"chunks":2048}' >"$prof/fault.json"
echo '1000 [kernel.kallsyms]' >"$prof/fault.samples"
check profile_busy_per_lz4_leaves_idle_out \
	sh -c 'python3 "$1/tools/bench/profile_bins.py" "$2" | grep -q "^fault: .*, busy/LZ4 2.50$"' \
	- "$top" "$prof"
# What the same profile implies natively: LZ4 emulated 10x slower than on
# the host, a fault 30x, so 24% LZ4 and 36% faults become 2.4 and 1.2: a
# busy/LZ4 of 1.50, 1.50 us per chunk at 1 us of LZ4, 0.67 of the limit.
calib='"lz4_compress_ns": 1000, "clear_page_ns": 1000, "copy_page_ns": 1000, "syscall_ns": 1000, "clock_ns": 1000, "plain_ns": 1'
echo "{\"lz4_decompress_ns\": 1000, \"fault_ns\": 1000, $calib}" >"$prof/host.json"
echo "{\"lz4_decompress_ns\": 10000, \"fault_ns\": 30000, $calib}" >"$prof/guest.json"
check profile_projects_each_component_by_its_own_factor \
	sh -c 'python3 "$1/tools/bench/project_native.py" "$2" "$2/host.json" "$2/guest.json" |
		grep -Eq "^fault +2.50 +1.50 +1.50 +0.67 +-$"' - "$top" "$prof"
rm -rf "$prof"

# make profile --insns: QEMU's plugin counts what runs between arena_bench's
# marks (a loop of 6 instructions run 100000 times), to within the few
# instructions of the blocks that hold the marks, under QEMU's user mode,
# which loads plugins as the system emulator does.
if command -v qemu-x86_64 >/dev/null && [ "$(uname -m)" = x86_64 ]; then
	ins=$(mktemp -d)
	cat >"$ins/loop.c" <<'LOOP'
int main(void)
{
	volatile unsigned long x = 0;
	unsigned long i;

	__asm__ volatile(".byte 0x66, 0x87, 0xdb" ::: "memory");
	for (i = 0; i < 100000; i++)
		x += i;
	__asm__ volatile(".byte 0x66, 0x87, 0xc9" ::: "memory");
	return 0;
}
LOOP
	check insn_count_counts_between_the_marks \
		sh -c 'cc -O1 -o "$2/loop" "$2/loop.c" &&
			make -s -C "$1/tools" bin/insn_count.so &&
			qemu-x86_64 -plugin "$1/tools/bin/insn_count.so,out=$2" "$2/loop" &&
			s=$(awk "{ s += \$2 } END { print s }" "$2/insns-00.txt") &&
			[ "$s" -ge 599984 ] && [ "$s" -le 600016 ]' \
		- "$top" "$ins"
	rm -rf "$ins"
else
	skip insn_count_counts_between_the_marks "no qemu-x86_64 (qemu-user) on an x86_64 host"
fi
# insn_report.py names the blocks from kallsyms and bins them as make
# profile bins perf's samples, idle left out: 300 LZ4 and 150 fault-path
# instructions over 3 chunks, 150 per chunk, 1.5 per LZ4 instruction.
ins=$(mktemp -d)
printf '%s\n' 'ffffffff81000000 T LZ4_decompress_safe' 'ffffffff81001000 T do_user_addr_fault' \
	'ffffffff81002000 T native_safe_halt' 'ffffffffc0000000 t ma_vm_fault	[mem_arena]' \
	>"$ins/kallsyms"
echo fault >"$ins/insn-phases.txt"
printf '%s\n' 'ffffffff81000010 200' 'ffffffff81000400 100' 'ffffffff81001008 90' \
	'ffffffff81002000 5000' 'ffffffffc0000100 60' >"$ins/insns-00.txt"
echo '{"dataset":"text","region_mb":8,"seconds":0.5,"chunks":3}' >"$ins/fault.json"
check insn_report_bins_instructions_per_chunk \
	sh -c 'python3 "$1/tools/bench/insn_report.py" "$2" |
		grep "^fault: 150 instructions per chunk .*, insns/LZ4 1.500$" >/dev/null' \
	- "$top" "$ins"
rm -rf "$ins"

# bench_calib builds from the kernel's own lib/lz4 (make profile builds it
# on demand, so nothing else would notice it rot) and its LZ4 round-trips
# (a chunk that does not decompress to its size aborts).
check bench_calib_runs_the_kernels_lz4 \
	sh -c 'make -s -C "$1/tools" bin/bench_calib KSRC="$1/build/ksrc" >/dev/null &&
		"$1/tools/bin/bench_calib" --rounds 1 | grep -q "\"lz4_decompress_ns\": [0-9]"' \
	- "$top"

# Where no module is loaded (the host), every selftest skips or passes
# without it, saying why: none fails for want of the module.  6.1's
# harness ran a test's body after its FIXTURE_SETUP skipped, so without
# the module compress_test reported 51 failures (ma_harness.h).
if [ -e /dev/mem_arena ]; then
	skip selftests_skip_without_the_module "the module is loaded here"
else
	bad=
	for t in "$top"/selftests/bin/*_test; do
		log=$(timeout 300 "$t" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] && [ $rc -ne 4 ] || echo "$log" | grep -q '^not ok'; then
			bad="$bad $(basename "$t") (exit $rc: $(echo "$log" | grep -c '^not ok') not ok)"
		fi
	done
	if [ -z "$bad" ]; then
		ok selftests_skip_without_the_module
	else
		not_ok selftests_skip_without_the_module "$bad"
	fi
fi

echo "1..$n"
