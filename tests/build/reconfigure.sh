#!/bin/sh
# Description: the build follows what pkg-config finds. Configured with
# every optional library hidden (a PKG_CONFIG_LIBDIR that sees nothing), a
# build has no io_uring, devdax or PMIx code; once they are visible the
# next make reconfigures, turns each on and rebuilds every object, none
# left from the first configuration; a make with nothing changed rebuilds
# nothing. This is a fresh box's `make check`: the first make may run
# before `make deps` installed the libraries. Skips (77) where liburing,
# libdaxctl or libpmix are not installed: nothing could appear.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
for m in liburing libdaxctl pmix; do
	pkg-config --exists $m || { echo "$m not installed: nothing can appear"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
B=$tmp/build
mkdir "$tmp/nothing"
targets="$B/libgvmdsm.a $B/libgvmdsm.so $B/gvm-cxl-info"
# The tools' objects: what a configuration decides.
uses() { nm "$B/obj/$1" | grep -q " U $2\$"; }

echo "== hidden"
PKG_CONFIG_LIBDIR=$tmp/nothing make -s -C "$top" BUILD="$B" $targets
grep -qx 'HAVE_LIBURING :=' "$B/config.mk"
! uses transports/tcp/tcp.o tcp_poller_uring_open
! uses transports/cxl/cxl.o cxl_dax_check
! uses core/user/cluster.o gvm_pmix_bootstrap
"$B/gvm-cxl-info" --dax | grep -q 'no devdax support'
touch "$tmp/first"

echo "== visible"
sleep 1 # a rebuilt object must be visibly newer
make -s -C "$top" BUILD="$B" $targets
grep -qx 'HAVE_LIBURING := 1' "$B/config.mk"
uses transports/tcp/tcp.o tcp_poller_uring_open
uses transports/cxl/cxl.o cxl_dax_check
uses core/user/cluster.o gvm_pmix_bootstrap
"$B/gvm-cxl-info" --dax | grep -q 'no dax devices\|^/dev/dax' || {
	echo "gvm-cxl-info still has no devdax support"; exit 1; }
stale=$(find "$B/obj" -name '*.o' ! -newer "$tmp/first")
[ -z "$stale" ] || { echo "objects left from the first configuration:"; echo "$stale"; exit 1; }
touch "$tmp/second"

echo "== unchanged"
sleep 1
make -s -C "$top" BUILD="$B" $targets
rebuilt=$(find "$B" -newer "$tmp/second" -type f)
[ -z "$rebuilt" ] || { echo "rebuilt with nothing changed:"; echo "$rebuilt"; exit 1; }
echo "reconfigured: io_uring, devdax and PMIx appeared, every object rebuilt once"
