/* The route cache file decoder (src/api/route_file.h) on any bytes. A
 * checksum guards the file, so most inputs would stop there: when the
 * input's last byte is odd the target recomputes the digest first (as a
 * forger would), and the header and entry checks are reached. Invariants:
 * what decodes has the exact size its count gives, only valid entries, no
 * key twice, and encodes back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/route_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ROUTE_FILE_MAX_SIZE + 64)
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size >= ROUTE_FILE_DIGEST && (data[size - 1] & 1)) {
        unsigned int n;
        EVP_Digest(buf, size - ROUTE_FILE_DIGEST, buf + size - ROUTE_FILE_DIGEST, &n,
                   EVP_sha256(), NULL);
    }
    static struct drt_engine_route out[ROUTE_FILE_MAX_ENTRIES];
    size_t n = 0;
    if (route_file_decode(buf, size, out, ROUTE_FILE_MAX_ENTRIES, &n) == S_OK) {
        if (n > ROUTE_FILE_MAX_ENTRIES || size != ROUTE_FILE_SIZE(n))
            abort();
        for (size_t i = 0; i < n; i++) {
            if (!route_file_entry_valid(&out[i]))
                abort();
            for (size_t k = 0; k < i; k++)
                if (memcmp(out[k].key, out[i].key, 32) == 0)
                    abort();
        }
        uint8_t *again = malloc(size);
        if (!again || route_file_encode(out, n, again, size) != S_OK ||
            memcmp(again, buf, size) != 0)
            abort();
        free(again);
    }
    free(buf);
    return 0;
}
