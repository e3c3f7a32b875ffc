/* export.h - marks the definitions that libdrt.so exports (the public API).
 * Everything else is compiled with hidden visibility. */
#ifndef DRT_UTIL_EXPORT_H
#define DRT_UTIL_EXPORT_H

#define DRT_EXPORT __attribute__((visibility("default")))

#endif
