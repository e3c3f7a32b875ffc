#!/bin/sh
# test_netns5.sh DRT_BINARY
#
# Five hosts, each in a network namespace of its own, joined by a bridge in a
# sixth; netem delay and loss on every host link where the kernel has netem.
# A `drt node` on each host registers one key; every host finds every other
# host's key. Then host 3's link is cut twice, each time restored:
#
#   1. silent cut: host 3's port is taken off the bridge. Its interface stays
#      up (carrier, address), so host 3 can only notice through timeouts: it
#      must report ALONE once maintenance has lost every peer. The others
#      report leaf-set deletions of host 3's key and keep finding each other.
#      Restored (port back on the bridge): host 3 re-bootstraps from ALONE,
#      reports ACTIVE, its key is found again and it finds the others'.
#   2. hard cut: the switch port goes down, so host 3's eth0 loses carrier
#      and its address is no longer usable: host 3 must report NO_NETWORK
#      (the io layer checks every 5 s). The others report leaf-set deletions
#      again and keep resolving. Restored (port up): ACTIVE again, and the
#      keys are found both ways.
#
# Security associations: every node and search runs with `--ipsec require`
# and one mesh key, so no DRT message crosses a link outside an SA: the
# searches after each restore are the check that the SAs survived the cut
# (or were negotiated again). Host 3 logs its SA keys (`--key-manager
# notify`); the log must grow from the first searches on.
#
# Every wait is bounded, and the whole run is bounded by BUDGET seconds (far
# below ctest's TIMEOUT). The namespaces are created and removed by this
# script: an EXIT trap removes them on every exit path, and a detached reaper
# removes them if the script itself is killed with SIGKILL (ctest's timeout).
# Where namespaces are not possible (not root, no ip(8), no netns, bridge or
# veth support) it exits 77: skipped, with the reason. Without netem (no
# sch_netem module, no tc(8)) it runs on clean links and says so.
set -u

DRT=$1
P="d5n$$" # namespace names: ${P}sw (the switch), ${P}h1 .. ${P}h5
NET=10.78.0 # private addresses, only on this test's own bridge
PORT=4000
HOSTS="1 2 3 4 5"
CUT=3
BUDGET=${DRT_NETNS5_BUDGET:-200} # seconds for the whole run
NETEM_ARGS="delay 20ms 5ms loss 1%"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/drt_netns5.XXXXXX") || exit 1
: >"$TMP/pids"
printf 'netns5 mesh key' >"$TMP/psk"
IPSEC="--ipsec require --psk $TMP/psk"
FAILS=0

skip() {
    echo "SKIPPED: $*"
    rm -rf "$TMP"
    exit 77
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# secs MS: milliseconds as seconds with one decimal.
secs() { echo "$(($1 / 1000)).$((($1 % 1000) / 100))"; }

T0=$(now_ms)
DEADLINE=$((T0 + BUDGET * 1000))

[ "$(id -u)" = 0 ] || skip "creating network namespaces needs root"
command -v ip >/dev/null 2>&1 || skip "ip(8) (iproute2) is not installed"
[ -x "$DRT" ] || skip "no drt binary at '$DRT'"
ip netns add "${P}sw" 2>/dev/null || skip "this system does not allow network namespaces"

cleanup() {
    if [ -f "$TMP/pids" ]; then
        while read -r p; do
            kill -KILL "$p" 2>/dev/null
        done <"$TMP/pids"
    fi
    for ns in sw h1 h2 h3 h4 h5; do
        ip netns del "${P}$ns" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "FAILED: stopped by a signal (the watchdog past the budget, or ctest timeout)"; exit 1' INT TERM HUP

# The reaper: if this script is killed outright (SIGKILL from ctest's
# timeout runs no trap), it kills the nodes and removes the namespaces. It
# runs orphaned, in a session of its own, with no inherited output, so
# neither a process-tree or process-group kill nor ctest's wait for the
# output pipes involves it. It
# polls once a second and ends once this script is gone. It is also the
# watchdog: 20 s past the budget it sends this script SIGTERM, whose trap
# reports the failure and cleans up.
# shellcheck disable=SC2016 # expanded by the reaper's own shell
REAPER='
i=0
while kill -0 "$1" 2>/dev/null; do
    sleep 1
    i=$((i + 1))
    [ $i -eq "$4" ] && kill -TERM "$1" 2>/dev/null
done
if [ -f "$3/pids" ]; then
    while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$3/pids"
fi
for ns in sw h1 h2 h3 h4 h5; do ip netns del "$2$ns" 2>/dev/null; done
rm -rf "$3"'
# ctest kills the whole process tree on a timeout (found through parent
# ids, whatever the session), so the reaper is started from a subshell that
# exits at once: orphaned, it is no longer this script's descendant.
SETSID=
command -v setsid >/dev/null 2>&1 && SETSID=setsid
(
    $SETSID sh -c "$REAPER" reaper $$ "$P" "$TMP" $((BUDGET + 20)) </dev/null >/dev/null 2>&1 &
)

fail() {
    echo "FAILED: $*"
    FAILS=$((FAILS + 1))
}

# Leaves the run when the budget is spent: the remaining checks would only
# report the same failure.
check_budget() {
    if [ "$(now_ms)" -ge "$DEADLINE" ]; then
        fail "the run took longer than its budget of $BUDGET s"
        finish
    fi
}

# wait_for FILE PATTERN SECONDS [FROM_LINE]: bounded wait (and never past
# the budget) for PATTERN in FILE, after line FROM_LINE.
wait_for() {
    start=$(now_ms)
    stop=$((start + $3 * 1000))
    [ $stop -gt "$DEADLINE" ] && stop=$DEADLINE
    while :; do
        if tail -n +"$((${4:-0} + 1))" "$1" 2>/dev/null | grep -q -- "$2"; then
            return 0
        fi
        [ "$(now_ms)" -ge $stop ] && break
        sleep 0.2
    done
    return 1
}

lines() { wc -l <"$1" | tr -d ' '; }

# search FROM KEYNAME: a resolve-only node on host FROM, bootstrapped from the
# node on that same host, looks KEYNAME up. True when the key was found with
# its data (on-host-N). Output in $TMP/s_FROM_KEY.
search() {
    # shellcheck disable=SC2086
    ip netns exec "${P}h$1" "$DRT" search "$2" --bootstrap "$NET.$1:$PORT" \
        --advertise "$NET.$1" --timeout 5000 $IPSEC >"$TMP/s_$1_$2" 2>&1 &&
        grep -q "on-host-${2#host}" "$TMP/s_$1_$2"
}

# search_until FROM TO SECONDS: repeats the search (bounded) until it finds
# host TO's key. Sets TRIES.
search_until() {
    stop=$(($(now_ms) + $3 * 1000))
    [ $stop -gt "$DEADLINE" ] && stop=$DEADLINE
    TRIES=0
    while [ "$(now_ms)" -lt $stop ]; do
        TRIES=$((TRIES + 1))
        search "$1" "host$2" && return 0
        sleep 0.5
    done
    return 1
}

# all_pairs SECONDS HOST...: every listed host finds every other listed
# host's key, each pair retried until found or SECONDS have passed since
# the call. Sets MISSING (pairs never found) and RETRIES.
all_pairs() {
    stop=$(($(now_ms) + $1 * 1000))
    [ $stop -gt "$DEADLINE" ] && stop=$DEADLINE
    shift
    MISSING=
    RETRIES=0
    for a in "$@"; do
        for b in "$@"; do
            [ "$a" = "$b" ] && continue
            while :; do
                if [ "$(now_ms)" -ge $stop ]; then
                    MISSING="$MISSING $a->$b"
                    break
                fi
                search "$a" "host$b" && break
                RETRIES=$((RETRIES + 1))
                sleep 0.5
            done
        done
    done
    [ -z "$MISSING" ]
}

SUMMARY=
note() { SUMMARY="$SUMMARY
  $*"; }

# sa_log_grew NAME: host 3's key log has SAs, and the searches since the
# restore (all under --ipsec require) went through SAs: old ones that
# survived the cut, or new ones (the log then grew).
SA_LINES=0
sa_log_grew() {
    n=0
    [ -f "$TMP/keys$CUT" ] && n=$(lines "$TMP/keys$CUT")
    if [ "$n" -eq 0 ]; then
        fail "$1: host $CUT's SA key log is empty"
    else
        note "$1: searches to and from host $CUT inside SAs; its key log holds $n SA keys ($((n - SA_LINES)) new since the previous check)"
    fi
    SA_LINES=$n
}

finish() {
    echo "== summary (run: $(secs $(($(now_ms) - T0))) s)"
    echo "$SUMMARY" | tail -n +2
    if [ $FAILS -ne 0 ]; then
        for f in "$TMP"/n* "$TMP"/s_*; do
            [ -f "$f" ] || continue
            echo "--- $f"
            cat "$f"
        done
        echo "$FAILS check(s) FAILED"
        exit 1
    fi
    echo "five hosts on a bridge, cuts and restores: all checks passed"
    exit 0
}

# --- the network -----------------------------------------------------------

ip -n "${P}sw" link add br0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip -n "${P}sw" link set br0 up
for i in $HOSTS; do
    ip netns add "${P}h$i" || skip "cannot create namespace ${P}h$i"
    ip link add "v$i" netns "${P}sw" type veth peer name eth0 netns "${P}h$i" 2>/dev/null ||
        skip "no veth support in this kernel"
    ip -n "${P}sw" link set "v$i" master br0 up
    ip -n "${P}h$i" link set lo up
    ip -n "${P}h$i" addr add "$NET.$i/24" dev eth0
    ip -n "${P}h$i" link set eth0 up
done

# netem on each host's link, on the host side (every packet a host sends is
# delayed and may be lost once on its way to the switch).
NETEM=yes
# shellcheck disable=SC2086 # NETEM_ARGS is several words
if ! command -v tc >/dev/null 2>&1; then
    NETEM="no: tc(8) is not installed"
elif ! err=$(tc -n "${P}h1" qdisc add dev eth0 root netem $NETEM_ARGS 2>&1); then
    NETEM="no: 'tc qdisc add ... netem' failed: $err (sch_netem missing from this kernel?)"
fi
if [ "$NETEM" = yes ]; then
    for i in $HOSTS; do
        [ "$i" = 1 ] && continue
        # shellcheck disable=SC2086
        tc -n "${P}h$i" qdisc add dev eth0 root netem $NETEM_ARGS ||
            fail "netem on host $i's link"
    done
    echo "== netem on every host link: $NETEM_ARGS"
    note "netem: $NETEM_ARGS on every host link"
else
    echo "== NETEM NOT AVAILABLE ($NETEM)"
    echo "   the links run WITHOUT delay or loss; everything else is checked as usual"
    note "netem: NOT AVAILABLE ($NETEM); clean links"
fi

# --- five nodes ------------------------------------------------------------

echo "== five hosts $NET.1-5 in network namespaces, a drt node on each"
SEEDS="$NET.1:$PORT;$NET.2:$PORT"
TSTART=$(now_ms)
for i in $HOSTS; do
    case $i in
    1) boot= ;;
    2) boot="--bootstrap $NET.1:$PORT" ;;
    *) boot="--bootstrap $SEEDS" ;;
    esac
    # --exit-after: a last safety net should everything else fail to stop it.
    # shellcheck disable=SC2086
    km=
    [ "$i" = $CUT ] && km="--key-manager notify --key-log $TMP/keys$CUT"
    ip netns exec "${P}h$i" "$DRT" node --port $PORT --advertise "$NET.$i" $boot $IPSEC $km \
        --register "host$i=on-host-$i" --exit-after 400 >"$TMP/n$i" 2>&1 &
    echo $! >>"$TMP/pids"
    wait_for "$TMP/n$i" "UDP port" 10 || fail "node on host $i did not start"
done
for i in $HOSTS; do
    wait_for "$TMP/n$i" "status ACTIVE" 30 || fail "node on host $i never became ACTIVE"
done
[ $FAILS -eq 0 ] || finish
note "all 5 nodes ACTIVE $(secs $(($(now_ms) - TSTART))) s after the first started"

# Each host's key as the nodes print it in leaf-set events.
for i in $HOSTS; do
    k=$(sed -n "s/^registered host$i = \([0-9a-f]*\),.*/\1/p" "$TMP/n$i" | head -n 1)
    [ -n "$k" ] || fail "node on host $i did not print its registered key"
    eval "K$i=\$k"
done
[ $FAILS -eq 0 ] || finish
eval "KCUT=\$K$CUT"

echo "== every host finds every other host's key (20 searches)"
T=$(now_ms)
# shellcheck disable=SC2086
if all_pairs 60 $HOSTS; then
    note "converged: all 20 cross searches found $(secs $(($(now_ms) - TSTART))) s after the first node started ($(secs $(($(now_ms) - T))) s of searching, $RETRIES retried), every message inside an SA (--ipsec require)"
    sa_log_grew "converged"
else
    fail "keys never found within 60 s:$MISSING"
    finish
fi
OTHERS=
for i in $HOSTS; do
    [ "$i" = $CUT ] || OTHERS="$OTHERS $i"
done
# Which of the others hold host 3 in a leaf set now (their last event about
# its key is "added"): each of them must report its deletion after a cut.
HOLDERS=
for i in $OTHERS; do
    grep -E "(added|deleted) $KCUT" "$TMP/n$i" | tail -n 1 | grep -q added &&
        HOLDERS="$HOLDERS $i"
done
[ -n "$HOLDERS" ] || fail "no host reported host $CUT's key in its leaf set"
note "host $CUT in the leaf sets of hosts$HOLDERS"

# watch SECONDS REF SPEC...: polls for every SPEC at once, SPEC being
# NAME:HOST:PATTERN (PATTERN in host HOST's node output after the line
# mark_lines noted); sets AT_NAME to the milliseconds from REF (a now_ms
# value) to when it was first seen, or leaves it empty. Polling all of them
# together makes each time that of its event, not of the check's turn.
# True when every SPEC was seen within SECONDS (and the budget).
watch() {
    w_stop=$(($(now_ms) + $1 * 1000))
    [ $w_stop -gt "$DEADLINE" ] && w_stop=$DEADLINE
    w_ref=$2
    shift 2
    for w_spec in "$@"; do
        eval "AT_${w_spec%%:*}="
    done
    while :; do
        w_left=0
        for w_spec in "$@"; do
            w_name=${w_spec%%:*}
            w_rest=${w_spec#*:}
            w_host=${w_rest%%:*}
            [ -n "$(eval echo "\$AT_$w_name")" ] && continue
            w_from=$(eval echo "\$L$w_host")
            if tail -n +"$((w_from + 1))" "$TMP/n$w_host" 2>/dev/null | grep -q -- "${w_rest#*:}"; then
                eval "AT_$w_name=$(($(now_ms) - w_ref))"
            else
                w_left=$((w_left + 1))
            fi
        done
        [ $w_left -eq 0 ] && return 0
        [ "$(now_ms)" -ge $w_stop ] && return 1
        sleep 0.2
    done
}

others_active() {
    for i in $OTHERS; do
        last=$(grep "^status" "$TMP/n$i" | tail -n 1)
        [ "$last" = "status ACTIVE" ] || fail "$1: host $i is no longer ACTIVE: $last"
    done
}

# cut_checks NAME STATUS: after a cut of host 3: the other four find each
# other's keys at once (their caches still list host 3); host 3 reports
# STATUS and every holder reports the deletion of host 3's key; then the
# four still find each other, stay ACTIVE, and no longer find host 3.
cut_checks() {
    name=$1
    want=$2
    # shellcheck disable=SC2086
    if all_pairs 40 $OTHERS; then
        note "$name: right after the cut, the other 4 hosts found each other's keys (12 searches, $RETRIES retried)"
    else
        fail "$name: right after the cut of host $CUT, keys not found:$MISSING"
    fi
    specs="st:$CUT:status $want"
    for i in $HOLDERS; do
        specs="$specs
d$i:$i:deleted $KCUT"
    done
    old_ifs=$IFS
    IFS='
'
    # shellcheck disable=SC2086
    watch 60 "$TCUT" $specs
    IFS=$old_ifs
    if [ -n "$AT_st" ]; then
        note "$name: host $CUT reported $want $(secs "$AT_st") s after the cut"
    else
        fail "$name: host $CUT did not report $want within 60 s of the cut"
        grep "^status" "$TMP/n$CUT" | tail -n 3
    fi
    if [ "$want" = ALONE ]; then
        # It got there by losing every leaf-set neighbour to timeouts.
        n=$(tail -n +"$(($(eval echo "\$L$CUT") + 1))" "$TMP/n$CUT" | grep -c ": deleted ")
        [ "$n" -ge 1 ] || fail "$name: host $CUT reported ALONE without any leaf-set deletion"
        note "$name: host $CUT reported $n leaf-set deletion(s) before ALONE"
    fi
    det=
    for i in $HOLDERS; do
        t=$(eval echo "\$AT_d$i")
        if [ -n "$t" ]; then
            det="$det h$i:$(secs "$t")s"
        else
            fail "$name: host $i reported no leaf-set deletion of host $CUT's key within 60 s"
        fi
    done
    note "$name: leaf-set deletions of host $CUT's key at$det after the cut"
    others_active "$name"
    # shellcheck disable=SC2086
    if all_pairs 40 $OTHERS; then
        note "$name: after the deletions, the other 4 found each other's keys (12 searches, $RETRIES retried)"
    else
        fail "$name: with host $CUT cut off, keys not found:$MISSING"
    fi
    if search 1 "host$CUT"; then
        fail "$name: host 1 still finds host $CUT's key although host $CUT is cut off"
    fi
}

# restore_checks NAME: host 3 reports ACTIVE again, every holder takes its
# key back into its leaf set, its key is found from every other host and it
# finds theirs.
restore_checks() {
    name=$1
    specs="st:$CUT:status ACTIVE"
    for i in $HOLDERS; do
        specs="$specs
a$i:$i:added $KCUT"
    done
    old_ifs=$IFS
    IFS='
'
    # shellcheck disable=SC2086
    watch 60 "$TREST" $specs
    IFS=$old_ifs
    if [ -n "$AT_st" ]; then
        note "$name: host $CUT ACTIVE again $(secs "$AT_st") s after the restore"
    else
        fail "$name: host $CUT not ACTIVE within 60 s of the restore"
        return
    fi
    rep=
    for i in $HOLDERS; do
        t=$(eval echo "\$AT_a$i")
        if [ -n "$t" ]; then
            rep="$rep h$i:$(secs "$t")s"
        else
            fail "$name: host $i did not take host $CUT's key back into its leaf set within 60 s"
        fi
    done
    note "$name: host $CUT's key back in the leaf sets at$rep after the restore"
    for i in $OTHERS; do
        search_until "$i" $CUT 60 || fail "$name: host $i does not find host $CUT's key again"
    done
    note "$name: host $CUT's key found from all 4 others $(secs $(($(now_ms) - TREST))) s after the restore"
    for i in $OTHERS; do
        search_until $CUT "$i" 30 || fail "$name: host $CUT does not find host $i's key"
    done
    note "$name: host $CUT found all 4 others' keys $(secs $(($(now_ms) - TREST))) s after the restore"
    sa_log_grew "$name"
    others_active "$name"
}


mark_lines() {
    for i in $HOSTS; do
        eval "L$i=\$(lines \"\$TMP/n$i\")"
    done
}

echo "== silent cut: host $CUT's port taken off the bridge (its link stays up)"
check_budget
mark_lines
TCUT=$(now_ms)
ip -n "${P}sw" link set "v$CUT" nomaster
cut_checks "silent cut" ALONE
echo "== silent cut restored: the port back on the bridge"
check_budget
mark_lines
TREST=$(now_ms)
ip -n "${P}sw" link set "v$CUT" master br0
restore_checks "silent restore"

echo "== hard cut: host $CUT's switch port down (its eth0 loses carrier)"
check_budget
mark_lines
TCUT=$(now_ms)
ip -n "${P}sw" link set "v$CUT" down
cut_checks "hard cut" NO_NETWORK
echo "== hard cut restored: the port up"
check_budget
mark_lines
TREST=$(now_ms)
ip -n "${P}sw" link set "v$CUT" up
restore_checks "hard restore"

finish
