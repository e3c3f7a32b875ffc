#!/bin/sh
# test_keymgr_socket.sh DRT_BINARY
#
# An out-of-process dictator: node A (`drt node --ipsec require`) serves
# its keying engine on a Unix socket (--key-manager-socket), and a separate
# `drt keymgr --connect SOCKET dictate` process registers with it. Node B
# (notify key manager of its own) joins A:
#   - the SAs between A and B use the remote dictator's keys (HKDF of the
#     key file, recomputed with the openssl command), and A's notifications
#     (logged by the client process) equal B's;
#   - the client is killed (SIGKILL) mid-run: the nodes keep working, and
#     a searcher that joins afterwards negotiates SAs with them whose keys
#     are not dictated (the registration went with the client), and finds
#     B's key through A;
#   - a key manager connected when node A stops exits 1 ("went away").
# Every wait is bounded; the nodes stop by themselves (--exit-after).
set -u

DRT=$1
. "$(dirname "$0")/lib.sh"
lib_start kmsock

# hkdf SPI_HEX: the key the dictator derives for that SPI.
hkdf() {
    openssl kdf -keylen 36 -kdfopt digest:SHA256 -kdfopt "hexkey:$HEXKEY" \
        -kdfopt "salt:libdrt key file v1" -kdfopt "hexinfo:$1" HKDF 2>/dev/null |
        tr -d ':\n' | tr 'A-F' 'a-f'
}

# Ports from the process id (below the ephemeral range), apart from
# test_ipsec_nodes.sh's.
P1=$((26000 + ($$ % 3000) * 2))
P2=$((P1 + 1))
SOCK="$TMP/engine.sock"
printf 'test mesh key\n' >"$TMP/psk"
head -c 48 /dev/urandom >"$TMP/shared.key"
HEXKEY=$(od -An -v -tx1 "$TMP/shared.key" | tr -d ' \n')

"$DRT" node --port $P1 --advertise ::1 --ipsec require --psk "$TMP/psk" \
    --key-manager-socket "$SOCK" --register alpha --exit-after 16 >"$TMP/A.out" 2>&1 &
A=$!
PIDS="$PIDS $A"
wait_for "$TMP/A.out" "listening" || fail "node A did not start: $(cat "$TMP/A.out")"

"$DRT" keymgr --connect "$SOCK" dictate --key-file "$TMP/shared.key" \
    --key-log "$TMP/C.esp_sa" >"$TMP/C.out" 2>&1 &
C=$!
PIDS="$PIDS $C"
wait_for "$TMP/C.out" "registered" || fail "the key manager did not register: $(cat "$TMP/C.out")"

"$DRT" node --port $P2 --advertise ::1 --bootstrap "[::1]:$P1" --ipsec require \
    --psk "$TMP/psk" --key-manager notify --key-log "$TMP/B.esp_sa" --register beta \
    --exit-after 14 >"$TMP/B.out" 2>&1 &
B=$!
PIDS="$PIDS $B"
wait_for "$TMP/B.out" "status ACTIVE" || fail "node B never became ACTIVE: $(cat "$TMP/B.out")"
wait_for "$TMP/C.esp_sa" "IPv6" || fail "the remote key manager logged no SA"
sleep 1 # the second SA pair (each side initiates once) settles

# The remote dictator's keys, on both sides.
sort "$TMP/C.esp_sa" >"$TMP/C.sorted"
sort "$TMP/B.esp_sa" >"$TMP/B.sorted"
cmp -s "$TMP/C.sorted" "$TMP/B.sorted" ||
    fail "A's notifications (in the client) differ from B's: $(cat "$TMP/C.sorted" "$TMP/B.sorted")"
n=0
while IFS=, read -r proto src dst spi alg key rest; do
    spi=$(echo "$spi" | tr -d '"' | sed 's/^0x//')
    key=$(echo "$key" | tr -d '"' | sed 's/^0x//')
    want=$(hkdf "$spi")
    [ -n "$want" ] || { echo "note: the openssl command cannot run HKDF here"; break; }
    [ "$want" = "$key" ] || fail "SPI $spi: key $key is not the remote dictator's $want"
    n=$((n + 1))
done <"$TMP/C.esp_sa"
[ "$n" -ge 2 ] || [ -z "$(hkdf 01020304)" ] || fail "only $n dictated SAs checked"
echo "dictated by the other process: $n SAs"

# The client dies; nothing of it stays.
kill -KILL $C
wait $C 2>/dev/null
"$DRT" search beta --bootstrap "[::1]:$P1" --advertise ::1 --ipsec require --psk "$TMP/psk" \
    --key-manager notify --key-log "$TMP/S.esp_sa" --timeout 5000 >"$TMP/S.out" 2>&1 ||
    fail "a search after the client died did not find beta: $(cat "$TMP/S.out")"
[ -s "$TMP/S.esp_sa" ] || fail "the searcher negotiated no SA"
m=0
while IFS=, read -r proto src dst spi alg key rest; do
    spi=$(echo "$spi" | tr -d '"' | sed 's/^0x//')
    key=$(echo "$key" | tr -d '"' | sed 's/^0x//')
    [ "$(hkdf "$spi")" = "$key" ] && fail "SPI $spi still keyed by the dead dictator"
    m=$((m + 1))
done <"$TMP/S.esp_sa"
echo "negotiated after the client died, not dictated: $m SAs"

# A key manager whose engine goes away notices it and exits 1.
"$DRT" keymgr --connect "$SOCK" notify --key-log "$TMP/D.esp_sa" >"$TMP/D.out" 2>&1 &
D=$!
PIDS="$PIDS $D"
wait_for "$TMP/D.out" "registered" || fail "a second key manager did not register: $(cat "$TMP/D.out")"

wait $B || fail "node B did not exit 0: $(tail -3 "$TMP/B.out")"
wait $A || fail "node A did not exit 0: $(tail -3 "$TMP/A.out")"
[ -e "$SOCK" ] && fail "node A left its socket file behind"
wait_for "$TMP/D.out" "went away" || fail "the key manager did not notice its engine left: $(cat "$TMP/D.out")"
wait $D
[ $? -eq 1 ] || fail "drt keymgr did not exit 1 when its engine went away"

if [ $FAILS -eq 0 ]; then
    echo "all checks passed"
    exit 0
fi
exit 1
