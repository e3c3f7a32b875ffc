#!/bin/sh
# test_ipsec_cert.sh DRT_BINARY
#
# `drt node` and `drt search` with --ipsec require --ipsec-auth cert on ::1:
# a searcher with a certificate of the node's root finds the node's key
# inside SAs; one with a certificate of another root never gets an SA, so it never becomes ACTIVE; --ipsec-auth cert without
# --cert, or with --psk, is a usage error. Every wait is bounded (--timeout,
# --exit-after).
set -u

DRT=$1
. "$(dirname "$0")/lib.sh"
lib_start ipsec_cert

P=$((26000 + ($$ % 6000)))
"$DRT" cert root --out "$TMP/root" >/dev/null || exit 1
"$DRT" cert root --out "$TMP/other" >/dev/null || exit 1
"$DRT" cert issue --root "$TMP/root" --out "$TMP/a" --name node-a >/dev/null || exit 1
"$DRT" cert issue --root "$TMP/root" --out "$TMP/b" --name node-b --alg ed25519 >/dev/null || exit 1
"$DRT" cert issue --root "$TMP/other" --out "$TMP/x" --name stranger >/dev/null || exit 1
KEY=$("$DRT" key --cert "$TMP/a/node.pem")
IPSEC="--ipsec require --ipsec-auth cert"

"$DRT" node --port $P --advertise ::1 --root "$TMP/root/root.pem" --cert "$TMP/a/node.pem" \
    --key "$TMP/a/node.key" --register-cert hello $IPSEC --exit-after 12 >"$TMP/a.out" 2>&1 &
PID=$!
PIDS=$PID
wait_for "$TMP/a.out" "registered"

"$DRT" search "$KEY" --bootstrap "[::1]:$P" --advertise ::1 --root "$TMP/root/root.pem" \
    --cert "$TMP/b/node.pem" --key "$TMP/b/node.key" $IPSEC --timeout 5000 >"$TMP/b.out" 2>&1 ||
    fail "the member's search: $(cat "$TMP/b.out")"
grep -q "EXACT $KEY, 5 bytes: hello" "$TMP/b.out" || fail "the member did not find the key"

"$DRT" search "$KEY" --bootstrap "[::1]:$P" --advertise ::1 --root "$TMP/other/root.pem" \
    --cert "$TMP/x/node.pem" --key "$TMP/x/node.key" $IPSEC --timeout 2000 >"$TMP/x.out" 2>&1 &&
    fail "the stranger's search succeeded"
grep -q "waiting for ACTIVE" "$TMP/x.out" || fail "the stranger got in: $(cat "$TMP/x.out")"

"$DRT" search "$KEY" --bootstrap "[::1]:$P" $IPSEC >"$TMP/u.out" 2>&1
[ $? -eq 2 ] && grep -q "needs --root, --cert and --key" "$TMP/u.out" || fail "no usage error without --cert"
"$DRT" search "$KEY" --bootstrap "[::1]:$P" --psk "$TMP/a/node.key" --root "$TMP/root/root.pem" \
    --cert "$TMP/b/node.pem" --key "$TMP/b/node.key" $IPSEC >"$TMP/u.out" 2>&1
[ $? -eq 2 ] && grep -q "exclude each other" "$TMP/u.out" || fail "no usage error with --psk"

kill -TERM "$PID" 2>/dev/null
wait "$PID"
PIDS=
[ $FAILS -eq 0 ] && echo "all checks passed"
exit $FAILS
