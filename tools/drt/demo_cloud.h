/* demo_cloud.h - the demo's cloud of real nodes on loopback. */
#ifndef DRT_TOOL_DEMO_CLOUD_H
#define DRT_TOOL_DEMO_CLOUD_H

#include <stdbool.h>

struct tool_ipsec;

/* Runs the cloud demo with `count` nodes (2..12), as text or as one JSON
 * object per line, each transport protected as ip says (NULL: none);
 * security_mode is a DRT_SECURITY_MODE for the derived-key provider, or -1
 * for the null provider. 0 when every search answered as expected (and,
 * under --ipsec require, no DRT message went in the clear). */
int demo_cloud(unsigned count, bool json, const struct tool_ipsec *ip, int security_mode);

#endif
