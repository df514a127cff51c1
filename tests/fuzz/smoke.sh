#!/usr/bin/env bash
# tests/fuzz/smoke.sh BUILD: what `make check` runs of the fuzz targets:
# build them, then run 10,000 inputs of each from a fresh copy of its
# seeds with a fixed seed, the same inputs every time (a finding of a
# longer `make fuzz` run must not turn make check red by chance). Skips
# (77) where clang has no libFuzzer (Debian: clang libclang-rt-dev).
set -u
BUILD=${1:-build}
cc=${FUZZ_CC:-clang}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }' > "$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
	echo "clang with libFuzzer missing (Debian: clang libclang-rt-dev)"
	exit 77
fi
${MAKE:-make} -s BUILD="$BUILD" fuzz-build || exit 1
BUILD=$BUILD FUZZ_RUNS=10000 "$(dirname "$0")/run.sh" 0 wire tcp_hello cxl_ring engine
