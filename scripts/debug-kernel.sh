#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and install a debug guest kernel (KASAN, lockdep/PROVE_LOCKING,
# DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS) from Debian's linux-source-6.12, for
# 'make check-debug'. Prints the kernel release on stdout (last line), so
# that scripts/vm/run -k "$(scripts/debug-kernel.sh)" and
# make modules KVER=<release> work on it.
#
#   scripts/debug-kernel.sh            build if needed, install, print release
#   scripts/debug-kernel.sh --release  print the release it would install
#   scripts/debug-kernel.sh --force    rebuild even if cached
#
# Config: x86_64_defconfig + scripts/debug-kernel.config (scripts/config,
# olddefconfig; every fragment line is verified in the final .config).
# Cache: .cache/debug-kernel/<key>/linux (unpacked tree, built in place),
# key = hash of the fragment, this recipe and the linux-source package
# version. Installed as /boot/vmlinuz-<release> and /lib/modules/<release>/
# (modules_install; 'build' points at the cached tree). When the tree for
# this key is built and installed, nothing is done.
#
# Build time from an empty cache ('nice -n 19 make -j2', 2-core dev
# machine): 7 min when otherwise idle, 32 min with guests running beside it.
# Each build records its own in .cache/debug-kernel/<key>/build-time.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

FRAG=$REPO/scripts/debug-kernel.config
TARBALL=${DEBUG_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
PKG=linux-source-6.12
JOBS=${DEBUG_KERNEL_JOBS:-2}
RECIPE=1	# bump when the build/install steps below change meaningfully

force=0 release_only=0
case ${1:-} in
--force) force=1 ;;
--release) release_only=1 ;;
'') ;;
*) echo "usage: $0 [--force|--release]" >&2; exit 2 ;;
esac

log() { echo "debug-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ -r "$TARBALL" ] || die "no $TARBALL: run 'make deps' (installs $PKG)"
srcver=$(dpkg-query -W -f '${Version}' "$PKG" 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c '%s-%Y' "$TARBALL")
key=$( { echo "recipe $RECIPE"; echo "source $srcver"; cat "$FRAG"; } |
	sha256sum | cut -c1-12)
top=$REPO/.cache/debug-kernel
dir=$top/$key
tree=$dir/linux

localversion=$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$FRAG")
# release of the tree: its Makefile's version + our LOCALVERSION
tree_release() {
	if [ -f "$tree/include/config/kernel.release" ]; then
		cat "$tree/include/config/kernel.release"
		return
	fi
	local v p s e
	if [ -f "$tree/Makefile" ]; then
		v=$(sed -n 's/^VERSION = //p' "$tree/Makefile" | head -n1)
		p=$(sed -n 's/^PATCHLEVEL = //p' "$tree/Makefile" | head -n1)
		s=$(sed -n 's/^SUBLEVEL = //p' "$tree/Makefile" | head -n1)
		e=$(sed -n 's/^EXTRAVERSION = *//p' "$tree/Makefile" | head -n1)
	else
		# not unpacked yet: read the top Makefile from the tarball
		local mk
		mk=$(tar -xOJf "$TARBALL" "$PKG/Makefile")
		v=$(sed -n 's/^VERSION = //p' <<<"$mk" | head -n1)
		p=$(sed -n 's/^PATCHLEVEL = //p' <<<"$mk" | head -n1)
		s=$(sed -n 's/^SUBLEVEL = //p' <<<"$mk" | head -n1)
		e=$(sed -n 's/^EXTRAVERSION = *//p' <<<"$mk" | head -n1)
	fi
	echo "$v.$p.$s$e$localversion"
}

installed() {	# $1: release
	[ -f "$dir/built" ] && [ -f "/boot/vmlinuz-$1" ] &&
		[ -f "/lib/modules/$1/modules.dep" ] &&
		[ "$(readlink -f "/lib/modules/$1/build")" = "$(readlink -f "$tree")" ] &&
		cmp -s "$tree/arch/x86/boot/bzImage" "/boot/vmlinuz-$1"
}

if [ "$release_only" = 1 ]; then
	tree_release
	exit 0
fi

mkdir -p "$top"
exec 9>"$top/.lock"
flock 9

if [ "$force" = 0 ] && installed "$(tree_release)"; then
	tree_release
	exit 0
fi
[ "$(id -u)" = 0 ] || die "installing into /boot and /lib/modules needs root"

# ---- unpack -------------------------------------------------------------
if [ "$force" = 1 ] || [ ! -f "$dir/unpacked" ]; then
	log "unpacking $TARBALL ($srcver) into $tree"
	rm -rf "$dir"
	mkdir -p "$tree"
	tar -xJf "$TARBALL" -C "$tree" --strip-components=1
	touch "$dir/unpacked"
fi

# ---- configure ---------------------------------------------------------
# fragment lines -> scripts/config arguments
cfg_args=()
while IFS= read -r line; do
	case $line in
	"# CONFIG_"*" is not set")
		o=${line#\# CONFIG_}; cfg_args+=(--disable "${o% is not set}") ;;
	CONFIG_*=y) o=${line%%=*}; cfg_args+=(--enable "${o#CONFIG_}") ;;
	CONFIG_*=m) o=${line%%=*}; cfg_args+=(--module "${o#CONFIG_}") ;;
	CONFIG_*=\"*\")
		o=${line%%=*}; v=${line#*=\"}; cfg_args+=(--set-str "${o#CONFIG_}" "${v%\"}") ;;
	CONFIG_*=*) o=${line%%=*}; cfg_args+=(--set-val "${o#CONFIG_}" "${line#*=}") ;;
	'#'*|'') ;;
	*) die "cannot parse fragment line: $line" ;;
	esac
done <"$FRAG"

verify_config() {
	local bad=0 line o
	while IFS= read -r line; do
		case $line in
		"# CONFIG_"*" is not set")
			o=${line#\# }; o=${o% is not set}
			if grep -q "^$o=" "$tree/.config"; then
				log "config: wanted $o off, got $(grep "^$o=" "$tree/.config")"
				bad=1
			fi ;;
		CONFIG_*=*)
			if ! grep -qxF "$line" "$tree/.config"; then
				o=${line%%=*}
				log "config: wanted $line, got $(grep -E "^$o=|^# $o is not set" "$tree/.config" || echo "$o absent")"
				bad=1
			fi ;;
		esac
	done <"$FRAG"
	return $bad
}

if [ ! -f "$dir/configured" ]; then
	log "configuring: x86_64_defconfig + $(basename "$FRAG")"
	make -C "$tree" -s x86_64_defconfig >&2
	"$tree/scripts/config" --file "$tree/.config" "${cfg_args[@]}"
	make -C "$tree" -s olddefconfig >&2
	# once more: options whose dependencies only the first pass enabled
	"$tree/scripts/config" --file "$tree/.config" "${cfg_args[@]}"
	make -C "$tree" -s olddefconfig >&2
	verify_config || die "the options above did not survive olddefconfig (unmet dependencies?)"
	touch "$dir/configured"
fi

# ---- build -----------------------------------------------------------------
if [ ! -f "$dir/built" ]; then
	log "building in $tree (nice -n 19 make -j$JOBS); this takes a while"
	t0=$(date +%s)
	nice -n 19 make -C "$tree" -j"$JOBS" -s bzImage modules >"$dir/build.log" 2>&1 ||
		{ tail -n 40 "$dir/build.log" >&2; die "kernel build failed, log: $dir/build.log"; }
	t1=$(date +%s)
	secs=$((t1 - t0))
	printf '%s %ss (%dm%02ds) nice -n 19 make -j%s bzImage modules, %s cores, load before %s\n' \
		"$(date -u +%FT%TZ)" "$secs" $((secs / 60)) $((secs % 60)) "$JOBS" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/build-time"
	cp "$dir/build-time" "$top/build-time"
	log "build took ${secs}s ($((secs / 60))m$((secs % 60))s); recorded in $dir/build-time"
	touch "$dir/built"
fi

# ---- install -------------------------------------------------------------
rel=$(cat "$tree/include/config/kernel.release")
[ "$rel" = "$(tree_release)" ] || die "release mismatch: $rel"
log "installing $rel: /boot/vmlinuz-$rel, /lib/modules/$rel"
install -m 644 "$tree/arch/x86/boot/bzImage" "/boot/vmlinuz-$rel"
install -m 644 "$tree/System.map" "/boot/System.map-$rel"
install -m 644 "$tree/.config" "/boot/config-$rel"
nice -n 19 make -C "$tree" -s INSTALL_MOD_STRIP=1 modules_install >&2
[ -f "/lib/modules/$rel/modules.dep" ] || depmod -a "$rel"
# modules_install makes 'build' point at the tree; make sure of it
if [ "$(readlink -f "/lib/modules/$rel/build")" != "$(readlink -f "$tree")" ]; then
	ln -sfn "$tree" "/lib/modules/$rel/build"
fi
installed "$rel" || die "install of $rel incomplete"
# trees of older configurations are stale now (same release, reinstalled)
for old in "$top"/*/; do
	old=${old%/}
	[ "$old" = "$dir" ] || [ ! -f "$old/unpacked" ] || { log "removing stale $old"; rm -rf "$old"; }
done
echo "$rel"
