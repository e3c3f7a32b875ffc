/*
 * net_model.h - how long a datagram takes and whether it arrives.
 *
 * The model is the one described at the top of sim/sim.h. Positions on the
 * virtual plane are 16-bit fixed-point coordinates, and distances use an
 * integer square root, so base latencies are exact integers on every host.
 * Per-pair overrides are few (a scenario singles out some links), so they
 * live in a sorted array searched by bisection rather than in a matrix.
 */
#ifndef DRT_SIM_NET_MODEL_H
#define DRT_SIM_NET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "sim/prng.h"
#include "sim/sim.h"

#define SIM_PLANE_UNIT 65535u

struct sim_pos {
    uint16_t x, y; /* 0..SIM_PLANE_UNIT */
};

struct sim_pair_link {
    struct drt_endpoint lo, hi; /* lo < hi by drt_endpoint_cmp */
    struct sim_link link;
};

struct sim_net_model {
    struct sim_link def;
    struct sim_pair_link *pairs; /* sorted by (lo, hi) */
    size_t npairs, cap;
    uint64_t place_salt;         /* ties node placement to the seed */
};

bool sim_link_valid(const struct sim_link *l);

void sim_net_init(struct sim_net_model *m, const struct sim_link *def, uint64_t seed);
void sim_net_free(struct sim_net_model *m);

/* NULL link removes the override. Returns SIM_OK, SIM_E_INVALID or SIM_E_NOMEM. */
int sim_net_set_pair(struct sim_net_model *m, const struct drt_endpoint *a,
                     const struct drt_endpoint *b, const struct sim_link *link);

/* The link in force between a and b (either direction). */
const struct sim_link *sim_net_link(const struct sim_net_model *m, const struct drt_endpoint *a,
                                    const struct drt_endpoint *b);

/* Where an endpoint sits on the plane unless told otherwise. */
struct sim_pos sim_net_place(const struct sim_net_model *m, const struct drt_endpoint *ep);

/* Distance between two positions, in 1/SIM_PLANE_UNIT of the square's side. */
uint64_t sim_net_distance(struct sim_pos a, struct sim_pos b);

/* Draws the one-way delay of one datagram over link l. */
uint64_t sim_net_delay(const struct sim_link *l, struct sim_pos a, struct sim_pos b,
                       struct sim_prng *rng);

/* True with probability p. Draws nothing when p is 0 or 1, so a lossless
 * network does not consume random numbers on loss checks. */
bool sim_net_chance(struct sim_prng *rng, double p);

#endif
