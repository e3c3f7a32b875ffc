/*
 * sec_derive.c - SHA-256 over the DER SubjectPublicKeyInfo of the
 * certificate's key (sec_derive.h).
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sec/sec_derive.h"

HRESULT sec_derive_key(X509 *cert, uint8_t key[SEC_KEY_LEN])
{
    memset(key, 0, SEC_KEY_LEN);
    /* An empty or undecodable key would still encode to some bytes; only a
     * key OpenSSL could use is one a node can prove. */
    if (!cert || !X509_get0_pubkey(cert)) {
        ERR_clear_error();
        return DRT_E_CAPABILITY_MISMATCH;
    }
    /* The key as OpenSSL decoded it, written out again: a received
     * certificate may spell its SPKI in BER (OpenSSL accepts, e.g., a BIT
     * STRING with unused bits), and hashing that spelling would give one
     * key pair a second DRT key. */
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    if (n <= 0) {
        ERR_clear_error();
        return DRT_E_CAPABILITY_MISMATCH;
    }
    unsigned int out = 0;
    int ok = EVP_Digest(der, (size_t)n, key, &out, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok || out != SEC_KEY_LEN) {
        memset(key, 0, SEC_KEY_LEN);
        return E_FAIL;
    }
    return S_OK;
}
