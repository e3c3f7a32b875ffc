/*
 * prng.h - the simulator's random numbers: xoshiro256** seeded through
 * splitmix64.
 *
 * This is simulation randomness, never key material: it only has to be fast,
 * well distributed and, above all, reproducible. Everything here uses integer
 * arithmetic or the four basic IEEE-754 operations, which are exact and
 * identical on every conforming platform; libm's log() is not guaranteed to
 * round the same way everywhere, so the exponential draw uses our own
 * logarithm. The same seed therefore gives the same stream on any host.
 */
#ifndef DRT_SIM_PRNG_H
#define DRT_SIM_PRNG_H

#include <stdint.h>

struct sim_prng {
    uint64_t s[4];
};

/* One step of splitmix64: also a good 64-bit mixing function on its own. */
uint64_t sim_splitmix64(uint64_t *state);

/* Seeds the generator; any seed (0 included) gives a valid non-zero state. */
void sim_prng_seed(struct sim_prng *p, uint64_t seed);

uint64_t sim_prng_u64(struct sim_prng *p);

/* Uniform in [0, 1) with 53 random bits. */
double sim_prng_double(struct sim_prng *p);

/* Uniform in [0, n) without modulo bias; n == 0 returns 0. */
uint64_t sim_prng_below(struct sim_prng *p, uint64_t n);

/* Exponentially distributed with the given mean (>= 0). */
double sim_prng_exponential(struct sim_prng *p, double mean);

/* Natural logarithm of x > 0, reproducible bit for bit (see above). */
double sim_ln(double x);

#endif
