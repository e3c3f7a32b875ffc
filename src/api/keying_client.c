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
#include <time.h>
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

static void wait_until(struct kmc_session *s, uint64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000u),
                          .tv_nsec = (long)(deadline_ms % 1000u) * 1000000L};
    pthread_cond_timedwait(&s->cv, &s->lock, &ts);
}

static int send_frame(struct kmc_session *s, struct kmrpc_out *o, uint64_t deadline_ms)
{
    if (!kmrpc_end(o))
        return -ENOMEM;
    pthread_mutex_lock(&s->write_lock);
    int rc = kmsock_write_all(s->fd, o->p, o->len, deadline_ms);
    pthread_mutex_unlock(&s->write_lock);
    kmrpc_out_free(o);
    return rc;
}

/* --- calls ------------------------------------------------------------------ */

static uint32_t new_id(struct kmc_session *s)
{
    pthread_mutex_lock(&s->lock);
    uint32_t id = ++s->next_id;
    pthread_mutex_unlock(&s->lock);
    return id;
}

/* Sends the request in o (begun with id) and waits up to timeout_ms for
 * its answer: ERROR_SUCCESS with *rep filled (its data inside *frame, to
 * free), or RPC_E_DISCONNECTED, RPC_E_TIMEOUT, RPC_E_SERVERFAULT (an
 * answer that breaks the protocol: the connection is dropped). */
static DWORD call(struct kmc_session *s, struct kmrpc_out *o, uint32_t id, uint32_t timeout_ms,
                  struct kmc_reg *add, struct kmrpc_reply *rep, uint8_t **frame)
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
    int wrc = send_frame(s, o, deadline);
    pthread_mutex_lock(&s->lock);
    while (wrc == 0 && !w.frame && !s->dead && kmsock_now_ms() < deadline)
        wait_until(s, deadline);
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
    uint8_t type;
    uint32_t rid;
    struct wire_reader body;
    if (!kmrpc_frame_parse(w.frame, w.len, &type, &rid, &body) || !kmrpc_get_reply(&body, rep)) {
        free(w.frame);
        shutdown(s->fd, SHUT_RDWR);
        return RPC_E_SERVERFAULT;
    }
    *frame = w.frame;
    return ERROR_SUCCESS;
}

/* A request with no data in its answer: the answer's status, or the
 * transport's RPC code. */
static DWORD simple_call(struct kmc_session *s, struct kmrpc_out *o, uint32_t id,
                         uint32_t timeout_ms, uint64_t *value)
{
    struct kmrpc_reply rep;
    uint8_t *frame;
    DWORD rc = call(s, o, id, timeout_ms, NULL, &rep, &frame);
    if (rc != ERROR_SUCCESS)
        return rc;
    if (value)
        *value = rep.value;
    free(frame);
    return rep.status;
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
        uint8_t type;
        uint32_t rid;
        struct wire_reader body;
        struct kmrpc_reply rep;
        if (w->add && kmrpc_frame_parse(frame, len, &type, &rid, &body) &&
            kmrpc_get_reply(&body, &rep) && rep.status == ERROR_SUCCESS) {
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

/* One frame from the engine; false ends the connection. */
static bool reader_frame(struct kmc_session *s, uint8_t *frame, size_t len)
{
    uint8_t type;
    uint32_t id;
    struct wire_reader body;
    if (!kmrpc_frame_parse(frame, len, &type, &id, &body)) {
        free(frame);
        return false;
    }
    if (type == KMRPC_REPLY) {
        pthread_mutex_lock(&s->lock);
        take_reply(s, id, frame, len);
        pthread_mutex_unlock(&s->lock);
        return true;
    }
    struct kmc_job *j = calloc(1, sizeof(*j));
    bool ok = j && kmrpc_get_callback(&body, type, &j->cb);
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
    for (;;) {
        uint8_t *frame;
        size_t len;
        if (kmsock_read_frame(s->fd, KMRPC_MAX_FRAME, &frame, &len) != 0 ||
            !reader_frame(s, frame, len))
            break;
    }
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
        (void)send_frame(s, &o, kmsock_now_ms() + IPSEC_KEYMGR_MAX_TIMEOUT_S * 1000u);
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
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &a);
    pthread_condattr_destroy(&a);
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
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_OPEN, id);
    kmrpc_put_u8(&o, (uint8_t)(KMRPC_VERSION >> 8));
    kmrpc_put_u8(&o, (uint8_t)KMRPC_VERSION);
    kmrpc_put_u32(&o, session->flags);
    kmrpc_put_u32(&o, session->txnWaitTimeoutInMSec);
    kmrpc_put_guid(&o, &session->sessionKey);
    kmrpc_put_str(&o, session->displayData.name);
    kmrpc_put_str(&o, session->displayData.description);
    DWORD rc = simple_call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL);
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
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_CLOSE, id);
    DWORD rc = simple_call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL);
    /* Whatever the answer, the connection ends, and with it the session
     * and its registrations on the engine's side. */
    session_end(s);
    return rc == RPC_E_DISCONNECTED ? ERROR_SUCCESS : rc;
}

DWORD keying_client_txn(HANDLE h, uint8_t type, UINT32 flags)
{
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, type, id);
    uint32_t timeout = KEYING_CLIENT_CALL_MS;
    if (type == KMRPC_TXN_BEGIN) {
        kmrpc_put_u32(&o, flags);
        timeout += s->txn_wait_ms; /* the engine may wait that long for the writer */
    }
    DWORD rc = simple_call(s, &o, id, timeout, NULL);
    put(s);
    return rc;
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
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_KM_ADD, id);
    kmrpc_put_guid(&o, &km->keyManagerKey);
    kmrpc_put_u32(&o, km->flags);
    kmrpc_put_u8(&o, km->keyDictationTimeoutHint);
    kmrpc_put_u8(&o, (uint8_t)((cb->keyDictationCheck ? KMRPC_CB_CHECK : 0) |
                               (cb->keyDictation ? KMRPC_CB_DICTATE : 0) | KMRPC_CB_NOTIFY));
    kmrpc_put_str(&o, km->displayData.name);
    kmrpc_put_str(&o, km->displayData.description);
    struct kmrpc_reply rep;
    uint8_t *frame;
    rc = call(s, &o, id, KEYING_CLIENT_CALL_MS, r, &rep, &frame);
    /* The reader joined r to the session when the engine said yes (an
     * answer after our deadline finds nobody: the engine then has a
     * registration whose callbacks this process answers "not found"). */
    pthread_mutex_lock(&s->lock);
    bool joined = r->handle != 0;
    pthread_mutex_unlock(&s->lock);
    if (rc == ERROR_SUCCESS) {
        rc = rep.status;
        free(frame);
    }
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
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_KM_REMOVE, id);
    kmrpc_put_u64(&o, (uint64_t)(uintptr_t)keyMgmtHandle);
    DWORD rc = simple_call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL);
    pthread_mutex_lock(&s->lock);
    struct kmc_reg *r = rc == ERROR_SUCCESS ? reg_find(s, (uintptr_t)keyMgmtHandle) : NULL;
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

DWORD keying_client_km_list(HANDLE h, IPSEC_KEY_MANAGER0 ***entries, UINT32 *numEntries)
{
    if (!entries || !numEntries)
        return FWP_E_NULL_POINTER;
    *entries = NULL;
    *numEntries = 0;
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_KM_LIST, id);
    struct kmrpc_reply rep;
    uint8_t *frame;
    DWORD rc = call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL, &rep, &frame);
    if (rc == ERROR_SUCCESS) {
        rc = rep.status;
        bool oom = false;
        if (rc == ERROR_SUCCESS && !kmrpc_get_list(rep.data, rep.data_len, entries, numEntries, &oom))
            rc = oom ? ERROR_NOT_ENOUGH_MEMORY : RPC_E_SERVERFAULT;
        free(frame);
    }
    put(s);
    return rc;
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
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_SEC_GET, id);
    kmrpc_put_u8(&o, reserved != NULL);
    kmrpc_put_u32(&o, info);
    struct kmrpc_reply rep;
    uint8_t *frame;
    DWORD rc = call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL, &rep, &frame);
    if (rc == ERROR_SUCCESS) {
        rc = rep.status;
        /* Slack after the parts, as in-process: a whole SID read through
         * a returned PSID stays inside the allocation. */
        uint8_t *b = rc == ERROR_SUCCESS ? calloc(1, (size_t)rep.data_len + sizeof(SID)) : NULL;
        if (rc == ERROR_SUCCESS && !b)
            rc = ERROR_NOT_ENOUGH_MEMORY;
        if (b) {
            memcpy(b, rep.data, rep.data_len);
            if (kmrpc_sd_parts(b, rep.data_len, owner, group, dacl, sacl)) {
                *sd = b;
            } else {
                free(b);
                rc = RPC_E_SERVERFAULT;
            }
        }
        free(frame);
    }
    put(s);
    return rc;
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

DWORD keying_client_sec_set(HANDLE h, const void *reserved, SECURITY_INFORMATION info,
                            const SID *owner, const SID *group, const ACL *dacl,
                            const ACL *sacl)
{
    struct kmc_session *s = get(h, false);
    if (!s)
        return ERROR_INVALID_HANDLE;
    uint32_t id = new_id(s);
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_SEC_SET, id);
    kmrpc_put_u8(&o, reserved != NULL);
    kmrpc_put_u32(&o, info);
    put_part(&o, owner, ipsec_sid_length(owner));
    put_part(&o, group, ipsec_sid_length(group));
    put_acl(&o, dacl, false);
    put_acl(&o, sacl, true);
    DWORD rc = simple_call(s, &o, id, KEYING_CLIENT_CALL_MS, NULL);
    put(s);
    return rc;
}
