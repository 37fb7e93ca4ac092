#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Name and bin the instructions each phase executed (make profile --insns):
insn_count.c's per-block counts (insns-NN.txt, the NN-th phase of
insn-phases.txt), named from the guest's kallsyms and binned as
profile_bins.py bins perf's samples.  Per phase: instructions per chunk,
in all and by component, and insns_per_lz4, the instructions per LZ4
instruction: unlike busy/LZ4 it does not move with host load or with what
emulation slows, so one run compares with another to the instruction.
Writes insns.csv and insns.json beside the inputs and prints the table.

Usage: insn_report.py DIR"""
import bisect
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_bins import IDLE, bin_of, write_results  # noqa: E402

KERNEL = 0xffff800000000000


def load_kallsyms(path):
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            dso = parts[3] if len(parts) > 3 else "[kernel.kallsyms]"
            syms.append((int(parts[0], 16), parts[2], dso))
    syms.sort()
    return [s[0] for s in syms], syms


def phase(d, ph, nr, addrs, syms):
    per_sym, user = {}, 0
    with open(os.path.join(d, "insns-%02d.txt" % nr)) as f:
        for line in f:
            a, n = line.split()
            a, n = int(a, 16), int(n)
            if a < KERNEL:
                user += n
                continue
            i = bisect.bisect_right(addrs, a) - 1
            key = (syms[i][2], syms[i][1]) if i >= 0 else ("[kernel.kallsyms]", "?")
            per_sym[key] = per_sym.get(key, 0) + n
    with open(os.path.join(d, ph + ".json")) as f:
        res = json.loads(f.readline())
    chunks = res["chunks"]
    bins, idle = {"user": user} if user else {}, 0
    for (dso, sym), n in per_sym.items():
        if IDLE.search(sym):
            idle += n
            continue
        b = bin_of(dso, sym)
        bins[b] = bins.get(b, 0) + n
    busy = sum(bins.values())
    out = {"phase": ph, "dataset": res["dataset"], "region_mb": res["region_mb"],
           "chunk_kb": res.get("chunk_kb", 4), "chunks": chunks,
           "insns_per_chunk": busy / chunks, "idle_insns": idle, "components": {},
           "top": [{"symbol": s, "dso": dso, "insns_per_chunk": n / chunks}
                   for (dso, s), n in sorted(per_sym.items(), key=lambda kv: -kv[1])[:25]]}
    for b, n in sorted(bins.items(), key=lambda kv: -kv[1]):
        out["components"][b] = {"share_pct": 100.0 * n / busy, "insns_per_chunk": n / chunks}
    if bins.get("LZ4"):
        out["insns_per_lz4"] = busy / bins["LZ4"]
    return out


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    d = sys.argv[1]
    try:
        with open(os.path.join(d, "insn-phases.txt")) as f:
            phases = [line.strip() for line in f if line.strip()]
        addrs, syms = load_kallsyms(os.path.join(d, "kallsyms"))
    except OSError as e:
        print("insn_report: %s" % e, file=sys.stderr)
        return 1
    res = []
    for nr, ph in enumerate(phases):
        if not os.path.exists(os.path.join(d, "insns-%02d.txt" % nr)):
            print("insn_report: no counts for phase %s (insns-%02d.txt)" % (ph, nr),
                  file=sys.stderr)
            return 1
        res.append(phase(d, ph, nr, addrs, syms))
    write_results(d, "insns", res, "insns_per_chunk", "%.0f")
    for r in res:
        print("%s: %.0f instructions per chunk (%s, %d MiB, %d KiB chunks)%s" %
              (r["phase"], r["insns_per_chunk"], r["dataset"], r["region_mb"], r["chunk_kb"],
               ", insns/LZ4 %.3f" % r["insns_per_lz4"] if "insns_per_lz4" in r else ""))
        for b, c in r["components"].items():
            if c["share_pct"] >= 0.5:
                print("  %-18s %5.1f%%  %8.0f" % (b, c["share_pct"], c["insns_per_chunk"]))
    print("profile: %s/insns.csv, insns.json" % d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
