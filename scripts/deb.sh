#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian package virtio-blk-iopoll-dkms ("make deb"):
#
#   build/deb/virtio-blk-iopoll-dkms_<version>_all.deb
#
# <version> comes from git (scripts/version.sh).  The tracked files are
# staged under build/deb/virtio-blk-iopoll-<version>/ (never .cache or
# build/), debian/changelog is written there for that version, and
# dpkg-buildpackage builds the binary package from the staged copy, so the
# checkout itself is left as it was.  Needs debhelper and dh-dkms (make
# deps); not root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
die() { echo "deb.sh: error: $*" >&2; exit 1; }

for t in dpkg-buildpackage dh dh_dkms; do
	command -v "$t" >/dev/null || die "$t is not installed (make deps: debhelper, dh-dkms)"
done
ver=$(scripts/version.sh) || die "scripts/version.sh failed"
src=virtio-blk-iopoll
out=$top/build/deb
stage=$out/$src-$ver

rm -rf "$stage"
mkdir -p "$stage"
if git rev-parse --git-dir >/dev/null 2>&1; then
	# tracked and not ignored files as they are in the working tree (edits
	# included: the version says ".dirty" then); plain files only (not
	# the .cache link of a worktree)
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\0' "$f"; fi
		done | xargs -0 cp --parents -t "$stage" --
else
	tar -C "$top" --exclude=./build --exclude=./.cache --exclude=./.git -cf - . |
		tar -C "$stage" -xf -
fi

# Until the driver declares MODULE_VERSION(VBLK_VERSION) itself, the
# staged copy gets one: dkms replaces the kernel's module only with one
# that has a version (see scripts/dkms.sh).
drv=$stage/drivers/block/virtio_blk.c
if ! grep -q '^MODULE_VERSION(VBLK_VERSION);' "$drv"; then
	grep -q '^MODULE_VERSION(' "$drv" &&
		die "the driver declares a MODULE_VERSION other than VBLK_VERSION"
	printf '\n/* added by scripts/deb.sh: Kbuild defines VBLK_VERSION */\nMODULE_VERSION(VBLK_VERSION);\n' >>"$drv"
fi

commit=$(git log -1 --format=%H 2>/dev/null || echo unknown)
cat >"$stage/debian/changelog" <<CHANGELOG
$src ($ver) unstable; urgency=medium

  * Built from commit $commit by scripts/deb.sh.

 -- virtio-blk-iopoll developers <virtio-blk-iopoll@invalid>  $(date -R)
CHANGELOG

echo "deb.sh: building $src-dkms $ver"
(cd "$stage" && dpkg-buildpackage -us -uc -b) >"$out/build-$ver.log" 2>&1 ||
	{ tail -n 30 "$out/build-$ver.log" >&2; die "dpkg-buildpackage failed (log: $out/build-$ver.log)"; }
deb=$out/${src}-dkms_${ver}_all.deb
[ -s "$deb" ] || die "no $deb after the build"
rm -rf "$stage"
echo "deb.sh: $deb"
