#!/bin/sh
# test_node_cache.sh DRT_BINARY
#
# drt node --cache FILE on ::1: node X joins A's cloud and saves its route
# cache on exit; started again with no bootstrap at all it loads the file
# and becomes ACTIVE (where it would stay ALONE), and `drt search` through
# X finds A's key. With the cloud down X stays ALONE and keeps its file. A
# garbage file is refused with a clear message and the node runs on. Every
# wait is bounded; nodes on ephemeral ports.
set -u

DRT=$1
. "$(dirname "$0")/lib.sh"
lib_start node_cache

"$DRT" node --advertise ::1 --register cache-test-a --exit-after 30 >"$TMP/a" 2>&1 &
PIDA=$!
PIDS=$PIDA
wait_for "$TMP/a" "listening on UDP port" || fail "node A did not start"
PORT=$(sed -n 's/.*listening on UDP port \([0-9]*\).*/\1/p' "$TMP/a")

# X joins through A and saves its cache on exit.
"$DRT" node --advertise ::1 --bootstrap "[::1]:$PORT" --cache "$TMP/routes" --exit-after 2 \
    >"$TMP/x1" 2>&1 || fail "first X exited $?"
grep -q "route cache $TMP/routes: none yet" "$TMP/x1" || fail "first X did not report no file"
grep -q "status ACTIVE" "$TMP/x1" || fail "first X never became ACTIVE"
grep -q "route cache $TMP/routes: saved" "$TMP/x1" || fail "first X did not save"
[ -s "$TMP/routes" ] || fail "no route cache file"

# X again, with no bootstrap: the file brings it in.
"$DRT" node --advertise ::1 --cache "$TMP/routes" --port 0 --exit-after 6 >"$TMP/x2" 2>&1 &
PIDX=$!
wait_for "$TMP/x2" "status ACTIVE" || fail "X with the file did not become ACTIVE"
grep -q "route cache $TMP/routes: loaded" "$TMP/x2" || fail "X did not load the file"
XPORT=$(sed -n 's/.*listening on UDP port \([0-9]*\).*/\1/p' "$TMP/x2")
"$DRT" search cache-test-a --bootstrap "[::1]:$XPORT" --advertise ::1 --timeout 5000 \
    >"$TMP/s" 2>&1 || fail "a search through X did not find A's key: $(cat "$TMP/s")"
wait "$PIDX" || fail "second X exited $?"

# The cloud down: X with the file stays ALONE and keeps the file as it was.
cp "$TMP/routes" "$TMP/routes.before"
kill -INT "$PIDA" 2>/dev/null
wait "$PIDA"
PIDS=
"$DRT" node --advertise ::1 --cache "$TMP/routes" --exit-after 4 >"$TMP/x4" 2>&1 ||
    fail "X with its peers down exited $?"
grep -q "status ACTIVE" "$TMP/x4" && fail "X became ACTIVE with nobody up"
grep -q "route cache $TMP/routes: kept" "$TMP/x4" || fail "X did not keep its file"
cmp -s "$TMP/routes" "$TMP/routes.before" || fail "the file changed though X never got in"

# A file that is not a route cache: refused, and the node runs and exits 0.
echo "not a route cache" >"$TMP/bad"
"$DRT" node --advertise ::1 --cache "$TMP/bad" --exit-after 1 >"$TMP/x3" 2>&1 ||
    fail "X with a bad file exited $?"
grep -q "DRT_E_INVALID_MESSAGE.*bootstrapping as usual" "$TMP/x3" ||
    fail "the bad file was not reported: $(cat "$TMP/x3")"

if [ "$FAILS" -eq 0 ]; then
    echo "all checks passed"
else
    echo "$FAILS check(s) FAILED"
    exit 1
fi
