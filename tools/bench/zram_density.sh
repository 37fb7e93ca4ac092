#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# zram's density on the same bytes: write FILE to /dev/zram0 (lz4) and
# print one JSON line from mm_stat: compr_data_size / mem_used_total.
# Runs in the guest of tools/vm-run, which ships zram and zsmalloc.
# Usage: zram_density.sh FILE DATASET
file=$1 dataset=$2
. "$(dirname "$0")/guest-zram.sh"
zram_modules
[ -b /dev/zram0 ] || { echo "zram_density: no /dev/zram0" >&2; exit 1; }
echo 1 > /sys/block/zram0/reset
echo lz4 > /sys/block/zram0/comp_algorithm
size=$(stat -c %s "$file")
echo $((size + 1048576)) > /sys/block/zram0/disksize
dd if="$file" of=/dev/zram0 bs=1M conv=fsync 2>/dev/null
sync
set -- $(cat /sys/block/zram0/mm_stat)
# orig_data_size compr_data_size mem_used_total mem_limit max_used same_pages ...
awk -v o="$1" -v c="$2" -v m="$3" -v s="$6" -v d="$dataset" 'BEGIN {
	printf "{\"bench\": \"zram_density\", \"dataset\": \"%s\", \"orig_data_size\": %d, \"compr_data_size\": %d, \"mem_used_total\": %d, \"same_pages\": %d, \"density\": %.4f}\n", d, o, c, m, s, (m ? c / m : 0) }'
echo 1 > /sys/block/zram0/reset
