/*
 * engine_auth.c - DRT_SECURE_MEMBERSHIP and DRT_SECURE_CONFIDENTIALPAYLOAD:
 * the requests a node answers for others (REQUEST, INQUIRE, LOOKUP) carry
 * its CREDENTIAL, a SIGNATURE and a KEY_IDENTIFIER ([MC-DRT] §2.2.2.3,
 * §2.2.2.5, §2.2.2.8), and a node drops such a request unless the
 * credential chains to its root and the signature checks out. A node in
 * DRT_SECURE_RESOLVE drops requests that carry them: nodes of different
 * modes never answer each other, so they never cache each other.
 *
 * What is signed (docs/PROTOCOL.md, "Request signatures"): three buffers,
 * the mode (one byte, so a membership node's signature does not pass in a
 * confidential mesh nor the reverse), the 12-byte DRT_HEADER (type and
 * MessageID), and the bytes after the header up to the SIGNATURE field
 * (the CREDENTIAL field and the padding after it included); for a REQUEST
 * from its body (NONCE) on, since FLAGS and SPLIT_CONTROLS differ between
 * fragments. KEY_IDENTIFIER follows the signature and is not covered; the
 * provider ties it to the credential.
 *
 * Which requests pass is the provider's decision: the engine hands it what
 * came (an absent field as an empty one). The null provider's credential
 * and signature are empty, so its fields are left out and it accepts
 * exactly that; the derived-key provider refuses it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

bool engine_auth_required(const struct drt_engine *e, uint8_t type)
{
    return e->cfg.mode != DRT_SECURE_RESOLVE &&
           (type == WIRE_REQUEST || type == WIRE_INQUIRE || type == WIRE_LOOKUP);
}

static struct wire_auth *auth_of(struct wire_msg *m)
{
    switch (m->hdr.type) {
    case WIRE_REQUEST:
        return &m->u.request.auth;
    case WIRE_INQUIRE:
        return &m->u.inquire.auth;
    case WIRE_LOOKUP:
        return &m->u.lookup.auth;
    default:
        return NULL;
    }
}

/* Where a whole REQUEST's body starts: after the header, FLAGS (6 bytes
 * and 2 of padding) and SPLIT_CONTROLS. */
#define REQUEST_BODY_OFFSET (WIRE_HEADER_SIZE + 8u + 8u)

static void signed_buffers(const struct drt_engine *e, const uint8_t *hdr, const uint8_t *body,
                           size_t body_len, struct drt_engine_blob bufs[3], uint8_t *mode)
{
    *mode = (uint8_t)e->cfg.mode;
    bufs[0] = (struct drt_engine_blob){mode, 1};
    bufs[1] = (struct drt_engine_blob){hdr, WIRE_HEADER_SIZE};
    bufs[2] = (struct drt_engine_blob){body, body_len};
}

bool engine_auth_sign(struct drt_engine *e, struct wire_msg *m)
{
    const struct drt_engine_security *sec = e->cfg.security;
    struct wire_auth *a = auth_of(m);
    if (!a)
        return false;
    struct drt_engine_blob cred = sec->credential(sec->ctx);
    *a = (struct wire_auth){{cred.len ? cred.p : NULL, cred.len}, {NULL, 0}, {NULL, 0}};
    /* The signed part: the message encoded so far, ending with the
     * CREDENTIAL field, padded to where SIGNATURE will start; a REQUEST
     * without FLAGS and SPLIT_CONTROLS, whose body then starts right after
     * the header at the same alignment. */
    struct wire_msg copy = *m;
    if (copy.hdr.type == WIRE_REQUEST)
        copy.u.request.has_split = false;
    size_t len;
    if (FAILED(wire_encode(&copy, e->buf->scratch2, sizeof(e->buf->scratch2) - 3, &len)) ||
        len <= WIRE_HEADER_SIZE)
        return false;
    while (len % 4)
        e->buf->scratch2[len++] = 0;
    struct drt_engine_blob bufs[3];
    uint8_t mode;
    signed_buffers(e, e->buf->scratch2, e->buf->scratch2 + WIRE_HEADER_SIZE, len - WIRE_HEADER_SIZE, bufs,
                   &mode);
    if (!e->auth && !(e->auth = malloc(sizeof(*e->auth))))
        return false;
    size_t id_len = sizeof(e->auth->key_id), sig_len = sizeof(e->auth->sig);
    if (FAILED(sec->sign(sec->ctx, bufs, 3, e->auth->key_id, &id_len, e->auth->sig, &sig_len)) ||
        id_len > sizeof(e->auth->key_id) || sig_len > sizeof(e->auth->sig))
        return false;
    if (sig_len)
        a->signature = (struct wire_blob){e->auth->sig, sig_len};
    if (id_len)
        a->key_identifier = (struct wire_blob){e->auth->key_id, id_len};
    return true;
}

bool engine_auth_check(struct drt_engine *e, const uint8_t *hdr, const uint8_t *body,
                       size_t body_len, const struct wire_auth *a)
{
    const struct drt_engine_security *sec = e->cfg.security;
    size_t signed_len = body_len;
    if (a->signature.p) {
        /* The signature's field header starts where the signed bytes end. */
        if (a->signature.p < body + 4 || a->signature.p > body + body_len)
            return false;
        signed_len = (size_t)(a->signature.p - 4 - body);
    }
    struct drt_engine_blob bufs[3];
    uint8_t mode;
    signed_buffers(e, hdr, body, signed_len, bufs, &mode);
    struct drt_engine_auth in = {{a->credential.p, a->credential.len},
                                 {a->key_identifier.p, a->key_identifier.len},
                                 {a->signature.p, a->signature.len}};
    return SUCCEEDED(sec->verify(sec->ctx, bufs, 3, &in));
}

/* Whether request m (whole, not a fragment) may be served: in the higher
 * modes it must prove its sender; in resolve mode it must not try to
 * (another mode's node). */
bool engine_auth_admit(struct drt_engine *e, const uint8_t *buf, size_t len,
                       const struct wire_msg *m)
{
    const struct wire_auth *a = NULL;
    const uint8_t *body = buf + WIRE_HEADER_SIZE;
    switch (m->hdr.type) {
    case WIRE_REQUEST:
        a = &m->u.request.auth;
        /* FLAGS and SPLIT_CONTROLS are there exactly in the higher modes. */
        if (m->u.request.has_split != (e->cfg.mode != DRT_SECURE_RESOLVE))
            return false;
        if (m->u.request.fragment.p) /* checked once reassembled */
            return true;
        body = buf + REQUEST_BODY_OFFSET;
        break;
    case WIRE_INQUIRE:
        a = &m->u.inquire.auth;
        break;
    case WIRE_LOOKUP:
        a = &m->u.lookup.auth;
        break;
    default:
        return true;
    }
    if (e->cfg.mode == DRT_SECURE_RESOLVE)
        return !a->credential.p && !a->signature.p && !a->key_identifier.p;
    return engine_auth_check(e, buf, body, (size_t)(buf + len - body), a);
}
