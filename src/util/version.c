/* version.c - the library's version string. */
#include <drt.h>

#include "util/export.h"

DRT_EXPORT const char *DrtLibraryVersion(void)
{
    return DRT_VERSION_STRING;
}
