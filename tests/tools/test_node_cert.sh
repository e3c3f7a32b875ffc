#!/bin/sh
# test_node_cert.sh DRT_BINARY
#
# The derived-key provider from the command line, on ::1: `drt cert` makes a
# root and node certificates (keys mode 0600); a node registers its
# certificate's key (`drt key` prints the same key) and a node with another
# certificate of the same root finds it, as does a resolve-only searcher
# with the root alone; a node certified by another root is never found and
# a searcher trusting another root never gets in; a node whose certificate
# expires reports its key UNRESOLVEABLE and is no longer found; in
# membership and confidential mode a member finds a member while a searcher
# without a certificate does not get in; incomplete options are refused by
# name. Every wait is bounded.
set -u

DRT=$1
LO=::1
. "$(dirname "$0")/lib.sh"
lib_start node_cert

# search EXPECTED_RC NAME KEY ARGS...: drt search against node 1.
search() {
    want=$1
    name=$2
    key=$3
    shift 3
    run "$want" "$name" "$DRT" search "$key" --bootstrap "$SEED" --advertise "$LO" "$@"
}

R=$TMP/root
echo "== drt cert / drt key / drt node --register-cert on $LO"

# --- certificates -----------------------------------------------------------
run 0 cert_root "$DRT" cert root --out "$R" --name "test root"
run 0 cert_n1 "$DRT" cert issue --root "$R" --out "$TMP/n1" --name node1
run 0 cert_n2 "$DRT" cert issue --root "$R" --out "$TMP/n2" --name node2 --alg ed25519
run 0 cert_other "$DRT" cert root --out "$TMP/other" --name "another root" --alg rsa
run 0 cert_x "$DRT" cert issue --root "$TMP/other" --out "$TMP/x" --name intruder --json
expect cert_x '"event":"cert","kind":"node"'
for f in "$R/root.key" "$TMP/n1/node.key" "$TMP/n2/node.key" "$TMP/x/node.key"; do
    mode=$(stat -c %a "$f" 2>/dev/null)
    [ "$mode" = 600 ] || fail "$f has mode $mode, not 600"
done
run 2 cert_again "$DRT" cert issue --root "$R" --out "$TMP/n1" --name node1
expect cert_again "exists"
run 2 cert_usage "$DRT" cert issue --out "$TMP/n3" --name node3
run 2 cert_bad_alg "$DRT" cert root --out "$TMP/r2" --alg dsa

K1=$("$DRT" key --cert "$TMP/n1/node.pem") || fail "drt key failed"
KX=$("$DRT" key --cert "$TMP/x/node.pem") || fail "drt key failed on the intruder's certificate"
echo "$K1" | grep -q '^[0-9a-f]\{64\}$' || fail "drt key printed '$K1', not 64 hex digits"
grep -q "DRT key $K1" "$TMP/cert_n1" || fail "drt cert issue printed another key than drt key"
run 0 key_json "$DRT" key --cert "$TMP/n1/node.pem" --json
expect key_json "\"key\":\"$K1\""
run 2 key_missing "$DRT" key --cert "$TMP/nothing.pem"

# --- options refused --------------------------------------------------------
run 2 mode_membership "$DRT" search "$K1" --bootstrap "[$LO]:9" --root "$R/root.pem" \
    --mode membership
expect mode_membership "needs --root, --cert and --key"
run 2 mode_confidential "$DRT" node --root "$R/root.pem" --mode confidential --json
expect mode_confidential "needs --root, --cert and --key"
run 2 mode_bogus "$DRT" node --mode strict
expect mode_bogus "must be resolve, membership or confidential"
run 2 cert_without_key "$DRT" node --root "$R/root.pem" --cert "$TMP/n1/node.pem"
run 2 cert_without_root "$DRT" node --cert "$TMP/n1/node.pem" --key "$TMP/n1/node.key"
run 2 register_cert_alone "$DRT" node --root "$R/root.pem" --register-cert data
# A certificate of another root under ours: the provider says why.
run 1 wrong_root "$DRT" node --root "$R/root.pem" --cert "$TMP/x/node.pem" \
    --key "$TMP/x/node.key" --register-cert x
expect wrong_root "DrtCreateDerivedKeySecurityProvider failed: DRT_E_INVALID_CERT_CHAIN"
# A key that is not the certificate's.
run 1 wrong_key "$DRT" node --advertise "$LO" --root "$R/root.pem" --cert "$TMP/n1/node.pem" \
    --key "$TMP/n2/node.key" --register-cert x --exit-after 1
expect wrong_key "DRT_E_CAPABILITY_MISMATCH"

# --- a cloud ------------------------------------------------------------------
"$DRT" node --advertise "$LO" --port 0 --root "$R/root.pem" --cert "$TMP/n1/node.pem" \
    --key "$TMP/n1/node.key" --register-cert hello-n1 --exit-after 60 >"$TMP/node1" 2>&1 &
PID1=$!
PIDS="$PIDS $PID1"
wait_for "$TMP/node1" "UDP port [0-9]" || { cat "$TMP/node1"; echo "FAILED: node 1 printed no port"; exit 1; }
PORT=$(sed -n 's/.*UDP port \([0-9][0-9]*\).*/\1/p' "$TMP/node1" | head -n 1)
SEED="[$LO]:$PORT"
wait_for "$TMP/node1" "^registered" || fail "node 1 registered nothing"
REG1=$(sed -n 's/^registered .* = \([0-9a-f]*\), data.*/\1/p' "$TMP/node1")
[ "$REG1" = "$K1" ] || fail "node 1 registered $REG1, drt key says $K1"
grep -q "security: derived-key provider" "$TMP/node1" || fail "node 1 does not say it uses the derived-key provider"

# A node whose certificate ends in 10 s, made now.
run 0 cert_short "$DRT" cert issue --root "$R" --out "$TMP/short" --name brief --seconds 10
KS=$("$DRT" key --cert "$TMP/short/node.pem")
"$DRT" node --advertise "$LO" --bootstrap "$SEED" --root "$R/root.pem" \
    --cert "$TMP/short/node.pem" --key "$TMP/short/node.key" --register-cert brief \
    --exit-after 60 --json >"$TMP/node2" 2>&1 &
PID2=$!
PIDS="$PIDS $PID2"
wait_for "$TMP/node2" '"status":"ACTIVE"' || fail "node 2 never became ACTIVE"
# First, while its certificate is young.
search 0 find_short "$KS" --root "$R/root.pem"
expect find_short "brief"

# Found from a node with another certificate of the root, and from a
# resolve-only searcher that has the root alone.
search 0 find_n1 "$K1" --root "$R/root.pem" --cert "$TMP/n2/node.pem" --key "$TMP/n2/node.key" \
    --path
expect find_n1 "EXACT $K1"
expect find_n1 "hello-n1"
search 0 find_n1_root_only "$K1" --root "$R/root.pem" --json
expect find_n1_root_only '"text":"hello-n1"'

# An intruder certified by another root joins through node 1: its records
# are refused, so its key is never found.
"$DRT" node --advertise "$LO" --bootstrap "$SEED" --root "$TMP/other/root.pem" \
    --cert "$TMP/x/node.pem" --key "$TMP/x/node.key" --register-cert intruder \
    --exit-after 60 >"$TMP/nodex" 2>&1 &
PIDX=$!
PIDS="$PIDS $PIDX"
wait_for "$TMP/nodex" "^registered" || fail "the intruder registered nothing"
sleep 2
search 1 find_intruder "$KX" --root "$R/root.pem" --timeout 3000
expect find_intruder "DRT_E_NO_MORE"
grep -q "status ACTIVE" "$TMP/nodex" && fail "the intruder's node got into the cloud"
# A searcher that trusts another root never gets in either.
search 2 other_root_searcher "$K1" --root "$TMP/other/root.pem" --timeout 3000
expect other_root_searcher "waiting for ACTIVE"

# --- membership and confidential meshes --------------------------------------
# A member of each finds the other's key and data; a searcher with the
# root alone (a stranger to the mesh) never becomes ACTIVE through it.
run 0 cert_n3 "$DRT" cert issue --root "$R" --out "$TMP/n3" --name node3 --alg rsa
for mode in membership confidential; do
    "$DRT" node --advertise "$LO" --port 0 --root "$R/root.pem" --cert "$TMP/n1/node.pem" \
        --key "$TMP/n1/node.key" --register-cert "secret-of-$mode" --mode "$mode" \
        --exit-after 60 >"$TMP/node_$mode" 2>&1 &
    PIDM=$!
    PIDS="$PIDS $PIDM"
    wait_for "$TMP/node_$mode" "^registered" || fail "the $mode node registered nothing"
    grep -q "mode $mode" "$TMP/node_$mode" || fail "the $mode node does not name its mode"
    MPORT=$(sed -n 's/.*UDP port \([0-9][0-9]*\).*/\1/p' "$TMP/node_$mode" | head -n 1)
    run 0 "find_$mode" "$DRT" search "$K1" --bootstrap "[$LO]:$MPORT" --advertise "$LO" \
        --root "$R/root.pem" --cert "$TMP/n3/node.pem" --key "$TMP/n3/node.key" --mode "$mode"
    expect "find_$mode" "secret-of-$mode"
    run 2 "stranger_$mode" "$DRT" search "$K1" --bootstrap "[$LO]:$MPORT" --advertise "$LO" \
        --root "$R/root.pem" --timeout 3000
    expect "stranger_$mode" "waiting for ACTIVE"
    stopped_ok "$PIDM" "the $mode node"
    PIDS=$(echo "$PIDS" | sed "s/ $PIDM//")
done

# --- the short-lived key ends ------------------------------------------------
wait_for "$TMP/node2" "\"event\":\"registration\",\"key\":\"$KS\",\"state\":\"UNRESOLVEABLE\"" 200 ||
    fail "node 2 never reported its key UNRESOLVEABLE"
search 1 find_short_after "$KS" --root "$R/root.pem"
expect find_short_after "DRT_E_NO_MORE"
search 0 find_n1_after "$K1" --root "$R/root.pem"

stopped_ok "$PIDX" "the intruder's node"
stopped_ok "$PID2" "node 2"
stopped_ok "$PID1" "node 1"
PIDS=
grep -q '"event":"stopped"' "$TMP/node2" || fail "node 2 did not finish its shutdown"
if grep -v -q '^{"event":"[a-z_]*".*}$' "$TMP/node2"; then
    fail "node --json printed a line that is not one JSON object"
fi

if [ $FAILS -ne 0 ]; then
    for f in node1 node2 nodex; do
        echo "--- $f"
        cat "$TMP/$f"
    done
    echo "$FAILS check(s) FAILED"
    exit 1
fi
echo "drt cert / drt key / drt node with certificates: all checks passed"
exit 0
