/* drt version - the library version. */
#include <stdio.h>

#include <drt.h>

#include "cli.h"

void usage_version(void)
{
    printf("usage: drt version [--json]\n\nPrints the libdrt version.\n");
}

int cmd_version(int argc, char **argv)
{
    if (cli_wants_json(argc, argv))
        printf("{\"version\":\"%s\"}\n", DrtLibraryVersion());
    else
        printf("drt %s\n", DrtLibraryVersion());
    return 0;
}
