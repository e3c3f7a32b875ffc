/* net_model.c - latency draws, loss/dup coin flips, per-pair overrides. */
#include "sim/net_model.h"

#include <stdlib.h>
#include <string.h>

#include "sim/node_table.h"

/* A tail draw beyond 16 means has probability e^-16 (about 1e-7): capping
 * it there barely changes the distribution but bounds every delay, which
 * tests and timeouts can rely on. */
#define TAIL_CAP_MEANS 16

static bool prob_valid(double p)
{
    return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

bool sim_link_valid(const struct sim_link *l)
{
    return l && prob_valid(l->loss) && prob_valid(l->dup) && prob_valid(l->reorder_prob) &&
           prob_valid(l->corrupt);
}

void sim_net_init(struct sim_net_model *m, const struct sim_link *def, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->def = *def;
    uint64_t s = seed ^ 0x706C616E65ull; /* "plane": a stream apart from the PRNGs */
    m->place_salt = sim_splitmix64(&s);
}

void sim_net_free(struct sim_net_model *m)
{
    free(m->pairs);
    memset(m, 0, sizeof(*m));
}

static void order_pair(const struct drt_endpoint **a, const struct drt_endpoint **b)
{
    if (drt_endpoint_cmp(*a, *b) > 0) {
        const struct drt_endpoint *t = *a;
        *a = *b;
        *b = t;
    }
}

static int pair_cmp(const struct sim_pair_link *p, const struct drt_endpoint *lo,
                    const struct drt_endpoint *hi)
{
    int c = drt_endpoint_cmp(&p->lo, lo);
    return c ? c : drt_endpoint_cmp(&p->hi, hi);
}

/* Index of the first pair not below (lo, hi). */
static size_t lower_bound(const struct sim_net_model *m, const struct drt_endpoint *lo,
                          const struct drt_endpoint *hi)
{
    size_t left = 0, right = m->npairs;
    while (left < right) {
        size_t mid = left + (right - left) / 2;
        if (pair_cmp(&m->pairs[mid], lo, hi) < 0)
            left = mid + 1;
        else
            right = mid;
    }
    return left;
}

int sim_net_set_pair(struct sim_net_model *m, const struct drt_endpoint *a,
                     const struct drt_endpoint *b, const struct sim_link *link)
{
    if (!a || !b || (link && !sim_link_valid(link)))
        return SIM_E_INVALID;
    order_pair(&a, &b);
    size_t i = lower_bound(m, a, b);
    bool found = i < m->npairs && pair_cmp(&m->pairs[i], a, b) == 0;
    if (!link) {
        if (found) {
            memmove(&m->pairs[i], &m->pairs[i + 1], (m->npairs - i - 1) * sizeof(*m->pairs));
            m->npairs--;
        }
        return SIM_OK;
    }
    if (found) {
        m->pairs[i].link = *link;
        return SIM_OK;
    }
    if (m->npairs == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct sim_pair_link *p = realloc(m->pairs, cap * sizeof(*p));
        if (!p)
            return SIM_E_NOMEM;
        m->pairs = p;
        m->cap = cap;
    }
    memmove(&m->pairs[i + 1], &m->pairs[i], (m->npairs - i) * sizeof(*m->pairs));
    m->pairs[i].lo = *a;
    m->pairs[i].hi = *b;
    m->pairs[i].link = *link;
    m->npairs++;
    return SIM_OK;
}

const struct sim_link *sim_net_link(const struct sim_net_model *m, const struct drt_endpoint *a,
                                    const struct drt_endpoint *b)
{
    if (m->npairs == 0)
        return &m->def;
    order_pair(&a, &b);
    size_t i = lower_bound(m, a, b);
    if (i < m->npairs && pair_cmp(&m->pairs[i], a, b) == 0)
        return &m->pairs[i].link;
    return &m->def;
}

struct sim_pos sim_net_place(const struct sim_net_model *m, const struct drt_endpoint *ep)
{
    uint64_t h = sim_endpoint_hash(ep) ^ m->place_salt;
    h = sim_splitmix64(&h);
    struct sim_pos p = {(uint16_t)(h % (SIM_PLANE_UNIT + 1)),
                        (uint16_t)((h >> 32) % (SIM_PLANE_UNIT + 1))};
    return p;
}

static uint64_t isqrt(uint64_t v)
{
    uint64_t r = 0, bit = 1ull << 62;
    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

uint64_t sim_net_distance(struct sim_pos a, struct sim_pos b)
{
    int64_t dx = (int64_t)a.x - b.x, dy = (int64_t)a.y - b.y;
    return isqrt((uint64_t)(dx * dx + dy * dy));
}

uint64_t sim_net_delay(const struct sim_link *l, struct sim_pos a, struct sim_pos b,
                       struct sim_prng *rng)
{
    uint64_t d = l->base_us;
    if (l->plane_us)
        d += (uint64_t)l->plane_us * sim_net_distance(a, b) / SIM_PLANE_UNIT;
    if (l->jitter_us)
        d += sim_prng_below(rng, (uint64_t)l->jitter_us + 1);
    if (l->tail_mean_us) {
        double cap = (double)l->tail_mean_us * TAIL_CAP_MEANS;
        double t = sim_prng_exponential(rng, l->tail_mean_us);
        d += (uint64_t)(t < cap ? t : cap);
    }
    if (l->reorder_us && sim_net_chance(rng, l->reorder_prob))
        d += sim_prng_below(rng, (uint64_t)l->reorder_us + 1);
    return d;
}

bool sim_net_chance(struct sim_prng *rng, double p)
{
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return sim_prng_double(rng) < p;
}
