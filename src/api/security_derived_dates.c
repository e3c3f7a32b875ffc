/*
 * security_derived_dates.c - the validity dates of the certificates a
 * derived key's records depend on: the key's certificate, the
 * intermediates given with it (pChain) and the provider's root. Every
 * resolver refuses a record as soon as one of them is outside its validity
 * period (sec_chain_verify checks them all against its own clock), so the
 * earliest notAfter among them is the key's lifetime (docs/SECURITY.md,
 * "Key lifetime").
 *
 * Comparisons follow OpenSSL's own verification: a certificate is valid
 * from notBefore (inclusive) and expired from notAfter (inclusive), at one
 * second's resolution.
 */
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "api/security_derived.h"

/* The certificates in question: the leaf, then pChain, then the root. */
static X509 *cert_at(X509 *root, PCCERT_CONTEXT cert, int i)
{
    int nchain = cert->pChain ? sk_X509_num(cert->pChain) : 0;
    if (i == 0)
        return cert->pCert;
    if (i <= nchain)
        return sk_X509_value(cert->pChain, i - 1);
    return i == nchain + 1 ? root : NULL;
}

static int cert_count(PCCERT_CONTEXT cert)
{
    return 2 + (cert->pChain ? sk_X509_num(cert->pChain) : 0);
}

bool derived_dates_valid(X509 *root, PCCERT_CONTEXT cert, time_t now)
{
    if (!root || !cert || !cert->pCert)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < cert_count(cert); i++) {
        X509 *c = cert_at(root, cert, i);
        /* X509_cmp_time: -1 when the certificate's time is at or before
         * now, 1 when after, 0 when it cannot be read. */
        ok = c && X509_cmp_time(X509_get0_notBefore(c), &now) == -1 &&
             X509_cmp_time(X509_get0_notAfter(c), &now) == 1;
    }
    ERR_clear_error();
    return ok;
}

/* t as seconds since 1970-01-01 00:00:00 UTC, through ASN1_TIME_diff so
 * that no time zone or time_t width is involved. */
static bool asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;
    bool ok = epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;
    ASN1_TIME_free(epoch);
    if (ok)
        *out = (int64_t)days * 86400 + secs;
    return ok;
}

bool derived_not_after(X509 *root, PCCERT_CONTEXT cert, int64_t *not_after)
{
    if (!root || !cert || !cert->pCert || !not_after)
        return false;
    bool ok = true;
    int64_t earliest = INT64_MAX;
    for (int i = 0; ok && i < cert_count(cert); i++) {
        X509 *c = cert_at(root, cert, i);
        int64_t t = 0;
        ok = c && asn1_to_unix(X509_get0_notAfter(c), &t);
        if (ok && t < earliest)
            earliest = t;
    }
    ERR_clear_error();
    if (ok)
        *not_after = earliest;
    return ok;
}
