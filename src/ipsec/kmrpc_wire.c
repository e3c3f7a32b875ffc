/* kmrpc_wire.c - frames of the key-manager socket (kmrpc_wire.h). */
#include "ipsec/kmrpc_wire.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/keymgr.h"
#include "ipsec/secdesc.h"

/* --- writing --------------------------------------------------------------- */

static void reserve(struct kmrpc_out *o, size_t n)
{
    if (!o->ok)
        return;
    if (n > KMRPC_MAX_FRAME + 4u - o->len) {
        o->ok = false;
        return;
    }
    if (o->len + n <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n)
        cap *= 2;
    uint8_t *p = realloc(o->p, cap);
    if (!p) {
        o->ok = false;
        return;
    }
    o->p = p;
    o->cap = cap;
}

void kmrpc_put_bytes(struct kmrpc_out *o, const void *p, size_t n)
{
    reserve(o, n);
    if (!o->ok || n == 0)
        return;
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

void kmrpc_put_u8(struct kmrpc_out *o, uint8_t v)
{
    kmrpc_put_bytes(o, &v, 1);
}

void kmrpc_put_u32(struct kmrpc_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kmrpc_put_bytes(o, b, 4);
}

void kmrpc_put_u64(struct kmrpc_out *o, uint64_t v)
{
    kmrpc_put_u32(o, (uint32_t)(v >> 32));
    kmrpc_put_u32(o, (uint32_t)v);
}

void kmrpc_begin(struct kmrpc_out *o, uint8_t type, uint32_t id)
{
    *o = (struct kmrpc_out){.ok = true};
    kmrpc_put_u32(o, 0); /* the length, filled in by kmrpc_end */
    kmrpc_put_u8(o, type);
    kmrpc_put_bytes(o, "\0\0\0", 3);
    kmrpc_put_u32(o, id);
}

bool kmrpc_end(struct kmrpc_out *o)
{
    if (!o->ok || o->len < KMRPC_HEADER_SIZE) {
        kmrpc_out_free(o);
        return false;
    }
    uint32_t n = (uint32_t)(o->len - 4);
    o->p[0] = (uint8_t)(n >> 24);
    o->p[1] = (uint8_t)(n >> 16);
    o->p[2] = (uint8_t)(n >> 8);
    o->p[3] = (uint8_t)n;
    return true;
}

void kmrpc_out_free(struct kmrpc_out *o)
{
    /* NOTIFY and DICTATE_REPLY carry keys; they fit the first buffer, so
     * no copy was left behind by a realloc. */
    if (o->p)
        OPENSSL_cleanse(o->p, o->cap);
    free(o->p);
    *o = (struct kmrpc_out){0};
}

void kmrpc_put_str(struct kmrpc_out *o, const wchar_t *s)
{
    if (!s) {
        kmrpc_put_u32(o, KMRPC_NULL_STRING);
        return;
    }
    size_t n = wcslen(s);
    if (n > KMRPC_MAX_CHARS) {
        o->ok = false;
        return;
    }
    kmrpc_put_u32(o, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        kmrpc_put_u32(o, (uint32_t)s[i]);
}

void kmrpc_put_guid(struct kmrpc_out *o, const GUID *g)
{
    kmrpc_put_u32(o, g->Data1);
    kmrpc_put_u32(o, ((uint32_t)g->Data2 << 16) | g->Data3);
    kmrpc_put_bytes(o, g->Data4, 8);
}

void kmrpc_put_sa(struct kmrpc_out *o, const struct neg_sa_params *sa)
{
    kmrpc_put_u8(o, (uint8_t)sa->ip_version);
    kmrpc_put_bytes(o, sa->local_addr, 16);
    kmrpc_put_bytes(o, sa->remote_addr, 16);
    kmrpc_put_u32(o, sa->qm_sa_id);
    kmrpc_put_u64(o, sa->mm_sa_id);
    kmrpc_put_u32(o, sa->bundle_flags);
}

/* --- reading --------------------------------------------------------------- */

static uint64_t get_u64(struct wire_reader *r)
{
    uint64_t hi = wire_get_u32(r);
    return (hi << 32) | wire_get_u32(r);
}

static bool get_bool(struct wire_reader *r)
{
    uint8_t v = wire_get_u8(r);
    if (v > 1)
        wire_fail(r);
    return v == 1;
}

static void get_guid(struct wire_reader *r, GUID *g)
{
    g->Data1 = wire_get_u32(r);
    uint32_t d23 = wire_get_u32(r);
    g->Data2 = (uint16_t)(d23 >> 16);
    g->Data3 = (uint16_t)d23;
    wire_get_copy(r, g->Data4, 8);
}

/* Reads a string's length field: KMRPC_NULL_STRING or 0..KMRPC_MAX_CHARS;
 * returns false for anything else (the reader fails). */
static bool get_str_len(struct wire_reader *r, bool *present, uint32_t *n)
{
    *n = wire_get_u32(r);
    *present = *n != KMRPC_NULL_STRING;
    if (!*present)
        *n = 0;
    if (*n > KMRPC_MAX_CHARS || *n > wire_left(r) / 4)
        wire_fail(r);
    return r->ok;
}

/* Copies n code units into s (NUL-terminated); a 0 unit is refused so the
 * string the engine copies is exactly the one sent. */
static void get_units(struct wire_reader *r, wchar_t *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t u = wire_get_u32(r);
        if (u == 0 || u > (uint32_t)WCHAR_MAX)
            wire_fail(r);
        s[i] = (wchar_t)u;
    }
    s[n] = 0;
}

static void get_str(struct wire_reader *r, struct kmrpc_str *s)
{
    uint32_t n;
    if (get_str_len(r, &s->present, &n))
        get_units(r, s->s, n);
}

static void get_sa(struct wire_reader *r, struct neg_sa_params *sa)
{
    uint8_t v = wire_get_u8(r);
    if (v != FWP_IP_VERSION_V4 && v != FWP_IP_VERSION_V6)
        wire_fail(r);
    sa->ip_version = (FWP_IP_VERSION)v;
    wire_get_copy(r, sa->local_addr, 16);
    wire_get_copy(r, sa->remote_addr, 16);
    sa->qm_sa_id = wire_get_u32(r);
    sa->mm_sa_id = get_u64(r);
    sa->bundle_flags = wire_get_u32(r);
}

uint32_t kmrpc_frame_length(const uint8_t hdr[4])
{
    return ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
}

bool kmrpc_frame_parse(const uint8_t *frame, size_t len, uint8_t *type, uint32_t *id,
                       struct wire_reader *body)
{
    if (len < KMRPC_HEADER_SIZE || len - 4 > KMRPC_MAX_FRAME ||
        kmrpc_frame_length(frame) != len - 4 || frame[5] || frame[6] || frame[7])
        return false;
    *type = frame[4];
    struct wire_reader r;
    wire_reader_init(&r, frame + 8, 4);
    *id = wire_get_u32(&r);
    wire_reader_init(body, frame + KMRPC_HEADER_SIZE, len - KMRPC_HEADER_SIZE);
    return true;
}

bool kmrpc_frame_body(const uint8_t *frame, size_t len, uint8_t want_type,
                      struct wire_reader *body)
{
    uint8_t type;
    uint32_t id;
    return kmrpc_frame_parse(frame, len, &type, &id, body) && type == want_type;
}

bool kmrpc_get_open(struct wire_reader *r, struct kmrpc_open *m)
{
    if (wire_get_u16(r) != KMRPC_VERSION)
        wire_fail(r);
    m->flags = wire_get_u32(r);
    m->txn_wait_ms = wire_get_u32(r);
    get_guid(r, &m->key);
    get_str(r, &m->name);
    get_str(r, &m->desc);
    return wire_done(r);
}

bool kmrpc_get_u32_body(struct wire_reader *r, uint32_t *v)
{
    *v = wire_get_u32(r);
    return wire_done(r);
}

bool kmrpc_get_u64_body(struct wire_reader *r, uint64_t *v)
{
    *v = get_u64(r);
    return wire_done(r);
}

bool kmrpc_get_km_add(struct wire_reader *r, struct kmrpc_km_add *m)
{
    get_guid(r, &m->key);
    m->flags = wire_get_u32(r);
    m->hint = wire_get_u8(r);
    m->callbacks = wire_get_u8(r);
    if (m->callbacks & ~(KMRPC_CB_CHECK | KMRPC_CB_DICTATE | KMRPC_CB_NOTIFY))
        wire_fail(r);
    get_str(r, &m->name);
    get_str(r, &m->desc);
    return wire_done(r);
}

bool kmrpc_get_sec_get(struct wire_reader *r, bool *reserved, UINT32 *info)
{
    *reserved = get_bool(r);
    *info = wire_get_u32(r);
    return wire_done(r);
}

static void get_part(struct wire_reader *r, struct kmrpc_part *p, uint32_t max)
{
    p->present = get_bool(r);
    p->len = wire_get_u32(r);
    if (p->len > max || (!p->present && p->len))
        wire_fail(r);
    p->bytes = r->ok ? wire_get_bytes(r, p->len) : NULL;
}

bool kmrpc_get_sec_set(struct wire_reader *r, struct kmrpc_sec_set *m)
{
    m->reserved = get_bool(r);
    m->info = wire_get_u32(r);
    get_part(r, &m->owner, sizeof(SID));
    get_part(r, &m->group, sizeof(SID));
    get_part(r, &m->dacl, KMRPC_MAX_ACL);
    get_part(r, &m->sacl, KMRPC_MAX_ACL);
    return wire_done(r);
}

bool kmrpc_get_check_reply(struct wire_reader *r, bool *will, uint32_t *weight)
{
    *will = get_bool(r);
    *weight = wire_get_u32(r);
    return wire_done(r);
}

bool kmrpc_get_dictate_reply(struct wire_reader *r, struct kmrpc_dictate_reply *m)
{
    m->status = wire_get_u32(r);
    m->gen = get_bool(r);
    for (int i = 0; i < 4; i++) {
        struct kmrpc_blob *b = &m->blobs[i];
        b->size = wire_get_u32(r);
        b->has_data = get_bool(r);
        if (b->has_data && b->size > KMRPC_MAX_BLOB)
            wire_fail(r);
        if (b->has_data && r->ok)
            wire_get_copy(r, b->data, b->size);
    }
    return wire_done(r);
}

bool kmrpc_get_reply(struct wire_reader *r, struct kmrpc_reply *m)
{
    m->status = wire_get_u32(r);
    m->value = get_u64(r);
    m->data_len = wire_get_u32(r);
    m->data = r->ok && m->data_len <= wire_left(r) ? wire_get_bytes(r, m->data_len) : NULL;
    if (!m->data && m->data_len)
        wire_fail(r);
    return wire_done(r);
}

bool kmrpc_get_callback(struct wire_reader *r, uint8_t type, struct kmrpc_callback *m)
{
    memset(m, 0, sizeof(*m));
    m->registration = get_u64(r);
    if (type == KMRPC_CHECK) {
        uint8_t v = wire_get_u8(r);
        if (v != FWP_IP_VERSION_V4 && v != FWP_IP_VERSION_V6)
            wire_fail(r);
        m->sa.ip_version = (FWP_IP_VERSION)v;
        wire_get_copy(r, m->sa.local_addr, 16);
        wire_get_copy(r, m->sa.remote_addr, 16);
        return wire_done(r);
    }
    if (type != KMRPC_DICTATE && type != KMRPC_NOTIFY)
        return false;
    get_sa(r, &m->sa);
    m->in_spi = wire_get_u32(r);
    if (type == KMRPC_NOTIFY)
        wire_get_copy(r, m->keys_in, ESP_KEYMAT_SIZE);
    m->out_spi = wire_get_u32(r);
    if (type == KMRPC_NOTIFY)
        wire_get_copy(r, m->keys_out, ESP_KEYMAT_SIZE);
    return wire_done(r);
}

/* --- the key-manager list ---------------------------------------------------- */

void kmrpc_put_list_entry(struct kmrpc_out *o, const IPSEC_KEY_MANAGER0 *km)
{
    kmrpc_put_guid(o, &km->keyManagerKey);
    kmrpc_put_u32(o, km->flags);
    kmrpc_put_u8(o, km->keyDictationTimeoutHint);
    kmrpc_put_str(o, km->displayData.name);
    kmrpc_put_str(o, km->displayData.description);
}

/* One entry's fixed part and the two strings: into e (strings into pool at
 * *used) when e is not NULL, else only checked and counted. */
static void get_entry(struct wire_reader *r, IPSEC_KEY_MANAGER0 *e, wchar_t *pool, size_t *used)
{
    IPSEC_KEY_MANAGER0 tmp;
    IPSEC_KEY_MANAGER0 *d = e ? e : &tmp;
    get_guid(r, &d->keyManagerKey);
    d->flags = wire_get_u32(r);
    d->keyDictationTimeoutHint = wire_get_u8(r);
    wchar_t **slots[2] = {&d->displayData.name, &d->displayData.description};
    for (int i = 0; i < 2; i++) {
        bool present;
        uint32_t n;
        *slots[i] = NULL;
        if (!get_str_len(r, &present, &n))
            return;
        if (e && present) {
            *slots[i] = pool + *used;
            get_units(r, pool + *used, n);
        } else if (!wire_get_bytes(r, (size_t)n * 4)) {
            return;
        }
        if (present)
            *used += n + 1;
    }
}

bool kmrpc_get_list(const uint8_t *data, size_t len, IPSEC_KEY_MANAGER0 ***entries, UINT32 *n,
                    bool *oom)
{
    *entries = NULL;
    *n = 0;
    *oom = false;
    struct wire_reader r;
    wire_reader_init(&r, data, len);
    uint32_t count = wire_get_u32(&r);
    if (!r.ok || count > KMRPC_MAX_LIST)
        return false;
    /* First pass: every entry well formed, and how many characters. */
    size_t chars = 0;
    for (uint32_t i = 0; i < count && r.ok; i++)
        get_entry(&r, NULL, NULL, &chars);
    if (!wire_done(&r))
        return false;
    if (count == 0)
        return true;
    IPSEC_KEY_MANAGER0 *items = calloc(count, sizeof(*items));
    wchar_t *pool = calloc(chars + 1, sizeof(wchar_t));
    bool ok = items && pool;
    if (ok) {
        wire_reader_init(&r, data, len);
        (void)wire_get_u32(&r);
        size_t used = 0;
        for (uint32_t i = 0; i < count; i++)
            get_entry(&r, &items[i], pool, &used);
        ok = ipsec_keymgr_pack_list(items, count, entries) == ERROR_SUCCESS;
    }
    free(items);
    free(pool);
    if (!ok) {
        *oom = true;
        return false;
    }
    *n = count;
    return true;
}

/* --- security descriptors ------------------------------------------------------ */

static uint32_t get32_host(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static size_t sid_len_at(const uint8_t *sd, size_t len, size_t off)
{
    if (off < sizeof(SECURITY_DESCRIPTOR_RELATIVE) || off > len || len - off < 8 ||
        sd[off + 1] > SID_MAX_SUB_AUTHORITIES || len - off < 8u + 4u * sd[off + 1])
        return 0;
    return ipsec_sid_length((const SID *)(const void *)(sd + off));
}

static bool acl_ok_at(const uint8_t *sd, size_t len, size_t off, bool is_sacl)
{
    if (off < sizeof(SECURITY_DESCRIPTOR_RELATIVE) || off % 4 || off > len || len - off < 8)
        return false;
    uint16_t size;
    memcpy(&size, sd + off + 2, 2);
    return size <= len - off &&
           ipsec_acl_copy((const ACL *)(const void *)(sd + off), is_sacl, NULL) == ERROR_SUCCESS;
}

size_t kmrpc_sd_length(const void *sd)
{
    SECURITY_DESCRIPTOR_RELATIVE h;
    memcpy(&h, sd, sizeof(h));
    const uint8_t *b = sd;
    size_t end = sizeof(h);
    uint16_t acl_size;
    if (h.Sacl) {
        memcpy(&acl_size, b + h.Sacl + 2, 2);
        end = h.Sacl + acl_size > end ? h.Sacl + acl_size : end;
    }
    if (h.Dacl) {
        memcpy(&acl_size, b + h.Dacl + 2, 2);
        end = h.Dacl + acl_size > end ? h.Dacl + acl_size : end;
    }
    if (h.Owner && h.Owner + ipsec_sid_length((const SID *)(const void *)(b + h.Owner)) > end)
        end = h.Owner + ipsec_sid_length((const SID *)(const void *)(b + h.Owner));
    if (h.Group && h.Group + ipsec_sid_length((const SID *)(const void *)(b + h.Group)) > end)
        end = h.Group + ipsec_sid_length((const SID *)(const void *)(b + h.Group));
    return end;
}

bool kmrpc_sd_parts(const uint8_t *sd, size_t len, PSID *owner, PSID *group, PACL *dacl,
                    PACL *sacl)
{
    if (len < sizeof(SECURITY_DESCRIPTOR_RELATIVE) || sd[0] != SECURITY_DESCRIPTOR_REVISION)
        return false;
    uint32_t o = get32_host(sd + 4), g = get32_host(sd + 8);
    uint32_t s = get32_host(sd + 12), d = get32_host(sd + 16);
    if ((o && !sid_len_at(sd, len, o)) || (g && !sid_len_at(sd, len, g)) ||
        (d && !acl_ok_at(sd, len, d, false)) || (s && !acl_ok_at(sd, len, s, true)))
        return false;
    uint8_t *b = (uint8_t *)sd;
    if (owner)
        *owner = o ? b + o : NULL;
    if (group)
        *group = g ? b + g : NULL;
    if (dacl)
        *dacl = d ? (PACL)(void *)(b + d) : NULL;
    if (sacl)
        *sacl = s ? (PACL)(void *)(b + s) : NULL;
    return true;
}
