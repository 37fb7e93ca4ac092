#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What a guest profile implies on the host's CPU, where no emulation
stretches one kind of work more than another.

Emulation (TCG) slows each kind of work by its own factor: an exception,
a page-table walk or a string instruction far more than LZ4's plain code.
bench_calib measures each kind (ns per operation) on the host and in the
guest; the factor of a kind is guest / host.  This scales each component
of each phase of profile.json (profile_bins.py) by its kind's factor and
prints, per phase, the busy samples per LZ4 sample before and after, and
the projected wall time per chunk (the host's LZ4 time per chunk times
the projected busy/LZ4).  Then the issue's readback targets, projected:
each phase's bound to the LZ4 limit (the inverse of busy/LZ4, if its LZ4
runs as fast as the limit's: the same function on the same bytes) and its
cost against zram's reads of the same bytes.

It is a model, not a measurement: each component is assumed to slow down
as its probe does, and the host's own faults and syscalls (a virtual
machine's) are dearer than bare metal's.  Writes projection.json and
projection.csv beside profile.json.

Usage: project_native.py DIR HOST.json GUEST.json"""
import csv
import json
import os
import sys

COMPRESSING = ("compress", "threads", "zwrite")
# The probe each component of profile_bins.py slows down like; the rest
# is plain kernel (or user) code: "plain".
PROBE = {
    "clear_page": "clear_page",
    "memcpy": "copy_page",
    "clock": "clock",
    "unmap+TLB": "fault",
    "fault path": "fault",
    "syscall": "syscall",
}


def probe_of(phase, comp):
    if comp == "LZ4" or (comp == "memset" and phase in COMPRESSING):
        # memset in a compress is LZ4's state reset, inside LZ4_compress_fast.
        return "lz4_compress" if phase in COMPRESSING else "lz4_decompress"
    if comp == "memset":
        return "clear_page"
    return PROBE.get(comp, "plain")


def project(prof, host, guest):
    out = []
    for r in prof:
        comps = r["components"]
        if "LZ4" not in comps:
            continue
        ph = r["phase"]
        lz4 = probe_of(ph, "LZ4") + "_ns"
        shares, native = {}, {}
        for c, v in comps.items():
            p = probe_of(ph, c) + "_ns"
            factor = guest[p] / host[p]
            shares[c] = v["share_pct"]
            native[c] = v["share_pct"] / factor
        lz4_native = native["LZ4"]
        busy, busy_native = sum(shares.values()), sum(native.values())
        reset = native.get("memset", 0) if ph in COMPRESSING else 0
        row = {
            "phase": ph,
            "busy_per_lz4": busy / shares["LZ4"],
            "busy_per_lz4_native": busy_native / lz4_native,
            # zram's phases read 4 KiB: LZ4's time taken as proportional
            "us_per_chunk_native": host[lz4] / 1000 * busy_native / lz4_native *
                                   (4 / host.get("chunk_kb", 4) if ph.startswith("z") else 1),
            # the limit pays LZ4 (and in a compress, its state reset) alone
            "bound_to_limit_native": (lz4_native + reset) / busy_native,
            "native_share_pct": {c: 100 * v / busy_native
                                 for c, v in sorted(native.items(), key=lambda kv: -kv[1])},
        }
        out.append(row)
    by = {r["phase"]: r for r in out}
    # Against zram's 4 KiB reads of the same bytes: cost per chunk, LZ4 equal.
    for ph, z in (("fault", "zread"), ("mapahead", "zread"), ("rasyncmap", "zread"),
                  ("random", "zrandom"),
                  ("touch", "zread"), ("compress", "zwrite")):
        if ph in by and z in by:
            r = by[ph]
            r["vs_" + z] = by[z]["busy_per_lz4"] / r["busy_per_lz4"]
            r["vs_" + z + "_native"] = by[z]["busy_per_lz4_native"] / r["busy_per_lz4_native"]
    return out


def zram_key(r):
    """The zram phase @r was compared with, as its key in @r."""
    return next((k for k in ("vs_zrandom", "vs_zwrite") if k in r), "vs_zread")


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    d = sys.argv[1]
    try:
        with open(os.path.join(d, "profile.json")) as f:
            prof = json.load(f)
        with open(sys.argv[2]) as f:
            host = json.load(f)
        with open(sys.argv[3]) as f:
            guest = json.load(f)
    except (OSError, ValueError) as e:
        print("project_native: %s" % e, file=sys.stderr)
        return 1
    missing = [k for k in host if k.endswith("_ns") and k not in guest]
    if missing:
        print("project_native: the guest's calibration lacks %s" % ", ".join(missing),
              file=sys.stderr)
        return 1
    res = project(prof, host, guest)
    if not res:
        print("project_native: no phase with LZ4 samples in %s" % d, file=sys.stderr)
        return 1
    with open(os.path.join(d, "projection.json"), "w") as f:
        json.dump({"host": host, "guest": guest, "phases": res}, f, indent=1)
    with open(os.path.join(d, "projection.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "busy_per_lz4", "busy_per_lz4_native", "us_per_chunk_native",
                    "bound_to_limit_native", "vs_zram", "vs_zram_native"])
        for r in res:
            z = zram_key(r)
            w.writerow([r["phase"], "%.2f" % r["busy_per_lz4"],
                        "%.2f" % r["busy_per_lz4_native"], "%.2f" % r["us_per_chunk_native"],
                        "%.2f" % r["bound_to_limit_native"],
                        "%.2f" % r[z] if z in r else "",
                        "%.2f" % r[z + "_native"] if z in r else ""])
    print("factors (guest / host ns per operation): " + ", ".join(
        "%s %.1f" % (k[:-3], guest[k] / host[k]) for k in host if k.endswith("_ns")))
    print("%-9s %9s %9s %9s %9s %16s" % ("phase", "busy/LZ4", "native", "us/chunk",
                                          "to limit", "vs zram (native)"))
    for r in res:
        z = zram_key(r)
        print("%-9s %9.2f %9.2f %9.2f %9.2f %16s" % (
            r["phase"], r["busy_per_lz4"], r["busy_per_lz4_native"],
            r["us_per_chunk_native"], r["bound_to_limit_native"],
            "%.2f (%.2f)" % (r[z], r[z + "_native"]) if z in r else "-"))
    print("project_native: %s/projection.csv, projection.json" % d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
