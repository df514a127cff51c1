#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check.sh - exhaustively verify the IVY protocol model (ivy.pml) with spin.
#
#   check.sh             verify every configuration; exit 0 iff all pass
#   check.sh --mutant    verify the deliberately broken build (-DMUTANT);
#                        exit 0 iff a violation IS found in every
#                        configuration (the checks are able to fail)
#   check.sh --coverage  run the reachability probes (-DCOVER=k): each
#                        interesting protocol path must be reached (two
#                        probes are expected unreachable, see below)
#   check.sh --liveness  search for cycles (-DNP, pan -l): none may exist,
#                        so every run ends, and with no invalid end state
#                        every operation completes (~70 s, ~1.1 GB)
#
# Checked: assertions (the coherence invariants in ivy.pml) and invalid end
# states (a node left waiting on a transaction that can never complete).
# Exit 77 when spin or gcc is missing. Works from any directory; all
# generated files go to a temporary directory that is removed on exit.

set -u

case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
here=$(cd "$here" && pwd) || exit 1
model="$here/ivy.pml"

mode=check
case "${1:-}" in
"") ;;
--mutant) mode=mutant ;;
--coverage) mode=coverage ;;
--liveness) mode=liveness ;;
*) echo "usage: $0 [--mutant | --coverage | --liveness]" >&2; exit 2 ;;
esac

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "model: $tool not found, skipping"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ivy-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM

# Exhaustive safety search: assertions + invalid end states (no -E, no -A).
# COLLAPSE keeps the 2-page run around 0.7 GB; depth stays below 100.
PAN_CFLAGS="-O2 -DSAFETY -DCOLLAPSE"
PAN_FLAGS="-m10000 -w22"

# Configurations: name, then spin -D options.
# 1-page runs use 3 operations per node (~1.9 M states, ~4 s); the
# 2-page run uses 2 per node (~3.5 M states, ~13 s).
CONFIGS="central_1-page:-DCENTRAL:-DNPAGES=1:-DOPS=3
fixed_1-page:-DFIXED:-DNPAGES=1:-DOPS=3
fixed_2-page:-DFIXED:-DNPAGES=2:-DOPS=2"

# Cycle search: no -DSAFETY; -DNP with no progress labels makes every
# cycle a non-progress cycle.
LIVE_CFLAGS="-O2 -DNP -DCOLLAPSE"
LIVE_FLAGS="-l -m10000 -w22"

# run NAME DEFINES... : build and run pan in $tmp/NAME; leaves pan.out there.
# Returns 0 if pan ran to completion (whatever it found), 1 otherwise.
run() {
	name=$1
	shift
	dir="$tmp/$name"
	mkdir -p "$dir" || return 1
	(
		cd "$dir" || exit 1
		# work on a copy: pan names its trail after the model path
		cp "$model" ivy.pml || exit 1
		if ! spin -a "$@" ivy.pml >spin.log 2>&1; then
			echo "model: $name: spin -a failed:" >&2
			cat spin.log >&2
			exit 1
		fi
		# shellcheck disable=SC2086
		if ! gcc $cflags -o pan pan.c >gcc.log 2>&1; then
			echo "model: $name: gcc failed:" >&2
			tail -n 20 gcc.log >&2
			exit 1
		fi
		# shellcheck disable=SC2086
		./pan $pflags >pan.out 2>&1
		exit 0
	)
}

field_errors() { sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$1" | tail -n 1; }
field_states() { awk '/states, stored/ { print $1; exit }' "$1"; }
field_time() { sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$1" | tail -n 1; }
field_violation() {
	grep -m 1 -E 'assertion violated|invalid end state|error:' "$1"
}

# A search is only conclusive if it was complete.
incomplete() {
	grep -q -E 'search depth too small|reached -DMEMLIM|out of memory' "$1"
}

# Print the counterexample of a failed run: spin replays pan's trail as a
# message trace (Send/Recv lines), then dumps the final state.
show_trail() {
	(
		cd "$tmp/$1" || exit 0
		shift
		ls ./*.trail >/dev/null 2>&1 || exit 0
		echo "---- counterexample: spin -t -s -r $* ivy.pml ----"
		echo "(proc k is node k-1; ch[s*3+d] carries s->d; fields after type,page:"
		echo " REQ kind,requester,have_version,routed  GRANT_READ version,data"
		echo " GRANT_WRITE version,data(255=none),copyset  INV version,new_owner"
		echo " ACK version  OWNED version)"
		spin -t -s -r "$@" ivy.pml 2>&1 |
			grep -v -E '^ *$|^[[:space:]]*queue [0-9]+ \([a-z]+\[[0-9]+\]\): *$' |
			head -n 300
		echo "----"
	)
}

label() { echo "$1" | tr '_' ' '; }
defines() { echo "$1" | cut -d: -f2- | tr ':' ' '; }

cflags=$PAN_CFLAGS
pflags=$PAN_FLAGS
rc=0
case $mode in
check)
	for cfg in $CONFIGS; do
		name=${cfg%%:*}
		# shellcheck disable=SC2046
		if ! run "$name" $(defines "$cfg"); then
			rc=1
			continue
		fi
		out="$tmp/$name/pan.out"
		errs=$(field_errors "$out")
		st=$(field_states "$out")
		t=$(field_time "$out")
		if [ "$errs" = 0 ] && ! incomplete "$out"; then
			echo "model: $(label "$name"): ok (states=$st, time=${t}s)"
		else
			echo "model: $(label "$name"): FAILED (errors=${errs:-?}, states=${st:-?}, time=${t:-?}s)"
			field_violation "$out"
			incomplete "$out" && echo "search incomplete:" &&
				grep -E 'depth too small|MEMLIM|out of memory' "$out"
			# shellcheck disable=SC2046
			show_trail "$name" $(defines "$cfg")
			rc=1
		fi
	done
	;;
mutant)
	for cfg in $CONFIGS; do
		name=${cfg%%:*}
		# shellcheck disable=SC2046
		if ! run "$name" -DMUTANT $(defines "$cfg"); then
			rc=1
			continue
		fi
		out="$tmp/$name/pan.out"
		errs=$(field_errors "$out")
		t=$(field_time "$out")
		if [ -n "$errs" ] && [ "$errs" != 0 ]; then
			depth=$(sed -n 's/.*(at depth \([0-9]*\)).*/\1/p' "$out" | head -n 1)
			echo "model: mutant $(label "$name"): violation found as expected (depth=${depth:-?}, time=${t}s): $(field_violation "$out" | sed 's/^pan:1: //; s/ (at depth [0-9]*)//')"
		else
			echo "model: mutant $(label "$name"): NO violation found - the checks cannot see a missing INV"
			rc=1
		fi
	done
	;;
coverage)
	# probe -> what it shows; probes 9 and 11 are expected to be
	# unreachable and only reported: an INV never finds a copy newer
	# than itself, and no request reaches a new owner before the
	# manager has its OWNED.
	unreachable=" 9 11 "
	for k in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
		case $k in
		1) what="stale GRANT_READ discarded and retried (watermark)" ;;
		2) what="GRANT_WRITE without payload (have_version hit)" ;;
		3) what="request waits in the manager's queue (transfer unconfirmed)" ;;
		4) what="routed REQ deferred at an owner collecting acks" ;;
		5) what="deferred WRITE served: ownership moves from the queue" ;;
		6) what="UPGRADE: owner invalidates its readers" ;;
		7) what="new owner invalidates the copyset it received" ;;
		8) what="INV reaching a node without a copy (watermark only)" ;;
		9) what="INV reaching a SHARED copy newer than itself" ;;
		10) what="second request deferred behind another" ;;
		11) what="OWNED arrives after the new owner served a request" ;;
		12) what="OWNED arrives after the new owner completed its write" ;;
		13) what="manager routes a queued WRITE, the rest keeps waiting" ;;
		esac
		name="cover_$k"
		if ! run "$name" "-DCOVER=$k" -DCENTRAL -DNPAGES=1 -DOPS=2; then
			rc=1
			continue
		fi
		errs=$(field_errors "$tmp/$name/pan.out")
		if [ -n "$errs" ] && [ "$errs" != 0 ]; then
			echo "model: probe $k reached: $what"
		elif [ "${unreachable#* $k }" != "$unreachable" ]; then
			echo "model: probe $k unreachable (expected): $what"
		else
			echo "model: probe $k NOT reached: $what"
			rc=1
		fi
	done
	;;
liveness)
	cflags=$LIVE_CFLAGS
	pflags=$LIVE_FLAGS
	for cfg in "central_1-page:-DCENTRAL:-DNPAGES=1:-DOPS=3" \
		"fixed_2-page:-DFIXED:-DNPAGES=2:-DOPS=2"; do
		name=${cfg%%:*}
		# shellcheck disable=SC2046
		if ! run "$name" $(defines "$cfg"); then
			rc=1
			continue
		fi
		out="$tmp/$name/pan.out"
		errs=$(field_errors "$out")
		st=$(field_states "$out")
		t=$(field_time "$out")
		if [ "$errs" = 0 ] && ! incomplete "$out"; then
			echo "model: $(label "$name") no cycles: ok (states=$st, time=${t}s)"
		else
			echo "model: $(label "$name") no cycles: FAILED (errors=${errs:-?})"
			grep -m 1 -E 'non-progress cycle|acceptance cycle|violated' "$out"
			# shellcheck disable=SC2046
			show_trail "$name" $(defines "$cfg")
			rc=1
		fi
	done
	;;
esac
exit $rc
