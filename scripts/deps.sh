#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the build, the guest tests and the benchmark need, and
# pick the guest kernels: the newest Debian 6.1 and 6.12 images apt offers.
# Idempotent. Writes the chosen kernel releases to .cache/kernels (one per
# line, 6.1 first) and extracts checkpatch.pl into .cache/checkpatch/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root (uses apt-get)" >&2
	exit 1
fi

# One at a time: two make targets started together would otherwise race for
# apt's locks and fail, and both write .cache/.
mkdir -p .cache
exec 9>.cache/deps.lock
flock 9

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null

# newest <release> for a pattern of linux-image-<release> package names
newest() {
	apt-cache search --names-only "^linux-image-$1\$" |
		sed -n "s/^linux-image-\([^ ]*\) .*/\1/p" | sort -V | tail -n 1
}

k61=$(newest '6\.1\.0-[0-9]+-amd64')
k612=$(newest '6\.12\.[0-9]+\+deb12-amd64')
for k in "$k61" "$k612"; do
	if [ -z "$k" ]; then
		echo "deps: apt offers no Debian 6.1 or 6.12 amd64 kernel image" >&2
		exit 1
	fi
done

src612=linux-source-6.12
pkgs=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves sparse kmod
	"linux-image-$k61" "linux-headers-$k61"
	"linux-image-$k612" "linux-headers-$k612"
	"$src612"
	qemu-system-x86 qemu-utils busybox-static cpio xz-utils
	fio util-linux e2fsprogs python3 gnuplot-nox
	dkms debhelper dh-dkms
)
apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null

printf '%s\n' "$k61" "$k612" >.cache/kernels.new
mv .cache/kernels.new .cache/kernels

# checkpatch.pl and the data files it reads, from the Debian source tarball
cp_dir=.cache/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	tarball=$(ls /usr/src/linux-source-6.12*.tar.* | head -n 1)
	top=$(basename "$tarball" | sed 's/\.tar\..*//')
	rm -rf "$cp_dir" && mkdir -p "$cp_dir"
	tar -xf "$tarball" -C "$cp_dir" --strip-components=1 \
		"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch"
fi

echo "deps: kernels $k61 $k612"
echo "deps: qemu $(qemu-system-x86_64 --version | head -n 1)"
echo "deps: fio $(fio --version)"
