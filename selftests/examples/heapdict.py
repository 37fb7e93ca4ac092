# SPDX-License-Identifier: GPL-2.0
# The python3 heap of heap_workload.py (heap_test.sh) and of make realworld's
# py_work.py: a dict of strings, its digest, and a fork child that writes
# its copy.  Every result must not depend on where the heap is.
import hashlib, os, time


def build(n):
    return {"key%d" % i: ("value-%d-" % i) * 8 for i in range(n)}


def digest(d):
    h = hashlib.sha256()
    for k in sorted(d):
        h.update(k.encode() + d[k].encode())
    return h.hexdigest()


def fork_child_writes(d, every):
    """Fork a child that overwrites every @every-th key of its copy.
    Returns the seconds os.fork() took in the parent, and a function that
    waits for the child and returns its digest."""
    r, w = os.pipe()
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        for i in range(0, len(d), every):
            d["key%d" % i] = "child"
        os.write(w, digest(d).encode())
        os._exit(0)
    forked = time.perf_counter() - t

    def child_digest():
        os.waitpid(pid, 0)
        return os.read(r, 64).decode()
    return forked, child_digest
