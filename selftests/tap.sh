# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the shell tests (sourced): ok/not_ok/skip/check, and
# pycheck NAME CODE, which queues a Python check (the host's python3,
# tools/vm-run --host-usr) until pycheck_run runs them all in one
# interpreter: starting Python in the TCG guest costs 1-3 s a time.
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

pychecks=/tmp/pychecks.$$
pycount=0
: > "$pychecks"
pycheck() {
	pycount=$((pycount + 1))
	{
		echo "def _check_$pycount():"
		printf '%s\n' "$2" | sed 's/^/    /'
		echo "_checks.append(('$1', _check_$pycount))"
	} >> "$pychecks"
}
pycheck_run() {
	{
		echo "import csv, json, re, sys"
		echo "_checks = []"
		cat "$pychecks"
		cat <<'PY'
n = int(sys.argv[1])
for name, f in _checks:
    n += 1
    try:
        f()
        print("ok %d %s" % (n, name))
    except Exception as e:
        print("not ok %d %s" % (n, name))
        print("# %s: %r" % (type(e).__name__, e))
PY
	} > "$pychecks.py"
	/usr/bin/python3 "$pychecks.py" "$n" || echo "not ok $((n + 1)) python checks did not run"
	n=$((n + pycount))
	rm -f "$pychecks" "$pychecks.py"
}
