/*
 * test_wire_vectors.h - the byte-exact [MC-DRT] vectors of docs/PROTOCOL.md,
 * written field by field from the spec's layouts (not produced by our
 * encoder). test_wire.c decodes and re-encodes each one, and checks that
 * docs/PROTOCOL.md shows exactly these bytes.
 *
 * Common values: MessageID 0x0a0b0c0d, version 1.0, acked id 0x0a0b0c0c,
 * K1 = 00 01 .. 1f, K2 = 20 21 .. 3f, K3 = 80 81 .. 9f, port 3540 (0x0dd4).
 */
#ifndef TEST_WIRE_VECTORS_H
#define TEST_WIRE_VECTORS_H

static const char VEC_SOLICIT[] = /* 96 bytes */
    "0010000c510100010a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 1, MessageID */
    "009a003a000102030405060708090a0b0c0d0e0f101112131415161718191a1b" /* ROUTING_ENTRY 0x009A: key K1, v1.0, port 3540, flags 0, 1 address ::1 */
    "1c1d1e1f01000dd4000100000000000000000000000000000001"
    "0000" /* padding */
    "00920018c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3" /* HASHED_NONCE 0x0092, len 24: 20 bytes */
    ;
static const char VEC_ADVERTISE[] = /* 120 bytes */
    "0010000c510100020a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 2, MessageID */
    "001800080a0b0c0c" /* DRT_HEADER_ACKED 0x0018, len 8: 0x0a0b0c0c */
    "0060004c0002004800300020000102030405060708090a0b0c0d0e0f10111213" /* DRT_ID_ARRAY 0x0060, len 76: 2 entries, ArrayLength 72, DRT_ID 0x0030, 32 bytes each: K1, K2 */
    "1415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233"
    "3435363738393a3b3c3d3e3f"
    "00920018c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3" /* HASHED_NONCE */
    ;
static const char VEC_REQUEST[] = /* 76 bytes */
    "0010000c510100030a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 3, MessageID */
    "00930014e0e1e2e3e4e5e6e7e8e9eaebecedeeef" /* NONCE 0x0093, len 20: 16 bytes */
    "0060002c0001002800300020202122232425262728292a2b2c2d2e2f30313233" /* DRT_ID_ARRAY: 1 entry, ArrayLength 40: K2 */
    "3435363738393a3b3c3d3e3f"
    ;
static const char VEC_REQUEST_MEMBERSHIP[] = /* 108 bytes */
    "0010000c510100030a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 3, MessageID */
    "004000060000" /* FLAGS_FIELD 0x0040, len 6: reserved 0 */
    "0000" /* padding */
    "0098000800500000" /* SPLIT_CONTROLS 0x0098, len 8: Size 80, Offset 0 */
    "00930014e0e1e2e3e4e5e6e7e8e9eaebecedeeef" /* NONCE */
    "0060002c0001002800300020202122232425262728292a2b2c2d2e2f30313233" /* DRT_ID_ARRAY: K2 */
    "3435363738393a3b3c3d3e3f"
    "00800007637274" /* CREDENTIAL 0x0080, len 7: "crt" */
    "00" /* padding */
    "00a1000873696721" /* SIGNATURE 0x00A1 (libdrt id), len 8: "sig!" */
    ;
static const char VEC_FLOOD[] = /* 146 bytes */
    "0010000c510100040a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 4, MessageID */
    "00430007000100" /* FLOOD_CONTROLS 0x0043, len 7: D set, Reserved2 0 */
    "00" /* padding */
    "00390024202122232425262728292a2b2c2d2e2f303132333435363738393a3b" /* VALIDATE_DRT_ID 0x0039, len 36: K2 */
    "3c3d3e3f"
    "009a003a000102030405060708090a0b0c0d0e0f101112131415161718191a1b" /* ROUTING_ENTRY: K1, port 3540, ::1 */
    "1c1d1e1f01000dd4000100000000000000000000000000000001"
    "0000" /* padding */
    "009e001e0001001a009d00120dd420010db8000000000000000000000002" /* IPV6_ENDPOINT_ARRAY 0x009E, len 30: 1 entry, ArrayLength 26, IPV6_ENDPOINT 0x009D, 18 bytes: port 3540, 2001:db8::2 */
    ;
static const char VEC_INQUIRE[] = /* 76 bytes */
    "0010000c510100070a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 7, MessageID */
    "00400006001c" /* FLAGS_FIELD, len 6: A|X|C = 0x001C */
    "0000" /* padding */
    "00390024000102030405060708090a0b0c0d0e0f101112131415161718191a1b" /* VALIDATE_DRT_ID: K1 */
    "1c1d1e1f"
    "00930014e0e1e2e3e4e5e6e7e8e9eaebecedeeef" /* NONCE: 16 bytes */
    ;
static const char VEC_AUTHORITY_BUFFER[] = /* 88 bytes */
    "004000060000" /* FLAGS_FIELD, len 6: none set */
    "0000" /* padding */
    "005a000968656c6c6f" /* EXTENDED_PAYLOAD 0x005A, len 9: "hello" */
    "000000" /* padding */
    "009a003a000102030405060708090a0b0c0d0e0f101112131415161718191a1b" /* ROUTING_ENTRY: K1, port 3540, ::1 */
    "1c1d1e1f01000dd4000100000000000000000000000000000001"
    "0000" /* padding */
    "009b0008c0ffee01" /* VALIDATE_CPA 0x009B, len 8: 4 CPA bytes */
    ;
static const char VEC_AUTHORITY[] = /* 116 bytes */
    "0010000c510100080a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 8, MessageID */
    "001800080a0b0c0c" /* DRT_HEADER_ACKED: 0x0a0b0c0c */
    "0098000800580000" /* SPLIT_CONTROLS: Size 88, Offset 0 */
    "0040000600000000005a000968656c6c6f000000009a003a0001020304050607" /* AUTHORITY_BUFFER bytes (the authority_buffer vector) */
    "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01000dd400010000"
    "00000000000000000000000000010000009b0008c0ffee01"
    ;
static const char VEC_ACK[] = /* 26 bytes */
    "0010000c510100090a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 9, MessageID */
    "001800080a0b0c0c" /* DRT_HEADER_ACKED: 0x0a0b0c0c */
    "004000060001" /* FLAGS_FIELD, len 6: N */
    ;
static const char VEC_LOOKUP[] = /* 144 bytes */
    "0010000c5101000b0a0b0c0d" /* DRT_HEADER: id 0x0010, len 12, 0x51, v1.0, type 11, MessageID */
    "0045000c0002000002000000" /* LOOKUP_CONTROLS 0x0045, len 12: A, Precision 0, NEAREST (0x02), APP_REQUEST (0x00), Reserved2 0 */
    "00380024808182838485868788898a8b8c8d8e8f909192939495969798999a9b" /* TARGET_DRT_ID 0x0038: K3 */
    "9c9d9e9f"
    "00390024202122232425262728292a2b2c2d2e2f303132333435363738393a3b" /* VALIDATE_DRT_ID: K2 */
    "3c3d3e3f"
    "009e00300002002c009d00120dd4000000000000000000000000000000010dd5" /* IPV6_ENDPOINT_ARRAY (Flagged Path): 2 entries, ArrayLength 44: [::1]:3540, [2001:db8::2]:3541 */
    "20010db8000000000000000000000002"
    ;

#endif
