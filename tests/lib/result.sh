# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Result protocol shared by host checks (tests/host) and guest tests
# (tests/guest): print exactly one of
#   ok - NAME            exit 0
#   not ok - NAME: why   exit 1
#   skip - NAME: why     exit 77
# Lines starting with "# " are figures/diagnostics the runners always show.
T_NAME=${0##*/}
T_NAME=${T_NAME%.sh}

pass() { echo "ok - $T_NAME"; exit 0; }
fail() { echo "not ok - $T_NAME: $*"; exit 1; }
skip() { echo "skip - $T_NAME: $*"; exit 77; }
info() { echo "# $*"; }
