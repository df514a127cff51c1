#!/bin/sh
# Description: `make install PREFIX=...` installs headers, both libraries and
# gvmdsm.pc, and a program built with `pkg-config --cflags --libs gvmdsm`
# against that prefix links and runs, shared and static.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$top" install PREFIX="$tmp/prefix" BUILD="${BUILD:-build}" >/dev/null
cat > "$tmp/prog.c" <<'C'
#include <gvm/dsm.h>
#include <stdio.h>

int main(void)
{
	enum gvm_manager m;

	if (gvm_manager_parse("central", &m) || m != GVM_MANAGER_CENTRAL)
		return 1;
	printf("linked: %s\n", gvm_manager_name(m));
	return 0;
}
C
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$tmp/prog.c" $(pkg-config --cflags --libs gvmdsm) -o "$tmp/prog"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/prog"
cc "$tmp/prog.c" $(pkg-config --cflags gvmdsm) "$tmp/prefix/lib/libgvmdsm.a" -pthread -o "$tmp/prog-static"
"$tmp/prog-static"
# Internal symbols stay internal.
if nm -D --defined-only "$tmp/prefix/lib/libgvmdsm.so" | grep -q gvm_wire_; then
	echo "libgvmdsm.so exports the wire codec"; exit 1
fi
