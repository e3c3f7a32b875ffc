/* drt explain - an HRESULT in words. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>

#include "cli.h"
#include "util/result_text.h"

void usage_explain(void)
{
    printf("usage: drt explain CODE... [--json]\n\n"
           "Names each HRESULT CODE (hex like 0x80622009, or decimal) in words.\n");
}

int cmd_explain(int argc, char **argv)
{
    bool json = cli_wants_json(argc, argv);
    int status = 0, printed = 0;

    if (json)
        printf("[");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(argv[i], &end, 0);
        if (errno || *end || v < INT32_MIN || v > (long long)UINT32_MAX) {
            fprintf(stderr, "drt explain: '%s' is not a 32-bit code\n", argv[i]);
            status = 2;
            continue;
        }
        HRESULT hr = (HRESULT)(uint32_t)v;
        const char *name = result_name(hr);
        if (json) {
            printf("%s{\"code\":\"0x%08X\",\"name\":%s%s%s,\"meaning\":%s%s%s}", printed ? "," : "",
                   (unsigned)(uint32_t)hr, name ? "\"" : "", name ? name : "null",
                   name ? "\"" : "", name ? "\"" : "", name ? result_meaning(hr) : "null",
                   name ? "\"" : "");
        } else {
            char buf[160];
            printf("%s%s\n", result_describe(hr, buf, sizeof(buf)),
                   name ? "" : ": not a code libdrt returns");
        }
        printed++;
    }
    if (json)
        printf("]\n");
    if (!printed && !status) {
        usage_explain();
        return 2;
    }
    return status;
}
