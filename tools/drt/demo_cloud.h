/* demo_cloud.h - the demo's cloud of real nodes on loopback. */
#ifndef DRT_TOOL_DEMO_CLOUD_H
#define DRT_TOOL_DEMO_CLOUD_H

#include <stdbool.h>

/* Runs the cloud demo with `count` nodes (2..12), as text or as one JSON
 * object per line; 0 when every search answered as expected. */
int demo_cloud(unsigned count, bool json);

#endif
