/* Drives the AUTHORITY reassembler with a stream of fragments read from the
 * input: every fragment header field (source, message id, Size, Offset,
 * length, clock step) comes from the fuzzer, so overlaps, contradictions,
 * out-of-range offsets and cap pressure are all reached. The invariants
 * checked are the reassembler's own: a completed buffer has the announced
 * size and the byte caps hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/reassembly.h"

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint32_t take(struct cursor *c, unsigned nbytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < nbytes && c->left > 0; i++, c->p++, c->left--)
        v = (v << 8) | *c->p;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reasm_config cfg;
    reasm_config_default(&cfg);
    cfg.max_buffers = 4; /* small caps so eviction and refusal are reached */
    cfg.max_bytes = REASM_MAX_BUFFER_SIZE * 2;
    struct reasm *r = reasm_create(&cfg);
    if (!r)
        return 0;

    struct cursor c = {data, size};
    uint64_t now = 0;
    while (c.left >= 8) {
        uint8_t src = (uint8_t)take(&c, 1);
        uint32_t msg_id = take(&c, 1);
        /* Sizes near the legal range are the interesting ones. */
        uint32_t total = take(&c, 2) % (REASM_MAX_BUFFER_SIZE + 64);
        uint32_t offset = take(&c, 2) % (REASM_MAX_BUFFER_SIZE + 64);
        uint32_t len = take(&c, 1) * 8u;
        now += take(&c, 1) * 40u;
        if (len > c.left)
            len = (uint32_t)c.left;

        /* A fresh copy, so reading past the fragment is caught by ASan. */
        uint8_t *frag = malloc(len ? len : 1);
        if (!frag)
            break;
        memcpy(frag, c.p, len);
        c.p += len;
        c.left -= len;

        struct reasm_key key;
        reasm_key_make(&key, &src, 1, msg_id);
        const uint8_t *out = NULL;
        size_t out_len = 0;
        enum reasm_result res = reasm_add(r, &key, total, offset, frag, len, now, &out, &out_len);
        if (res == REASM_COMPLETE) {
            if (out == NULL || out_len != total)
                abort();
            volatile uint8_t sink = 0;
            for (size_t i = 0; i < out_len; i++)
                sink ^= out[i];
            (void)sink;
            reasm_release(r);
        } else if (out != NULL || out_len != 0) {
            abort();
        }
        free(frag);

        struct reasm_stats st;
        reasm_get_stats(r, &st);
        if (st.bytes_held > cfg.max_bytes || st.buffers_held > cfg.max_buffers)
            abort();
    }
    reasm_destroy(r);
    return 0;
}
