#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Bin the guest's perf self-time per symbol (profile-guest.sh) into the
components a researcher asks about, per phase.  Shares are of the busy
samples (idle CPUs' samples left out); us_per_chunk is the phase's wall
time per chunk, and each component's share of it.  busy_per_lz4 is the
busy samples per LZ4 sample: a slow window of the host stretches both
alike, so it compares runs that wall time cannot, and its inverse bounds
the ratio to the LZ4 limit the phase can reach if its LZ4 runs as fast as
the limit's.  Writes profile.csv and profile.json beside the inputs and
prints the table.

Usage: profile_bins.py DIR"""
import csv
import json
import os
import re
import sys

PHASES = ["compress", "fault", "mapahead", "rasyncmap", "random", "touch", "ptouch", "threads",
          "zread", "zrandom", "zwrite"]
IDLE = re.compile(r"safe_halt|default_idle|do_idle|cpuidle|acpi_idle|mwait|poll_idle|arch_cpu_idle")
# First match wins.  Without call chains a symbol is binned by itself:
# memset is LZ4's state reset in a compress, clear_page the zeroing of
# new pages (init_on_alloc), memcpy the copies into and out of slots.
BINS = [
    ("LZ4", r"^LZ4_"),
    ("memset", r"memset"),
    ("clear_page", r"clear_page"),
    ("memcpy", r"memcpy|memmove|copy_page|copy_user|_copy_to|_copy_from|rep_movs"),
    ("clock", r"ktime_get|hpet|sched_clock|local_clock|read_tsc|clocksource|clock_gettime"),
    ("unmap+TLB", r"unmap_mapping|zap_|unmap_page_range|unmap_single_vma|flush_tlb|tlb_|"
                  r"smp_call_function|on_each_cpu|flush_smp_call|llist_|invalidate"),
    ("page alloc/free", r"alloc_pages|get_page_from_freelist|rmqueue|free_unref|free_pcp|"
                        r"free_pages|prep_new_page|post_alloc_hook|mem_cgroup|memcg|"
                        r"obj_cgroup|try_charge|uncharge|refill_stock|lruvec|"
                        r"__free_one_page|free_one_page|page_alloc|kernel_init_pages"),
    ("fault path", r"page_fault|do_user_addr_fault|handle_mm_fault|do_fault|"
                   r"insert_page|irqentry|error_entry|error_return|find_vma|lock_vma|"
                   r"mmap_read|set_pte|pte_offset|__pte|pmd_|restore_regs|native_iret|"
                   r"ma_vm_fault|vmf_"),
    ("syscall", r"entry_SYSCALL|do_syscall|syscall_exit|syscall_enter|__x64_sys|"
                r"ksys_|exit_to_user"),
    ("zram", r"^zram_|^zs_|zsmalloc|^obj_|^__zs"),
    ("block+dio", r"bio|blk_|submit_|iomap|blkdev|dio|iov_iter|"
                  r"get_user_pages|pin_user_pages|gup_|follow_page|try_grab"),
    ("mem_arena pool", r"^ma_pool|^ma_block|^ma_slot|^ma_lru"),
    ("mem_arena other", r"^ma_|^xa_|^xas_"),
    ("locks", r"_raw_spin|mutex_|rwsem|wait_on_bit|wake_up|osq_"),
]
LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[([.kru])\]\s+(\S+)")


def bin_of(dso, sym):
    if dso not in ("[kernel.kallsyms]", "[mem_arena]") and not dso.startswith("["):
        return "user"
    for name, rx in BINS:
        if re.search(rx, sym):
            return name
    return "other kernel"


def phase(d, ph):
    shares, idle = {}, 0.0
    with open(os.path.join(d, ph + ".txt")) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            pct, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
            if IDLE.search(sym):
                idle += pct
                continue
            b = bin_of(dso, sym)
            shares[b] = shares.get(b, 0.0) + pct
    busy = sum(shares.values())
    with open(os.path.join(d, ph + ".json")) as f:
        res = json.loads(f.readline())
    samples = 0
    with open(os.path.join(d, ph + ".samples")) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0].isdigit():
                samples += int(parts[0])
    us = res["seconds"] * 1e6 / res["chunks"]
    out = {"phase": ph, "dataset": res["dataset"], "region_mb": res["region_mb"],
           "seconds": res["seconds"], "chunks": res["chunks"], "us_per_chunk": us,
           "samples": samples, "idle_pct": idle, "components": {}}
    for b, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        share = pct / busy if busy else 0
        out["components"][b] = {"share_pct": 100 * share, "us_per_chunk": share * us}
    if shares.get("LZ4"):
        out["busy_per_lz4"] = busy / shares["LZ4"]
    if "p50_us" in res:
        out["p50_us"], out["p99_us"] = res["p50_us"], res["p99_us"]
    return out


def write_results(d, name, res, unit, fmt):
    """NAME.json and NAME.csv in @d: per phase, each component's share and
    its @unit (a key of the component, formatted with @fmt)."""
    with open(os.path.join(d, name + ".json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(d, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "component", "share_pct", unit])
        for r in res:
            for b, c in r["components"].items():
                w.writerow([r["phase"], b, "%.1f" % c["share_pct"], fmt % c[unit]])


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    d = sys.argv[1]
    res = [phase(d, ph) for ph in PHASES if os.path.exists(os.path.join(d, ph + ".txt"))]
    if not res:
        print("profile: no phase results in %s" % d, file=sys.stderr)
        return 1
    write_results(d, "profile", res, "us_per_chunk", "%.2f")
    for r in res:
        print("%s: %.1f us per chunk (wall, %s, %d MiB), %d samples, idle %.0f%%%s%s" %
              (r["phase"], r["us_per_chunk"], r["dataset"], r["region_mb"], r["samples"],
               r["idle_pct"], ", busy/LZ4 %.2f" % r["busy_per_lz4"]
               if "busy_per_lz4" in r else "",
               ", p50 %.2f us, p99 %.2f us" % (r["p50_us"], r["p99_us"])
               if "p50_us" in r else ""))
        for b, c in r["components"].items():
            if c["share_pct"] >= 0.5:
                print("  %-18s %5.1f%%  %7.2f us" % (b, c["share_pct"], c["us_per_chunk"]))
    print("profile: %s/profile.csv, profile.json" % d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
