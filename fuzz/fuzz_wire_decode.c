/* Feeds arbitrary datagrams to the [MC-DRT] decoders. Beyond "no crash, no
 * out-of-bounds read" (ASan), it checks the codec's own promise: whatever
 * decodes re-encodes, and the re-encoded bytes decode to the same message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

static uint8_t out1[70000];
static uint8_t out2[70000];

static void check_stable(const struct wire_msg *m)
{
    size_t n1, n2;
    struct wire_msg again;
    if (wire_encode(m, out1, sizeof(out1), &n1) != S_OK)
        abort();
    if (wire_decode(out1, n1, &again) != S_OK)
        abort();
    if (wire_encode(&again, out2, sizeof(out2), &n2) != S_OK)
        abort();
    if (n1 != n2 || memcmp(out1, out2, n1) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes, so any overread is caught. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct wire_msg m;
    HRESULT hr = wire_decode(buf, size, &m);
    if (hr == S_OK)
        check_stable(&m);
    else if (hr != DRT_E_INVALID_MESSAGE)
        abort();

    struct wire_authority_buffer ab;
    hr = wire_decode_authority_buffer(buf, size, &ab);
    if (hr == S_OK) {
        size_t n;
        if (wire_encode_authority_buffer(&ab, out1, sizeof(out1), &n) != S_OK)
            abort();
    } else if (hr != DRT_E_INVALID_MESSAGE) {
        abort();
    }

    struct wire_request req;
    memset(&req, 0, sizeof(req));
    hr = wire_decode_request_body(buf, size, &req);
    if (hr != S_OK && hr != DRT_E_INVALID_MESSAGE)
        abort();

    free(buf);
    return 0;
}
