#!/bin/sh
# test_ipsec_nodes.sh DRT_BINARY keys|capture
#
# Two `drt node` processes on ::1 with --ipsec require:
#   keys     both dictate from one --key-file: they become ACTIVE, both key
#            logs list the same SAs, and every key is the one the file
#            gives (HKDF-SHA-256 recomputed with the openssl command).
#   capture  with --key-manager notify, under a tshark capture of their two
#            ports: both key logs list the same SAs, no datagram carries a
#            plaintext DRT message (each is an ESP packet or a negotiation
#            behind the 00000000 marker), and tshark, given one node's key
#            log as its ESP SA table, decrypts every ESP packet to a DRT
#            message. Exit 77 (skipped, reason printed) without tshark or
#            the right to capture on lo.
# Every wait is bounded; the nodes stop by themselves (--exit-after).
set -u

DRT=$1
MODE=$2
. "$(dirname "$0")/lib.sh"
lib_start ipsec

# Ports from the process id, so that parallel runs do not collide, and
# below Linux's ephemeral range (32768..), where other tests bind port 0.
P1=$((20000 + ($$ % 6000) * 2))
P2=$((P1 + 1))
printf 'test mesh key\n' >"$TMP/psk"
head -c 48 /dev/urandom >"$TMP/shared.key"

# run_pair KM_OPTIONS...: node A (first) and B (seeded by A), each with
# its own key log, 4 s and 3 s; waits for both to stop.
run_pair() {
    "$DRT" node --port $P1 --advertise ::1 --ipsec require --psk "$TMP/psk" \
        --key-log "$TMP/A.esp_sa" --register alpha --exit-after 4 "$@" >"$TMP/A.out" 2>&1 &
    A=$!
    PIDS="$PIDS $A"
    wait_for "$TMP/A.out" "listening" || fail "node A did not start"
    "$DRT" node --port $P2 --advertise ::1 --bootstrap "[::1]:$P1" --ipsec require \
        --psk "$TMP/psk" --key-log "$TMP/B.esp_sa" --register beta --exit-after 3 "$@" \
        >"$TMP/B.out" 2>&1
    [ $? -eq 0 ] || fail "node B did not exit 0"
    wait $A || fail "node A did not exit 0"
    grep -q "status ACTIVE" "$TMP/B.out" || fail "node B never became ACTIVE: $(cat "$TMP/B.out")"
    grep -q "leaf set of .*: added" "$TMP/A.out" || fail "node A never saw B in its leaf set"
}

# Both sides were told the same SAs (each SA once inbound, once outbound).
same_logs() {
    [ -s "$TMP/A.esp_sa" ] || fail "node A logged no SA"
    sort "$TMP/A.esp_sa" >"$TMP/A.sorted"
    sort "$TMP/B.esp_sa" >"$TMP/B.sorted"
    cmp -s "$TMP/A.sorted" "$TMP/B.sorted" || fail "the key logs differ"
    grep -qv '^"IPv6","::1","::1","0x[0-9a-f]\{8\}","AES-GCM with 16 octet ICV \[RFC4106\]","0x[0-9a-f]\{72\}","NULL",""$' \
        "$TMP/A.esp_sa" && fail "a key-log line is not an esp_sa record: $(head -2 "$TMP/A.esp_sa")"
}

if [ "$MODE" = keys ]; then
    run_pair --key-manager dictate --key-file "$TMP/shared.key"
    same_logs
    hexkey=$(od -An -v -tx1 "$TMP/shared.key" | tr -d ' \n')
    n=0
    while IFS=, read -r proto src dst spi alg key rest; do
        spi=$(echo "$spi" | tr -d '"' | sed 's/^0x//')
        key=$(echo "$key" | tr -d '"' | sed 's/^0x//')
        want=$(openssl kdf -keylen 36 -kdfopt digest:SHA256 -kdfopt "hexkey:$hexkey" \
            -kdfopt "salt:libdrt key file v1" -kdfopt "hexinfo:$spi" HKDF 2>/dev/null |
            tr -d ':\n' | tr 'A-F' 'a-f')
        if [ -z "$want" ]; then
            echo "note: the openssl command cannot run HKDF here; keys not recomputed"
            break
        fi
        [ "$want" = "$key" ] || fail "SPI $spi: key $key is not the file's $want"
        n=$((n + 1))
    done <"$TMP/A.esp_sa"
    echo "dictated keys checked: $n"
elif [ "$MODE" = capture ]; then
    command -v tshark >/dev/null 2>&1 || { echo "skipped: tshark is not installed (scripts/deps.sh installs it)"; exit 77; }
    tshark -q -i lo -f "udp port $P1 or udp port $P2" -w "$TMP/cap.pcapng" >"$TMP/tshark.err" 2>&1 &
    T=$!
    PIDS="$PIDS $T"
    if ! wait_for "$TMP/tshark.err" "Capturing on"; then
        echo "skipped: tshark cannot capture on lo here: $(head -3 "$TMP/tshark.err")"
        exit 77
    fi
    run_pair --key-manager notify
    sleep 0.5
    kill -INT $T 2>/dev/null
    wait $T
    same_logs
    tshark -r "$TMP/cap.pcapng" -T fields -e udp.payload >"$TMP/payloads" 2>/dev/null
    total=$(grep -c . "$TMP/payloads")
    neg=$(grep -c '^00000000' "$TMP/payloads")
    plain=$(grep -c '^00' "$TMP/payloads")
    esp=$((total - plain))
    [ "$plain" -eq "$neg" ] || fail "$((plain - neg)) datagrams that are neither ESP nor negotiation (plaintext DRT?)"
    [ "$neg" -ge 4 ] || fail "only $neg negotiation datagrams captured"
    [ "$esp" -ge 4 ] || fail "only $esp ESP datagrams captured"
    set --
    while IFS= read -r line; do
        set -- "$@" -o "uat:esp_sa:$line"
    done <"$TMP/A.esp_sa"
    tshark -r "$TMP/cap.pcapng" -d udp.port==$P1,udpencap -d udp.port==$P2,udpencap \
        -o esp.enable_encryption_decode:TRUE "$@" -T fields -e esp.spi -e esp.decrypted_data \
        -Y esp 2>/dev/null >"$TMP/decrypted"
    drt=$(grep -c '	0010000c51' "$TMP/decrypted")
    [ "$drt" -eq "$esp" ] ||
        fail "tshark decrypted $drt of $esp ESP packets to a DRT message: $(head -3 "$TMP/decrypted")"
    echo "captured: $total datagrams, $neg negotiation, $esp ESP, $drt decrypted to DRT messages"
else
    echo "usage: $0 DRT keys|capture"
    exit 2
fi

if [ $FAILS -eq 0 ]; then
    echo "all checks passed"
    exit 0
fi
exit 1
