# SPDX-License-Identifier: GPL-2.0
# A python3 heap for heap_test.sh: builds a dict, forks a child that writes
# its copy, and prints digests that must not depend on where the heap is.
# With "pause", prints "ready" and waits for a line on stdin before it
# checks its data again (the test compresses it from outside meanwhile).
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the shared tree

from heapdict import build, digest, fork_child_writes

n = int(sys.argv[1])
d = build(n)
before = digest(d)
if "pause" in sys.argv:
    print("ready", flush=True)
    sys.stdin.readline()
_, child_digest = fork_child_writes(d, 2)
child = child_digest()
print("parent", before)
print("child", child)
print("parent_after_fork", digest(d))
