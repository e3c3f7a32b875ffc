/* Feeds bytes to every decoder of the key-manager socket (kmrpc_wire.h),
 * the parsers a local process reaches: the engine's side reads requests
 * and callback answers from any client, the client's side reads the
 * engine's answers and callbacks. The first byte picks the decoder, the
 * rest is its body (a whole frame for the frame parser). Whatever the
 * bytes, a decoder returns true or false and reads inside the input; a
 * list that decodes is one block with strings inside it, and a descriptor
 * that decodes points inside its buffer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ipsec/kmrpc_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const uint8_t *p, size_t n)
{
    IPSEC_KEY_MANAGER0 **e;
    UINT32 count;
    bool oom;
    if (!kmrpc_get_list(p, n, &e, &count, &oom))
        return;
    for (UINT32 i = 0; i < count; i++) {
        /* every string is NUL-terminated inside the block */
        if (e[i]->displayData.name)
            (void)wcslen(e[i]->displayData.name);
        if (e[i]->displayData.description)
            (void)wcslen(e[i]->displayData.description);
    }
    free(e);
}

static void check_sd(const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n + sizeof(SID));
    if (!b)
        return;
    memcpy(b, p, n);
    PSID owner, group;
    PACL dacl, sacl;
    if (kmrpc_sd_parts(b, n, &owner, &group, &dacl, &sacl)) {
        uint8_t *parts[4] = {owner, group, (uint8_t *)dacl, (uint8_t *)sacl};
        for (int i = 0; i < 4; i++)
            if (parts[i] && (parts[i] < b || parts[i] >= b + n))
                abort();
    }
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct wire_reader r;
    wire_reader_init(&r, p, n);
    /* large decoded messages live on the heap, as in the library */
    union {
        struct kmrpc_open open;
        struct kmrpc_km_add add;
        struct kmrpc_sec_set set;
        struct kmrpc_reply reply;
        struct kmrpc_callback cb;
        struct kmrpc_dictate_reply dr;
    } *m = malloc(sizeof(*m));
    if (!m)
        return 0;
    bool b;
    uint32_t u32;
    uint64_t u64;
    UINT32 info;
    uint8_t type;
    switch (data[0] % 13) {
    case 0:
        (void)kmrpc_frame_parse(p, n, &type, &u32, &r);
        break;
    case 1:
        (void)kmrpc_get_open(&r, &m->open);
        break;
    case 2:
        (void)kmrpc_get_km_add(&r, &m->add);
        break;
    case 3:
        (void)kmrpc_get_sec_get(&r, &b, &info);
        break;
    case 4:
        (void)kmrpc_get_sec_set(&r, &m->set);
        break;
    case 5:
        (void)kmrpc_get_check_reply(&r, &b, &u32);
        break;
    case 6:
        (void)kmrpc_get_dictate_reply(&r, &m->dr);
        break;
    case 7:
        if (kmrpc_get_reply(&r, &m->reply) && m->reply.data_len &&
            (m->reply.data < p || m->reply.data + m->reply.data_len > p + n))
            abort();
        break;
    case 8:
    case 9:
    case 10:
        (void)kmrpc_get_callback(&r, (uint8_t)(KMRPC_CHECK + data[0] % 13 - 8), &m->cb);
        break;
    case 11:
        (void)kmrpc_get_u32_body(&r, &u32);
        (void)kmrpc_get_u64_body(&r, &u64);
        check_list(p, n);
        break;
    default:
        check_sd(p, n);
        break;
    }
    free(m);
    return 0;
}
