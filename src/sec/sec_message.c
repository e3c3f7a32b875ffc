/* sec_message.c - request signatures of the membership mode (sec_message.h). */
#include <stdlib.h>
#include <string.h>

#include "sec/sec_message.h"
#include "sec/sec_sign.h"

/* LABEL || bufs, in one malloc'ed block; NULL when too long or short of
 * memory. */
static uint8_t *concat(const DRT_DATA *bufs, size_t n, size_t *len)
{
    size_t total = sizeof(SEC_MESSAGE_LABEL) - 1;
    for (size_t i = 0; i < n; i++) {
        if ((bufs[i].cb && !bufs[i].pb) || bufs[i].cb > SEC_MESSAGE_MAX - total)
            return NULL;
        total += bufs[i].cb;
    }
    uint8_t *m = malloc(total);
    if (!m)
        return NULL;
    memcpy(m, SEC_MESSAGE_LABEL, sizeof(SEC_MESSAGE_LABEL) - 1);
    size_t pos = sizeof(SEC_MESSAGE_LABEL) - 1;
    for (size_t i = 0; i < n; i++) {
        if (bufs[i].cb)
            memcpy(m + pos, bufs[i].pb, bufs[i].cb);
        pos += bufs[i].cb;
    }
    *len = total;
    return m;
}

HRESULT sec_message_sign(EVP_PKEY *priv, const DRT_DATA *bufs, size_t n, uint8_t **sig,
                         size_t *sig_len)
{
    *sig = NULL;
    *sig_len = 0;
    size_t len = 0;
    uint8_t *m = concat(bufs, n, &len);
    if (!m)
        return E_INVALIDARG;
    HRESULT hr = sec_sign(priv, m, len, sig, sig_len);
    free(m);
    return hr;
}

bool sec_message_verify(EVP_PKEY *pub, const DRT_DATA *bufs, size_t n, const uint8_t *sig,
                        size_t sig_len)
{
    size_t len = 0;
    uint8_t *m = concat(bufs, n, &len);
    if (!m)
        return false;
    bool ok = sec_verify(pub, sec_alg_of(pub), m, len, sig, sig_len);
    free(m);
    return ok;
}
