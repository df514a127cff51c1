#!/usr/bin/env bash
# tests/run.sh - runs every test of `make check`, each under a timeout.
# A test exits 0 (pass), 1 (fail) or 77 (skip: a tool it needs is missing).
# A test marked `expect_fail` must fail: it proves a checker can catch a bug.
# Last line: "N passed, N failed, N skipped".
set -u
BUILD=${BUILD:-build}
TIMEOUT=${TIMEOUT:-600}
LOG=$BUILD/tests/logs
mkdir -p "$LOG"
pass=0 fail=0 skip=0 failed=()

# run NAME CMD...: the test passes when CMD exits 0.
run() {
	local name=$1; shift
	local log="$LOG/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log"
	local t0=$SECONDS rc
	timeout "$TIMEOUT" "$@" >"$log" 2>&1; rc=$?
	report "$name" $rc $((SECONDS - t0)) "$log"
}

# expect_fail NAME CMD...: the test passes when CMD exits 1 (a violation).
expect_fail() {
	local name=$1; shift
	local log="$LOG/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log"
	local t0=$SECONDS rc
	timeout "$TIMEOUT" "$@" >"$log" 2>&1; rc=$?
	case $rc in
	1) rc=0 ;;
	0) echo "  (expected a violation, got none)" >>"$log"; rc=1 ;;
	*) echo "  (expected exit 1, got $rc)" >>"$log"; rc=1 ;;
	esac
	report "$name" $rc $((SECONDS - t0)) "$log"
}

report() {
	local name=$1 rc=$2 secs=$3 log=$4
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-58s %4ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-58s %s\n' "$name" "$(tail -n 1 "$log")" ;;
	124) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-58s timed out after %ss\n' "$name" "$TIMEOUT" ;;
	*) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-58s (exit %s)\n' "$name" "$rc"
	   sed 's/^/      /' "$log" | tail -n 15 ;;
	esac
}

SIM=$BUILD/gvm-sim
# Virtual time runs 1 us per delivery: a 1 ms lease is about 1000 deliveries.
SIM_HOT=hotpage:threshold=2,window_ms=1,lease_ms=1
ASAN=$BUILD/asan/gvm-sim

run "unit: wire codec" "$BUILD/tests/unit-wire"
run "unit: node bitmaps" "$BUILD/tests/unit-bitmap"
run "unit: untrusted peers" "$BUILD/tests/unit-untrusted"
run "unit: cluster secret (handshake, replay, reflection, tags, queued frames)" "$BUILD/tests/unit-auth"
run "unit: cluster settings (file, environment)" "$BUILD/tests/unit-config"
run "unit: out of memory for a message: the node leaves, its fault fails" "$BUILD/tests/unit-oom"
run "unit: cxl ring (wraparound, full, spanning, untrusted, 2 threads)" "$BUILD/tests/unit-ring"
run "unit: cxl ring, 2 threads under tsan" "$BUILD/tsan/unit-ring"
run "unit: cxl backend (hello, window, memfd, racing openers, no devdax, back-off)" "$BUILD/tests/unit-cxl"
run "gvm-cxl-info --dax: no devices, exit 1 and says so" sh -c \
	"ls /dev/dax* >/dev/null 2>&1 && { echo 'this machine has dax devices'; exit 77; }; \
	 grep -qx 'HAVE_LIBDAXCTL := 1' $BUILD/config.mk || { echo 'built without libdaxctl (Debian: libdaxctl-dev)'; exit 77; }; \
	 $BUILD/gvm-cxl-info --dax; rc=\$?; [ \$rc = 1 ] && $BUILD/gvm-cxl-info --dax | grep -q 'no dax devices'"

for m in fixed dynamic central; do
	run "sim: $m manager, 8 nodes, 2000 seeds" \
		"$SIM" --manager "$m" --nodes 8 --pages 16 --ops 100 --seeds 2000 --quiet
	run "sim: $m manager, 8 nodes, every page checked every step (--full-check)" \
		"$SIM" --manager "$m" --nodes 8 --pages 16 --ops 100 --seeds 300 --crash 1 --full-check --quiet
	run "sim: $m manager, hot pages, delays, long pins" \
		"$SIM" --manager "$m" --nodes 8 --pages 2 --ops 100 --inflight 8 \
		--write-ratio 60 --delay 16 --hold 12 --seeds 300 --quiet
	run "sim: $m manager, 64 nodes" \
		"$SIM" --manager "$m" --nodes 64 --pages 64 --ops 40 --seeds 3 --quiet
	run "sim: $m manager, 1024 nodes x 50 operations" \
		"$SIM" --manager "$m" --nodes 1024 --pages 64 --ops 50 --page-size 256 --seeds 1 --quiet
	run "sim: $m manager, readahead (requests for pages no access waits for), delays, crashes" sh -c \
		"$SIM --manager $m --policy readahead --pages 8 --ops 100 --delay 8 --seeds 300 --quiet && $SIM --manager $m --policy readahead:max=4 --pages 8 --crash 2 --seeds 200 --quiet"
	run "sim: $m manager, nodes crash (1-3 per seed)" sh -c \
		"$SIM --manager $m --crash 1 --seeds 300 --quiet && $SIM --manager $m --crash 3 --seeds 300 --quiet && $SIM --manager $m --crash 2 --pages 4 --write-ratio 60 --inflight 6 --delay 12 --hold 8 --seeds 300 --quiet"
	expect_fail "sim catches: $m, one invalidation skipped" \
		"$BUILD/tests/gvm-sim-mut1" --manager "$m" --seeds 50 --quiet
	expect_fail "sim catches: $m, a stale read grant accepted" \
		"$BUILD/tests/gvm-sim-mut2" --manager "$m" --seeds 50 --quiet
	run "sim: $m manager, hot pages promoted and demoted (+ crashes)" sh -c \
		"$SIM --manager $m --policy $SIM_HOT --pages 8 --delay 4 --seeds 300 --quiet | tee /dev/stderr | grep -Eq ' [1-9][0-9]* promotions, [1-9][0-9]* demotions' && $SIM --manager $m --policy $SIM_HOT --pages 8 --crash 2 --delay 3 --seeds 200 --quiet && $SIM --manager $m --policy always-after:n=3 --window 64 --seeds 100 --quiet"
	expect_fail "sim catches: $m, a demotion that does not wait for acks" \
		"$BUILD/tests/gvm-sim-mut3" --manager "$m" --policy "$SIM_HOT" --pages 8 --seeds 50 --quiet
done
run "sim replays a seed exactly" tests/sim/replay.sh "$SIM"

run "tcp: a peer that reads nothing is cut off at 64 MiB queued" "$BUILD/tests/tcp-queue"
for b in sim tcp tcp-uring cxl; do
	run "transport conformance: $b" "$BUILD/tests/conformance" "$b"
	run "transport conformance: $b (asan+ubsan, leaks)" "$BUILD/asan/conformance" "$b"
done
secret=$(mktemp) # 0600
head -c 32 /dev/urandom | base64 > "$secret"
run "transport conformance: tcp, a cluster secret and tags" \
	env GVM_SECRET_FILE="$secret" "$BUILD/tests/conformance" tcp
run "transport conformance: tcp, a cluster secret and tags (asan+ubsan, leaks)" \
	env GVM_SECRET_FILE="$secret" "$BUILD/asan/conformance" tcp
rm -f "$secret"

run "tcp: io_uring refused, falls back to epoll" sh -c \
	"GVM_TEST_NO_URING=1 GVM_LOG=info $BUILD/gvm-bench tp-lat --tp-opts io=auto --iters 50 --warmup 5 --sizes 64 2>&1 | tee /dev/stderr | grep -q 'using epoll'"
run "multi-process: examples, 3 fault modes x 2/4/8 nodes" tests/multi/run.sh "$BUILD" modes
run "multi-process: frames copied (kernels before 6.4), SC" tests/multi/run.sh "$BUILD" copied
run "multi-process: userfaultfd refused, falls back to mprotect" tests/multi/run.sh "$BUILD" fallback
run "multi-process: garbage, a 64 MiB claim, idle floods, EMFILE at a node's port" tests/multi/run.sh "$BUILD" garbage
run "multi-process: random histories are sequentially consistent" tests/multi/run.sh "$BUILD" sc
run "multi-process: a cluster secret: tags, no tags; wrong, missing, readable, short secrets refused" tests/multi/run.sh "$BUILD" auth
run "multi-process: strangers attack a cluster with a secret; a man in the middle flips a bit" tests/multi/run.sh "$BUILD" attack
run "multi-process: bootstrap through PMIx under mpirun" tests/multi/run.sh "$BUILD" pmix
run "multi-process: a node killed mid-run, survivors finish" tests/multi/run.sh "$BUILD" crash
run "multi-process: hot pages promoted into a CXL window, demoted" tests/multi/run.sh "$BUILD" promote
run "multi-process: a node that never joins is not waited for" tests/multi/run.sh "$BUILD" absent
run "multi-process: read(2)/write(2)/futex on DSM pages not resident" tests/multi/run.sh "$BUILD" syscalls
run "two nodes in separate network namespaces (veth)" tests/multi/netns.sh "$BUILD"
run "gvm-bench: every subcommand, JSON schema, CSV, markdown" tests/bench/check.sh "$BUILD"
run "bench/compare: side by side with ucx_perftest, fi_pingpong" sh -c \
	"ITERS=300 BUILD=$BUILD bench/compare 64,4096 | tee /dev/stderr | awk '\$1 == 4096 && \$2 > 0 {ok = 1} END {exit !ok}'"

run "asan+ubsan: sim, 3 managers" sh -c \
	"for m in fixed dynamic central; do $ASAN --manager \$m --seeds 40 --delay 8 --quiet || exit 1; done"
run "core builds freestanding (kernel rules)" tests/kcompat/check.sh
run "make install + pkg-config consumer; a program linked against build/ runs" tests/install/check.sh
run "build: a library appearing after the first make is configured in, all rebuilt" tests/build/reconfigure.sh
run "model: spin, 3 nodes, 1-2 pages" tests/model/check.sh
run "model catches: one invalidation skipped" tests/model/check.sh --mutant
run "fuzz smoke: wire decoder, tcp handshake, cxl ring, engine (10,000 inputs each)" tests/fuzz/smoke.sh "$BUILD"

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
