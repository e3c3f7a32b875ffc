/*
 * keying_client.c - an engine session in another process, over the
 * key-manager socket (keying_client.h).
 *
 * Each remote session is one connection with two threads: the reader
 * takes every frame (answers to this process's calls, which it hands to
 * the waiting caller; callback requests, which it queues) and the
 * dispatcher runs the key managers' callbacks one at a time and sends
 * their answers. Callbacks therefore run off the reader, so a callback may
 * call the API on its own session (unregistering itself included).
 */
#include "api/keying_client.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wchar.h>

#include "io/io_kmsock.h"
#include "ipsec/engine_internal.h"
#include "ipsec/keymgr.h"
#include "ipsec/kmrpc_wire.h"
#include "ipsec/secdesc.h"

/* Remote session handles come from their own range, far from the
 * in-process engine's small counter, so the two never meet. */
#define REMOTE_HANDLE_BASE ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 2))

struct kmc_reg {
    uint64_t handle; /* the engine's registration handle */
    IPSEC_KEY_MANAGER_CALLBACKS0 cb;
    unsigned busy; /* callbacks running */
    bool gone;     /* unregistered: no new callback starts */
    bool waited;   /* an unregistration waits for it and frees it */
    struct kmc_reg *next;
};

struct kmc_wait {
    uint32_t id;
    uint8_t *frame;
    size_t len;
    struct kmc_reg *add; /* KM_ADD: joins the session's list with the answer */
    struct kmc_wait *next;
};

struct kmc_job {
    uint8_t type;
    uint32_t id;
    struct kmrpc_callback cb;
    struct kmc_job *next;
};

struct kmc_session {
    uintptr_t handle;
    int fd;
    unsigned refs;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    pthread_mutex_t write_lock;
    pthread_t reader, dispatcher;
    bool dead; /* the stream ended */
    bool stop; /* the dispatcher leaves */
    uint32_t next_id;
    uint32_t txn_wait_ms;
    struct kmc_wait *waits;
    struct kmc_reg *regs;
    struct kmc_job *jobs, *jobs_tail;
    struct kmc_session *next;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmc_session *table;
static uintptr_t next_handle = REMOTE_HANDLE_BASE;

static void session_free(struct kmc_session *s)
{
    close(s->fd);
    while (s->regs) {
        struct kmc_reg *r = s->regs;
        s->regs = r->next;
        free(r);
    }
    while (s->jobs) {
        struct kmc_job *j = s->jobs;
        s->jobs = j->next;
        OPENSSL_cleanse(j, sizeof(*j));
        free(j);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
}

static void put(struct kmc_session *s)
{
    pthread_mutex_lock(&table_lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&table_lock);
    if (last)
        session_free(s);
}

/* The session behind h with a reference, or NULL. take also removes it
 * from the table (FwpmEngineClose0). */
static struct kmc_session *get(HANDLE h, bool take)
{
    pthread_mutex_lock(&table_lock);
    struct kmc_session **p = &table;
    while (*p && (*p)->handle != (uintptr_t)h)
        p = &(*p)->next;
    struct kmc_session *s = *p;
    if (s && take)
        *p = s->next; /* the table's reference passes to the caller */
    else if (s)
        s->refs++;
    pthread_mutex_unlock(&table_lock);
    return s;
}

bool keying_client_is_remote(HANDLE h)
{
    struct kmc_session *s = h ? get(h, false) : NULL;
    if (s)
        put(s);
    return s != NULL;
}

bool keying_client_route(const wchar_t *serverName, char path[KEYING_CLIENT_MAX_PATH])
{
    path[0] = 0;
    if (!serverName) {
        const char *env = getenv(KEYING_CLIENT_ENV);
        if (!env || !env[0])
            return false;
        if (strlen(env) < KEYING_CLIENT_MAX_PATH)
            strcpy(path, env);
        return true;
    }
    size_t n = wcslen(serverName);
    if (n >= KEYING_CLIENT_MAX_PATH)
        return true;
    /* Byte-for-byte: socket paths are taken as ASCII. */
    for (size_t i = 0; i < n; i++) {
        if (serverName[i] <= 0 || serverName[i] > 0x7F) {
            path[0] = 0;
            return true;
        }
        path[i] = (char)serverName[i];
    }
    path[n] = 0;
    return true;
}

/* --- calls ------------------------------------------------------------------ */

static uint32_t new_id(struct kmc_session *s)
{
    pthread_mutex_lock(&s->lock);
    uint32_t id = ++s->next_id;
    pthread_mutex_unlock(&s->lock);
    return id;
}

/* An answer to one of our calls, decoded (its data points into frame). */
static bool parse_reply(const uint8_t *frame, size_t len, struct kmrpc_reply *rep)
{
    struct wire_reader body;
    return kmrpc_frame_body(frame, len, KMRPC_REPLY, &body) && kmrpc_get_reply(&body, rep);
}

/* Sends the request in o (begun with id) and waits up to timeout_ms for
 * its answer: ERROR_SUCCESS with *rep filled (its data inside *frame, to
 * free), or RPC_E_DISCONNECTED, RPC_E_TIMEOUT, RPC_E_SERVERFAULT (an
 * answer that breaks the protocol: the connection is dropped). */
static DWORD send_and_wait(struct kmc_session *s, struct kmrpc_out *o, uint32_t id,
                           uint32_t timeout_ms, struct kmc_reg *add, struct kmrpc_reply *rep,
                           uint8_t **frame)
{
    uint64_t deadline = kmsock_now_ms() + timeout_ms;
    struct kmc_wait w = {.id = id, .add = add};
    *frame = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->dead) {
        pthread_mutex_unlock(&s->lock);
        kmrpc_out_free(o);
        return RPC_E_DISCONNECTED;
    }
    w.next = s->waits;
    s->waits = &w;
    pthread_mutex_unlock(&s->lock);
    int wrc = kmsock_send_frame(&s->write_lock, &s->fd, o, deadline);
    pthread_mutex_lock(&s->lock);
    while (wrc == 0 && !w.frame && !s->dead && kmsock_now_ms() < deadline)
        kmsock_cond_wait_until(&s->cv, &s->lock, deadline);
    for (struct kmc_wait **p = &s->waits; *p; p = &(*p)->next) {
        if (*p == &w) {
            *p = w.next;
            break;
        }
    }
    bool dead = s->dead;
    pthread_mutex_unlock(&s->lock);
    if (!w.frame)
        return dead || (wrc != 0 && wrc != -ETIMEDOUT) ? RPC_E_DISCONNECTED : RPC_E_TIMEOUT;
    if (!parse_reply(w.frame, w.len, rep)) {
        free(w.frame);
        shutdown(s->fd, SHUT_RDWR);
        return RPC_E_SERVERFAULT;
    }
    *frame = w.frame;
    return ERROR_SUCCESS;
}

/* One call to the engine: what its request carries and what becomes of
 * its answer. */
struct kmc_call {
    uint8_t type;
    /* Writes args as the request's body; NULL for an empty one. */
    void (*put)(struct kmrpc_out *o, const void *args);
    const void *args;
    /* Reads the data of an answer whose status is ERROR_SUCCESS into out;
     * what it returns is the call's result. NULL: the status is. */
    DWORD (*take)(const struct kmrpc_reply *rep, void *out);
    void *out;
    /* KM_ADD: the registration the reader (take_reply) joins to the
     * session with the engine's yes, before it looks at a later frame. */
    struct kmc_reg *add;
};

/* Every call waits KEYING_CLIENT_CALL_MS for its answer; a transaction
 * begin its session's txnWaitTimeoutInMSec more, which the engine may
 * spend waiting for the writer. */
static uint32_t call_timeout_ms(const struct kmc_session *s, uint8_t type)
{
    uint32_t extra = type == KMRPC_TXN_BEGIN ? s->txn_wait_ms : 0;
    /* A transaction wait near UINT32_MAX ("as long as it takes") must not
     * wrap into a wait of a few seconds. */
    return extra > UINT32_MAX - KEYING_CLIENT_CALL_MS ? UINT32_MAX : KEYING_CLIENT_CALL_MS + extra;
}

/* Makes call c on s: the answer's status (or what c->take made of it),
 * or the transport's RPC code (send_and_wait). */
static DWORD remote_call(struct kmc_session *s, const struct kmc_call *c)
{
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, c->type, id);
    if (c->put)
        c->put(&o, c->args);
    struct kmrpc_reply rep;
    uint8_t *frame;
    DWORD rc = send_and_wait(s, &o, id, call_timeout_ms(s, c->type), c->add, &rep, &frame);
    if (rc != ERROR_SUCCESS)
        return rc;
    rc = rep.status;
    if (rc == ERROR_SUCCESS && c->take)
        rc = c->take(&rep, c->out);
    free(frame);
    return rc;
}

/* remote_call on the session behind the handle h. */
static DWORD remote_call_on(HANDLE h, const struct kmc_call *c)
{
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    DWORD rc = remote_call(s, c);
    put(s);
    return rc;
}

/* --- the reader and the dispatcher ------------------------------------------ */

/* Under s->lock: an answer to one of our calls. A KM_ADD that succeeded
 * joins its registration here, before any later frame (a callback for it)
 * is looked at. */
static void take_reply(struct kmc_session *s, uint32_t id, uint8_t *frame, size_t len)
{
    for (struct kmc_wait *w = s->waits; w; w = w->next) {
        if (w->id != id || w->frame)
            continue;
        struct kmrpc_reply rep;
        if (w->add && parse_reply(frame, len, &rep) && rep.status == ERROR_SUCCESS) {
            w->add->handle = rep.value;
            w->add->next = s->regs;
            s->regs = w->add;
            w->add = NULL;
        }
        w->frame = frame;
        w->len = len;
        pthread_cond_broadcast(&s->cv);
        return;
    }
    free(frame); /* nobody waits any more: a late answer */
}

/* One frame from the engine (kmsock_frame_fn); false ends the
 * connection. Takes frame. */
static bool reader_frame(void *arg, uint8_t *frame, size_t len, uint8_t type, uint32_t id,
                         struct wire_reader *body)
{
    struct kmc_session *s = arg;
    if (type == KMRPC_REPLY) {
        pthread_mutex_lock(&s->lock);
        take_reply(s, id, frame, len);
        pthread_mutex_unlock(&s->lock);
        return true;
    }
    struct kmc_job *j = calloc(1, sizeof(*j));
    bool ok = j && kmrpc_get_callback(body, type, &j->cb);
    OPENSSL_cleanse(frame, len); /* NOTIFY carries keys */
    free(frame);
    if (!ok) {
        free(j);
        return false;
    }
    j->type = type;
    j->id = id;
    pthread_mutex_lock(&s->lock);
    if (s->jobs_tail)
        s->jobs_tail->next = j;
    else
        s->jobs = j;
    s->jobs_tail = j;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    return true;
}

static void *reader_thread(void *arg)
{
    struct kmc_session *s = arg;
    kmsock_read_frames(s->fd, KMRPC_MAX_FRAME, reader_frame, s);
    pthread_mutex_lock(&s->lock);
    s->dead = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Under s->lock: the live registration with the engine's handle h. */
static struct kmc_reg *reg_find(struct kmc_session *s, uint64_t h)
{
    for (struct kmc_reg *r = s->regs; r; r = r->next)
        if (r->handle == h && !r->gone)
            return r;
    return NULL;
}

/* Under s->lock: frees r if it is unregistered, idle, and nobody waits
 * to free it. */
static void reg_release(struct kmc_session *s, struct kmc_reg *r)
{
    if (!r->gone || r->busy || r->waited)
        return;
    for (struct kmc_reg **p = &s->regs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            free(r);
            return;
        }
    }
}

/* One slot of a dictated view, as the key manager left it. */
static void put_blob(struct kmrpc_out *o, const FWP_BYTE_BLOB *b)
{
    bool has = b->data && b->size <= KMRPC_MAX_BLOB;
    kmrpc_put_u32(o, b->size);
    kmrpc_put_u8(o, has);
    if (has)
        kmrpc_put_bytes(o, b->data, b->size);
}

/* The slots of a view whose shape the key manager kept (one ESP SA, our
 * transform information); otherwise two empty slots, which the engine
 * refuses as it refuses such a shape in-process. */
static void put_view_blobs(struct kmrpc_out *o, const struct neg_sa_view *v)
{
    static const FWP_BYTE_BLOB none;
    const IPSEC_SA0 *sa = &v->sa;
    bool shape = v->d.saBundle.numSAs == 1 && v->d.saBundle.saList == sa &&
                 sa->saTransformType == IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER &&
                 sa->espAuthAndCipherInformation == &v->info;
    put_blob(o, shape ? &v->info.saCipherInformation.cipherKey : &none);
    put_blob(o, shape ? &v->info.saAuthInformation.authKey : &none);
}

static void run_job(struct kmc_session *s, struct kmc_job *j)
{
    pthread_mutex_lock(&s->lock);
    struct kmc_reg *r = reg_find(s, j->cb.registration);
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {0};
    if (r) {
        r->busy++;
        cb = r->cb;
    }
    pthread_mutex_unlock(&s->lock);

    struct kmrpc_out o = {0};
    struct neg_sa_view *v = calloc(2, sizeof(*v));
    if (j->type == KMRPC_CHECK) {
        IKEEXT_TRAFFIC0 t;
        memset(&t, 0, sizeof(t));
        t.ipVersion = j->cb.sa.ip_version;
        memcpy(t.localV6Address, j->cb.sa.local_addr, 16);
        memcpy(t.remoteV6Address, j->cb.sa.remote_addr, 16);
        BOOL will = FALSE;
        UINT32 weight = 0;
        if (cb.keyDictationCheck)
            cb.keyDictationCheck(&t, &will, &weight);
        kmrpc_begin(&o, KMRPC_CHECK_REPLY, j->id);
        kmrpc_put_u8(&o, will != FALSE);
        kmrpc_put_u32(&o, weight);
    } else if (v && j->type == KMRPC_DICTATE) {
        neg_sa_view_init(&v[0], &j->cb.sa, FWP_DIRECTION_INBOUND, j->cb.in_spi, NULL);
        neg_sa_view_init(&v[1], &j->cb.sa, FWP_DIRECTION_OUTBOUND, j->cb.out_spi, NULL);
        BOOL gen = FALSE;
        DWORD rc = cb.keyDictation ? cb.keyDictation(&v[0].d, &v[1].d, &gen) : FWP_E_NOT_FOUND;
        kmrpc_begin(&o, KMRPC_DICTATE_REPLY, j->id);
        kmrpc_put_u32(&o, rc);
        kmrpc_put_u8(&o, gen != FALSE);
        put_view_blobs(&o, &v[0]);
        put_view_blobs(&o, &v[1]);
    } else if (v && j->type == KMRPC_NOTIFY && cb.keyNotify) {
        neg_sa_view_init(&v[0], &j->cb.sa, FWP_DIRECTION_INBOUND, j->cb.in_spi, j->cb.keys_in);
        neg_sa_view_init(&v[1], &j->cb.sa, FWP_DIRECTION_OUTBOUND, j->cb.out_spi,
                         j->cb.keys_out);
        cb.keyNotify(&v[0].d, &v[1].d);
    }
    if (v) {
        neg_sa_view_clear(&v[0]);
        neg_sa_view_clear(&v[1]);
        free(v);
    }
    if (o.p) {
        /* The engine waits for this at most the registration's hint. */
        (void)kmsock_send_frame(&s->write_lock, &s->fd, &o,
                                kmsock_now_ms() + IPSEC_KEYMGR_MAX_TIMEOUT_S * 1000u);
        kmrpc_out_free(&o);
    }
    pthread_mutex_lock(&s->lock);
    if (r) {
        r->busy--;
        reg_release(s, r);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->lock);
}

static void *dispatcher_thread(void *arg)
{
    struct kmc_session *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct kmc_job *j = s->jobs;
        if (!j) {
            pthread_cond_wait(&s->cv, &s->lock);
            continue;
        }
        s->jobs = j->next;
        if (!s->jobs)
            s->jobs_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        run_job(s, j);
        OPENSSL_cleanse(j, sizeof(*j));
        free(j);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    put(s);
    return NULL;
}

/* --- the API ---------------------------------------------------------------- */

static DWORD connect_error(int e)
{
    switch (e) {
    case -EACCES:
    case -EPERM:
        return RPC_E_ACCESS_DENIED;
    case -ENAMETOOLONG:
        return RPC_E_INVALID_STD_NAME;
    case -ENOMEM:
    case -ENFILE:
    case -EMFILE:
        return ERROR_NOT_ENOUGH_MEMORY;
    default: /* no socket, nobody listening, backlog full */
        return RPC_E_SERVER_DIED_DNE;
    }
}

static struct kmc_session *session_new(int fd)
{
    struct kmc_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = fd;
    s->refs = 2; /* the caller's (then the table's) and the dispatcher's */
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    kmsock_cond_init(&s->cv);
    if (pthread_create(&s->reader, NULL, reader_thread, s) != 0) {
        session_free(s);
        return NULL;
    }
    if (pthread_create(&s->dispatcher, NULL, dispatcher_thread, s) != 0) {
        shutdown(fd, SHUT_RDWR);
        pthread_join(s->reader, NULL);
        session_free(s);
        return NULL;
    }
    return s;
}

/* Ends both threads (a dispatcher that is the caller leaves by itself
 * after its callback) and drops the caller's reference. */
static void session_end(struct kmc_session *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->reader, NULL);
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    if (pthread_equal(pthread_self(), s->dispatcher))
        pthread_detach(s->dispatcher);
    else
        pthread_join(s->dispatcher, NULL);
    put(s);
}

static void put_open_args(struct kmrpc_out *o, const void *args)
{
    const FWPM_SESSION0 *session = args;
    kmrpc_put_u8(o, (uint8_t)(KMRPC_VERSION >> 8));
    kmrpc_put_u8(o, (uint8_t)KMRPC_VERSION);
    kmrpc_put_u32(o, session->flags);
    kmrpc_put_u32(o, session->txnWaitTimeoutInMSec);
    kmrpc_put_guid(o, &session->sessionKey);
    kmrpc_put_str(o, session->displayData.name);
    kmrpc_put_str(o, session->displayData.description);
}

DWORD keying_client_open(const char *path, const FWPM_SESSION0 *session, HANDLE *engineHandle)
{
    static const FWPM_SESSION0 defaults;
    if (!session)
        session = &defaults;
    /* What cannot travel is refused here, in the engine's order. */
    if (session->flags & ~(UINT32)FWPM_SESSION_FLAG_DYNAMIC)
        return FWP_E_INVALID_FLAGS;
    if (ipsec_string_too_long(session->displayData.name, KMRPC_MAX_CHARS) ||
        ipsec_string_too_long(session->displayData.description, KMRPC_MAX_CHARS))
        return FWP_E_INVALID_PARAMETER;
    if (!path[0])
        return RPC_E_INVALID_STD_NAME;
    int fd;
    int e = kmsock_connect(path, &fd);
    if (e != 0)
        return connect_error(e);
    struct kmc_session *s = session_new(fd);
    if (!s) {
        close(fd);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    s->txn_wait_ms = session->txnWaitTimeoutInMSec ? session->txnWaitTimeoutInMSec
                                                   : IPSEC_DEFAULT_TXN_WAIT_MS;
    DWORD rc = remote_call(s, &(struct kmc_call){.type = KMRPC_OPEN, .put = put_open_args,
                                                 .args = session});
    if (rc != ERROR_SUCCESS) {
        session_end(s);
        return rc;
    }
    pthread_mutex_lock(&table_lock);
    s->handle = next_handle++;
    s->next = table;
    table = s;
    pthread_mutex_unlock(&table_lock);
    *engineHandle = (HANDLE)s->handle;
    return ERROR_SUCCESS;
}

DWORD keying_client_close(HANDLE h)
{
    struct kmc_session *s = get(h, true);
    if (!s)
        return ERROR_INVALID_HANDLE;
    DWORD rc = remote_call(s, &(struct kmc_call){.type = KMRPC_CLOSE});
    /* Whatever the answer, the connection ends, and with it the session
     * and its registrations on the engine's side. */
    session_end(s);
    return rc == RPC_E_DISCONNECTED ? ERROR_SUCCESS : rc;
}

static void put_u32_arg(struct kmrpc_out *o, const void *v)
{
    kmrpc_put_u32(o, *(const uint32_t *)v);
}

static void put_u64_arg(struct kmrpc_out *o, const void *v)
{
    kmrpc_put_u64(o, *(const uint64_t *)v);
}

DWORD keying_client_txn(HANDLE h, uint8_t type, UINT32 flags)
{
    /* Only a begin carries its flags; commit and abort have no body. */
    return remote_call_on(h, &(struct kmc_call){
        .type = type, .put = type == KMRPC_TXN_BEGIN ? put_u32_arg : NULL, .args = &flags});
}

struct km_add_args {
    const IPSEC_KEY_MANAGER0 *km;
    const IPSEC_KEY_MANAGER_CALLBACKS0 *cb;
};

static void put_km_add_args(struct kmrpc_out *o, const void *args)
{
    const struct km_add_args *a = args;
    kmrpc_put_guid(o, &a->km->keyManagerKey);
    kmrpc_put_u32(o, a->km->flags);
    kmrpc_put_u8(o, a->km->keyDictationTimeoutHint);
    kmrpc_put_u8(o, (uint8_t)((a->cb->keyDictationCheck ? KMRPC_CB_CHECK : 0) |
                              (a->cb->keyDictation ? KMRPC_CB_DICTATE : 0) | KMRPC_CB_NOTIFY));
    kmrpc_put_str(o, a->km->displayData.name);
    kmrpc_put_str(o, a->km->displayData.description);
}

DWORD keying_client_km_add(HANDLE h, const IPSEC_KEY_MANAGER0 *km,
                           const IPSEC_KEY_MANAGER_CALLBACKS0 *cb, HANDLE *keyMgmtHandle)
{
    if (!km || !cb || !keyMgmtHandle)
        return FWP_E_NULL_POINTER;
    *keyMgmtHandle = NULL;
    DWORD rc = ipsec_keymgr_check_args(km, cb, KMRPC_MAX_CHARS);
    if (rc != ERROR_SUCCESS)
        return rc;
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    struct kmc_reg *r = calloc(1, sizeof(*r));
    if (!r) {
        put(s);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    r->cb = *cb;
    struct km_add_args a = {.km = km, .cb = cb};
    rc = remote_call(s, &(struct kmc_call){
        .type = KMRPC_KM_ADD, .put = put_km_add_args, .args = &a, .add = r});
    /* The reader joined r to the session when the engine said yes (an
     * answer after our deadline finds nobody: the engine then has a
     * registration whose callbacks this process answers "not found"). */
    pthread_mutex_lock(&s->lock);
    bool joined = r->handle != 0;
    pthread_mutex_unlock(&s->lock);
    if (rc == ERROR_SUCCESS && joined)
        *keyMgmtHandle = (HANDLE)(uintptr_t)r->handle;
    else if (!joined)
        free(r);
    put(s);
    return rc;
}

DWORD keying_client_km_remove(HANDLE h, HANDLE keyMgmtHandle)
{
    if (!keyMgmtHandle)
        return FWP_E_NULL_POINTER;
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    uint64_t reg = (uint64_t)(uintptr_t)keyMgmtHandle;
    DWORD rc = remote_call(
        s, &(struct kmc_call){.type = KMRPC_KM_REMOVE, .put = put_u64_arg, .args = &reg});
    pthread_mutex_lock(&s->lock);
    struct kmc_reg *r = rc == ERROR_SUCCESS ? reg_find(s, reg) : NULL;
    if (r) {
        /* As in-process: wait for its callbacks in flight, except on the
         * dispatcher itself (a callback unregistering), whose callback
         * finishes later on that same thread. */
        r->gone = true;
        r->waited = !pthread_equal(pthread_self(), s->dispatcher);
        while (r->waited && r->busy)
            pthread_cond_wait(&s->cv, &s->lock);
        r->waited = false;
        reg_release(s, r);
    }
    pthread_mutex_unlock(&s->lock);
    put(s);
    return rc;
}

struct list_out {
    IPSEC_KEY_MANAGER0 ***entries;
    UINT32 *n;
};

static DWORD take_list(const struct kmrpc_reply *rep, void *out)
{
    struct list_out *l = out;
    bool oom = false;
    if (kmrpc_get_list(rep->data, rep->data_len, l->entries, l->n, &oom))
        return ERROR_SUCCESS;
    return oom ? ERROR_NOT_ENOUGH_MEMORY : RPC_E_SERVERFAULT;
}

DWORD keying_client_km_list(HANDLE h, IPSEC_KEY_MANAGER0 ***entries, UINT32 *numEntries)
{
    if (!entries || !numEntries)
        return FWP_E_NULL_POINTER;
    *entries = NULL;
    *numEntries = 0;
    struct list_out l = {.entries = entries, .n = numEntries};
    return remote_call_on(h, &(struct kmc_call){.type = KMRPC_KM_LIST, .take = take_list,
                                                .out = &l});
}

/* The arguments of SEC_GET (reserved and info) and SEC_SET (all). */
struct sec_args {
    const void *reserved;
    SECURITY_INFORMATION info;
    const SID *owner, *group;
    const ACL *dacl, *sacl;
};

static void put_sec_get_args(struct kmrpc_out *o, const void *args)
{
    const struct sec_args *a = args;
    kmrpc_put_u8(o, a->reserved != NULL);
    kmrpc_put_u32(o, a->info);
}

/* Where SEC_GET's descriptor and the optional pointers to its parts go. */
struct sd_out {
    PSID *owner, *group;
    PACL *dacl, *sacl;
    PSECURITY_DESCRIPTOR *sd;
};

static DWORD take_sd(const struct kmrpc_reply *rep, void *out)
{
    struct sd_out *d = out;
    /* Slack after the parts, as in-process: a whole SID read through a
     * returned PSID stays inside the allocation. */
    uint8_t *b = calloc(1, (size_t)rep->data_len + sizeof(SID));
    if (!b)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(b, rep->data, rep->data_len);
    if (!kmrpc_sd_parts(b, rep->data_len, d->owner, d->group, d->dacl, d->sacl)) {
        free(b);
        return RPC_E_SERVERFAULT;
    }
    *d->sd = b;
    return ERROR_SUCCESS;
}

DWORD keying_client_sec_get(HANDLE h, const void *reserved, SECURITY_INFORMATION info,
                            PSID *owner, PSID *group, PACL *dacl, PACL *sacl,
                            PSECURITY_DESCRIPTOR *sd)
{
    if (!sd)
        return FWP_E_NULL_POINTER;
    *sd = NULL;
    PSID *outs[4] = {owner, group, (PSID *)dacl, (PSID *)sacl};
    for (int i = 0; i < 4; i++)
        if (outs[i])
            *outs[i] = NULL;
    struct sec_args a = {.reserved = reserved, .info = info};
    struct sd_out d = {.owner = owner, .group = group, .dacl = dacl, .sacl = sacl, .sd = sd};
    return remote_call_on(h, &(struct kmc_call){.type = KMRPC_SEC_GET, .put = put_sec_get_args,
                                                .args = &a, .take = take_sd, .out = &d});
}

/* A part of SetSecurityInfo: absent (NULL) or its bytes as the engine
 * would read them (a SID up to its SubAuthorityCount, an ACL its AclSize;
 * a malformed SID travels as nothing, and the engine refuses it). */
static void put_part(struct kmrpc_out *o, const void *p, size_t len)
{
    kmrpc_put_u8(o, p != NULL);
    kmrpc_put_u32(o, p ? (uint32_t)len : 0);
    if (p)
        kmrpc_put_bytes(o, p, len);
}

/* An ACL travels compacted (AclSize = the ACEs it holds), as the engine
 * keeps it, so no byte of the caller's buffer past its ACEs leaves the
 * process; a malformed one travels as it is, for the engine to refuse. */
static void put_acl(struct kmrpc_out *o, const ACL *acl, bool is_sacl)
{
    ACL *copy = NULL;
    if (acl && ipsec_acl_copy(acl, is_sacl, &copy) == ERROR_SUCCESS && copy) {
        put_part(o, copy, copy->AclSize);
        free(copy);
        return;
    }
    put_part(o, acl, acl ? acl->AclSize : 0);
}

static void put_sec_set_args(struct kmrpc_out *o, const void *args)
{
    const struct sec_args *a = args;
    put_sec_get_args(o, a); /* SEC_SET begins as SEC_GET does */
    put_part(o, a->owner, ipsec_sid_length(a->owner));
    put_part(o, a->group, ipsec_sid_length(a->group));
    put_acl(o, a->dacl, false);
    put_acl(o, a->sacl, true);
}

DWORD keying_client_sec_set(HANDLE h, const void *reserved, SECURITY_INFORMATION info,
                            const SID *owner, const SID *group, const ACL *dacl,
                            const ACL *sacl)
{
    struct sec_args a = {reserved, info, owner, group, dacl, sacl};
    return remote_call_on(h, &(struct kmc_call){.type = KMRPC_SEC_SET, .put = put_sec_set_args,
                                                .args = &a});
}
