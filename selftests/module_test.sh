#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifetime: the device node, sysfs, rmmod refused while an arena
# is open, and 20 load/unload cycles without leaking memory.  TAP output.
# Needs MEM_ARENA_KO (set by tools/vm-run) to reload the module.
. "$(dirname "$0")/tap.sh"
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

check device_node_is_char_device test -c /dev/mem_arena
check sysfs_has_totals test -r /sys/kernel/mem_arena/compress_ops -a \
	-r /sys/kernel/mem_arena/arenas -a -w /sys/kernel/mem_arena/pool_cap_bytes
check sysfs_arenas_zero_when_idle test "$(cat /sys/kernel/mem_arena/arenas)" = 0

exec 3<>/dev/mem_arena && opened=1 || opened=0
check open_works test $opened = 1
check sysfs_counts_open_arena test "$(cat /sys/kernel/mem_arena/arenas)" = 1
if [ -z "$MEM_ARENA_KO" ] || [ ! -r "$MEM_ARENA_KO" ]; then
	exec 3>&-
	for t in rmmod_refused_while_open rmmod_after_close load_unload_20_no_leak; do
		skip $t "MEM_ARENA_KO not set (run under tools/vm-run)"
	done
	echo "1..$n"
	exit 0
fi
if rmmod mem_arena 2>/dev/null; then
	not_ok rmmod_refused_while_open
	insmod "$MEM_ARENA_KO"
else
	ok rmmod_refused_while_open
fi
exec 3>&-
check rmmod_after_close rmmod mem_arena

# 20 warm-up cycles (caches and per-CPU page lists settle, measured: the
# first ones cost ~1 MiB that never grows after), then two batches of 20
# measured ones.  A leak grows with the cycles and shows in both batches;
# a cache the kernel fills once shows in one: on 7.3.4, 2.7 MiB of MemFree
# went in one batch of 20, once in three runs, likely the execmem cache of
# 2 MiB pages that 7.x keeps for module text (ARCH_HAS_EXECMEM_ROX, not in
# 6.1).  A leak of the streams alone would be ~5 MiB a batch here.
cycles() {
	i=0
	while [ $i -lt 20 ]; do
		insmod "$MEM_ARENA_KO" && rmmod mem_arena || cycles_ok=0
		i=$((i + 1))
	done
	sync; echo 3 > /proc/sys/vm/drop_caches
}
cycles_ok=1
cycles
free0=$(meminfo MemFree) slab0=$(meminfo Slab)
cycles
free1=$(meminfo MemFree) slab1=$(meminfo Slab)
cycles
free2=$(meminfo MemFree) slab2=$(meminfo Slab)
echo "# MemFree ${free0} -> ${free1} -> ${free2} kB, Slab ${slab0} -> ${slab1} -> ${slab2} kB"
grew() { [ $(($1 - $2)) -ge 1024 ] && [ $(($2 - $3)) -ge 1024 ]; }
# The debug kernel's KASAN quarantine holds freed memory back: MemFree is
# no measure there; kmemleak (tools/vm-run) is.
if [ -e /sys/kernel/debug/kmemleak ]; then
	check load_unload_20_cycles test $cycles_ok = 1
elif [ $cycles_ok = 1 ] && ! grew "$free0" "$free1" "$free2" &&
     ! grew "$slab2" "$slab1" "$slab0"; then
	check load_unload_20_no_leak true
else
	check load_unload_20_no_leak false
fi
insmod "$MEM_ARENA_KO"
check reloaded test -c /dev/mem_arena
echo "1..$n"
