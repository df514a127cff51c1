#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS TARGET...: run each fuzz target for SECONDS
# (libFuzzer's -max_total_time) from the seeds in $BUILD/fuzz/corpus/TARGET
# (written by build/fuzz/seeds; what the runs find is added there), with a
# one-line summary each: executions, crashes, corpus size. A crash leaves
# its input in $BUILD/fuzz/crash-TARGET-* and fails the run.
# FUZZ_RUNS=N instead runs N inputs with a fixed seed from a fresh copy of
# the seeds: the same inputs every time (make check's smoke). Either way
# the corpus also holds regressions/TARGET-*, what fuzzing found before.
set -u
BUILD=${BUILD:-build}
secs=$1; shift
corpus="$BUILD/fuzz/corpus"
limit=(-max_total_time="$secs")
if [ -n "${FUZZ_RUNS:-}" ]; then
	corpus="$BUILD/fuzz/smoke-corpus"
	rm -rf "$corpus"
	limit=(-runs="$FUZZ_RUNS" -seed=1)
fi
"$BUILD/fuzz/seeds" "$corpus" || exit 1
# What fuzzing once found, fixed since: every run starts from it too.
here=$(dirname "$0")
for f in "$here"/regressions/*; do
	[ -f "$f" ] || continue
	t=$(basename "$f"); t=${t%%-*}
	[ -d "$corpus/$t" ] && cp "$f" "$corpus/$t/"
done
fail=0
for t in "$@"; do
	log="$BUILD/fuzz/$t.log"
	"$BUILD/fuzz/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$BUILD/fuzz/crash-$t-" \
		"$corpus/$t" > "$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	printf 'fuzz %-10s %10s executions (%s), corpus %s inputs, exit %s\n' \
		"$t" "${runs:-?}" "${limit[*]}" "$(ls "$corpus/$t" | wc -l)" "$rc"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|abort|Test unit written' "$log" | head -n 10 | sed 's/^/    /'
		fail=1
	fi
done
exit $fail
