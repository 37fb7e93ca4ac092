#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest's results.jsonl into summary.csv, a terminal table, a
gnuplot script (and PNG), and the numbers block of bench/README.md; and
issue 14's targets as ratios taken within each run (targets.csv), so that
a slow window, which slows both sides of one run alike, cancels.

Usage: summarize.py RESULTS_DIR [README]"""
import csv, json, os, statistics, subprocess, sys

DATASETS = ["repetitive", "text", "binary", "random", "zero", "mixed"]

# Issue 14's targets: name, datasets, (bench, key) over (bench, key), goal,
# and whether the goal is a floor (">=") or a ceiling ("<=").
REAL = ["text", "binary", "mixed"]      # the datasets the issue names
TARGETS = [
    ("compress / LZ4 limit", REAL,
     ("run", "compress_mbps"), ("lz4", "compress_mbps"), 0.85, ">="),
    ("compress / zram 4 KiB writes", REAL,
     ("run", "compress_mbps"), ("zram", "write_mbps_4k"), 1.3, ">="),
    ("touch / LZ4 decompress", REAL,
     ("run", "touch_readback_mbps"), ("lz4", "decompress_mbps"), 0.8, ">="),
    ("parallel touch / LZ4 decompress", REAL,
     ("run", "touch_parallel_readback_mbps"), ("lz4", "decompress_mbps"), 0.8, ">="),
    ("fault readback / LZ4 decompress", REAL,
     ("run", "readback_mbps"), ("lz4", "decompress_mbps"), 0.5, ">="),
    ("readahead / LZ4 decompress", REAL,
     ("run", "readback_readahead_mbps"), ("lz4", "decompress_mbps"), 0.7, ">="),
    ("map-ahead / LZ4 decompress", REAL,
     ("run", "readback_mapahead_mbps"), ("lz4", "decompress_mbps"), 0.7, ">="),
    ("async readahead / LZ4 decompress", REAL,
     ("run", "readback_rasync_mbps"), ("lz4", "decompress_mbps"), 0.7, ">="),
    ("async readahead mapped / LZ4 decompress", REAL,
     ("run", "readback_rasyncmap_mbps"), ("lz4", "decompress_mbps"), 0.7, ">="),
    ("fault readback / zram 4 KiB reads", REAL,
     ("run", "readback_mbps"), ("zram", "read_mbps_4k"), 1.3, ">="),
    ("map-ahead / zram 4 KiB reads", REAL,
     ("run", "readback_mapahead_mbps"), ("zram", "read_mbps_4k"), 1.3, ">="),
    ("async readahead / zram 4 KiB reads", REAL,
     ("run", "readback_rasync_mbps"), ("zram", "read_mbps_4k"), 1.3, ">="),
    ("async readahead mapped / zram 4 KiB reads", REAL,
     ("run", "readback_rasyncmap_mbps"), ("zram", "read_mbps_4k"), 1.3, ">="),
    ("random fault p50 / zram read p50", REAL,
     ("run", "fault_p50_us"), ("zram", "read_p50_us"), 1.0, "<="),
    ("random fault p50 / zram random-order read p50", REAL,
     ("run", "fault_p50_us"), ("zram", "read_random_p50_us"), 1.0, "<="),
    ("density / zram's", ["repetitive", "text", "binary", "mixed"],
     ("run", "density"), ("zram", "density"), 1.0, ">="),
]


def main():
    args = sys.argv[1:]
    if args[:1] in (["-h"], ["--help"]):
        usage, _, about = __doc__.rpartition("\n\n")
        print(about + "\n\n" + usage)
        sys.exit(0)
    if not 1 <= len(args) <= 2 or args[0].startswith("-"):
        print("summarize.py: usage: summarize.py RESULTS_DIR [README] (try --help)",
              file=sys.stderr)
        sys.exit(2)
    out = args[0]
    readme = args[1] if len(args) > 1 else None
    res = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
    by = {}
    for r in res:
        by.setdefault((r["bench"], r.get("dataset")), []).append(r)

    def runs_of(bench, d):
        """Every run of @bench on @d, in order (make bench --runs N)."""
        out = []
        for r in by.get((bench, d), []):
            r = dict(r)
            # Nothing stored, nothing to measure: an empty cell, not a zero.
            if bench == "lz4" and not r.get("stored_chunks"):
                r.pop("decompress_mbps", None)
            if bench in ("run", "zram") and not r.get("density"):
                r.pop("density", None)
            out.append(r)
        return out

    def vals(bench, d, key):
        return [r[key] for r in runs_of(bench, d) if r.get(key) is not None]

    def one(bench, d):
        """The first run, for what is not a comparison (region sizes)."""
        r = runs_of(bench, d)
        return r[0] if r else {}

    # Each phase's host CPU time (tools/phase-meter), when it was measured:
    # a list per phase name, one entry per run.
    phases = {}
    pf = os.path.join(out, "phases.csv")
    if os.path.exists(pf):
        for p in csv.DictReader(open(pf)):
            phases.setdefault(p["phase"], []).append(p)

    def per_cpu(name, mb):
        """MB per host CPU-second of phase @name, in every run."""
        return [mb / float(p["host_cpu_s"]) for p in phases.get(name, [])
                if mb and float(p["host_cpu_s"])]

    rows = []       # metric, dataset, mem_arena, zram, lz4_limit, unit: best runs
    medians = []    # the same metric's median of the runs (one run: itself)
    nruns = max([len(by.get(("run", d), [])) for d in DATASETS] + [1])

    def best(v, unit):
        if not v:
            return None, None
        # Latencies: the lowest is the best; everything else the highest
        # (slow windows of the guest only lower a run: bench/README.md).
        b = min(v) if unit == "us" else max(v)
        return b, statistics.median(v)

    def add(metric, d, ma, zr, lz, unit):
        bm = [best(v if isinstance(v, list) else ([] if v is None else [v]), unit)
              for v in (ma, zr, lz)]
        rnd = lambda x: "" if x is None else round(x, 4)
        rows.append([metric, d] + [rnd(b) for b, _ in bm] + [unit])
        medians.append([rnd(m) for _, m in bm])

    for d in DATASETS:
        m, z = one("run", d), one("zram", d)
        v = lambda bench, key: vals(bench, d, key)
        add("compress_mbps", d, v("run", "compress_mbps"), v("zram", "write_mbps_4k"),
            v("lz4", "compress_mbps"), "MB/s")
        add("compress_mbps_1m_requests", d, None, v("zram", "write_mbps_1m"), None, "MB/s")
        add("readback_mbps", d, v("run", "readback_mbps"), v("zram", "read_mbps_4k"),
            v("lz4", "decompress_mbps"), "MB/s")
        add("readback_mbps_1m_requests", d, None, v("zram", "read_mbps_1m"), None, "MB/s")
        # In order with MADV_SEQUENTIAL readahead, with it mapped ahead, and
        # with it in a worker (MEM_ARENA_CONFIG_READAHEAD_ASYNC), and in a
        # worker whose chunks the faults map (both flags).
        add("readback_readahead_mbps", d, v("run", "readback_readahead_mbps"), None,
            v("lz4", "decompress_mbps"), "MB/s")
        add("readback_mapahead_mbps", d, v("run", "readback_mapahead_mbps"), None,
            v("lz4", "decompress_mbps"), "MB/s")
        add("readback_rasync_mbps", d, v("run", "readback_rasync_mbps"), None,
            v("lz4", "decompress_mbps"), "MB/s")
        add("readback_rasyncmap_mbps", d, v("run", "readback_rasyncmap_mbps"), None,
            v("lz4", "decompress_mbps"), "MB/s")
        add("readback_random_mbps", d, v("run", "readback_random_mbps"),
            v("zram", "read_random_mbps_4k"), None, "MB/s")
        add("touch_readback_mbps", d, v("run", "touch_readback_mbps"), None, None, "MB/s")
        add("touch_parallel_readback_mbps", d, v("run", "touch_parallel_readback_mbps"),
            None, None, "MB/s")
        add("fault_p50_us", d, v("run", "fault_p50_us"), v("zram", "read_p50_us"), None, "us")
        add("fault_p99_us", d, v("run", "fault_p99_us"), v("zram", "read_p99_us"), None, "us")
        # The same random faults against zram's reads in the same random order.
        add("random_p50_us", d, v("run", "fault_p50_us"), v("zram", "read_random_p50_us"),
            None, "us")
        add("random_p99_us", d, v("run", "fault_p99_us"), v("zram", "read_random_p99_us"),
            None, "us")
        add("density", d, v("run", "density"), v("zram", "density"), None, "ratio")
        # The same by host CPU time: robust to host load (bench/README.md).
        mmb, zmb = m.get("region_mb"), z.get("region_mb")
        add("compress_mb_per_cpu_s", d, per_cpu("run/%s/compress" % d, mmb),
            per_cpu("zram/%s/write_4k" % d, zmb), None, "MB/cpu-s")
        add("readback_mb_per_cpu_s", d, per_cpu("run/%s/readback" % d, mmb),
            per_cpu("zram/%s/read_4k" % d, zmb), None, "MB/cpu-s")
        add("touch_readback_mb_per_cpu_s", d, per_cpu("run/%s/touch" % d, mmb),
            None, None, "MB/cpu-s")
        add("touch_parallel_readback_mb_per_cpu_s", d, per_cpu("run/%s/ptouch" % d, mmb),
            None, None, "MB/cpu-s")
        add("mapahead_mb_per_cpu_s", d, per_cpu("run/%s/mapahead" % d, mmb),
            None, None, "MB/cpu-s")
        add("rasync_mb_per_cpu_s", d, per_cpu("run/%s/rasync" % d, mmb),
            None, None, "MB/cpu-s")
        add("rasyncmap_mb_per_cpu_s", d, per_cpu("run/%s/rasyncmap" % d, mmb),
            None, None, "MB/cpu-s")
    scale = sorted(by.get(("scale", "mixed"), []), key=lambda r: r["region_mb"])
    if len(scale) >= 2:
        add("cost_per_chunk_ratio_%d_%d" % (scale[-1]["region_mb"], scale[0]["region_mb"]), "mixed",
            scale[-1]["ns_per_chunk_wall"] / scale[0]["ns_per_chunk_wall"], None, None, "ratio")
    add("two_thread_speedup", "mixed", vals("threads", "mixed", "two_thread_speedup"),
        None, None, "ratio")
    # By CPU time: the busiest QEMU thread of each phase stands for its
    # critical path (a vCPU that waits is halted, and costs nothing).
    p1, p2 = phases.get("threads/mixed/one", []), phases.get("threads/mixed/two", [])
    add("two_thread_speedup_cpu", "mixed",
        [2 * float(a["max_thread_cpu_s"]) / float(b["max_thread_cpu_s"])
         for a, b in zip(p1, p2) if float(b["max_thread_cpu_s"])], None, None, "ratio")

    # Ratios within each run: run i of every bench ran in the same stretch
    # of the boot (interleaved), so they share its speed.
    goals = []      # name, dataset, per-run ratios, goal, sense
    for name, ds, (bn, bk), (dn, dk), goal, sense in TARGETS:
        for d in ds:
            num, den = runs_of(bn, d), runs_of(dn, d)
            ratios = [a[bk] / b[dk] for a, b in zip(num, den)
                      if a.get(bk) is not None and b.get(dk)]
            goals.append((name, d, ratios, goal, sense))
    if len(scale) >= 2:
        goals.append(("per-chunk cost %d / %d MiB" % (scale[-1]["region_mb"],
                      scale[0]["region_mb"]), "mixed",
                      [scale[-1]["ns_per_chunk_wall"] / scale[0]["ns_per_chunk_wall"]],
                      0.15, "1 ±"))
    goals.append(("two threads / one, wall", "mixed",
                  vals("threads", "mixed", "two_thread_speedup"), 1.8, ">="))
    goals.append(("two threads / one, CPU time", "mixed",
                  [2 * float(a["max_thread_cpu_s"]) / float(b["max_thread_cpu_s"])
                   for a, b in zip(p1, p2) if float(b["max_thread_cpu_s"])], 1.8, ">="))

    def ok(x, goal, sense):
        if sense == ">=":
            return x >= goal
        if sense == "<=":
            return x <= goal
        return abs(x - 1) <= goal       # "1 ±"

    def met(x, goal, sense):
        return "yes" if ok(x, goal, sense) else "no"

    def best_of(ratios, sense):
        if sense == ">=":
            return max(ratios)
        if sense == "<=":
            return min(ratios)
        return min(ratios, key=lambda x: abs(x - 1))

    trows, tjson = [], []
    for name, d, ratios, goal, sense in goals:
        if not ratios:
            continue
        b, m = best_of(ratios, sense), statistics.median(ratios)
        trows.append([name, d, " ".join("%.2f" % r for r in ratios), "%.2f" % b,
                      "%.2f" % m, "%s %s" % (sense, goal), met(b, goal, sense),
                      met(m, goal, sense)])
        tjson.append({"target": name, "dataset": d, "runs": ratios, "goal": goal,
                      "sense": sense, "met_by_best": ok(b, goal, sense),
                      "met_by_median": ok(m, goal, sense)})
    with open(os.path.join(out, "targets.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["target", "dataset", "runs", "best", "median", "goal",
                    "met_by_best", "met_by_median"])
        w.writerows(trows)
    with open(os.path.join(out, "targets.json"), "w") as f:
        json.dump(tjson, f, indent=1)

    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "dataset", "mem_arena", "zram", "lz4_limit", "unit",
                    "mem_arena_median", "zram_median", "lz4_limit_median", "runs"])
        w.writerows(r + med + [nruns] for r, med in zip(rows, medians))

    def cell(b, m):
        return str(b) if nruns == 1 or b == "" else "%s (%s)" % (b, m)

    table = []
    if nruns > 1:
        table.append("Best of %d interleaved runs (median in parentheses)." % nruns)
        table.append("")
    table += ["| metric | dataset | mem_arena | zram | lz4 limit | unit |",
              "| --- | --- | ---: | ---: | ---: | --- |"]
    table += ["| %s | %s | %s | %s |" % (r[0], r[1], " | ".join(
        cell(b, m) for b, m in zip(r[2:5], med)), r[5]) for r, med in zip(rows, medians)]
    if trows:
        table += ["", "Issue 14's targets, each ratio taken within one run:", "",
                  "| target | dataset | per run | best | median | goal | met (best / median) |",
                  "| --- | --- | --- | ---: | ---: | --- | --- |"]
        table += ["| %s | %s | %s | %s | %s | %s | %s / %s |" % tuple(r) for r in trows]
    print("\n".join(table))
    row = dict(((r[0], r[1]), r) for r in rows)

    # Throughput per dataset for the three systems.
    dat = os.path.join(out, "throughput.dat")
    with open(dat, "w") as f:
        f.write("# dataset mem_arena_compress zram_write lz4_compress mem_arena_readback zram_read lz4_decompress\n")
        for d in DATASETS:
            c, r = row[("compress_mbps", d)], row[("readback_mbps", d)]
            f.write("%s %s\n" % (d, " ".join(str(x or 0) for x in c[2:5] + r[2:5])))
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
