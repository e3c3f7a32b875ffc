/* prng.c - xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "sim/prng.h"

#include <string.h>

uint64_t sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_prng_seed(struct sim_prng *p, uint64_t seed)
{
    /* splitmix64 never yields four zero words in a row, and the all-zero
     * state is the one state xoshiro cannot leave. */
    for (int i = 0; i < 4; i++)
        p->s[i] = sim_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_prng_u64(struct sim_prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_prng_double(struct sim_prng *p)
{
    return (double)(sim_prng_u64(p) >> 11) * 0x1.0p-53;
}

uint64_t sim_prng_below(struct sim_prng *p, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Reject the few values below 2^64 mod n so every residue is equally
     * likely; at most half the draws are rejected, usually none. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = sim_prng_u64(p);
        if (r >= threshold)
            return r % n;
    }
}

double sim_ln(double x)
{
    static const double ln2 = 0.69314718055994530942;
    static const double sqrt2 = 1.41421356237309504880;
    if (!(x > 0))
        return -1e308;
    /* Split x = m * 2^e with m in [1, 2) straight from the IEEE bits, so
     * no libm call (frexp) is needed; subnormals are scaled up first. */
    int e = 0;
    if (x < 0x1.0p-1022) {
        x *= 0x1.0p54;
        e -= 54;
    }
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    e += (int)((bits >> 52) & 0x7FF) - 1023;
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof(m));
    /* Centre m on 1 so the series below converges fast: |s| <= 0.172. */
    if (m > sqrt2) {
        m *= 0.5;
        e += 1;
    }
    /* ln(m) = 2 atanh(s), s = (m-1)/(m+1); 12 odd terms reach 1e-17. */
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double sum = 0.0;
    for (int k = 23; k >= 1; k -= 2)
        sum = sum * s2 + 1.0 / k;
    return 2.0 * s * sum + e * ln2;
}

double sim_prng_exponential(struct sim_prng *p, double mean)
{
    /* 1 - u lies in (0, 1], so the logarithm is always finite. */
    return -mean * sim_ln(1.0 - sim_prng_double(p));
}
