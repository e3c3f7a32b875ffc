/*
 * reassembly.h - capped reassembly of fragmented AUTHORITY buffers.
 *
 * [MC-DRT] 3.2.5.7 splits an AUTHORITY_BUFFER longer than 1188 bytes into
 * 1188-byte fragments (the last one shorter or equal), each sent in its own
 * AUTHORITY message with the same DRT header; SPLIT_CONTROLS gives the whole
 * buffer's Size (<= 0x91E4) and the fragment's Offset (a multiple of 1188).
 * This module puts such buffers back together. It is sans-I/O: time comes in
 * as now_ms, nothing here reads a clock, and every byte it holds is counted
 * against the caps in struct reasm_config.
 *
 * Keys. A buffer in progress is identified by the sender's address (opaque
 * bytes, e.g. a struct sockaddr_in6) and the ACKED MessageID, i.e. the id of
 * the LOOKUP or INQUIRE it answers. The caller is expected to have dropped
 * AUTHORITY messages that match no pending request of its own to that sender
 * (as [MS-PNRP] 3.1.5.6, the spec [MC-DRT] derives from, requires) before
 * calling reasm_add(): that filter, which a remote party can only pass by
 * knowing a random 32-bit id the engine is waiting on, is the first line of
 * defence against floods; the caps here are the second.
 *
 * Caps and the policy when full. Each buffer in progress reserves its whole
 * Size when its first fragment arrives (so a fragment never needs memory
 * later) and counts it in bytes_held. A new buffer needs a free slot
 * (max_buffers) and room for its Size (max_bytes). When either is missing,
 * the module evicts buffers that have so far received ONE fragment only,
 * oldest first, and counts each in evicted_cap; if evicting every such buffer
 * would still not make room, nothing is evicted and the newcomer is refused
 * (REASM_DROPPED_CAP, counted in refused_cap). A buffer that has received two
 * distinct fragments is never evicted for a newcomer; only its timeout ends
 * it. Why this policy and not plain "evict oldest" or "refuse new":
 *   - a flood of bogus first fragments from many senders costs one datagram
 *     each; under "evict oldest" it pushes legitimate partial buffers out, and
 *     under "refuse new" it fills the table once and then locks every
 *     legitimate reply out for a whole timeout;
 *   - a legitimate responder sends all fragments back to back, so its buffer
 *     gets its second fragment long before max_buffers - 1 newer buffers
 *     arrive; from then on such a flood cannot touch it, and each flooding
 *     datagram only replaces another one-fragment buffer, so new legitimate
 *     replies keep getting in too.
 * An attacker who sends two consistent fragments for max_buffers keys can
 * still keep new buffers out for one timeout; the pending-request filter
 * above is what makes such keys expensive to forge.
 *
 * Timeout. A buffer is dropped timeout_ms after its FIRST fragment, however
 * much it progressed since, so trickling fragments cannot keep memory held.
 * The default of 5000 ms covers the requester's own patience: [MC-DRT]
 * retransmits a pending request after 1 s, at most twice, and each copy
 * draws the whole reply again, so gaps can still be filling about 3 s after
 * the first fragment, plus round-trip margin. Past that the requester has
 * given up and the buffer is of no use.
 *
 * Inconsistent input. A fragment that breaks the SPLIT_CONTROLS rules, or
 * that contradicts the buffer already in progress for its key (a different
 * Size, or different bytes for a fragment already held), is REJECTED; if its
 * key has a buffer in progress, that buffer is discarded as well. [MS-PNRP]
 * 3.1.5.6 does so for a Size mismatch and for Offset + length beyond Size;
 * we extend it to every rejection because once a sender's fragments disagree
 * there is no telling which are right, and a retransmitted reply then starts
 * from a clean slate. Since every fragment but the last is exactly 1188
 * bytes at a multiple of 1188, two fragments overlap only when they have the
 * same Offset; an identical repeat is a DUPLICATE and ignored.
 *
 * Memory. struct reasm allocates its slot table once (max_buffers entries of
 * under 100 bytes) and one heap block per buffer in progress, of that
 * buffer's Size; bytes_held never exceeds max_bytes. A buffer of Size <=
 * 1188 arrives whole in one fragment and completes at once without being
 * copied or held.
 *
 * Not thread-safe: one struct reasm belongs to one engine thread.
 */
#ifndef DRT_CORE_REASSEMBLY_H
#define DRT_CORE_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire limits of SPLIT_CONTROLS ([MC-DRT] 2.2.2.6, 3.2.5.7). */
#define REASM_FRAGMENT_SIZE 1188u
#define REASM_MAX_BUFFER_SIZE 0x91E4u /* 37348 */
/* ceil(37348 / 1188): the received-fragment bitmap is one uint32_t. */
#define REASM_MAX_FRAGMENTS 32u
/* Longest sender address: a struct sockaddr_in6 is 28 bytes. */
#define REASM_ADDR_MAX 28u

/* Defaults and bounds of struct reasm_config. */
#define REASM_DEFAULT_MAX_BUFFERS 32u
#define REASM_DEFAULT_MAX_BYTES (256u * 1024u)
#define REASM_DEFAULT_TIMEOUT_MS 5000u
/* Lookups scan the slot table, so keep it small enough to scan per datagram. */
#define REASM_MAX_BUFFERS_LIMIT 4096u

struct reasm_config {
    /* Buffers in progress at once, 1..REASM_MAX_BUFFERS_LIMIT. */
    uint32_t max_buffers;
    /* Bytes reserved by buffers in progress plus the completed buffer on
     * loan; at least REASM_MAX_BUFFER_SIZE so any legal buffer can finish. */
    size_t max_bytes;
    /* Lifetime of a buffer from its first fragment, >= 1. */
    uint64_t timeout_ms;
};

struct reasm_key {
    uint8_t addr[REASM_ADDR_MAX]; /* only the first addr_len bytes count */
    uint8_t addr_len;             /* 0..REASM_ADDR_MAX */
    uint32_t msg_id;              /* the ACKED MessageID */
};

enum reasm_result {
    REASM_COMPLETE,    /* the whole buffer is in *out_buf / *out_len */
    REASM_INCOMPLETE,  /* fragment stored; more to come */
    REASM_DUPLICATE,   /* a fragment already held, same bytes: ignored */
    REASM_REJECTED,    /* invalid or contradicting fragment: dropped */
    REASM_DROPPED_CAP, /* no room for a new buffer under the caps */
};

struct reasm_stats {
    uint64_t completed;   /* buffers handed out whole, single-fragment ones too */
    uint64_t duplicates;  /* repeated fragments ignored */
    uint64_t rejected;    /* fragments rejected (a discarded buffer is not counted again) */
    uint64_t evicted_cap; /* one-fragment buffers evicted to make room */
    uint64_t refused_cap; /* new buffers refused for lack of room */
    uint64_t expired;     /* buffers dropped by their timeout */
    size_t bytes_held;    /* bytes reserved now, including a buffer on loan */
    size_t buffers_held;  /* buffers in progress now */
};

struct reasm;

/* The defaults above. */
void reasm_config_default(struct reasm_config *cfg);

/* A reassembler with cfg's caps (NULL: the defaults). Returns NULL when cfg
 * is out of bounds or memory is short. */
struct reasm *reasm_create(const struct reasm_config *cfg);

/* Frees everything, a buffer on loan included. NULL is ignored. */
void reasm_destroy(struct reasm *r);

/* Fills key from an address of addr_len bytes (zeroing the rest) and the
 * ACKED MessageID. Returns false, leaving key untouched, if addr_len exceeds
 * REASM_ADDR_MAX or addr is NULL with addr_len > 0. */
bool reasm_key_make(struct reasm_key *key, const void *addr, size_t addr_len, uint32_t msg_id);

/*
 * Offers one AUTHORITY fragment: SPLIT_CONTROLS' Size (total_size) and
 * Offset, and the fragment's frag_len bytes at frag. Buffers whose timeout
 * has passed at now_ms are dropped first, as by reasm_expire().
 *
 * On REASM_COMPLETE, *out_buf and *out_len give the whole AUTHORITY_BUFFER.
 * The bytes stay valid until the next reasm_add(), reasm_release() or
 * reasm_destroy() on r; when the buffer came in one fragment, *out_buf is
 * frag itself, so it is also valid no longer than frag. On every other
 * result *out_buf is NULL and *out_len 0. Null r, key, out_buf or out_len,
 * an addr_len over REASM_ADDR_MAX or a null frag with frag_len > 0 give
 * REASM_REJECTED (counted when r is not NULL).
 */
enum reasm_result reasm_add(struct reasm *r, const struct reasm_key *key, uint32_t total_size,
                            uint32_t offset, const uint8_t *frag, size_t frag_len,
                            uint64_t now_ms, const uint8_t **out_buf, size_t *out_len);

/* Frees the completed buffer on loan, if any, before the next reasm_add()
 * would; lets bytes_held drop as soon as the caller is done with it. */
void reasm_release(struct reasm *r);

/* Drops every buffer whose deadline (first fragment + timeout_ms) is at or
 * before now_ms. Returns how many it dropped. */
size_t reasm_expire(struct reasm *r, uint64_t now_ms);

/* The earliest deadline of the buffers in progress, or UINT64_MAX if none:
 * when the engine's timer should next call reasm_expire(). */
uint64_t reasm_next_deadline(const struct reasm *r);

void reasm_get_stats(const struct reasm *r, struct reasm_stats *stats);

/* "COMPLETE", "INCOMPLETE", ... for logs; "?" for an unknown value. */
const char *reasm_result_name(enum reasm_result res);

#endif
