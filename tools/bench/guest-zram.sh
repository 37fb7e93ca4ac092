# SPDX-License-Identifier: GPL-2.0
# Sourced in the guest by the benchmarks that compare with zram
# (guest-bench.sh, profile-guest.sh).

# Load the modules vm-run staged but its init left out: zram, zsmalloc.
zram_modules() {
	mods=${MEM_ARENA_MODULES:-/modules}
	for m in $(cat "$mods/order"); do
		grep -q "^$(echo "${m%.ko}" | tr - _) " /proc/modules ||
			insmod "$mods/$m" 2>/dev/null
	done
}

# /dev/zram0 afresh, LZ4, room for MIB MiB and 16 more.
zram_setup() {	# MIB
	echo 1 > /sys/block/zram0/reset
	echo lz4 > /sys/block/zram0/comp_algorithm
	echo $((($1 + 16) * 1048576)) > /sys/block/zram0/disksize
}
