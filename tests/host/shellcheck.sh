#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test bench's own scripts are clean: shellcheck (severity warning) on
# scripts/vm, scripts/*.sh, tests/run, tests/lib,
# tests/guest and tests/host; sh (POSIX) on scripts/vm/init.sh,
# scripts/vblkstat and the Debian maintainer scripts; the python
# helpers (vm, bench) compile.
. "$(dirname "$0")/../lib/host.sh"

command -v shellcheck >/dev/null || skip "shellcheck is not installed"
files=(scripts/vm/run scripts/vm/guest-exec.sh scripts/vm/kvm-usable tests/run
	scripts/*.sh tests/lib/*.sh tests/guest/*.sh tests/host/*.sh)
scratch
shellcheck -x -S warning -s bash "${files[@]}" >"$SCRATCH/bash.out" 2>&1 ||
	{ head -n 40 "$SCRATCH/bash.out" | sed 's/^/#   /'; fail "shellcheck complains (bash scripts)"; }
sh_files=(scripts/vm/init.sh scripts/vblkstat debian/*.postinst debian/*.prerm)
shellcheck -S warning -s sh "${sh_files[@]}" >"$SCRATCH/sh.out" 2>&1 ||
	{ head -n 40 "$SCRATCH/sh.out" | sed 's/^/#   /'; fail "shellcheck complains (sh scripts)"; }
py=(scripts/vm/qmp scripts/vm/qmp-bridge.py scripts/bench/run scripts/bench/*.py)
for p in "${py[@]}"; do
	/usr/bin/python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$p" \
		2>"$SCRATCH/py.out" || { sed 's/^/#   /' "$SCRATCH/py.out"; fail "$p does not parse"; }
done
info "${#files[@]} bash scripts, ${#sh_files[@]} sh scripts and ${#py[@]} python scripts clean"
pass
