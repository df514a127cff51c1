#!/usr/bin/env bash
# Description: two nodes on separate addresses, as on two hosts: each runs
# in its own network namespace joined by a veth pair this test makes and
# removes, with GVM_PEERS naming those addresses (no loopback, no
# launcher-provided sockets), authenticated with a cluster secret; and a
# node listening beyond loopback without one refuses to start unless
# GVM_INSECURE=1. Skips (77) when not root or without iproute2.
set -u
BUILD=${1:-build}
[ "$(id -u)" -eq 0 ] || { echo "needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "needs iproute2 (ip)"; exit 77; }

tag=gvm$$
a=${tag}a b=${tag}b
cleanup() { ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; }
trap cleanup EXIT
ip netns add "$a" && ip netns add "$b" || { echo "cannot create namespaces"; exit 77; }
ip link add "${tag}x" netns "$a" type veth peer name "${tag}y" netns "$b" || exit 1
ip -n "$a" addr add 10.231.7.1/24 dev "${tag}x"
ip -n "$b" addr add 10.231.7.2/24 dev "${tag}y"
for ns in "$a" "$b"; do
	ip -n "$ns" link set lo up
done
ip -n "$a" link set "${tag}x" up
ip -n "$b" link set "${tag}y" up

export GVM_NODES=2 GVM_PEERS=10.231.7.1:7411,10.231.7.2:7411 GVM_CLUSTER_ID=$$
out=$(mktemp)
no=$(GVM_NODE_ID=0 timeout 20 ip netns exec "$a" "$BUILD/examples/counter" 1 1 2>&1)
echo "$no" | grep -q 'listens beyond loopback without a cluster secret: set GVM_SECRET_FILE' ||
	{ echo "a node without a secret on 10.231.7.1 should refuse to start:"; echo "$no"; exit 1; }
echo "without a secret: refused to start, as it should"
yes=$(GVM_INSECURE=1 GVM_NODES=1 GVM_PEERS=10.231.7.1:7412 GVM_NODE_ID=0 timeout 20 \
	ip netns exec "$a" "$BUILD/examples/counter" 5 1 2>&1) ||
	{ echo "GVM_INSECURE=1 should let it run:"; echo "$yes"; exit 1; }
echo "$yes" | grep -q 'not authenticated (GVM_INSECURE=1)' || { echo "$yes"; exit 1; }
echo "with GVM_INSECURE=1: runs, with a warning"
export GVM_SECRET_FILE=$out.secret
head -c 32 /dev/urandom | base64 > "$GVM_SECRET_FILE"
chmod 600 "$GVM_SECRET_FILE"
GVM_NODE_ID=0 timeout 60 ip netns exec "$a" "$BUILD/examples/matmul" 96 >"$out.0" 2>&1 &
p0=$!
GVM_NODE_ID=1 timeout 60 ip netns exec "$b" "$BUILD/examples/matmul" 96 >"$out.1" 2>&1 &
p1=$!
wait $p0; r0=$?
wait $p1; r1=$?
cat "$out.0" "$out.1"
rm -f "$out" "$out.0" "$out.1" "$out.secret"
[ $r0 -eq 0 ] && [ $r1 -eq 0 ]
