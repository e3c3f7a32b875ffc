/*
 * drt_register.c - DrtRegisterKey, DrtUpdateKey, DrtUnregisterKey.
 * Validation order: docs/API.md. The security provider approves a key
 * before the engine takes it; the engine publishes it once ACTIVE.
 */
#include <string.h>

#include "api/api_internal.h"
#include "api/security_derived.h"
#include "core/engine.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "util/export.h"

/* appData must hold 1..DRT_MAX_PAYLOAD_SIZE bytes behind a non-NULL pointer
 * (the documented "less than 1" bound read as: empty payloads are refused). */
static bool app_data_valid(const DRT_DATA *d)
{
    return d->cb >= 1 && d->cb <= DRT_MAX_PAYLOAD_SIZE && d->pb != NULL;
}

struct key_job {
    struct drt_instance *inst;
    const BYTE *key;
    const DRT_DATA *data;
    uint32_t reg_id;
    HRESULT hr;
    struct drt_registration *reg; /* register: the object to bind to reg_id */
    int64_t not_after;            /* register: end of the key's proof, 0 = none */
};

static void do_register(void *arg)
{
    struct key_job *j = arg;
    struct io_node *n = j->inst->node;
    j->hr = n ? drt_engine_register(n->eng, j->key, j->data->pb, j->data->cb, &j->reg_id,
                                    io_now_ms())
              : E_UNEXPECTED;
    /* Bind the registration to the engine's id before anything is sent:
     * a peer's INQUIRE for the key may be answered as soon as the
     * publication goes out, and the security adapter finds the key's
     * context (the certificate that signs the answer) by this id. */
    if (SUCCEEDED(j->hr)) {
        pthread_mutex_lock(&j->inst->lock);
        j->reg->reg_id = j->reg_id;
        j->reg->not_after = j->not_after;
        pthread_mutex_unlock(&j->inst->lock);
        if (j->not_after > 0)
            key_expiry_arm(j->inst);
    }
    if (n)
        io_node_flush(n);
}

/* Whether the registration's key was withdrawn at its end of life
 * (key_expiry.c); read on the loop thread, where that happens. */
static bool reg_expired(struct key_job *j)
{
    pthread_mutex_lock(&j->inst->lock);
    bool expired = j->reg->expired;
    pthread_mutex_unlock(&j->inst->lock);
    return expired;
}

static void do_update(void *arg)
{
    struct key_job *j = arg;
    struct io_node *n = j->inst->node;
    /* An expired key has nothing left to update: its certificate is what
     * no longer holds (docs/API.md). */
    if (reg_expired(j)) {
        j->hr = DRT_E_INVALID_CERT_CHAIN;
        return;
    }
    j->hr = n ? drt_engine_update(n->eng, j->reg_id, j->data->pb, j->data->cb, io_now_ms())
              : E_UNEXPECTED;
    if (n)
        io_node_flush(n);
}

static void do_unregister(void *arg)
{
    struct key_job *j = arg;
    struct io_node *n = j->inst->node;
    /* An expired key already left the engine when it expired. */
    if (reg_expired(j)) {
        j->hr = S_OK;
        return;
    }
    j->hr = n ? drt_engine_unregister(n->eng, j->reg_id, io_now_ms()) : E_UNEXPECTED;
    if (n)
        io_node_flush(n);
}

DRT_EXPORT HRESULT WINAPI DrtRegisterKey(HDRT hDrt, DRT_REGISTRATION *pRegistration,
                                         PVOID pvKeyContext,
                                         HDRT_REGISTRATION_CONTEXT *phKeyRegistration)
{
    if (!pRegistration || !phKeyRegistration)
        return E_INVALIDARG;
    *phKeyRegistration = NULL;
    if (!pRegistration->key.pb || !app_data_valid(&pRegistration->appData))
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (pRegistration->key.cb != 32)
        return DRT_E_INVALID_KEY_SIZE;
    if (instance_status(inst, NULL) == DRT_FAULTED)
        return DRT_E_FAULTED;
    /* The provider decides whether this node may publish the key. */
    DRT_SECURITY_PROVIDER *sp = inst->security;
    HRESULT hr = sp->RegisterKey(sp->pvContext, pRegistration, pvKeyContext);
    if (FAILED(hr))
        return hr;
    struct drt_registration *reg;
    hr = registration_create(inst, &reg);
    if (FAILED(hr)) {
        sp->UnregisterKey(sp->pvContext, &pRegistration->key, pvKeyContext);
        return hr;
    }
    memcpy(reg->key, pRegistration->key.pb, 32);
    reg->key_context = pvKeyContext;
    struct key_job job = {inst, pRegistration->key.pb, &pRegistration->appData, 0, S_OK, reg, 0};
    /* The derived-key provider's keys end with their certificates. */
    if (!derived_key_lifetime(sp, pvKeyContext, &job.not_after))
        job.not_after = 0;
    io_call(do_register, &job);
    if (FAILED(job.hr)) {
        registration_destroy(reg);
        sp->UnregisterKey(sp->pvContext, &pRegistration->key, pvKeyContext);
        return job.hr;
    }
    *phKeyRegistration = reg->handle;
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtUpdateKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration,
                                       DRT_DATA *pAppData)
{
    if (!pAppData || !app_data_valid(pAppData))
        return E_INVALIDARG;
    struct drt_registration *reg = handle_table_get(hKeyRegistration, HANDLE_TYPE_REGISTRATION);
    if (!reg)
        return E_HANDLE;
    struct drt_instance *inst = handle_table_get(reg->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (instance_status(inst, NULL) == DRT_FAULTED)
        return DRT_E_FAULTED;
    struct key_job job = {inst, reg->key, pAppData, reg->reg_id, S_OK, reg, 0};
    io_call(do_update, &job);
    return job.hr;
}

DRT_EXPORT VOID WINAPI DrtUnregisterKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration)
{
    struct drt_registration *reg = handle_table_get(hKeyRegistration, HANDLE_TYPE_REGISTRATION);
    if (!reg)
        return;
    struct drt_instance *inst = handle_table_get(reg->instance, HANDLE_TYPE_INSTANCE);
    if (inst) {
        struct key_job job = {inst, reg->key, NULL, reg->reg_id, S_OK, reg, 0};
        io_call(do_unregister, &job);
        DRT_DATA key = {32, reg->key};
        inst->security->UnregisterKey(inst->security->pvContext, &key, reg->key_context);
    }
    registration_destroy(reg);
}
