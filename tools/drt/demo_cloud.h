/* demo_cloud.h - the demo's cloud of real nodes on loopback. */
#ifndef DRT_TOOL_DEMO_CLOUD_H
#define DRT_TOOL_DEMO_CLOUD_H

/* Runs the cloud demo with `count` nodes (2..12); 0 when every search
 * answered as expected. */
int demo_cloud(unsigned count);

#endif
