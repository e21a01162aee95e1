#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The version of this driver, for MODULE_VERSION (Kbuild's VBLK_VERSION),
# DKMS and the Debian package:
#
#   <PACKAGE_VERSION of dkms.conf>+git<commit date, UTC>.<commit time>.g<hash>[.dirty]
#
# e.g. 1.0+git20261203.142355.ge6728db: later commits sort higher (dpkg,
# dkms), the hash names the commit, ".dirty" marks uncommitted changes to
# tracked files.  Outside a git checkout (a DKMS source tree, a tarball):
# the PACKAGE_VERSION of dkms.conf alone.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
base=$(sed -n 's/^PACKAGE_VERSION="\([0-9][0-9.]*\)"$/\1/p' "$top/dkms.conf")
[ -n "$base" ] || { echo "version.sh: no numeric PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
if command -v git >/dev/null 2>&1 &&
	[ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ]; then
	v=$(TZ=UTC git -C "$top" log -1 --date=format-local:%Y%m%d.%H%M%S --format="$base+git%cd.g%h")
	[ -z "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ] || v=$v.dirty
	echo "$v"
else
	echo "$base"
fi
