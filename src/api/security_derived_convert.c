/*
 * security_derived_convert.c - addresses and public keys between the
 * provider interface's types and the signed record (security_derived.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "api/security_derived.h"

HRESULT derived_addresses_in(const SOCKET_ADDRESS_LIST *list, struct sec_record *rec)
{
    rec->naddrs = 0;
    if (!list)
        return S_OK;
    if (list->iAddressCount < 0 || list->iAddressCount > SEC_RECORD_MAX_ADDRS)
        return E_INVALIDARG;
    for (INT i = 0; i < list->iAddressCount; i++) {
        const SOCKET_ADDRESS *sa = &list->Address[i];
        struct sec_address *a = &rec->addrs[i];
        memset(a, 0, sizeof(*a));
        if (!sa->lpSockaddr)
            return E_INVALIDARG;
        if (sa->lpSockaddr->sa_family == AF_INET6 &&
            sa->iSockaddrLength >= (INT)sizeof(struct sockaddr_in6)) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa->lpSockaddr;
            a->family = SEC_ADDR_FAMILY_IPV6;
            a->port = ntohs(s6->sin6_port);
            memcpy(a->addr, &s6->sin6_addr, 16);
        } else if (sa->lpSockaddr->sa_family == AF_INET &&
                   sa->iSockaddrLength >= (INT)sizeof(struct sockaddr_in)) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa->lpSockaddr;
            a->family = SEC_ADDR_FAMILY_IPV4;
            a->port = ntohs(s4->sin_port);
            memcpy(a->addr, &s4->sin_addr, 4);
        } else {
            return E_INVALIDARG;
        }
    }
    rec->naddrs = (size_t)list->iAddressCount;
    return S_OK;
}

/* Every address gets a sockaddr_in6-sized slot, which also holds a
 * sockaddr_in; the slots start on an 8-byte boundary after the array. */
HRESULT derived_addresses_out(const struct sec_record *rec, SOCKET_ADDRESS_LIST **out)
{
    *out = NULL;
    size_t n = rec->naddrs;
    size_t head = offsetof(SOCKET_ADDRESS_LIST, Address) + (n ? n : 1) * sizeof(SOCKET_ADDRESS);
    head = (head + 7) & ~(size_t)7;
    SOCKET_ADDRESS_LIST *list = calloc(1, head + n * sizeof(struct sockaddr_in6));
    if (!list)
        return E_OUTOFMEMORY;
    list->iAddressCount = (INT)n;
    for (size_t i = 0; i < n; i++) {
        const struct sec_address *a = &rec->addrs[i];
        void *slot = (uint8_t *)list + head + i * sizeof(struct sockaddr_in6);
        if (a->family == SEC_ADDR_FAMILY_IPV6) {
            struct sockaddr_in6 s6;
            memset(&s6, 0, sizeof(s6));
            s6.sin6_family = AF_INET6;
            s6.sin6_port = htons(a->port);
            memcpy(&s6.sin6_addr, a->addr, 16);
            memcpy(slot, &s6, sizeof(s6));
            list->Address[i].iSockaddrLength = sizeof(s6);
        } else {
            struct sockaddr_in s4;
            memset(&s4, 0, sizeof(s4));
            s4.sin_family = AF_INET;
            s4.sin_port = htons(a->port);
            memcpy(&s4.sin_addr, a->addr, 4);
            memcpy(slot, &s4, sizeof(s4));
            list->Address[i].iSockaddrLength = sizeof(s4);
        }
        list->Address[i].lpSockaddr = slot;
    }
    *out = list;
    return S_OK;
}

/* The AlgorithmIdentifier's parameters as DER (NULL for RSA, the curve's
 * OID for EC, none for Ed25519). */
static HRESULT params_der(const X509_ALGOR *alg, unsigned char **der, int *len)
{
    *der = NULL;
    *len = 0;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype == V_ASN1_UNDEF)
        return S_OK;
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (!t)
        return E_OUTOFMEMORY;
    HRESULT hr = E_FAIL;
    if (ASN1_TYPE_set1(t, ptype, pval) == 1) {
        *len = i2d_ASN1_TYPE(t, der);
        hr = *len > 0 ? S_OK : E_FAIL;
    }
    ASN1_TYPE_free(t);
    return hr;
}

HRESULT derived_public_key_out(X509 *leaf, CERT_PUBLIC_KEY_INFO **out)
{
    *out = NULL;
    ASN1_OBJECT *oid = NULL;
    const unsigned char *bits = NULL;
    int nbits = 0;
    X509_ALGOR *alg = NULL;
    char oid_text[128];
    if (X509_PUBKEY_get0_param(&oid, &bits, &nbits, &alg, X509_get_X509_PUBKEY(leaf)) != 1 ||
        nbits <= 0) {
        ERR_clear_error();
        return E_FAIL;
    }
    int oid_len = OBJ_obj2txt(oid_text, sizeof(oid_text), oid, 1);
    if (oid_len <= 0 || oid_len >= (int)sizeof(oid_text)) {
        ERR_clear_error();
        return E_FAIL;
    }
    unsigned char *params = NULL;
    int nparams = 0;
    HRESULT hr = params_der(alg, &params, &nparams);
    if (FAILED(hr)) {
        ERR_clear_error();
        return hr;
    }
    size_t total = sizeof(CERT_PUBLIC_KEY_INFO) + (size_t)oid_len + 1 + (size_t)nparams +
                   (size_t)nbits;
    uint8_t *block = calloc(1, total);
    if (!block) {
        OPENSSL_free(params);
        return E_OUTOFMEMORY;
    }
    CERT_PUBLIC_KEY_INFO *info = (CERT_PUBLIC_KEY_INFO *)block;
    uint8_t *at = block + sizeof(*info);
    memcpy(at, oid_text, (size_t)oid_len + 1);
    info->Algorithm.pszObjId = (LPSTR)at;
    at += oid_len + 1;
    if (nparams) {
        memcpy(at, params, (size_t)nparams);
        info->Algorithm.Parameters = (CRYPT_OBJID_BLOB){(DWORD)nparams, at};
        at += nparams;
    }
    memcpy(at, bits, (size_t)nbits);
    info->PublicKey = (CRYPT_BIT_BLOB){(DWORD)nbits, at, 0};
    OPENSSL_free(params);
    *out = info;
    return S_OK;
}
