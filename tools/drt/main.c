/* drt - the libdrt command-line tool. */
#include <stdio.h>
#include <string.h>

#include <drt.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("drt %s\n", DrtLibraryVersion());
        return 0;
    }
    fprintf(stderr, "usage: drt version\n");
    return 2;
}
