#!/usr/bin/env bash
# scripts/deps.sh - the Debian packages gvm-dsm builds and tests with.
#
#   deps.sh install   install whatever is missing (root on Debian), saying what
#   deps.sh ensure    what `make check` runs first: install when it can,
#                     otherwise print the one command to run and go on
#                     (optional tools are then skipped by the tests that need them)
#   deps.sh vm        what `make kmod` and `make vmcheck` run first: the kernel
#                     module's and the VM's packages; installs them as root,
#                     otherwise prints the command and fails (kmod then
#                     fails, vmcheck skips)
#   deps.sh list      print the package list
#
# Each later backend adds its packages to REQUIRED or OPTIONAL below.
set -eu

# Needed to build and run the core tests (libssl-dev: libcrypto's HMAC for
# authenticated peers, core/auth.c).
REQUIRED="gcc make libc6-dev pkg-config libssl-dev"
# Used when present: spin checks the Promela model; liburing-dev builds the
# TCP backend's io_uring poller; libpmix-dev builds the PMIx bootstrap and
# openmpi-bin's mpirun tests it; gnuplot-nox draws make bench's plots;
# ucx-utils and libfabric-bin are what bench/compare measures us against;
# python3 checks gvm-bench's JSON; libdaxctl-dev gives the CXL backend its
# devdax source; iproute2 makes the network namespaces of tests/multi/netns.sh;
# clang and libclang-rt-dev (libFuzzer) build tests/fuzz/.
OPTIONAL="spin liburing-dev libpmix-dev openmpi-bin gnuplot-nox ucx-utils libfabric-bin python3 libdaxctl-dev iproute2 clang libclang-rt-dev"
# The kernel module and its VM tests (make kmod, make vmcheck; not make
# check): Debian's kernel headers and image, QEMU, busybox-static, kmod and
# cpio for the guest's initramfs, sparse for make kmod C=1.
VM="linux-headers-amd64 linux-image-amd64 qemu-system-x86 busybox-static kmod cpio sparse"
# The fresh-box test (tests/freshbox/run.sh, run by .ci/run): debootstrap
# makes the fresh Debian root the quick start is tried in.
FRESHBOX="debootstrap"

mode=${1:-install}

missing() {
	local p out=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
	done
	echo "${out# }"
}

if [ "$mode" = list ]; then
	echo "required: $REQUIRED"
	echo "optional: $OPTIONAL"
	echo "vm: $VM"
	echo "freshbox: $FRESHBOX"
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: not a Debian system; install the equivalents of: $REQUIRED $OPTIONAL $VM $FRESHBOX"
	[ "$mode" != vm ]
	exit
fi

case $mode in
install) want="$REQUIRED $OPTIONAL $VM $FRESHBOX" ;;
vm) want="$REQUIRED $VM" ;;
*) want="$REQUIRED $OPTIONAL" ;;
esac
need=$(missing $want)
if [ -z "$need" ]; then
	[ "$mode" = install ] && echo "deps: all present ($want)"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing: $need"
	echo "deps: run: sudo apt-get install -y $need"
	[ "$mode" != vm ] || exit 1
	[ -z "$(missing $REQUIRED)" ] || exit 1
	exit 0
fi

echo "deps: installing: $need"
export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list finds nothing: refresh once first.
apt-get update -qq
apt-get install -y -qq --no-install-recommends $need >/dev/null
echo "deps: installed: $need"
