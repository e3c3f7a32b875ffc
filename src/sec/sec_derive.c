/*
 * sec_derive.c - SHA-256 over the certificate's DER SubjectPublicKeyInfo
 * (sec_derive.h).
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
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
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
