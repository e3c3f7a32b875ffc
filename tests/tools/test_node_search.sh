#!/bin/sh
# test_node_search.sh DRT_BINARY LOOPBACK
#
# Two `drt node` processes on loopback (LOOPBACK is ::1 or 127.0.0.1) find
# each other; `drt search` from a third process finds each node's key (exact,
# nearest, iterative, with its path, in text and JSON), finds nothing for a
# key nobody registered (exit 1), refuses bad usage (exit 2); then SIGINT
# stops both nodes cleanly (exit 0). Every wait is bounded.
set -u

DRT=$1
LO=$2
case $LO in
*:*) seed() { echo "[$LO]:$1"; } ;;
*) seed() { echo "$LO:$1"; } ;;
esac

. "$(dirname "$0")/lib.sh"
lib_start node_search

# search EXPECTED_RC NAME ARGS...: runs drt search, output in $TMP/NAME.
search() {
    want=$1
    name=$2
    shift 2
    run "$want" "$name" "$DRT" search "$@" --bootstrap "$SEED" --advertise "$LO" --timeout 5000
}

echo "== drt node / drt search on $LO"

"$DRT" node --advertise "$LO" --port 0 --register printer=lobby --exit-after 20 \
    >"$TMP/node1" 2>&1 &
PID1=$!
PIDS=$PID1
wait_for "$TMP/node1" "UDP port [0-9]" || { cat "$TMP/node1"; echo "FAILED: node 1 printed no port"; exit 1; }
PORT=$(sed -n 's/.*UDP port \([0-9][0-9]*\).*/\1/p' "$TMP/node1" | head -n 1)
SEED=$(seed "$PORT")
echo "node 1 on port $PORT"

"$DRT" node --advertise "$LO" --bootstrap "$SEED" --register camera=door --exit-after 20 --json \
    >"$TMP/node2" 2>&1 &
PID2=$!
PIDS="$PIDS $PID2"
wait_for "$TMP/node2" '"status":"ACTIVE"' || fail "node 2 never became ACTIVE"
wait_for "$TMP/node1" "status ACTIVE" || fail "node 1 never became ACTIVE"
wait_for "$TMP/node1" "leaf set of .*: added" || fail "node 1 saw no leaf-set change"

search 0 exact_printer printer
expect exact_printer "EXACT"
expect exact_printer "lobby"

search 0 exact_camera camera --path
expect exact_camera "door"
expect exact_camera "^path: "
expect exact_camera "ACCEPTED"

search 1 missing nobody-registered-this
expect missing "DRT_E_NO_MORE"

search 0 nearest printer-ish --nearest --count 2
expect nearest "NEAR"
expect nearest "lobby"
expect nearest "door"

search 0 iterative camera --iterative --path
expect iterative "door"

# A range that holds only the printer's key (eeda76d8..) around it.
search 0 range printer --min ee00000000000000000000000000000000000000000000000000000000000000 \
    --max eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff --count 2
expect range "lobby"
grep -q "door" "$TMP/range" && fail "range search found the camera's key outside the range"

search 0 json printer --json --path
# One JSON object per line, each naming its event.
if grep -v -q '^{"event":"[a-z]*".*}$' "$TMP/json"; then
    fail "search --json printed a line that is not one JSON object"
    sed 's/^/    /' "$TMP/json"
fi
expect json '"event":"result"'
expect json '"match":"EXACT"'
expect json '"text":"lobby"'
expect json '"event":"path"'
expect json '"event":"done"'

search 1 json_missing nobody-registered-this --json
expect json_missing '"name":"DRT_E_NO_MORE"'

search 2 usage printer --min 1
search 2 bad_range printer --min 0 --max 1
expect bad_range "DRT_E_INVALID_SEARCH_RANGE"

stopped_ok "$PID2" "node 2"
stopped_ok "$PID1" "node 1"
PIDS=
grep -q "stopping (SIGINT)" "$TMP/node1" || fail "node 1 did not report a SIGINT shutdown"
grep -q "^stopped" "$TMP/node1" || fail "node 1 did not finish its shutdown"
if grep -v -q '^{"event":"[a-z]*".*}$' "$TMP/node2"; then
    fail "node --json printed a line that is not one JSON object"
fi
grep -q '"event":"stopped"' "$TMP/node2" || fail "node 2 did not finish its shutdown"

if [ $FAILS -ne 0 ]; then
    echo "--- node 1"
    cat "$TMP/node1"
    echo "--- node 2"
    cat "$TMP/node2"
    echo "$FAILS check(s) FAILED"
    exit 1
fi
echo "drt node / drt search on $LO: all checks passed"
exit 0
