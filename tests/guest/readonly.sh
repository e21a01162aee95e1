#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A read-only=on drive: the disk is read-only in the guest, writes fail with
# EROFS/EPERM (buffered and O_DIRECT), and reads still return the data the
# host put there (sha256 from the manifest), before and after the attempts.
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

need_disk ro0
d=$DISK
want=$(mget ro0 sha256)
[ "$(val "/sys/block/$d/ro")" = 1 ] || fail "/sys/block/$d/ro is not 1"
[ "$(blockdev --getro "/dev/$d")" = 1 ] || fail "blockdev --getro /dev/$d is not 1"

sum() { sha256sum <"/dev/$d" | cut -d' ' -f1; }
[ "$(sum)" = "$want" ] || fail "content differs from the host image before writing"

# python3 reports the errno name of each attempt.
out=$(python3 - "/dev/$d" <<'PY'
import errno, mmap, os, sys
dev = sys.argv[1]
res = []
for label, flags in (("buffered", 0), ("direct", os.O_DIRECT)):
    try:
        fd = os.open(dev, os.O_WRONLY | flags)
    except OSError as e:
        res.append("%s-open:%s" % (label, errno.errorcode[e.errno]))
        continue
    buf = mmap.mmap(-1, 4096)
    buf.write(b"\xa5" * 4096)
    try:
        os.write(fd, buf)
        os.fsync(fd)
        res.append("%s:written" % label)
    except OSError as e:
        res.append("%s:%s" % (label, errno.errorcode[e.errno]))
    os.close(fd)
print(" ".join(res))
PY
)
info "write attempts: $out"
for r in $out; do
	case $r in
	*:EROFS|*:EPERM) ;;
	*) fail "write to a read-only disk: $r (want EROFS or EPERM)" ;;
	esac
done
echo 3 >/proc/sys/vm/drop_caches
[ "$(sum)" = "$want" ] || fail "content differs from the host image after the write attempts"
pass
