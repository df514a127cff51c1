#!/bin/sh
# Description: `make install PREFIX=...` installs headers, both libraries and
# gvmdsm.pc, and a program built with `pkg-config --cflags --libs gvmdsm`
# against that prefix links and runs, shared and static; so does one
# linked against the build tree (-Lbuild -lgvmdsm).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BUILD=${BUILD:-build}
case $BUILD in /*) tree=$BUILD ;; *) tree=$top/$BUILD ;; esac
make -s -C "$top" install PREFIX="$tmp/prefix" BUILD="$BUILD" >/dev/null
cat > "$tmp/prog.c" <<'C'
#include <gvm/cluster.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct gvm_cluster *c;
	enum gvm_manager m;

	(void)argv;
	/* Linked, not run: the cluster API must be exported too. */
	if (argc > 99 && !gvm_cluster_open(NULL, &c))
		gvm_cluster_close(c);
	if (gvm_manager_parse("central", &m) || m != GVM_MANAGER_CENTRAL)
		return 1;
	printf("linked: %s\n", gvm_manager_name(m));
	return 0;
}
C
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$tmp/prog.c" $(pkg-config --cflags --libs gvmdsm) -o "$tmp/prog"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/prog"
# Static: the archive, plus what it needs (Libs.private: liburing, libpmix).
cc "$tmp/prog.c" $(pkg-config --cflags gvmdsm) "$tmp/prefix/lib/libgvmdsm.a" \
	$(pkg-config --static --libs gvmdsm | sed 's/-lgvmdsm//') -o "$tmp/prog-static"
"$tmp/prog-static"
# Against the build tree itself: the soname (libgvmdsm.so.0) is there.
cc "$tmp/prog.c" -I"$top/core/include" -L"$tree" -lgvmdsm -o "$tmp/prog-build"
LD_LIBRARY_PATH="$tree" "$tmp/prog-build"
# Internal symbols stay internal.
if nm -D --defined-only "$tmp/prefix/lib/libgvmdsm.so" | grep -q gvm_wire_; then
	echo "libgvmdsm.so exports the wire codec"; exit 1
fi
