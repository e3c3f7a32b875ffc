/*
 * keying_server.c - DrtKeyingSocketListen / DrtKeyingSocketClose and the
 * engine's side of the key-manager socket (keying_server.h).
 *
 * Threads: the accept thread takes connections and records the peer's
 * credentials; each connection's reader takes its frames and hands
 * callback answers to the negotiation that waits for them, and its call
 * thread runs the client's API calls, in order, against the process-wide
 * engine as the peer's identity. A negotiation
 * calling a remote key manager writes the request itself (bounded by the
 * registration's timeout hint) and waits on the server's condition
 * variable for the answer, the connection's end, or the deadline.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/fwpm_engine.h"
#include "api/keying_server.h"
#include "io/io_kmsock.h"
#include "ipsec/keymgr.h"
#include "ipsec/kmrpc_wire.h"
#include "util/export.h"

/* At most this many clients at once; more are closed at accept. */
#define KMS_MAX_CONNECTIONS 64u
/* API calls of one client waiting for its call thread; more end the
 * connection (a client's calls are synchronous: one per thread). */
#define KMS_MAX_QUEUED_CALLS 64u
/* A reply to one API call must be written within this. */
#define KMS_REPLY_WRITE_MS 5000u
/* What a call's handler returns for a body that did not decode: no engine
 * call returns it, and it ends the connection instead of being answered. */
#define KMS_BAD_FRAME RPC_E_SERVERFAULT

/* An API call read from a client, waiting for its connection's call
 * thread. */
struct kms_call {
    uint8_t *frame;
    size_t len;
    struct kms_call *next;
};

/* Each connection has two threads: its reader takes every frame (callback
 * answers go at once to the negotiation waiting for them), its call thread
 * runs the client's API calls in order, so a call that waits in the engine
 * (a transaction begin waiting for the writer) never holds up an answer. */
struct kms_conn {
    uint64_t id;
    int fd;
    struct ipsec_caller caller;
    HANDLE session; /* the engine session, NULL until OPEN (call thread) */
    pthread_mutex_t write_lock;
    bool dead;      /* read side ended: no answer will come any more */
    unsigned users; /* negotiations inside a call on it (server lock) */
    pthread_t call_thread;
    pthread_mutex_t calls_lock;
    pthread_cond_t calls_cv;
    struct kms_call *calls, *calls_tail;
    unsigned ncalls;
    bool reading_done; /* the reader ended: the call thread leaves */
    struct kms_conn *next;
};

/* A callback waiting for its answer. */
struct kms_pending {
    uint64_t conn;
    uint32_t id;
    uint8_t *frame; /* the answer, once it came */
    size_t len;
    struct kms_pending *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cv; /* answers, connection ends, thread exits */
    pthread_once_t once;
    bool running;
    int listen_fd;
    pthread_t accept_thread;
    char path[108];
    struct kms_conn *conns;
    unsigned nconns; /* connections whose reader is alive */
    struct kms_pending *pending;
    uint64_t next_conn;
    uint32_t next_call;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT, .listen_fd = -1};

static void init_cv(void)
{
    kmsock_cond_init(&S.cv);
}

static struct kms_conn *conn_find(uint64_t id)
{
    for (struct kms_conn *c = S.conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* Under S.lock: unlinks and frees c once its thread ended and no
 * negotiation is inside a call on it. */
static void conn_release(struct kms_conn *c)
{
    if (!c->dead || c->users || c->fd >= 0)
        return;
    for (struct kms_conn **p = &S.conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_destroy(&c->write_lock);
    pthread_mutex_destroy(&c->calls_lock);
    pthread_cond_destroy(&c->calls_cv);
    free(c);
}

/* --- the callbacks of remote key managers (from negotiation threads) ------- */

/* Sends a callback frame built by `build` and, when want_answer, waits up
 * to timeout_ms for its answer (*answer, malloc'd). Returns ERROR_SUCCESS,
 * RPC_E_DISCONNECTED (the client is gone) or RPC_E_TIMEOUT. */
static DWORD remote_call(uint64_t conn_id, uint8_t type, uint32_t timeout_ms,
                         void (*build)(struct kmrpc_out *o, const void *arg), const void *arg,
                         bool want_answer, uint8_t **answer, size_t *answer_len)
{
    uint64_t deadline = kmsock_now_ms() + timeout_ms;
    struct kms_pending p = {.conn = conn_id};
    pthread_mutex_lock(&S.lock);
    struct kms_conn *c = conn_find(conn_id);
    if (!c || c->dead) {
        pthread_mutex_unlock(&S.lock);
        return RPC_E_DISCONNECTED;
    }
    c->users++;
    p.id = ++S.next_call;
    if (want_answer) {
        p.next = S.pending;
        S.pending = &p;
    }
    pthread_mutex_unlock(&S.lock);

    struct kmrpc_out o;
    kmrpc_begin(&o, type, p.id);
    build(&o, arg);
    int wrc = kmsock_send_frame(&c->write_lock, &c->fd, &o, deadline);

    pthread_mutex_lock(&S.lock);
    while (want_answer && wrc == 0 && !p.frame && !c->dead && kmsock_now_ms() < deadline)
        kmsock_cond_wait_until(&S.cv, &S.lock, deadline);
    if (want_answer) {
        for (struct kms_pending **q = &S.pending; *q; q = &(*q)->next) {
            if (*q == &p) {
                *q = p.next;
                break;
            }
        }
    }
    bool dead = c->dead;
    c->users--;
    conn_release(c);
    pthread_mutex_unlock(&S.lock);
    if (p.frame) {
        *answer = p.frame;
        *answer_len = p.len;
        return ERROR_SUCCESS;
    }
    if (!want_answer && wrc == 0)
        return ERROR_SUCCESS;
    return dead || (wrc != 0 && wrc != -ETIMEDOUT) ? RPC_E_DISCONNECTED : RPC_E_TIMEOUT;
}

struct cb_args {
    const struct ipsec_keymgr_pin *pin;
    const struct neg_sa_params *p;
    const struct neg_sa_view *in, *out;
};

static void build_check(struct kmrpc_out *o, const void *arg)
{
    const struct cb_args *a = arg;
    kmrpc_put_u64(o, (uint64_t)(uintptr_t)a->pin->registration);
    kmrpc_put_u8(o, (uint8_t)a->p->ip_version);
    kmrpc_put_bytes(o, a->p->local_addr, 16);
    kmrpc_put_bytes(o, a->p->remote_addr, 16);
}

static void build_dictate(struct kmrpc_out *o, const void *arg)
{
    const struct cb_args *a = arg;
    kmrpc_put_u64(o, (uint64_t)(uintptr_t)a->pin->registration);
    kmrpc_put_sa(o, a->p);
    kmrpc_put_u32(o, a->in->sa.spi);
    kmrpc_put_u32(o, a->out->sa.spi);
}

static void build_notify(struct kmrpc_out *o, const void *arg)
{
    const struct cb_args *a = arg;
    kmrpc_put_u64(o, (uint64_t)(uintptr_t)a->pin->registration);
    kmrpc_put_sa(o, a->p);
    kmrpc_put_u32(o, a->in->sa.spi);
    kmrpc_put_bytes(o, a->in->key, ESP_KEYMAT_SIZE);
    kmrpc_put_u32(o, a->out->sa.spi);
    kmrpc_put_bytes(o, a->out->key, ESP_KEYMAT_SIZE);
}

static uint32_t pin_deadline_ms(const struct ipsec_keymgr_pin *pin)
{
    return (uint32_t)pin->timeout_s * 1000u;
}

static void remote_check(void *ctx, const struct ipsec_keymgr_pin *pin,
                         const struct neg_sa_params *p, bool *will, uint32_t *weight)
{
    (void)ctx;
    *will = false;
    *weight = 0;
    struct cb_args a = {.pin = pin, .p = p};
    uint8_t *f = NULL;
    size_t n = 0;
    if (remote_call(pin->remote, KMRPC_CHECK, pin_deadline_ms(pin), build_check, &a, true, &f,
                    &n) != ERROR_SUCCESS)
        return;
    struct wire_reader r;
    bool w;
    uint32_t wt;
    if (kmrpc_frame_body(f, n, KMRPC_CHECK_REPLY, &r) && kmrpc_get_check_reply(&r, &w, &wt)) {
        *will = w;
        *weight = wt;
    }
    free(f);
}

/* Writes one direction's answered slots into v: both slots ESP_KEYMAT_SIZE
 * with the same bytes go into its key; anything else leaves a size the
 * negotiation refuses (FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL). */
static void take_blobs(struct neg_sa_view *v, const struct kmrpc_blob *c,
                       const struct kmrpc_blob *a)
{
    if (c->size == ESP_KEYMAT_SIZE && a->size == ESP_KEYMAT_SIZE && c->has_data &&
        a->has_data && memcmp(c->data, a->data, ESP_KEYMAT_SIZE) == 0) {
        memcpy(v->key, c->data, ESP_KEYMAT_SIZE);
        return;
    }
    v->info.saCipherInformation.cipherKey.size = 0;
}

static DWORD remote_dictate(void *ctx, const struct ipsec_keymgr_pin *pin,
                            const struct neg_sa_params *p, struct neg_sa_view *in,
                            struct neg_sa_view *out, BOOL *gen)
{
    (void)ctx;
    *gen = FALSE;
    struct cb_args a = {.pin = pin, .p = p, .in = in, .out = out};
    uint8_t *f = NULL;
    size_t n = 0;
    DWORD rc = remote_call(pin->remote, KMRPC_DICTATE, pin_deadline_ms(pin), build_dictate, &a,
                           true, &f, &n);
    if (rc == RPC_E_TIMEOUT)
        return FWP_E_TIMEOUT; /* a late dictator (docs/KEYING.md §4.2) */
    if (rc != ERROR_SUCCESS)
        return rc;
    struct wire_reader r;
    struct kmrpc_dictate_reply *d = calloc(1, sizeof(*d));
    if (!d) {
        free(f);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    if (!kmrpc_frame_body(f, n, KMRPC_DICTATE_REPLY, &r) || !kmrpc_get_dictate_reply(&r, d)) {
        rc = RPC_E_SERVERFAULT;
    } else {
        rc = d->status;
        *gen = d->gen;
        if (rc == ERROR_SUCCESS) {
            take_blobs(in, &d->blobs[0], &d->blobs[1]);
            take_blobs(out, &d->blobs[2], &d->blobs[3]);
        }
    }
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
    OPENSSL_cleanse(f, n);
    free(f);
    return rc;
}

static void remote_notify(void *ctx, const struct ipsec_keymgr_pin *pin,
                          const struct neg_sa_params *p, const struct neg_sa_view *in,
                          const struct neg_sa_view *out)
{
    (void)ctx;
    struct cb_args a = {.pin = pin, .p = p, .in = in, .out = out};
    (void)remote_call(pin->remote, KMRPC_NOTIFY, pin_deadline_ms(pin), build_notify, &a, false,
                      NULL, NULL);
}

const struct neg_remote_ops keying_server_remote_ops = {
    .check = remote_check,
    .dictate = remote_dictate,
    .notify = remote_notify,
};

/* --- API calls from a client (on its connection's call thread) ----------- */

/* The registry needs callbacks to validate a registration; a remote one is
 * reached through keying_server_remote_ops instead, so these never run. */
static void CALLBACK stub_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *weight)
{
    (void)t;
    *will = FALSE;
    *weight = 0;
}

static DWORD CALLBACK stub_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    *gen = FALSE;
    return RPC_E_DISCONNECTED;
}

static void CALLBACK stub_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

struct reply {
    DWORD status;
    uint64_t value;
    struct kmrpc_out data; /* ok with len 0: no data */
};

static DWORD do_open(struct kms_conn *c, struct wire_reader *r)
{
    struct kmrpc_open *m = calloc(1, sizeof(*m));
    if (!m)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD rc = KMS_BAD_FRAME;
    if (kmrpc_get_open(r, m)) {
        FWPM_SESSION0 s = {
            .sessionKey = m->key,
            .displayData = {.name = m->name.present ? m->name.s : NULL,
                            .description = m->desc.present ? m->desc.s : NULL},
            .flags = m->flags,
            .txnWaitTimeoutInMSec = m->txn_wait_ms,
        };
        rc = fwpm_open_as(&c->caller, &s, &c->session);
    }
    free(m);
    return rc;
}

static DWORD do_km_add(struct kms_conn *c, struct wire_reader *r, uint64_t *value)
{
    struct kmrpc_km_add *m = calloc(1, sizeof(*m));
    if (!m)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD rc = KMS_BAD_FRAME;
    if (kmrpc_get_km_add(r, m)) {
        IPSEC_KEY_MANAGER0 km = {
            .keyManagerKey = m->key,
            .displayData = {.name = m->name.present ? m->name.s : NULL,
                            .description = m->desc.present ? m->desc.s : NULL},
            .flags = m->flags,
            .keyDictationTimeoutHint = m->hint,
        };
        IPSEC_KEY_MANAGER_CALLBACKS0 cb = {
            .keyDictationCheck = (m->callbacks & KMRPC_CB_CHECK) ? stub_check : NULL,
            .keyDictation = (m->callbacks & KMRPC_CB_DICTATE) ? stub_dictate : NULL,
            .keyNotify = (m->callbacks & KMRPC_CB_NOTIFY) ? stub_notify : NULL,
        };
        HANDLE h = NULL;
        rc = IPsecKeyManagerAddAndRegister0(c->session, &km, &cb, &h);
        *value = (uint64_t)(uintptr_t)h;
    }
    free(m);
    return rc;
}

/* Unregistering does not wait here for callbacks in flight: the callback
 * may be the one making this call (a key manager unregistering itself),
 * whose answer comes only after our reply. The client waits for its own
 * callbacks instead. */
static DWORD do_km_remove(struct kms_conn *c, struct wire_reader *r)
{
    uint64_t reg;
    if (!kmrpc_get_u64_body(r, &reg))
        return KMS_BAD_FRAME;
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_remove(e, c->session, (HANDLE)(uintptr_t)reg);
    fwpm_unlock();
    return rc;
}

static DWORD do_km_list(struct kms_conn *c, struct kmrpc_out *data)
{
    IPSEC_KEY_MANAGER0 **entries = NULL;
    UINT32 n = 0;
    DWORD rc = IPsecKeyManagersGet0(c->session, &entries, &n);
    if (rc != ERROR_SUCCESS)
        return rc;
    kmrpc_put_u32(data, n);
    for (UINT32 i = 0; i < n; i++)
        kmrpc_put_list_entry(data, entries[i]);
    FwpmFreeMemory0((void **)&entries);
    return data->ok ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

static DWORD do_sec_get(struct kms_conn *c, struct wire_reader *r, struct kmrpc_out *data)
{
    bool reserved;
    UINT32 info;
    if (!kmrpc_get_sec_get(r, &reserved, &info))
        return KMS_BAD_FRAME;
    PSECURITY_DESCRIPTOR sd = NULL;
    static const int reserved_marker = 1;
    DWORD rc = IPsecKeyManagerGetSecurityInfoByKey0(c->session, reserved ? &reserved_marker : NULL,
                                                    info, NULL, NULL, NULL, NULL, &sd);
    if (rc == ERROR_SUCCESS)
        kmrpc_put_bytes(data, sd, kmrpc_sd_length(sd));
    FwpmFreeMemory0(&sd);
    return rc == ERROR_SUCCESS && !data->ok ? ERROR_NOT_ENOUGH_MEMORY : rc;
}

/* A SID part: copied into a whole SID (a short or malformed one stays
 * malformed, and the engine says so). */
static void sid_part(const struct kmrpc_part *p, SID *sid)
{
    memset(sid, 0, sizeof(*sid));
    if (p->len)
        memcpy(sid, p->bytes, p->len);
}

/* An ACL part, copied so that it is aligned. One whose AclSize is not its
 * length becomes an empty, malformed ACL (revision 0): the engine then
 * refuses it at its own step of the validation order. */
static ACL *acl_part(const struct kmrpc_part *p)
{
    bool fits = p->len >= sizeof(ACL);
    ACL *a = calloc(1, fits ? p->len : sizeof(ACL));
    if (a && fits) {
        memcpy(a, p->bytes, p->len);
        if (a->AclSize != p->len)
            memset(a, 0, sizeof(ACL));
    }
    return a;
}

static DWORD do_sec_set(struct kms_conn *c, struct wire_reader *r)
{
    struct kmrpc_sec_set m;
    if (!kmrpc_get_sec_set(r, &m))
        return KMS_BAD_FRAME;
    SID owner, group;
    sid_part(&m.owner, &owner);
    sid_part(&m.group, &group);
    ACL *dacl = m.dacl.present ? acl_part(&m.dacl) : NULL;
    ACL *sacl = m.sacl.present ? acl_part(&m.sacl) : NULL;
    static const int reserved_marker = 1;
    DWORD rc = ERROR_NOT_ENOUGH_MEMORY;
    if ((!m.dacl.present || dacl) && (!m.sacl.present || sacl))
        rc = IPsecKeyManagerSetSecurityInfoByKey0(
            c->session, m.reserved ? &reserved_marker : NULL, m.info,
            m.owner.present ? &owner : NULL, m.group.present ? &group : NULL, dacl, sacl);
    free(dacl);
    free(sacl);
    return rc;
}

/* Runs one API call. False: a protocol violation, the connection ends. */
static bool handle_call(struct kms_conn *c, uint8_t type, struct wire_reader *r,
                        struct reply *out)
{
    if ((type == KMRPC_OPEN) != (c->session == NULL))
        return false; /* OPEN exactly once, and first */
    uint32_t flags;
    switch (type) {
    case KMRPC_OPEN:
        out->status = do_open(c, r);
        break;
    case KMRPC_CLOSE:
        if (!wire_done(r))
            return false;
        out->status = fwpm_close(c->session, false);
        c->session = NULL;
        break;
    case KMRPC_TXN_BEGIN:
        if (!kmrpc_get_u32_body(r, &flags))
            return false;
        out->status = FwpmTransactionBegin0(c->session, flags);
        break;
    case KMRPC_TXN_COMMIT:
    case KMRPC_TXN_ABORT:
        if (!wire_done(r))
            return false;
        out->status = type == KMRPC_TXN_COMMIT ? FwpmTransactionCommit0(c->session)
                                               : FwpmTransactionAbort0(c->session);
        break;
    case KMRPC_KM_ADD:
        out->status = do_km_add(c, r, &out->value);
        break;
    case KMRPC_KM_REMOVE:
        out->status = do_km_remove(c, r);
        break;
    case KMRPC_KM_LIST:
        out->status = wire_done(r) ? do_km_list(c, &out->data) : KMS_BAD_FRAME;
        break;
    case KMRPC_SEC_GET:
        out->status = do_sec_get(c, r, &out->data);
        break;
    case KMRPC_SEC_SET:
        out->status = do_sec_set(c, r);
        break;
    default:
        return false;
    }
    return out->status != KMS_BAD_FRAME;
}

/* A callback's answer: to the negotiation waiting for it, if any still is
 * (a late answer is dropped). Takes frame. */
static void deliver_answer(struct kms_conn *c, uint32_t id, uint8_t *frame, size_t len)
{
    pthread_mutex_lock(&S.lock);
    for (struct kms_pending *p = S.pending; p; p = p->next) {
        if (p->conn == c->id && p->id == id && !p->frame) {
            p->frame = frame;
            p->len = len;
            frame = NULL;
            pthread_cond_broadcast(&S.cv);
            break;
        }
    }
    pthread_mutex_unlock(&S.lock);
    if (frame)
        OPENSSL_cleanse(frame, len); /* a late dictation's keys */
    free(frame);
}

/* Runs one API call and answers it; false: a protocol violation. */
static bool serve_call(struct kms_conn *c, uint8_t *frame, size_t len)
{
    uint8_t type;
    uint32_t id;
    struct wire_reader body;
    struct reply rep = {.data = {.ok = true}};
    bool ok = kmrpc_frame_parse(frame, len, &type, &id, &body) &&
              handle_call(c, type, &body, &rep);
    free(frame);
    if (ok) {
        struct kmrpc_out o;
        kmrpc_begin(&o, KMRPC_REPLY, id);
        kmrpc_put_u32(&o, rep.status);
        kmrpc_put_u64(&o, rep.value);
        kmrpc_put_u32(&o, (uint32_t)rep.data.len);
        kmrpc_put_bytes(&o, rep.data.p, rep.data.len);
        ok = kmsock_send_frame(&c->write_lock, &c->fd, &o,
                               kmsock_now_ms() + KMS_REPLY_WRITE_MS) == 0;
    }
    kmrpc_out_free(&rep.data);
    return ok;
}

static void *call_thread(void *arg)
{
    struct kms_conn *c = arg;
    bool broken = false;
    pthread_mutex_lock(&c->calls_lock);
    for (;;) {
        while (!c->calls && !c->reading_done)
            pthread_cond_wait(&c->calls_cv, &c->calls_lock);
        struct kms_call *k = c->calls;
        if (!k)
            break;
        c->calls = k->next;
        if (!c->calls)
            c->calls_tail = NULL;
        c->ncalls--;
        bool skip = broken || c->reading_done; /* nobody would read the answer */
        pthread_mutex_unlock(&c->calls_lock);
        if (skip) {
            free(k->frame);
        } else if (!serve_call(c, k->frame, k->len)) {
            broken = true;
            shutdown(c->fd, SHUT_RDWR); /* the reader ends the connection */
        }
        free(k);
        pthread_mutex_lock(&c->calls_lock);
    }
    pthread_mutex_unlock(&c->calls_lock);
    /* The session's key was drawn on this thread: its OpenSSL state goes
     * with it. */
    OPENSSL_thread_stop();
    return NULL;
}

/* One frame from the client (kmsock_frame_fn): an answer is delivered, a
 * call queued (its body is decoded on the call thread). False: too many
 * calls waiting, or no memory to queue one. Takes frame. */
static bool read_one(void *arg, uint8_t *frame, size_t len, uint8_t type, uint32_t id,
                     struct wire_reader *body)
{
    struct kms_conn *c = arg;
    (void)body;
    if (type == KMRPC_CHECK_REPLY || type == KMRPC_DICTATE_REPLY) {
        deliver_answer(c, id, frame, len);
        return true;
    }
    struct kms_call *k = malloc(sizeof(*k));
    pthread_mutex_lock(&c->calls_lock);
    bool ok = k && c->ncalls < KMS_MAX_QUEUED_CALLS;
    if (ok) {
        *k = (struct kms_call){.frame = frame, .len = len};
        if (c->calls_tail)
            c->calls_tail->next = k;
        else
            c->calls = k;
        c->calls_tail = k;
        c->ncalls++;
        pthread_cond_signal(&c->calls_cv);
    }
    pthread_mutex_unlock(&c->calls_lock);
    if (!ok) {
        free(k);
        free(frame);
    }
    return ok;
}

/* The client is gone (or broke the protocol): its session closes, which
 * takes every registration it made with it, and every negotiation waiting
 * for one of its answers stops waiting. */
static void *conn_thread(void *arg)
{
    struct kms_conn *c = arg;
    bool calls = pthread_create(&c->call_thread, NULL, call_thread, c) == 0;
    if (calls)
        kmsock_read_frames(c->fd, KMRPC_MAX_REQUEST, read_one, c);
    /* Negotiations waiting for this client's answers stop first; its call
     * thread ends (after a call it is inside, bounded by its own wait);
     * then the session closes, without waiting for its callbacks. */
    pthread_mutex_lock(&S.lock);
    c->dead = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.lock);
    if (calls) {
        pthread_mutex_lock(&c->calls_lock);
        c->reading_done = true;
        pthread_cond_signal(&c->calls_cv);
        pthread_mutex_unlock(&c->calls_lock);
        pthread_join(c->call_thread, NULL);
    }
    if (c->session)
        fwpm_close(c->session, false);
    c->session = NULL;
    /* Writers use the fd under write_lock, DrtKeyingSocketClose under
     * S.lock: both are held while it closes. */
    pthread_mutex_lock(&c->write_lock);
    pthread_mutex_lock(&S.lock);
    c->dead = true;
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&c->write_lock);
    S.nconns--;
    pthread_cond_broadcast(&S.cv);
    conn_release(c);
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

static void start_conn(int fd)
{
    struct kmsock_peer peer;
    struct kms_conn *c = NULL;
    pthread_mutex_lock(&S.lock);
    bool room = S.nconns < KMS_MAX_CONNECTIONS;
    pthread_mutex_unlock(&S.lock);
    /* Credentials are taken now, from the process that connected, and its
     * executable judged now: a pid reused later cannot change them. */
    if (room && kmsock_peer_of(fd, &peer))
        c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->caller = (struct ipsec_caller){.uid = peer.uid,
                                      .gid = peer.gid,
                                      .image_writable = peer.image_writable};
    pthread_mutex_init(&c->write_lock, NULL);
    pthread_mutex_init(&c->calls_lock, NULL);
    pthread_cond_init(&c->calls_cv, NULL);
    pthread_mutex_lock(&S.lock);
    c->id = ++S.next_conn;
    c->caller.remote = c->id;
    c->next = S.conns;
    S.conns = c;
    S.nconns++;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool started = pthread_create(&t, &attr, conn_thread, c) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        S.nconns--;
        c->dead = true;
        close(c->fd);
        c->fd = -1;
        conn_release(c);
    }
    pthread_mutex_unlock(&S.lock);
}

static void *accept_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            start_conn(fd);
            continue;
        }
        if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE)
            break; /* shut down by DrtKeyingSocketClose */
        if (errno == EMFILE || errno == ENFILE)
            usleep(10000); /* out of descriptors: let some close */
    }
    return NULL;
}

DRT_EXPORT DWORD WINAPI DrtKeyingSocketListen(const char *path)
{
    pthread_once(&S.once, init_cv);
    if (!path || !path[0] || strlen(path) >= sizeof(S.path))
        return ERROR_INVALID_PARAMETER;
    DWORD rc;
    if (!fwpm_lock(&rc)) /* the engine exists before any client can call */
        return rc;
    fwpm_unlock();
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        pthread_mutex_unlock(&S.lock);
        return ERROR_ALREADY_EXISTS;
    }
    int fd;
    int e = kmsock_listen(path, &fd);
    if (e == 0) {
        S.listen_fd = fd;
        if (pthread_create(&S.accept_thread, NULL, accept_thread, NULL) == 0) {
            S.running = true;
            strcpy(S.path, path);
        } else {
            close(fd);
            unlink(path);
            e = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&S.lock);
    switch (e) {
    case 0:
        return ERROR_SUCCESS;
    case -EADDRINUSE:
    case -EEXIST:
        return ERROR_ALREADY_EXISTS;
    case -EACCES:
    case -EPERM:
        return ERROR_ACCESS_DENIED;
    case -ENOENT:
    case -ENOTDIR:
        return ERROR_PATH_NOT_FOUND;
    case -ENOMEM:
        return ERROR_NOT_ENOUGH_MEMORY;
    default:
        return ERROR_INTERNAL_ERROR;
    }
}

DRT_EXPORT DWORD WINAPI DrtKeyingSocketClose(void)
{
    pthread_once(&S.once, init_cv);
    pthread_mutex_lock(&S.lock);
    if (!S.running) {
        pthread_mutex_unlock(&S.lock);
        return ERROR_INVALID_HANDLE;
    }
    S.running = false;
    shutdown(S.listen_fd, SHUT_RDWR);
    pthread_mutex_unlock(&S.lock);
    pthread_join(S.accept_thread, NULL);
    pthread_mutex_lock(&S.lock);
    close(S.listen_fd);
    S.listen_fd = -1;
    unlink(S.path);
    /* Every connection's reader sees its stream end, closes its session
     * and exits; none waits on anything unbounded. */
    for (struct kms_conn *c = S.conns; c; c = c->next)
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    while (S.nconns > 0)
        pthread_cond_wait(&S.cv, &S.lock);
    pthread_mutex_unlock(&S.lock);
    return ERROR_SUCCESS;
}
