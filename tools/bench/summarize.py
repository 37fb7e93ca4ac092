#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest's results.jsonl into summary.csv, a terminal table, a
gnuplot script (and PNG), and the numbers block of bench/README.md.

Usage: summarize.py RESULTS_DIR [README]"""
import csv, json, os, subprocess, sys

DATASETS = ["repetitive", "text", "binary", "random", "zero", "mixed"]


def main():
    out = sys.argv[1]
    readme = sys.argv[2] if len(sys.argv) > 2 else None
    res = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
    by = {}
    for r in res:
        by.setdefault((r["bench"], r.get("dataset")), []).append(r)

    def one(bench, d):
        r = dict((by.get((bench, d)) or [{}])[0])
        # Nothing stored, nothing to measure: an empty cell, not a zero.
        if bench == "lz4" and not r.get("stored_chunks"):
            r.pop("decompress_mbps", None)
        if bench in ("run", "zram") and not r.get("density"):
            r.pop("density", None)
        return r

    # Each phase's host CPU time (tools/phase-meter), when it was measured.
    phases = {}
    pf = os.path.join(out, "phases.csv")
    if os.path.exists(pf):
        for p in csv.DictReader(open(pf)):
            phases[p["phase"]] = p

    def per_cpu(name, mb):
        """MB per host CPU-second of phase @name, or None."""
        p = phases.get(name)
        return mb / float(p["host_cpu_s"]) if p and mb and float(p["host_cpu_s"]) else None

    rows = []   # metric, dataset, mem_arena, zram, lz4_limit, unit

    def add(metric, d, ma, zr, lz, unit):
        rows.append([metric, d] + ["" if v is None else round(v, 4) for v in (ma, zr, lz)] + [unit])

    for d in DATASETS:
        m, z, l = one("run", d), one("zram", d), one("lz4", d)
        add("compress_mbps", d, m.get("compress_mbps"), z.get("write_mbps_4k"), l.get("compress_mbps"), "MB/s")
        add("compress_mbps_1m_requests", d, None, z.get("write_mbps_1m"), None, "MB/s")
        add("readback_mbps", d, m.get("readback_mbps"), z.get("read_mbps_4k"), l.get("decompress_mbps"), "MB/s")
        add("readback_mbps_1m_requests", d, None, z.get("read_mbps_1m"), None, "MB/s")
        add("readback_random_mbps", d, m.get("readback_random_mbps"), z.get("read_random_mbps_4k"),
            None, "MB/s")
        add("touch_readback_mbps", d, m.get("touch_readback_mbps"), None, None, "MB/s")
        add("fault_p50_us", d, m.get("fault_p50_us"), z.get("read_p50_us"), None, "us")
        add("fault_p99_us", d, m.get("fault_p99_us"), z.get("read_p99_us"), None, "us")
        # The same random faults against zram's reads in the same random order.
        add("random_p50_us", d, m.get("fault_p50_us"), z.get("read_random_p50_us"), None, "us")
        add("random_p99_us", d, m.get("fault_p99_us"), z.get("read_random_p99_us"), None, "us")
        add("density", d, m.get("density"), z.get("density"), None, "ratio")
        # The same by host CPU time: robust to host load (bench/README.md).
        mmb, zmb = m.get("region_mb"), z.get("region_mb")
        add("compress_mb_per_cpu_s", d, per_cpu("run/%s/compress" % d, mmb),
            per_cpu("zram/%s/write_4k" % d, zmb), None, "MB/cpu-s")
        add("readback_mb_per_cpu_s", d, per_cpu("run/%s/readback" % d, mmb),
            per_cpu("zram/%s/read_4k" % d, zmb), None, "MB/cpu-s")
        add("touch_readback_mb_per_cpu_s", d, per_cpu("run/%s/touch" % d, mmb),
            None, None, "MB/cpu-s")
    scale = sorted(by.get(("scale", "mixed"), []), key=lambda r: r["region_mb"])
    if len(scale) >= 2:
        add("cost_per_chunk_ratio_%d_%d" % (scale[-1]["region_mb"], scale[0]["region_mb"]), "mixed",
            scale[-1]["ns_per_chunk_wall"] / scale[0]["ns_per_chunk_wall"], None, None, "ratio")
    t = one("threads", "mixed")
    add("two_thread_speedup", "mixed", t.get("two_thread_speedup"), None, None, "ratio")
    # By CPU time: the busiest QEMU thread of each phase stands for its
    # critical path (a vCPU that waits is halted, and costs nothing).
    p1, p2 = phases.get("threads/mixed/one"), phases.get("threads/mixed/two")
    if p1 and p2 and float(p2["max_thread_cpu_s"]):
        add("two_thread_speedup_cpu", "mixed", 2 * float(p1["max_thread_cpu_s"]) /
            float(p2["max_thread_cpu_s"]), None, None, "ratio")

    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "dataset", "mem_arena", "zram", "lz4_limit", "unit"])
        w.writerows(rows)

    table = ["| metric | dataset | mem_arena | zram | lz4 limit | unit |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    table += ["| %s |" % " | ".join(str(c) for c in r) for r in rows]
    print("\n".join(table))

    # Throughput per dataset for the three systems.
    dat = os.path.join(out, "throughput.dat")
    with open(dat, "w") as f:
        f.write("# dataset mem_arena_compress zram_write lz4_compress mem_arena_readback zram_read lz4_decompress\n")
        for d in DATASETS:
            m, z, l = one("run", d), one("zram", d), one("lz4", d)
            f.write("%s %s\n" % (d, " ".join(str(x.get(k, 0)) for x, k in (
                (m, "compress_mbps"), (z, "write_mbps_4k"), (l, "compress_mbps"),
                (m, "readback_mbps"), (z, "read_mbps_4k"), (l, "decompress_mbps")))))
    gp = os.path.join(out, "throughput.gp")
    with open(gp, "w") as f:
        f.write("""set terminal png size 1200,500 noenhanced
set output '%s'
set style data histograms
set style fill solid border -1
set ylabel 'MB/s (TCG guest: compare ratios, not absolutes)'
set key outside
set xtic rotate by -30
set multiplot layout 1,2
set title 'compress (mem_arena: COMPRESS; zram: 4 KiB writes)'
plot '%s' using 2:xtic(1) title 'mem_arena', '' using 3 title 'zram', '' using 4 title 'lz4 alone'
set title 'readback (mem_arena: faults; zram: 4 KiB reads)'
plot '%s' using 5:xtic(1) title 'mem_arena', '' using 6 title 'zram', '' using 7 title 'lz4 alone'
unset multiplot
""" % (os.path.join(out, "throughput.png"), dat, dat))
    try:
        subprocess.run(["gnuplot", gp], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("summarize: no plot (%s)" % e, file=sys.stderr)

    if readme:
        text = open(readme).read()
        a, b = "<!-- results: begin -->", "<!-- results: end -->"
        if a in text and b in text:
            head, rest = text.split(a, 1)
            _, tail = rest.split(b, 1)
            text = head + a + "\n" + "\n".join(table) + "\n" + b + tail
            open(readme, "w").write(text)


main()
