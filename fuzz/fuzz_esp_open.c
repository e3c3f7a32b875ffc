/* Feeds ESP packets to an inbound SA, the parser a peer on the network
 * reaches. Two halves, chosen by the input's first byte:
 *   - open the rest as a packet as it came off the wire: whatever it is,
 *     esp_open returns a result code and writes within the buffer; a packet
 *     nobody sealed with the SA's key must never open;
 *   - seal the rest with the matching outbound SA (next header from the
 *     second byte), flip the bit the third byte names (or none), and open:
 *     untouched, the payload comes back exactly; touched, it must not open.
 * The SA is set up once: its replay window carries over between inputs,
 * like a long-lived SA under a stream of forgeries. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct esp_sa in_sa, out_sa;
static int ready;

static void setup(void)
{
    uint8_t keymat[ESP_KEYMAT_SIZE];
    for (size_t i = 0; i < sizeof(keymat); i++)
        keymat[i] = (uint8_t)(0x40 + i);
    if (esp_sa_init(&in_sa, true, 0x1001, keymat, true, 64) != ESP_OK ||
        esp_sa_init(&out_sa, false, 0x1001, keymat, true, 0) != ESP_OK)
        abort();
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    static uint8_t pkt[4096 + ESP_OVERHEAD + ESP_MAX_PAD], out[4096 + ESP_OVERHEAD];
    size_t n = 0;
    uint8_t nh = 0;
    if (size < 3 || size > 4096)
        return 0;
    if (!(data[0] & 1)) {
        /* The fuzzer never sees what the seal half produces, and nobody
         * else holds the key: a packet from it that opens is a forgery
         * the ICV check let through. */
        if (esp_open(&in_sa, data + 1, size - 1, out, sizeof(out), &n, &nh) == ESP_OK)
            abort();
        return 0;
    }
    size_t len;
    if (esp_seal(&out_sa, data[1], data + 3, size - 3, pkt, sizeof(pkt), &len) != ESP_OK)
        return 0; /* sequence numbers exhausted: nothing to check */
    size_t bit = data[2];
    bool flip = bit < len * 8 && (data[0] & 2);
    if (flip)
        pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int rc = esp_open(&in_sa, pkt, len, out, sizeof(out), &n, &nh);
    if (flip && rc == ESP_OK)
        abort(); /* a changed bit got through */
    if (!flip && (rc != ESP_OK || n != size - 3 || nh != data[1] ||
                  memcmp(out, data + 3, n) != 0))
        abort(); /* our own packet did not come back */
    return 0;
}
