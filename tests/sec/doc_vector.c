/* doc_vector.c - docs' hex blocks for the tests (doc_vector.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sec/doc_vector.h"

char *doc_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0 && n < 1024 * 1024);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

uint8_t *doc_vector(const char *doc, const char *name, size_t *len)
{
    char tag[64];
    snprintf(tag, sizeof(tag), "```hex %s\n", name);
    const char *p = strstr(doc, tag);
    if (!p)
        return NULL;
    p += strlen(tag);
    const char *end = strstr(p, "```");
    assert_non_null(end);
    uint8_t *out = malloc((size_t)(end - p) / 2 + 1);
    assert_non_null(out);
    size_t n = 0;
    int half = -1;
    bool comment = false;
    for (; p < end; p++) {
        if (*p == '\n') {
            comment = false;
            continue;
        }
        if (comment || *p == ' ')
            continue;
        if (*p == '#') {
            comment = true;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf((char[]){*p, 0}, "%1x", &v), 1);
        if (half < 0) {
            half = (int)v;
        } else {
            out[n++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    assert_int_equal(half, -1);
    *len = n;
    return out;
}

void doc_vector_check(const char *path, const char *name, const uint8_t *got, size_t len)
{
    char *doc = doc_read(path);
    size_t doc_len = 0;
    uint8_t *want = doc_vector(doc, name, &doc_len);
    bool same = want && doc_len == len && memcmp(want, got, len) == 0;
    free(want);
    free(doc);
    if (same)
        return;
    printf("```hex %s\n", name);
    for (size_t i = 0; i < len; i++)
        printf("%02x%s", got[i], i % 32 == 31 || i + 1 == len ? "\n" : "");
    printf("```\n");
    fail_msg("%s: vector %s differs from the bytes above (%zu bytes)", path, name, len);
}
