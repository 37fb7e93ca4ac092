# SPDX-License-Identifier: GPL-2.0
# A python3 heap for heap_test.sh: builds a dict, forks a child that writes
# its copy, and prints digests that must not depend on where the heap is.
# With "pause", prints "ready" and waits for a line on stdin before it
# checks its data again (the test compresses it from outside meanwhile).
import hashlib, os, sys

n = int(sys.argv[1])
d = {"key%d" % i: ("value-%d-" % i) * 8 for i in range(n)}


def digest(d):
    h = hashlib.sha256()
    for k in sorted(d):
        h.update(k.encode() + d[k].encode())
    return h.hexdigest()


before = digest(d)
if "pause" in sys.argv:
    print("ready", flush=True)
    sys.stdin.readline()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    for i in range(0, n, 2):
        d["key%d" % i] = "child"
    os.write(w, digest(d).encode())
    os._exit(0)
os.waitpid(pid, 0)
print("parent", before)
print("child", os.read(r, 64).decode())
print("parent_after_fork", digest(d))
