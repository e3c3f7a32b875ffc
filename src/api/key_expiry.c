/*
 * key_expiry.c - key lifetime: a registration whose proof has an end (the
 * derived-key provider's certificates expire) leaves the engine at that
 * second, and the application is told with
 * DRT_EVENT_REGISTRATION_STATE_CHANGED / DRT_REGISTRATION_STATE_UNRESOLVEABLE
 * (reference §3, §7.4). The handle stays valid: DrtUnregisterKey releases
 * it as usual, and the same key can be registered again with a renewed
 * certificate.
 *
 * The end is a wall-clock time (certificate dates), while the loop's
 * timers run on a monotonic clock; the timer is therefore re-armed from
 * the wall clock each time it fires, and never set further than
 * EXPIRY_RECHECK_MS ahead, so a clock that is stepped forward ends keys at
 * most that late. Everything here runs on the loop thread; the
 * registrations' lifetime fields are read and written under the
 * instance's lock, as API threads create and destroy registrations.
 *
 * No revocation is flooded for an expired key (docs/SECURITY.md, "Key
 * lifetime"): it would be signed with the expired certificate, which
 * every receiver refuses, so the provider does not sign it at all.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "io/io_loop.h"
#include "io/io_node.h"

#define EXPIRY_RECHECK_MS 60000
/* Whether a key has ended is decided with time(), the clock OpenSSL checks
 * certificates against; it may lag the precise wall clock the timer is set
 * from by a clock tick, so the timer is set this much later. */
#define EXPIRY_TICK_MS 20
/* When an event cannot be allocated, the key is kept and tried again. */
#define EXPIRY_RETRY_MS 1000

struct key_expiry {
    uv_timer_t timer;
    struct drt_instance *inst;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_expiry(uv_timer_t *t);

/* Starts the timer delay_ms from now, making it on first use. */
static void start_timer(struct drt_instance *inst, int64_t delay_ms)
{
    struct key_expiry *x = inst->expiry;
    if (!x) {
        x = calloc(1, sizeof(*x));
        if (!x || uv_timer_init(io_loop(), &x->timer) != 0) {
            /* Out of memory: keys then end only at DrtUnregisterKey. */
            free(x);
            return;
        }
        x->timer.data = x;
        x->inst = inst;
        inst->expiry = x;
    }
    if (delay_ms < 1)
        delay_ms = 1;
    if (delay_ms > EXPIRY_RECHECK_MS)
        delay_ms = EXPIRY_RECHECK_MS;
    uv_timer_start(&x->timer, on_expiry, (uint64_t)delay_ms, 0);
}

void key_expiry_arm(struct drt_instance *inst)
{
    int64_t earliest = 0;
    pthread_mutex_lock(&inst->lock);
    for (size_t i = 0; i < inst->nregs; i++) {
        const struct drt_registration *r = inst->regs[i];
        if (!r->expired && r->not_after > 0 && (earliest == 0 || r->not_after < earliest))
            earliest = r->not_after;
    }
    pthread_mutex_unlock(&inst->lock);
    if (earliest == 0) {
        if (inst->expiry)
            uv_timer_stop(&inst->expiry->timer);
        return;
    }
    /* Certificates are valid up to, not including, their notAfter second. */
    start_timer(inst, earliest * 1000 - wall_ms() + EXPIRY_TICK_MS);
}

/* Takes the next registration that has ended by `now` (seconds) and marks
 * it so; false when there is none. */
static bool next_ended(struct drt_instance *inst, int64_t now, uint32_t *reg_id,
                       BYTE key[32])
{
    bool found = false;
    pthread_mutex_lock(&inst->lock);
    for (size_t i = 0; i < inst->nregs && !found; i++) {
        struct drt_registration *r = inst->regs[i];
        if (r->expired || r->not_after <= 0 || r->not_after > now)
            continue;
        r->expired = true;
        *reg_id = r->reg_id;
        memcpy(key, r->key, 32);
        found = true;
    }
    pthread_mutex_unlock(&inst->lock);
    return found;
}

static void on_expiry(uv_timer_t *t)
{
    struct key_expiry *x = t->data;
    struct drt_instance *inst = x->inst;
    int64_t now = (int64_t)time(NULL);
    uint32_t reg_id;
    BYTE key[32];
    bool short_of_memory = false;
    for (;;) {
        /* The event first: a key must not leave silently. */
        struct api_event *ev = calloc(1, sizeof(*ev));
        if (!ev) {
            short_of_memory = true;
            break;
        }
        if (!next_ended(inst, now, &reg_id, key)) {
            free(ev);
            break;
        }
        ev->type = DRT_EVENT_REGISTRATION_STATE_CHANGED;
        ev->hr = DRT_E_INVALID_CERT_CHAIN; /* why: a certificate is out of date */
        ev->reg_state = DRT_REGISTRATION_STATE_UNRESOLVEABLE;
        memcpy(ev->local_key, key, 32);
        instance_push_event(inst, ev);
        /* Withdrawn: no longer published, answered or found locally; its
         * leaf-set deletions follow the state event. */
        if (inst->node)
            (void)drt_engine_unregister(inst->node->eng, reg_id, io_now_ms());
    }
    if (inst->node)
        io_node_flush(inst->node);
    if (short_of_memory)
        start_timer(inst, EXPIRY_RETRY_MS);
    else
        key_expiry_arm(inst);
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void key_expiry_close(struct drt_instance *inst)
{
    struct key_expiry *x = inst->expiry;
    if (!x)
        return;
    inst->expiry = NULL;
    uv_timer_stop(&x->timer);
    uv_close((uv_handle_t *)&x->timer, free_on_close);
}
