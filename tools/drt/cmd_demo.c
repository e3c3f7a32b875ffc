/* drt demo - placeholder until the demo cloud exists (written below). */
#include <stdio.h>

#include "cli.h"

void usage_demo(void)
{
    printf("usage: drt demo [--json]\n");
}

int cmd_demo(int argc, char **argv)
{
    return 0;
}
