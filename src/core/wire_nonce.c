/* wire_nonce.c - the conversation nonce's hash carried by SOLICIT and
 * ADVERTISE ([MC-DRT] 2.2.2.1: "a 20-byte hash of the nonce"; SHA-1, as
 * its size says). SHA-1 here only binds an answer to its question; it
 * protects no secret. */
#include <openssl/evp.h>
#include <string.h>

#include "core/wire.h"

void wire_hash_nonce(const uint8_t nonce[WIRE_NONCE_SIZE], uint8_t out[WIRE_HASHED_NONCE_SIZE])
{
    unsigned int n = 0;
    if (!EVP_Digest(nonce, WIRE_NONCE_SIZE, out, &n, EVP_sha1(), NULL) ||
        n != WIRE_HASHED_NONCE_SIZE)
        memset(out, 0, WIRE_HASHED_NONCE_SIZE); /* never matches a real answer's hash */
}
