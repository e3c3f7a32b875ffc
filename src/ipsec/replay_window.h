/*
 * replay_window.h - ESP anti-replay (RFC 4303 §3.4.3, Appendix A2): a
 * sliding window whose right edge is the highest authenticated sequence
 * number, and the inference of a 64-bit extended sequence number from the
 * 32 bits on the wire.
 *
 * Use: seq = replay_infer(w, low); if replay_check(w, seq) == REPLAY_OK,
 * verify the packet's ICV with seq's high half in the AAD, and only then
 * replay_accept(w, seq). The window never moves on an unauthenticated
 * packet. Sequence number 0 is never valid (the first packet carries 1).
 */
#ifndef DRT_IPSEC_REPLAY_WINDOW_H
#define DRT_IPSEC_REPLAY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_MIN_WINDOW 32u
#define REPLAY_DEFAULT_WINDOW 1024u
#define REPLAY_MAX_WINDOW 65536u /* well under the 2^31 App. A2 allows */

enum replay_verdict {
    REPLAY_OK,        /* new: may be accepted once authenticated */
    REPLAY_DUPLICATE, /* inside the window, already seen */
    REPLAY_TOO_OLD,   /* left of the window */
};

struct replay_window {
    uint64_t top;    /* highest accepted sequence number; 0 = none yet */
    uint32_t size;   /* W, a multiple of 64 */
    uint64_t *bits;  /* bit (seq % size) set when seq inside the window was seen */
};

/* size 0 selects the default; 32..65536, rounded up to a multiple of 64.
 * False when out of range or out of memory. */
bool replay_init(struct replay_window *w, uint32_t size);
void replay_free(struct replay_window *w);

/* The full sequence number a packet with low 32 bits `low` most likely
 * carries (App. A2.1, cases A and B). Without ESN the high half is 0. */
uint64_t replay_infer(const struct replay_window *w, uint32_t low);

enum replay_verdict replay_check(const struct replay_window *w, uint64_t seq);

/* Records an authenticated seq, advancing the window if it is new. */
void replay_accept(struct replay_window *w, uint64_t seq);

const char *replay_verdict_name(enum replay_verdict v);

#endif
