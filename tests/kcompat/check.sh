#!/bin/sh
# Description: core/ builds as the kernel module will build it: with
# __KERNEL__ defined, no libc headers at all (-nostdinc), no floating
# point, and the only external symbols it needs are the gvm_os_* services
# and mem{cpy,set,cmp}, which every kernel provides.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CC=${CC:-cc}
cd "$top/core"
for src in *.c policy/*.c; do
	$CC -std=gnu11 -D__KERNEL__ -nostdinc -ffreestanding -fno-builtin \
		-mgeneral-regs-only -Wall -Wextra -Werror -Wvla -O2 \
		-I"$here" -I"$top/core/include" -I"$top/core" -I"$top/core/os" \
		-c "$top/core/$src" -o "$out/$(basename "$src" .c).o"
done
# Symbols core/ defines for itself do not count.
nm --defined-only "$out"/*.o | awk 'NF == 3 {print $3}' | sort -u > "$out/defined"
nm -u "$out"/*.o | awk 'NF == 2 {print $2}' | sort -u > "$out/undefined"
bad=$(comm -23 "$out/undefined" "$out/defined" |
	grep -vE '^(gvm_os_[a-z0-9_]+|memcpy|memset|memcmp)$' || true)
if [ -n "$bad" ]; then
	echo "core/ needs symbols a kernel does not provide:"; echo "$bad"
	exit 1
fi
echo "core/ builds freestanding; external symbols: $(comm -23 "$out/undefined" "$out/defined" | tr '\n' ' ')"
