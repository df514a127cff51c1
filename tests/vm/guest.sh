#!/usr/bin/env bash
# Description: the kernel module's tests, run inside the VM that
# tests/vm/run.sh boots (root, Debian's kernel, the host's files read-only).
# Loads gvm_dsm.ko and checks: the multi-process coherence tests on two
# kernel nodes; a cluster of a kernel node and a userspace node (both
# ways); hot-page promotion into a window shared by kernel nodes;
# get_user_pages and fork-shared mappings; bad ioctl arguments; bad
# bytes on a kernel node's port; gvmctl; rmmod refused while a region is
# mapped, then clean; read-fault latency, kernel path against userfaultfd.
# Fails if dmesg shows a WARNING, BUG, oops or call trace.
# Last line: "N passed, N failed".
set -u
arg() { sed -n "s/.*gvm\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
BUILD=${BUILD:-$(arg build)}
B=$BUILD
T=$B/tests
pass=0 fail=0

# TCG on a busy host can stall the guest for seconds: peers get 10 s of
# silence before they are declared down (the lost-node tests set 1 s).
export GVM_TIMEOUT_MS=10000

result() { # NAME RC OUTPUT
	if [ "$2" -eq 0 ]; then
		pass=$((pass + 1)); printf 'ok    %s\n' "$1"
	else
		fail=$((fail + 1)); printf 'FAIL  %s (exit %s)\n' "$1" "$2"
		echo "$3" | tail -n 15 | sed 's/^/      /'
	fi
}

# A test ran out of time: show where every task is blocked (to dmesg).
stuck() {
	echo "      timed out; blocked tasks and the module's last words:"
	echo w > /proc/sysrq-trigger
	sleep 1
	dmesg | tail -n 80 | sed 's/^/      /'
}

check() { # NAME CMD...: pass if CMD exits 0; shows its result line
	local name=$1 out rc; shift
	out=$(timeout 180 "$@" 2>&1); rc=$?
	echo "$out" | grep -E '^(sc|counter|gup|badioctl|readlat|garbage|kapi):' | tail -n 1 | sed 's/^/      /'
	result "$name" $rc "$out"
	[ $rc -ne 124 ] || stuck
}

# Node 1 dials node 0 at once and gives up after 10 s; under TCG on a busy
# host a process can take longer than that to start, so start node 1 once
# node 0 listens.
listening() { # PORT: wait (up to 60 s) until something listens there
	for _ in $(seq 600); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return
		sleep 0.1
	done
}

# One node of a mixed cluster each: ID PEERS CLUSTER PROG ARGS.
user_node() {
	local id=$1 peers=$2 cl=$3; shift 3
	GVM_NODE_ID=$id GVM_NODES=2 GVM_PEERS=$peers GVM_CLUSTER_ID=$cl timeout 180 "$@"
}
kernel_node() {
	local id=$1 peers=$2 cl=$3; shift 3
	timeout 180 "$B/gvmctl" join -i "$id" -n 2 -p "$peers" -c "$cl" -t 10000 -- "$@"
}
mixed() { # NAME PROG_KERNEL PROG_USER PORT ARGS: kernel node 0 + user node 1, then swapped
	local name=$1 kprog=$2 uprog=$3 port=$4; shift 4
	local peers="127.0.0.1:$port,127.0.0.1:$((port + 1))" out rc
	out=$( (kernel_node 0 "$peers" $port "$kprog" "$@" & k=$!
		listening $port
		user_node 1 "$peers" $port "$uprog" "$@"; u=$?
		wait $k; k=$?; echo "exit kernel $k user $u"; [ $k -eq 0 ] && [ $u -eq 0 ]) 2>&1 )
	rc=$?
	echo "$out" | grep -E '^(sc|counter):' | tail -n 1 | sed 's/^/      /'
	result "$name: kernel node 0, userspace node 1" $rc "$out"
	echo "$out" | grep -q 'exit .*124' && stuck
	peers="127.0.0.1:$((port + 2)),127.0.0.1:$((port + 3))"
	out=$( (user_node 0 "$peers" $port "$uprog" "$@" & u=$!
		listening $((port + 2))
		kernel_node 1 "$peers" $port "$kprog" "$@"; k=$?
		wait $u; u=$?; echo "exit kernel $k user $u"; [ $k -eq 0 ] && [ $u -eq 0 ]) 2>&1 )
	rc=$?
	echo "$out" | grep -E '^(sc|counter):' | tail -n 1 | sed 's/^/      /'
	result "$name: userspace node 0, kernel node 1" $rc "$out"
	echo "$out" | grep -q 'exit .*124' && stuck
}

echo "vmcheck: kernel $(uname -r), $(nproc) CPUs"
dmesg -C
out=$(insmod "$B/kmod/kmod/gvm_dsm.ko" 2>&1 && test -c /dev/gvm_dsm); result "insmod gvm_dsm.ko, /dev/gvm_dsm appears" $? "$out"

# Two kernel nodes in one kernel: gvmrun starts them as it starts userspace ones.
check "SC history, 2 kernel nodes" "$B/gvmrun" -n 2 -- "$T/kmod-sc" 1000
check "SC history, 2 kernel nodes, dynamic manager" "$B/gvmrun" -n 2 -m dynamic -- "$T/kmod-sc" 1000
check "counter, 2 kernel nodes x 2 threads" "$B/gvmrun" -n 2 -- "$T/kmod-counter" 200 2
check "SC history, 3 kernel nodes" "$B/gvmrun" -n 3 -- "$T/kmod-sc" 600
check "SC history, 2 kernel nodes, 16 KiB pages" "$B/gvmrun" -n 2 -p 16384 -- "$T/kmod-sc" 1000

# Hot-page promotion on kernel nodes: a window of the kernel's that both
# share, slots mapped into their processes (vm_insert_page of the slot's
# page); short leases so pages are also demoted during the run.
out=$(GVM_POLICY=hotpage:threshold=2,lease_ms=2 GVM_WINDOW=kernel:7:64 timeout 180 \
	"$B/gvmrun" -n 2 -- "$T/kmod-counter" 100000 2 2>&1); rc=$?
echo "$out" | grep -E '^counter:|promoted' | sed 's/^/      /'
echo "$out" | grep -q 'promoted [1-9]' || rc=1
echo "$out" | grep -q 'demoted [1-9]' || rc=1
result "counter, 2 kernel nodes, hot page promoted into a kernel window" $rc "$out"

# A task waiting in a fault for a silent peer (node 0, stopped) can be
# killed at once: the wait is killable, not only ended by the peer's
# timeout (20 s here).
killable() {
	local peers="127.0.0.1:7480,127.0.0.1:7481" n0 g py t0 ms=-1 rc=0
	rm -f /tmp/go
	timeout 60 "$B/gvmctl" join -i 1 -n 2 -p "$peers" -c 7480 -m central -t 20000 -- \
		python3 -c 'import mmap, os, time
m = mmap.mmap(int(os.environ["GVM_KDSM_FD"]), 65536)
while not os.path.exists("/tmp/go"):
    time.sleep(0.05)
print("gvm-kill-probe reading", flush=True)
m[12288]' > /tmp/n1.out 2>&1 &
	g=$!
	listening 7481
	GVM_NODE_ID=0 GVM_NODES=2 GVM_PEERS=$peers GVM_CLUSTER_ID=7480 GVM_MANAGER=central \
		GVM_TIMEOUT_MS=20000 "$B/tests/multi-absent" 60 > /tmp/n0.out 2>&1 &
	n0=$! # itself, not a timeout wrapper: it is the one to stop (killed below)
	listening 7480
	sleep 1 # node 0 is through its barrier (gvmctl's), connected to node 1
	kill -STOP $n0
	touch /tmp/go
	for _ in $(seq 100); do grep -q reading /tmp/n1.out && break; sleep 0.1; done
	sleep 1
	py=$(pgrep -n -x python3) # the probe, not the wrappers naming it
	if [ -n "$py" ]; then
		t0=$(date +%s%N)
		kill -9 "$py"
		while [ -e /proc/$py ] && [ "$(cut -d' ' -f3 /proc/$py/stat 2>/dev/null)" != Z ]; do
			sleep 0.05
		done
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	fi
	kill -9 $n0 $g 2>/dev/null; wait $n0 $g 2>/dev/null
	echo "      killed after $ms ms"
	grep -q reading /tmp/n1.out && [ "$ms" -ge 0 ] && [ "$ms" -lt 5000 ] || rc=1
	result "a task waiting in a fault on a silent peer dies at once when killed" $rc "$(cat /tmp/n1.out /tmp/n0.out)"
}
killable

# Userspace regions on this kernel: frames mapped from Linux 6.4
# (UFFDIO_CONTINUE_MODE_WP), copied before; either way a known result.
want=copied
[ "$(printf '%s\n6.4\n' "$(uname -r | cut -d- -f1)" | sort -V | head -n 1)" = 6.4 ] && want=mapped
out=$(GVM_LOG=info timeout 120 "$B/gvmrun" -n 2 -- "$T/multi-sc" 1000 2>&1); rc=$?
echo "$out" | grep -E '^sc:' | tail -n 1 | sed 's/^/      /'
[ "$(echo "$out" | grep -c "frames $want")" -eq 2 ] || rc=1
result "SC history, 2 userspace nodes, frames $want" $rc "$out"

mixed "SC history, mixed" "$T/kmod-sc" "$T/multi-sc" 7400 1000
mixed "counter, mixed" "$T/kmod-counter" "$B/examples/counter" 7410 200 2
# Four nodes, kernel and userspace alternating, started by gvmrun.
printf '#!/bin/sh\n[ $((GVM_NODE_ID %% 2)) -eq 0 ] && exec "%s" "$@"\nexec "%s" "$@"\n' \
	"$T/kmod-sc" "$T/multi-sc" > /tmp/alternate.sh
chmod +x /tmp/alternate.sh
check "SC history, 4 nodes: kernel, userspace, kernel, userspace" "$B/gvmrun" -n 4 -- /tmp/alternate.sh 600

# A killed node costs only what it held (node 1 kills itself; gvmrun and
# the shell report its signal, so judge node 0's line).
lost() { # NAME CMD...
	local name=$1 out rc; shift
	out=$(timeout 120 "$@" 2>&1); rc=$?
	echo "$out" | grep -E '^lost:' | sed 's/^/      /'
	[ $rc -ne 124 ] && echo "$out" | grep -q "^lost: node 0: .*sigbus on the victim's page, own page ok"
	result "$name" $? "$out"
}
lost "node killed: 2 kernel nodes" "$B/gvmrun" --grace 20 -n 2 --timeout-ms 1000 -- "$T/kmod-lost"
peers=127.0.0.1:7460,127.0.0.1:7461
lost "node killed: kernel node 0 survives userspace node 1" bash -c \
	"'$B/gvmctl' join -i 0 -n 2 -p $peers -c 7460 -t 1000 -- '$T/kmod-lost' & GVM_TIMEOUT_MS=1000 GVM_NODE_ID=1 GVM_NODES=2 GVM_PEERS=$peers GVM_CLUSTER_ID=7460 '$T/vm-lost'; wait %1"

# Kernel and userspace nodes that disagree refuse each other, naming the field.
peers=127.0.0.1:7470,127.0.0.1:7471
out=$( (timeout 30 "$B/gvmctl" join -i 0 -n 2 -p $peers -c 7470 -- sleep 3 &
	GVM_PAGE_SIZE=8192 GVM_CONNECT=eager GVM_NODE_ID=1 GVM_NODES=2 GVM_PEERS=$peers \
	GVM_CLUSTER_ID=7470 timeout 30 "$T/multi-sc" 10; wait) 2>&1; dmesg)
echo "$out" | grep -q 'refuses a peer from 127.0.0.1:[0-9]*: page size: 4096 at node 0, 8192 at node 1' &&
	echo "$out" | grep -q 'refused by node 0: page size: 4096 at node 0, 8192 at node 1'
result "kernel and userspace nodes of different page sizes refuse each other" $? "$out"

# A cluster secret: the same handshake proofs and message tags in the
# kernel's crypto API as in userspace's libcrypto.
head -c 32 /dev/urandom | base64 > /tmp/secret
head -c 32 /dev/urandom | base64 > /tmp/secret2
chmod 600 /tmp/secret /tmp/secret2
export GVM_SECRET_FILE=/tmp/secret
check "SC history, 2 kernel nodes, a secret and tags" "$B/gvmrun" -n 2 -- "$T/kmod-sc" 1000
mixed "counter, mixed, a secret and tags" "$T/kmod-counter" "$B/examples/counter" 7480 200 2
GVM_MAC=0 mixed "counter, mixed, a secret without tags" "$T/kmod-counter" "$B/examples/counter" 7484 200 2
unset GVM_SECRET_FILE
peers=127.0.0.1:7490,127.0.0.1:7491
out=$( (GVM_SECRET_FILE=/tmp/secret timeout 30 "$B/gvmctl" join -i 0 -n 2 -p $peers -c 7490 -- sleep 3 &
	GVM_SECRET_FILE=/tmp/secret2 GVM_CONNECT=eager GVM_NODE_ID=1 GVM_NODES=2 GVM_PEERS=$peers \
	GVM_CLUSTER_ID=7490 timeout 30 "$T/multi-sc" 10; echo "user exit $?"; wait) 2>&1)
echo "$out" | grep -q 'node 0 (127.0.0.1:7490) refused: its proof does not match this node.s secret' &&
	echo "$out" | grep -q 'user exit [1-9]' && ! echo "$out" | grep -q 'user exit 124'
result "kernel and userspace nodes with different secrets refuse each other" $? "$out"

check "get_user_pages and fork-shared mappings" "$T/vm-gup" 7420 7421
check "bad ioctl arguments refused" "$T/vm-badioctl" 7430

out=$(insmod "$B/kmod/kapi/gvm_kapi_test.ko" 2>&1)
result "insmod gvm_kapi_test.ko (uses gvm_dsm's exported symbols)" $? "$out"
check "exported API from another module: acquire, release, notifier" "$T/vm-kapi" 7436 7437
out=$(rmmod gvm_kapi_test 2>&1); result "rmmod gvm_kapi_test" $? "$out"

check "garbage on a kernel node's port mid-run, 3 kernel nodes" "$B/gvmrun" -n 3 -- "$T/kmod-garbage"

# gvmctl: a held node is listed, its page read through the in-kernel API;
# bad bytes on its port close that connection and nothing else.
"$B/gvmctl" join -i 0 -n 1 -p 127.0.0.1:7440 -c 5 -r 0:16 -r 100:4 > /tmp/hold.out 2>&1 &
holder=$!
for _ in $(seq 50); do grep -q ' up ' /tmp/hold.out && break; sleep 0.2; done
handle=$(sed -n 's/.*(handle \([0-9]*\)).*/\1/p' /tmp/hold.out)
out=$("$B/gvmctl" status 2>&1 && "$B/gvmctl" peek "$handle" 0 2>&1)
rc=$?; echo "$out" | grep -q 'node 0 of 1, cluster 5, .* 2 regions' &&
	echo "$out" | grep -q '^page 0: 0 0 0 0$' &&
	grep -q 'region 1: pages 100..103 at mmap offset 409600' /tmp/hold.out || rc=1
out="$(cat /tmp/hold.out)"$'\n'"$out"
result "gvmctl join, status, peek" $rc "$out"
printf 'GET / HTTP/1.0\r\n\r\n' > /dev/tcp/127.0.0.1/7440
# A HELLO frame whose body is random bytes.
printf '\x20\0\0\0\x01\0\0\0' > /tmp/frame
dd if=/dev/urandom bs=32 count=1 2>/dev/null >> /tmp/frame
cat /tmp/frame > /dev/tcp/127.0.0.1/7440
sleep 1
out=$(dmesg); echo "$out" | grep -q 'did not start with a hello' && kill -0 $holder
result "junk on a kernel node's port: connection dropped, node fine" $? "$(echo "$out" | tail -n 5)"
kill $holder; wait $holder

# A peer past the handshake sending random engine messages is cut off;
# the node goes on (PEEK answers, data or -EHOSTDOWN, without hanging).
rc=0; out=""
for seed in 1 2 3 4 5 6; do
	port=$((7480 + 2 * seed))
	"$B/gvmctl" join -i 0 -n 2 -p 127.0.0.1:$port,127.0.0.1:$((port + 1)) -c 9 > /tmp/hold.out 2>&1 &
	holder=$!
	for _ in $(seq 50); do grep -q ' up ' /tmp/hold.out && break; sleep 0.2; done
	handle=$(sed -n 's/.*(handle \([0-9]*\)).*/\1/p' /tmp/hold.out)
	out="$out$(timeout 60 "$T/vm-forge" 127.0.0.1:$port 9 2 1 $seed 2>&1)"$'\n' || rc=1
	timeout 20 "$B/gvmctl" peek "$handle" 1 > /dev/null 2>&1; [ $? -eq 124 ] && rc=1
	kill $holder; wait $holder
done
echo "$out" | grep -c 'cut off' | sed 's/^/      forge: cut off in /; s/$/ of 6 runs/'
dmesg | grep -q 'protocol error, closing peer 1' || rc=1
result "random engine messages from a handshaken peer: cut off, node fine" $rc "$out"

# A mapping keeps the module: rmmod refuses, then works once it is gone.
"$T/vm-gup" hold 7450 > /tmp/held.out 2>&1 &
holder=$!
for _ in $(seq 50); do grep -q held /tmp/held.out && break; sleep 0.2; done
out=$(rmmod gvm_dsm 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q gvm_dsm /proc/modules
result "rmmod refused while a region is mapped (fd closed)" $? "$out"
kill $holder; wait $holder 2>/dev/null

# Read-fault latency: the same program, userfaultfd path and kernel path.
check "read-fault latency, userspace (userfaultfd)" "$B/gvmrun" -n 2 -- "$T/vm-readlat" 500 3
check "read-fault latency, kernel (/dev/gvm_dsm)" "$B/gvmrun" -n 2 -- "$T/kmod-readlat" 500 3

sleep 0.5
out=$(rmmod gvm_dsm 2>&1); result "rmmod gvm_dsm" $? "$out"
out=$(dmesg)
bad=$(echo "$out" | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|kernel BUG|RIP:|UBSAN|KASAN|refcount_t|list_del corruption|bad page' || true)
[ -z "$bad" ]; result "dmesg: no WARNING, BUG, oops or call trace" $? "$bad"
echo "$out" | grep gvm_dsm | tail -n 20 | sed 's/^/      dmesg: /'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
