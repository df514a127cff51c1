#!/usr/bin/env bash
# Description: boot Debian's own kernel (linux-image-amd64) under QEMU TCG
# with the host's root shared read-only over 9p (a tmpfs overlay on top),
# run tests/vm/guest.sh inside, power off. Exit status: the guest's.
#
#   BUILD=build KVER=6.1.0-56-amd64 tests/vm/run.sh
#
# The modules the guest needs before it can see its root (virtio, 9p,
# overlay) go into a busybox initramfs, cached in $BUILD/vm/. Env: KVER
# (default: newest /lib/modules/*/build), VM_MEM (1G), VM_SMP (2),
# VM_TIMEOUT (seconds, 900), VM_GUEST (the script to run inside, a path
# the guest sees: under this tree; default tests/vm/guest.sh), VM_QEMU_ARGS
# (more QEMU options, e.g. a -monitor to pause the guest from outside).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${BUILD:-build}" && pwd)
KVER=${KVER:-$(ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1)}
kernel=/boot/vmlinuz-$KVER
guest=$(realpath "${VM_GUEST:-$top/tests/vm/guest.sh}")
out=$BUILD/vm
initrd=$out/initrd-$KVER.cpio.gz
mkdir -p "$out"

for f in "$kernel" /lib/modules/"$KVER"/modules.dep "$BUILD"/kmod/kmod/gvm_dsm.ko; do
	[ -e "$f" ] || { echo "vmcheck: $f is missing (make deps; make kmod)"; exit 1; }
done

# ==== The initramfs: busybox, the modules for 9p and overlay, an init ====
if [ ! -s "$initrd" ] || [ "$initrd" -ot "$0" ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t"/{bin,mods,proc,sys,dev,lower,rw,newroot}
	cp /bin/busybox "$t/bin/busybox"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -S "$KVER" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
		cp "$ko" "$t/mods/"
		basename "$ko" >> "$t/modorder"
	done
	cat > "$t/init" <<'EOF'
#!/bin/busybox sh
# Mount the host's root (9p, read-only) under a tmpfs overlay, then run
# the test script named on the kernel command line from the real root.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for k in $(cat /modorder); do insmod /mods/$k || echo "vmcheck: insmod $k failed"; done
fail() { echo "vmcheck: $1"; echo "VMCHECK_RC=1"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose root /lower ||
	fail "cannot mount the host root"
mount -t tmpfs -o size=512m tmpfs /rw; mkdir /rw/u /rw/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/u,workdir=/rw/w /newroot ||
	fail "cannot mount the overlay"
script=$(sed -n 's/.*gvm\.guest=\([^ ]*\).*/\1/p' /proc/cmdline)
top=$(sed -n 's/.*gvm\.top=\([^ ]*\).*/\1/p' /proc/cmdline)
build=$(sed -n 's/.*gvm\.build=\([^ ]*\).*/\1/p' /proc/cmdline)
for d in proc sys dev; do mount --move /$d /newroot/$d; done
cat > /newroot/.vmcheck-stage2 <<EOS
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
# The tree and its build, shared on their own: a clone under /tmp would
# be hidden by the guest's tmpfs there.
mkdir -p $top $build
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose tree $top
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose build $build
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
ip link set lo up
echo "vmcheck: guest up after \$(cut -d' ' -f1 /proc/uptime) s"
/bin/bash $script </dev/null
echo "VMCHECK_RC=\$?"
sync; /bin/busybox poweroff -f; while :; do sleep 1; done
EOS
exec switch_root /newroot /bin/sh /.vmcheck-stage2
EOF
	chmod +x "$t/init"
	(cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi

# ==== Boot ====
log=$out/console.log
t0=$(date +%s)
timeout "${VM_TIMEOUT:-900}" nice -n 5 qemu-system-x86_64 -accel tcg -cpu max \
	-m "${VM_MEM:-1G}" -smp "${VM_SMP:-2}" -nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 loglevel=3 mitigations=off gvm.guest=$guest gvm.build=$BUILD gvm.top=$top gvm.kver=$KVER" \
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$top",mount_tag=tree,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$BUILD",mount_tag=build,security_model=none,readonly=on,multidevs=remap \
	${VM_QEMU_ARGS:-} </dev/null 2>&1 | tr -d '\r' | tee "$log" | grep -v '^VMCHECK_RC=' || true
rc=$(sed -n 's/^VMCHECK_RC=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
echo "vmcheck: QEMU ran $(( $(date +%s) - t0 )) s; console log in $log"
if [ -z "$rc" ]; then
	echo "vmcheck: the guest did not finish (timeout or crash)"
	exit 1
fi
exit "$rc"
