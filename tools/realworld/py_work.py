# SPDX-License-Identifier: GPL-2.0
# make realworld's python3 program: a dict of 300k strings, then (after a
# line on stdin) 200 batches of 500 lookups in its hottest tenth, then
# (after another) a fork child that writes its copy, and (after a third)
# digests.  stdout: what must not depend on where the heap is; stderr:
# "timing OPS SECONDS P50_MS P99_MS" and "forked MS" (os.fork() in the
# parent, the heap's copy included).
import os, random, sys, time

sys.dont_write_bytecode = True	# no __pycache__ in the shared tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../selftests/examples"))
from heapdict import build, digest, fork_child_writes

n = 300000
d = build(n)

print("ready", flush=True)
sys.stdin.readline()
rng = random.Random(1)
lat, total = [], 0
for b in range(200):
    t = time.perf_counter()
    for _ in range(500):
        total += len(d["key%d" % rng.randrange(n // 10)])
    lat.append(time.perf_counter() - t)
lat.sort()
sys.stderr.write("timing %d %f %f %f\n" % (200 * 500, sum(lat),
                 lat[len(lat) // 2] * 1000 / 500, lat[len(lat) * 99 // 100] * 1000 / 500))
sys.stderr.flush()
print("done", flush=True)   # measured here, before the fork copies the heap
sys.stdin.readline()
forked, child_digest = fork_child_writes(d, 3)
sys.stderr.write("forked %.1f\n" % (forked * 1000))
sys.stderr.flush()
child = child_digest()
sys.stdin.readline()
print("lookups", total)
print("child", child)
print("parent", digest(d))
