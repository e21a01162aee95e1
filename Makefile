# SPDX-License-Identifier: GPL-2.0
#
# virtio_blk with iopoll completion mitigation, out-of-tree build.
#
#   make                 build for the running kernel, or KVER=<release>, or
#                        KDIR=/path/to/build (output: build/$(KVER)/)
#   make modules-all     build for every installed Debian 6.1/6.12 headers tree
#   make IOPOLL=n        build without CONFIG_VIRTIO_BLK_IOPOLL
#   make deps            install what builds, tests and benchmarks need (apt)
#   make check           all tests (host checks beside guests on both kernels)
#   make check-stress    the long robustness variants (see below)
#   make bench           fio comparison, results under results/
#
# The sources are copied into build/<kernel>[-noiopoll]/ so that builds for
# different kernels never share object files.

IOPOLL ?= y
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
SRCS := Kbuild drivers/block/Kbuild drivers/block/virtio_blk.c \
	drivers/block/virtio_blk_trace.h include/virtio_blk_compat.h
SUFFIX := $(if $(filter y,$(IOPOLL)),,-noiopoll)
# MODULE_VERSION: git-based (scripts/version.sh); DKMS passes its
# PACKAGE_VERSION, which the Debian package sets to the package version.
VBLK_VERSION ?= $(shell sh scripts/version.sh 2>/dev/null)
KBUILD_ARGS := CONFIG_VIRTIO_BLK_IOPOLL=$(filter y,$(IOPOLL)) $(if $(W),W=$(W)) $(if $(C),C=$(C)) \
	$(if $(VBLK_VERSION),VBLK_VERSION=$(VBLK_VERSION))

.PHONY: all modules modules-all helpers deps check check-stress bench clean

all: modules

# Build for one kernel: KDIR names its build tree.
modules:
	@test -f "$(KDIR)/Makefile" || { \
	  echo "error: no kernel build tree at $(KDIR)." >&2; \
	  echo "       Install the headers (apt-get install linux-headers-$(KVER))," >&2; \
	  echo "       run 'make deps', or point KDIR= at a configured kernel tree." >&2; \
	  exit 1; }
	@out=build/$(KVER)$(SUFFIX); \
	mkdir -p "$$out" && cp --parents $(SRCS) "$$out"/ && \
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)/$$out" $(KBUILD_ARGS) modules && \
	echo "built $$out/drivers/block/virtio_blk.ko"

# Test helper modules (tests/helpers/, guest tests load them) for one
# kernel: build/<kernel>-helpers/.
HELPER_SRCS := tests/helpers/Kbuild tests/helpers/virtio_pm_cycle.c
helpers:
	@out=build/$(KVER)-helpers; \
	mkdir -p "$$out" && cp $(HELPER_SRCS) "$$out"/ && \
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)/$$out" $(if $(W),W=$(W)) $(if $(C),C=$(C)) modules

# Build for every kernel that 'make deps' provisioned.
modules-all:
	@test -s .cache/kernels || { echo "error: run 'make deps' first" >&2; exit 1; }
	@set -e; for k in $$(cat .cache/kernels); do \
	  $(MAKE) --no-print-directory modules KVER=$$k; \
	done

deps:
	scripts/deps.sh

check: deps
	tests/run

# The long variants (about 15 min on this 2-core TCG machine): >= 1 GiB
# write+verify while flipping the iopoll controls every 10-100 ms, 100 module
# unload/load cycles, 100 CPU offline/online cycles under I/O; our module,
# both kernels; and the DKMS round trip with this machine's own
# initramfs-tools settings (make check rebuilds with MODULES=list); and the
# tests make check runs in one mode only ("# vmtest: modes") in every mode.
STRESS_TESTS := iopoll-flip load-cycles cpu-hotplug dkms \
	$(shell grep -l '^\# vmtest: modes' tests/guest/*.sh | sed 's|.*/||; s|\.sh$$||')
check-stress: deps
	CHECK_STRESS=1 CHECK_MODULES=ours CHECK_BOOTS="main shapes" \
	  CHECK_TESTS="$(strip $(STRESS_TESTS))" VM_TIMEOUT=5400 tests/run

bench: deps
	$(MAKE) --no-print-directory modules-all
	scripts/bench/run

clean:
	rm -rf build

# Packaging
# ---------
# DKMS and in-tree integration (dkms.conf, scripts/dkms.sh, scripts/intree.sh,
# Documentation/virtio-blk-iopoll.rst).
#
#   make dkms-install    install through DKMS for KVER (default: the running
#                        kernel) and rebuild its initramfs
#   make dkms-remove     back to the stock module (KVER= limits it to one
#                        kernel), initramfs rebuilt
#   make dkms-status     dkms status and what modinfo resolves per kernel
#   make intree          integrate into Debian's linux-source-6.12 (unpacked
#                        under .cache/intree/) and build it there with
#                        VIRTIO_BLK_IOPOLL=y and =n; INTREE_ARGS= for more
#   make check-intree    the in-tree test (too slow for make check)
#   make deb             the Debian package virtio-blk-iopoll-dkms, version
#                        from git: build/deb/virtio-blk-iopoll-dkms_<v>_all.deb
#                        (scripts/deb.sh; install: apt install ./<file>.deb)
#   make version         the version that MODULE_VERSION, DKMS and the
#                        package get (scripts/version.sh)

.PHONY: dkms-srcs dkms-install dkms-remove dkms-status intree check-intree deb version

dkms-srcs:
	@echo $(SRCS)

deb:
	scripts/deb.sh

version:
	@scripts/version.sh

dkms-install:
	scripts/dkms.sh install $(KVER)

dkms-remove:
	scripts/dkms.sh remove $(if $(filter command line environment,$(origin KVER)),$(KVER))

dkms-status:
	@scripts/dkms.sh status

intree:
	scripts/intree.sh $(INTREE_ARGS)

check-intree: deps
	INTREE=1 tests/host/intree.sh

# Debug kernel
# ------------
# A guest kernel with KASAN, PROVE_LOCKING, DEBUG_ATOMIC_SLEEP and
# DEBUG_OBJECTS, built from Debian's linux-source-6.12 with a small config
# (scripts/debug-kernel.config), cached under .cache/debug-kernel/.
#
#   make debug-kernel    build it if needed (long: measured time in
#                        scripts/debug-kernel.sh) and install it as
#                        /boot/vmlinuz-<release> + /lib/modules/<release>/
#   make check-debug     the guest tests with our module on it (tests/run);
#                        fails on any test failure and on any kernel report
#                        (KASAN, lockdep, BUG, WARNING) in the guest logs

.PHONY: debug-kernel check-debug

debug-kernel:
	scripts/debug-kernel.sh

check-debug: deps
	scripts/check-debug.sh
