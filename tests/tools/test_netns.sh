#!/bin/sh
# test_netns.sh DRT_BINARY
#
# Three hosts, each in a network namespace of its own, joined by a bridge in
# a fourth: a `drt node` on each registers a key; from one host every key is
# found. Then one host's link is cut: the others notice (leaf-set events),
# keep resolving each other's keys, and no longer find the lost host's.
# The namespaces are created and removed by this script; where that is not
# possible (not root, no ip(8), no netns support) it exits 77: skipped.
set -u

DRT=$1
P="drt$$"
. "$(dirname "$0")/lib.sh"
lib_start netns

skip() {
    echo "SKIPPED: $*"
    exit 77
}

[ "$(id -u)" = 0 ] || skip "creating network namespaces needs root"
command -v ip >/dev/null 2>&1 || skip "ip(8) (iproute2) is not installed"
ip netns add "${P}sw" 2>/dev/null || skip "this system does not allow network namespaces"

# The namespaces go on every exit (lib_cleanup runs this).
cleanup_more() {
    for ns in sw h1 h2 h3; do
        ip netns del "${P}$ns" 2>/dev/null
    done
}

# The switch: a bridge in its own namespace, one veth per host.
ip -n "${P}sw" link add br0 type bridge || skip "no bridge support"
ip -n "${P}sw" link set br0 up
for i in 1 2 3; do
    ip netns add "${P}h$i"
    ip link add "v$i" netns "${P}sw" type veth peer name eth0 netns "${P}h$i" ||
        skip "no veth support"
    ip -n "${P}sw" link set "v$i" master br0 up
    ip -n "${P}h$i" link set lo up
    ip -n "${P}h$i" addr add "10.77.0.$i/24" dev eth0
    # Link-local IPv6 without duplicate-address detection, so it is usable
    # at once.
    ip netns exec "${P}h$i" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 2>/dev/null
    ip -n "${P}h$i" addr add "fe80::$i/64" dev eth0 nodad
    ip -n "${P}h$i" link set eth0 up
done

echo "== three hosts 10.77.0.1-3 in network namespaces"
SEED=10.77.0.1:4000
for i in 1 2 3; do
    boot=""
    [ $i -gt 1 ] && boot="--bootstrap $SEED"
    # shellcheck disable=SC2086
    ip netns exec "${P}h$i" "$DRT" node --port 4000 --advertise "10.77.0.$i" $boot \
        --register "host$i=on-host-$i" --exit-after 120 >"$TMP/n$i" 2>&1 &
    PIDS="$PIDS $!"
    wait_for "$TMP/n$i" "UDP port" 100 || fail "node on host $i did not start"
done
for i in 1 2 3; do
    wait_for "$TMP/n$i" "status ACTIVE" 200 || fail "node on host $i never became ACTIVE"
done

search() { # HOST KEY -> output in $TMP/s_HOST_KEY, exit code returned
    ip netns exec "${P}h$1" "$DRT" search "$2" --bootstrap "$SEED" --advertise "10.77.0.$1" \
        --timeout 5000 >"$TMP/s_$1_$2" 2>&1
}

for k in host1 host2 host3; do
    search 2 "$k" || fail "host 2 could not find $k"
    grep -q "on-host-${k#host}" "$TMP/s_2_$k" || fail "host 2 found $k without its data"
done

echo "== link-local scope: fe80:: addresses on eth0"
LLSEED="[fe80::1%eth0]:5000"
ip netns exec "${P}h1" "$DRT" node --link-local eth0 --port 5000 --register ll1=link-one \
    --exit-after 60 >"$TMP/ll1" 2>&1 &
PIDS="$PIDS $!"
wait_for "$TMP/ll1" "UDP port" 100 || fail "link-local node on host 1 did not start"
ip netns exec "${P}h2" "$DRT" node --link-local eth0 --port 5000 --bootstrap "$LLSEED" \
    --register ll2=link-two --exit-after 60 >"$TMP/ll2" 2>&1 &
PIDS="$PIDS $!"
wait_for "$TMP/ll2" "status ACTIVE" 200 || fail "link-local node on host 2 never became ACTIVE"
ip netns exec "${P}h3" "$DRT" search ll2 --link-local eth0 --bootstrap "$LLSEED" \
    --timeout 5000 >"$TMP/s_ll" 2>&1 || fail "host 3 could not find ll2 over link-local"
grep -q "link-two" "$TMP/s_ll" || fail "host 3 found ll2 without its data"

echo "== cutting host 3 off"
ip -n "${P}sw" link set v3 down
# Leaf-set neighbours are checked every 15 s; two unanswered retries drop them.
wait_for "$TMP/n1" "deleted" 450 || fail "host 1 saw no leaf-set deletion after host 3 was cut off"
search 2 host1 || fail "host 2 can no longer find host1 after host 3 was cut off"
grep -q "on-host-1" "$TMP/s_2_host1" || fail "host1's data missing after the cut"
if search 2 host3; then
    fail "host 2 still finds host3 although host 3 is cut off"
fi

if [ $FAILS -ne 0 ]; then
    for f in "$TMP"/*; do
        echo "--- $f"
        cat "$f"
    done
    echo "$FAILS check(s) FAILED"
    exit 1
fi
echo "network namespaces: all checks passed"
exit 0
