# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by host checks (tests/host/*.sh), run by tests/run from any
# directory: switches to the repository root. Result protocol:
# tests/lib/result.sh.
set -u
# shellcheck source=tests/lib/result.sh
. "${BASH_SOURCE[0]%/*}/result.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
export REPO=$PWD
DRIVER=drivers/block/virtio_blk.c

# Kernel releases to build and boot for.
KERNELS=$(cat .cache/kernels 2>/dev/null)
need_kernels() { [ -n "$KERNELS" ] || fail "no .cache/kernels (run 'make deps')"; }
need_driver() { [ -f "$DRIVER" ] || skip "no $DRIVER yet"; }

# Scratch dir removed on exit.
scratch() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/hostcheck.XXXXXX") || fail "mktemp failed"
	trap 'rm -rf "$SCRATCH"' EXIT
}

# Copy of the module sources (what 'make modules' needs) into DIR, so that
# checks can build with other flags or patched sources without touching
# build/.
copy_sources() {	# DIR
	mkdir -p "$1" && cp -r Makefile Kbuild drivers include "$1"/ &&
		mkdir -p "$1/.cache" && cp .cache/kernels "$1/.cache/"
}

# Show the tail of LOG as diagnostics.
show_tail() { tail -n "${2:-20}" "$1" | sed 's/^/#   /'; }
