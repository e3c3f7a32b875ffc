/* replay_window.c - ESP anti-replay window and ESN inference
 * (replay_window.h, RFC 4303 Appendix A2). */
#include "ipsec/replay_window.h"

#include <stdlib.h>
#include <string.h>

bool replay_init(struct replay_window *w, uint32_t size)
{
    memset(w, 0, sizeof(*w));
    if (size == 0)
        size = REPLAY_DEFAULT_WINDOW;
    if (size < REPLAY_MIN_WINDOW || size > REPLAY_MAX_WINDOW)
        return false;
    size = (size + 63) & ~63u;
    w->bits = calloc(size / 64, sizeof(uint64_t));
    if (!w->bits)
        return false;
    w->size = size;
    return true;
}

void replay_free(struct replay_window *w)
{
    free(w->bits);
    memset(w, 0, sizeof(*w));
}

uint64_t replay_infer(const struct replay_window *w, uint32_t low)
{
    uint32_t th = (uint32_t)(w->top >> 32), tl = (uint32_t)w->top;
    uint32_t bottom = tl - (w->size - 1); /* mod 2^32 */
    uint32_t high;
    if (tl >= w->size - 1) {
        /* Case A: the window lies within one 2^32 block; a low word below
         * it belongs to the next block. */
        high = low >= bottom ? th : th + 1;
    } else {
        /* Case B: the window straddles a block boundary; a low word at or
         * above its (wrapped) bottom belongs to the previous block. */
        high = low >= bottom ? th - 1 : th;
        if (th == 0 && low >= bottom)
            high = 0; /* nothing before block 0: read it as block 0 */
    }
    return ((uint64_t)high << 32) | low;
}

static bool bit(const struct replay_window *w, uint64_t seq)
{
    uint64_t i = seq % w->size;
    return (w->bits[i / 64] >> (i % 64)) & 1u;
}

static void set_bit(struct replay_window *w, uint64_t seq, bool on)
{
    uint64_t i = seq % w->size;
    if (on)
        w->bits[i / 64] |= (uint64_t)1 << (i % 64);
    else
        w->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

enum replay_verdict replay_check(const struct replay_window *w, uint64_t seq)
{
    if (seq == 0)
        return REPLAY_TOO_OLD;
    if (seq > w->top)
        return REPLAY_OK;
    if (w->top - seq >= w->size)
        return REPLAY_TOO_OLD;
    return bit(w, seq) ? REPLAY_DUPLICATE : REPLAY_OK;
}

void replay_accept(struct replay_window *w, uint64_t seq)
{
    if (replay_check(w, seq) != REPLAY_OK)
        return;
    if (seq > w->top) {
        /* Clear the slots the window slides over (all of them after a big
         * jump), then move the right edge. */
        uint64_t gap = seq - w->top;
        if (gap >= w->size) {
            memset(w->bits, 0, w->size / 8);
        } else {
            for (uint64_t s = w->top + 1; s < seq; s++)
                set_bit(w, s, false);
        }
        w->top = seq;
    }
    set_bit(w, seq, true);
}

const char *replay_verdict_name(enum replay_verdict v)
{
    switch (v) {
    case REPLAY_OK:
        return "OK";
    case REPLAY_DUPLICATE:
        return "DUPLICATE";
    case REPLAY_TOO_OLD:
        return "TOO_OLD";
    }
    return "?";
}
