/* reassembly.c - capped reassembly of fragmented AUTHORITY buffers (see reassembly.h). */
#include "core/reassembly.h"

#include <stdlib.h>
#include <string.h>

struct reasm_slot {
    bool in_use;
    struct reasm_key key;
    uint8_t *buf;         /* total bytes, reserved at the first fragment */
    uint32_t total;
    uint32_t received;    /* bit i: fragment i (offset i * 1188) is in buf */
    uint64_t deadline_ms; /* first fragment + timeout, never moved */
    uint64_t seq;         /* arrival order of the first fragment: "oldest" */
};

struct reasm {
    struct reasm_config cfg;
    /* cfg.max_buffers of them, allocated with the first split message
     * (NULL until then): most nodes never get one, and every engine has a
     * reassembler. */
    struct reasm_slot *slots;
    uint64_t next_seq;
    /* The completed buffer handed out by reasm_add(), freed by the next one. */
    uint8_t *loan;
    size_t loan_len;
    struct reasm_stats stats;
};

/* Slots to look through: none before the table exists. */
static uint32_t nslots(const struct reasm *r)
{
    return r->slots ? r->cfg.max_buffers : 0;
}

static uint32_t fragment_count(uint32_t total)
{
    return (total + REASM_FRAGMENT_SIZE - 1) / REASM_FRAGMENT_SIZE;
}

static uint32_t all_fragments_mask(uint32_t total)
{
    uint32_t n = fragment_count(total);
    return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

/* Only a buffer with two distinct fragments has shown that its sender is
 * really sending it; until then it is the cheap thing a flood is made of. */
static bool slot_is_proven(const struct reasm_slot *s)
{
    return (s->received & (s->received - 1)) != 0;
}

static bool key_equal(const struct reasm_key *a, const struct reasm_key *b)
{
    return a->msg_id == b->msg_id && a->addr_len == b->addr_len &&
           memcmp(a->addr, b->addr, a->addr_len) == 0;
}

/* The rules of SPLIT_CONTROLS for one fragment on its own ([MC-DRT] 2.2.2.6,
 * 3.2.5.7): every fragment but the last is exactly 1188 bytes, the last one
 * is whatever remains, so its length is fixed by Size and Offset. */
static bool fragment_is_valid(uint32_t total, uint32_t offset, size_t len)
{
    if (total == 0 || total > REASM_MAX_BUFFER_SIZE)
        return false;
    if (offset % REASM_FRAGMENT_SIZE != 0 || offset >= total)
        return false;
    uint32_t rest = total - offset;
    size_t expected = rest < REASM_FRAGMENT_SIZE ? rest : REASM_FRAGMENT_SIZE;
    return len == expected;
}

static void slot_free(struct reasm *r, struct reasm_slot *s)
{
    free(s->buf);
    r->stats.bytes_held -= s->total;
    r->stats.buffers_held--;
    *s = (struct reasm_slot){0};
}

void reasm_config_default(struct reasm_config *cfg)
{
    cfg->max_buffers = REASM_DEFAULT_MAX_BUFFERS;
    cfg->max_bytes = REASM_DEFAULT_MAX_BYTES;
    cfg->timeout_ms = REASM_DEFAULT_TIMEOUT_MS;
}

struct reasm *reasm_create(const struct reasm_config *cfg)
{
    struct reasm_config c;

    if (cfg)
        c = *cfg;
    else
        reasm_config_default(&c);
    if (c.max_buffers == 0 || c.max_buffers > REASM_MAX_BUFFERS_LIMIT ||
        c.max_bytes < REASM_MAX_BUFFER_SIZE || c.timeout_ms == 0)
        return NULL;

    struct reasm *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = c;
    return r;
}

void reasm_destroy(struct reasm *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < nslots(r); i++)
        free(r->slots[i].buf);
    free(r->slots);
    free(r->loan);
    free(r);
}

bool reasm_key_make(struct reasm_key *key, const void *addr, size_t addr_len, uint32_t msg_id)
{
    if (!key || addr_len > REASM_ADDR_MAX || (!addr && addr_len > 0))
        return false;
    memset(key, 0, sizeof(*key));
    if (addr_len > 0)
        memcpy(key->addr, addr, addr_len);
    key->addr_len = (uint8_t)addr_len;
    key->msg_id = msg_id;
    return true;
}

void reasm_release(struct reasm *r)
{
    if (!r || !r->loan)
        return;
    free(r->loan);
    r->stats.bytes_held -= r->loan_len;
    r->loan = NULL;
    r->loan_len = 0;
}

size_t reasm_expire(struct reasm *r, uint64_t now_ms)
{
    size_t n = 0;

    if (!r)
        return 0;
    for (uint32_t i = 0; i < nslots(r); i++) {
        struct reasm_slot *s = &r->slots[i];
        if (s->in_use && s->deadline_ms <= now_ms) {
            slot_free(r, s);
            n++;
        }
    }
    r->stats.expired += n;
    return n;
}

uint64_t reasm_next_deadline(const struct reasm *r)
{
    uint64_t earliest = UINT64_MAX;

    if (!r)
        return earliest;
    for (uint32_t i = 0; i < nslots(r); i++) {
        const struct reasm_slot *s = &r->slots[i];
        if (s->in_use && s->deadline_ms < earliest)
            earliest = s->deadline_ms;
    }
    return earliest;
}

void reasm_get_stats(const struct reasm *r, struct reasm_stats *stats)
{
    if (r && stats)
        *stats = r->stats;
}

const char *reasm_result_name(enum reasm_result res)
{
    switch (res) {
    case REASM_COMPLETE:
        return "COMPLETE";
    case REASM_INCOMPLETE:
        return "INCOMPLETE";
    case REASM_DUPLICATE:
        return "DUPLICATE";
    case REASM_REJECTED:
        return "REJECTED";
    case REASM_DROPPED_CAP:
        return "DROPPED_CAP";
    }
    return "?";
}

static struct reasm_slot *find_slot(struct reasm *r, const struct reasm_key *key)
{
    for (uint32_t i = 0; i < nslots(r); i++) {
        struct reasm_slot *s = &r->slots[i];
        if (s->in_use && key_equal(&s->key, key))
            return s;
    }
    return NULL;
}

static struct reasm_slot *oldest_unproven(struct reasm *r)
{
    struct reasm_slot *oldest = NULL;

    for (uint32_t i = 0; i < nslots(r); i++) {
        struct reasm_slot *s = &r->slots[i];
        if (s->in_use && !slot_is_proven(s) && (!oldest || s->seq < oldest->seq))
            oldest = s;
    }
    return oldest;
}

static bool has_room(const struct reasm *r, uint32_t total)
{
    return r->stats.buffers_held < r->cfg.max_buffers &&
           r->stats.bytes_held + total <= r->cfg.max_bytes;
}

/* Makes room for a new buffer of total bytes by evicting one-fragment
 * buffers, oldest first (the policy in reassembly.h). Evicts nothing unless
 * that is enough, so a refused newcomer costs nobody their buffer. */
static bool make_room(struct reasm *r, uint32_t total)
{
    if (has_room(r, total))
        return true;

    size_t unproven = 0, unproven_bytes = 0;
    for (uint32_t i = 0; i < nslots(r); i++) {
        const struct reasm_slot *s = &r->slots[i];
        if (s->in_use && !slot_is_proven(s)) {
            unproven++;
            unproven_bytes += s->total;
        }
    }
    /* bytes_held includes a loan, but reasm_add() has released it by now. */
    bool slot_ok = r->stats.buffers_held - unproven < r->cfg.max_buffers;
    bool bytes_ok = r->stats.bytes_held - unproven_bytes + total <= r->cfg.max_bytes;
    if (!slot_ok || !bytes_ok)
        return false;

    while (!has_room(r, total)) {
        slot_free(r, oldest_unproven(r));
        r->stats.evicted_cap++;
    }
    return true;
}

static struct reasm_slot *free_slot(struct reasm *r)
{
    for (uint32_t i = 0; i < nslots(r); i++) {
        if (!r->slots[i].in_use)
            return &r->slots[i];
    }
    return NULL;
}

static enum reasm_result reject(struct reasm *r, struct reasm_slot *s)
{
    if (s)
        slot_free(r, s);
    r->stats.rejected++;
    return REASM_REJECTED;
}

enum reasm_result reasm_add(struct reasm *r, const struct reasm_key *key, uint32_t total_size,
                            uint32_t offset, const uint8_t *frag, size_t frag_len,
                            uint64_t now_ms, const uint8_t **out_buf, size_t *out_len)
{
    if (out_buf)
        *out_buf = NULL;
    if (out_len)
        *out_len = 0;
    if (!r)
        return REASM_REJECTED;
    reasm_release(r);
    if (!key || !out_buf || !out_len || key->addr_len > REASM_ADDR_MAX ||
        (!frag && frag_len > 0))
        return reject(r, NULL);

    reasm_expire(r, now_ms);
    struct reasm_slot *s = find_slot(r, key);

    if (!fragment_is_valid(total_size, offset, frag_len))
        return reject(r, s);
    if (s && s->total != total_size)
        return reject(r, s);

    if (!s && total_size <= REASM_FRAGMENT_SIZE) {
        /* Not fragmented: frag is the whole buffer, nothing to hold. */
        r->stats.completed++;
        *out_buf = frag;
        *out_len = frag_len;
        return REASM_COMPLETE;
    }

    uint32_t bit = UINT32_C(1) << (offset / REASM_FRAGMENT_SIZE);
    if (s && (s->received & bit)) {
        if (memcmp(s->buf + offset, frag, frag_len) != 0)
            return reject(r, s);
        r->stats.duplicates++;
        return REASM_DUPLICATE;
    }

    if (!s) {
        if (!make_room(r, total_size)) {
            r->stats.refused_cap++;
            return REASM_DROPPED_CAP;
        }
        if (!r->slots) {
            r->slots = calloc(r->cfg.max_buffers, sizeof(*r->slots));
            if (!r->slots) {
                r->stats.refused_cap++;
                return REASM_DROPPED_CAP;
            }
        }
        uint8_t *buf = malloc(total_size);
        if (!buf) {
            /* The system's cap rather than ours, but the same outcome. */
            r->stats.refused_cap++;
            return REASM_DROPPED_CAP;
        }
        s = free_slot(r);
        s->in_use = true;
        s->key = *key;
        s->buf = buf;
        s->total = total_size;
        s->received = 0;
        s->deadline_ms = now_ms > UINT64_MAX - r->cfg.timeout_ms ? UINT64_MAX
                                                                 : now_ms + r->cfg.timeout_ms;
        s->seq = r->next_seq++;
        r->stats.bytes_held += total_size;
        r->stats.buffers_held++;
    }

    memcpy(s->buf + offset, frag, frag_len);
    s->received |= bit;
    if (s->received != all_fragments_mask(s->total))
        return REASM_INCOMPLETE;

    /* Hand the buffer out on loan; its bytes stay counted until released. */
    r->loan = s->buf;
    r->loan_len = s->total;
    s->buf = NULL;
    r->stats.buffers_held--;
    *s = (struct reasm_slot){0};
    r->stats.completed++;
    *out_buf = r->loan;
    *out_len = r->loan_len;
    return REASM_COMPLETE;
}
