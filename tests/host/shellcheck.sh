#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test bench's own scripts are clean: shellcheck (severity warning) on
# scripts/vm, tests/run, tests/lib, tests/guest and the host checks of the
# test bench; the python helpers compile.
. "$(dirname "$0")/../lib/host.sh"

command -v shellcheck >/dev/null || skip "shellcheck is not installed"
files=(scripts/vm/run scripts/vm/guest-exec.sh scripts/vm/kvm-usable tests/run
	tests/lib/*.sh tests/guest/*.sh)
for f in tests/host/*.sh; do
	# bench-quick.sh and dkms.sh belong to other owners
	case ${f##*/} in bench-quick.sh|dkms.sh) continue ;; esac
	files+=("$f")
done
scratch
shellcheck -x -S warning -s bash "${files[@]}" >"$SCRATCH/bash.out" 2>&1 ||
	{ head -n 40 "$SCRATCH/bash.out" | sed 's/^/#   /'; fail "shellcheck complains (bash scripts)"; }
shellcheck -S warning -s sh scripts/vm/init.sh >"$SCRATCH/sh.out" 2>&1 ||
	{ head -n 40 "$SCRATCH/sh.out" | sed 's/^/#   /'; fail "shellcheck complains (init.sh)"; }
for p in scripts/vm/qmp scripts/vm/qmp-bridge.py; do
	/usr/bin/python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$p" \
		2>"$SCRATCH/py.out" || { sed 's/^/#   /' "$SCRATCH/py.out"; fail "$p does not parse"; }
done
info "${#files[@]} bash scripts, init.sh and 2 python helpers clean"
pass
