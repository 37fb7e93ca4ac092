# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the shell tests (sourced): ok/not_ok/skip/check and py,
# which runs Python with the host's python3 (tools/vm-run --host-usr).
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
py() { /usr/bin/python3 -c "$@"; }
