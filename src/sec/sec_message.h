/*
 * sec_message.h - DRT_SECURE_MEMBERSHIP: a node signs the requests it
 * sends with its certificate's key, and a receiver checks the signature
 * with the certificate the request carries (docs/SECURITY.md,
 * "Membership"). The signature covers SEC_MESSAGE_LABEL followed by the
 * buffers, back to back; the label keeps it from being taken for a record
 * signature (SEC_RECORD_LABEL) made with the same key. The algorithm is the
 * key type's (sec_sign.h).
 */
#ifndef DRT_SEC_MESSAGE_H
#define DRT_SEC_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#define SEC_MESSAGE_LABEL "libdrt signed message v1"
#define SEC_MESSAGE_MAX 65536 /* the buffers together; a datagram is smaller */

/* *sig is OPENSSL_malloc'ed. E_INVALIDARG for buffers over
 * SEC_MESSAGE_MAX, DRT_E_CAPABILITY_MISMATCH, E_OUTOFMEMORY. */
HRESULT sec_message_sign(EVP_PKEY *priv, const DRT_DATA *bufs, size_t n, uint8_t **sig,
                         size_t *sig_len);
bool sec_message_verify(EVP_PKEY *pub, const DRT_DATA *bufs, size_t n, const uint8_t *sig,
                        size_t sig_len);

#endif
