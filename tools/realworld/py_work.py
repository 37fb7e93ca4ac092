# SPDX-License-Identifier: GPL-2.0
# make realworld's python3 program: a dict of 300k strings, then (after a
# line on stdin) 200 batches of 500 lookups in its hottest tenth, then
# (after another) a fork child that writes its copy, and (after a third)
# digests.  stdout: what must not depend on where the heap is; stderr:
# "timing OPS SECONDS P50_MS P99_MS" and "forked MS" (os.fork() in the
# parent, the heap's copy included).
import hashlib, os, random, sys, time

n = 300000
d = {"key%d" % i: ("value-%d-" % i) * 8 for i in range(n)}


def digest(d):
    h = hashlib.sha256()
    for k in sorted(d):
        h.update(k.encode() + d[k].encode())
    return h.hexdigest()


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
r, w = os.pipe()
t = time.perf_counter()
pid = os.fork()
if pid:
    sys.stderr.write("forked %.1f\n" % ((time.perf_counter() - t) * 1000))
    sys.stderr.flush()
if pid == 0:
    for i in range(0, n, 3):
        d["key%d" % i] = "child"
    os.write(w, digest(d).encode())
    os._exit(0)
os.waitpid(pid, 0)
sys.stdin.readline()
print("lookups", total)
print("child", os.read(r, 64).decode())
print("parent", digest(d))
