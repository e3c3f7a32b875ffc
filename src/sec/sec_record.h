/*
 * sec_record.h - the signed record (our CPA, "certified peer address"): a
 * publisher's statement "key K, at these addresses, with this payload,
 * answering nonce N", signed with the key of the certificate K is derived
 * from. Byte layout, test vector and reasoning: docs/SECURITY.md.
 *
 * Summary (every integer big-endian):
 *   u8  format version (1)        u8  protocol major   u8 protocol minor
 *   u8  signature algorithm       u32 flags (only DRT_PAYLOAD_REVOKED)
 *   32  key                       16  nonce            32 SHA-256(payload)
 *   u8  address count (0..20), per address: u8 family (4|6), u16 port,
 *       4|16 address bytes
 *   u16 chain length, chain (sec_chain.h)
 *   u16 signature length, signature over SEC_RECORD_LABEL || every byte
 *       before the signature length
 */
#ifndef DRT_SEC_RECORD_H
#define DRT_SEC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#include "sec/sec_chain.h"
#include "sec/sec_derive.h"
#include "sec/sec_sign.h"

#define SEC_RECORD_VERSION 1
#define SEC_RECORD_LABEL "libdrt signed record v1"
#define SEC_NONCE_LEN 16
#define SEC_HASH_LEN 32
#define SEC_RECORD_MAX_ADDRS 20 /* ulMaxRoutingAddresses' bound */
#define SEC_ADDR_FAMILY_IPV4 4
#define SEC_ADDR_FAMILY_IPV6 6
#define SEC_RECORD_FIXED_LEN 89 /* through the address count */

struct sec_address {
    uint8_t family; /* SEC_ADDR_FAMILY_* */
    uint16_t port;
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
};

/* What a record states. The chain and signature are not here: they come
 * from the signer's certificate, and a parsed record points at them. */
struct sec_record {
    uint8_t protocol_major;
    uint8_t protocol_minor;
    uint32_t flags;
    uint8_t key[SEC_KEY_LEN];
    uint8_t nonce[SEC_NONCE_LEN];
    uint8_t payload_hash[SEC_HASH_LEN];
    size_t naddrs;
    struct sec_address addrs[SEC_RECORD_MAX_ADDRS];
};

/* A record taken apart: its statement and where, inside the bytes it was
 * parsed from, the chain, the signed part and the signature lie. */
struct sec_parsed_record {
    struct sec_record rec;
    enum sec_alg alg;
    const uint8_t *chain;
    size_t chain_len;
    size_t signed_len;
    const uint8_t *sig;
    size_t sig_len;
};

/* SHA-256 of a payload (of no bytes when payload is NULL or len is 0). */
HRESULT sec_payload_hash(const uint8_t *payload, size_t len, uint8_t out[SEC_HASH_LEN]);

/* Encodes rec with the chain of leaf (+ intermediates, root left out) and
 * signs it with priv. *out is malloc'ed. E_INVALIDARG for a statement that
 * cannot be encoded (flags, address count, chain), DRT_E_CAPABILITY_MISMATCH
 * when priv cannot sign, E_OUTOFMEMORY. */
HRESULT sec_record_sign(const struct sec_record *rec, X509 *leaf, STACK_OF(X509) *intermediates,
                        X509 *root, EVP_PKEY *priv, uint8_t **out, size_t *out_len);

/* Takes a record apart, strictly (sec_record.h summary); no cryptography.
 * DRT_E_INVALID_MESSAGE for anything malformed. */
HRESULT sec_record_parse(const uint8_t *p, size_t len, struct sec_parsed_record *out);

/* Parses and checks a record received in answer to nonce (NULL: the
 * all-zero nonce of a revocation) for the given payload: nonce, payload
 * hash, the key's derivation from the leaf, the signature with the leaf's
 * key, the chain to the store's root. payload NULL means none was received
 * (the requester did not ask for it) and the hash is not checked; an empty
 * payload that was received is a non-NULL pointer with payload_len 0. On success *rec holds the statement
 * and *leaf (when not NULL) the signer's certificate, the caller's to
 * X509_free. DRT_E_INVALID_CERT_CHAIN when only the chain fails,
 * DRT_E_INVALID_MESSAGE for everything else, E_OUTOFMEMORY. */
HRESULT sec_record_verify(X509_STORE *store, const uint8_t *p, size_t len,
                          const uint8_t nonce[SEC_NONCE_LEN], const uint8_t *payload,
                          size_t payload_len, struct sec_record *rec, X509 **leaf);

#endif
