/*
 * pending.h - requests this node sent and still waits on, by MessageID.
 *
 * Every request ([MC-DRT] SOLICIT, REQUEST, INQUIRE, LOOKUP) gets a random
 * MessageID and an entry here holding its bytes for retransmission. An
 * answer (ADVERTISE, ACK, AUTHORITY) is only accepted when its Acked
 * MessageID is here AND it comes from the port the request went to: the
 * random 32-bit id is the return-routability proof the engine builds on,
 * and the first filter against forged answers. The address may differ: a
 * host with several addresses on one link (an IPv6 link-local and its
 * configured one, privacy addresses) answers from the one its kernel
 * picks, not necessarily the one we wrote to. Retransmission: every rto_ms,
 * at most `retries` more times ([MC-DRT] 3.1.2: 1 s, 2 retries); then the
 * entry expires and its owner is told.
 */
#ifndef DRT_CORE_PENDING_H
#define DRT_CORE_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

enum pending_kind {
    PENDING_SOLICIT,
    PENDING_REQUEST,
    PENDING_INQUIRE_VERIFY,  /* return-routability check of a learned entry */
    PENDING_INQUIRE_PING,    /* liveness of a leaf-set neighbour */
    PENDING_INQUIRE_RESULT,  /* fetch a search result's app data */
    PENDING_INQUIRE_REVOKE,  /* does the key's node confirm a revocation? */
    PENDING_LOOKUP,          /* one hop of a search or a publication */
};

struct pending {
    uint32_t msg_id;
    enum pending_kind kind;
    struct drt_endpoint peer;
    uint8_t key[32];      /* the key asked about (validate key / target) */
    uint32_t owner;       /* search id, or 0 */
    uint64_t sent_at;     /* first transmission, for RTT */
    uint64_t deadline;    /* next retransmission or expiry */
    uint32_t rto_ms;
    uint8_t retries_left;
    bool retransmitted;   /* RTT samples only from unambiguous answers */
    uint8_t nonce[16];    /* INQUIRE nonce / SOLICIT conversation nonce */
    uint8_t *dgram;       /* bytes to resend */
    size_t len;
    /* > 0: dgram holds several datagrams (a REQUEST cut by SPLIT_CONTROLS)
     * of frag_len bytes each, the last one shorter. */
    size_t frag_len;
};

struct pending_table {
    struct pending *items;
    size_t count;
    size_t cap;
    size_t max; /* cap on outstanding requests; over it, new ones are refused */
};

void pending_init(struct pending_table *t, size_t max);
void pending_free(struct pending_table *t);
/* Adds a copy of p (taking a copy of its datagram bytes). NULL when full
 * or out of memory. The returned pointer is valid until the next add or
 * remove. */
struct pending *pending_add(struct pending_table *t, const struct pending *p);
/* The entry for an answer: same id, and sent to `from`'s port. */
struct pending *pending_match(struct pending_table *t, uint32_t msg_id,
                              const struct drt_endpoint *from);
bool pending_id_in_use(const struct pending_table *t, uint32_t msg_id);
void pending_remove(struct pending_table *t, struct pending *p);
/* Removes every entry of a search. */
void pending_remove_owner(struct pending_table *t, uint32_t owner);
/* Gives back what a burst of requests left unused: halves the table while
 * a quarter of it or less is in use (down to 16). Moves the entries, so
 * no pointer into the table may be held across it. */
void pending_trim(struct pending_table *t);
size_t pending_count_owner(const struct pending_table *t, uint32_t owner);
size_t pending_count_kind(const struct pending_table *t, enum pending_kind kind);
/* Whether a request of that kind about that key is outstanding. */
bool pending_has(const struct pending_table *t, enum pending_kind kind, const uint8_t key[32]);
uint64_t pending_next_deadline(const struct pending_table *t);

#endif
