/*
 * tool_node.h - what `drt node` and `drt search` share: one DRT instance
 * opened through the public API on its own UDP transport, key and option
 * parsing, and the text and JSON forms of keys, addresses and events.
 */
#ifndef DRT_TOOL_NODE_H
#define DRT_TOOL_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <drt.h>

struct tool_security;
struct tool_ipsec;

struct tool_node {
    HDRT_TRANSPORT transport;
    USHORT port; /* the one bound, once open */
    DRT_SECURITY_PROVIDER *security;
    bool derived_security; /* which delete function owns the provider */
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    bool dns_bootstrap; /* which delete function owns the resolver */
    HANDLE event;       /* auto-reset, signalled by the DRT for each event */
    HDRT drt;
    HRESULT open_hr; /* S_OK, or DRT_S_RETRY when the bootstrap found nobody */
};

/* KEY as the tool's user writes it: exactly 64 hex digits are the key as a
 * number (most significant first); anything else is a name whose SHA-256
 * is the key. False for an empty string or a digest failure. */
bool tool_parse_key(const char *text, BYTE key[32]);

/* A decimal number in [min, max], the whole string. */
bool tool_parse_ulong(const char *text, unsigned long min, unsigned long max,
                      unsigned long *out);

/* Sets DRT_ADVERTISE_ADDRESS, which the io layer reads when a node opens;
 * false (nothing set) unless addr is an IPv6 or IPv4 literal. */
bool tool_set_advertise(const char *addr);

/* Makes the next tool_node_open use a link-local transport on interface
 * ifname; false when there is no such interface. */
bool tool_set_link_local(const char *ifname);

/* Makes the next tool_node_open protect its transport (tool_ipsec.h);
 * ip must outlive it. NULL: no protection. */
void tool_set_protection(const struct tool_ipsec *ip);

/* Opens a transport on port (0 = ephemeral), the security provider (the
 * derived-key one when sec has a root, tool_pki.h; else the null one),
 * a bootstrap resolver and the DRT. bootstrap NULL makes a first node (no
 * seeds); otherwise it is a DNS host list, hosts without ":PORT" using
 * default_port. On failure everything made is released, *failed names the
 * call that failed and its HRESULT is returned. */
HRESULT tool_node_open(struct tool_node *n, USHORT port, const char *bootstrap,
                       USHORT default_port, const struct tool_security *sec,
                       const char **failed);
/* DrtClose (which unregisters what is left), then the transport and the
 * providers; the loop thread ends with the last instance. */
void tool_node_close(struct tool_node *n);

/* The next queued event of the DRT, malloc'd, or NULL when none is left. */
DRT_EVENT_DATA *tool_next_event(HDRT drt);

/* One line per event, to stdout: text, or one JSON object. */
void tool_print_event(const DRT_EVENT_DATA *ev, bool json);

const char *tool_status_name(DRT_STATUS status);

/* A key as a number: 64 hex digits, pb[31] first. */
void tool_key_hex(const BYTE key[32], char out[65]);

/* "[addr]:port" for IPv6 (IPv4-mapped addresses included), "a.b.c.d:port"
 * for IPv4, "?" for other families. */
void tool_format_address(const SOCKADDR_STORAGE *sa, char *out, size_t len);

/* s (len bytes) as a JSON string, quotes included. */
void tool_json_string(FILE *f, const char *s, size_t len);

/* True when data reads as text: printable ASCII, with at most one NUL at
 * the end (C programs often register their strings with it). */
bool tool_data_is_text(const BYTE *data, size_t len);

/* Prints app data as text when it is, else as hex: in JSON as a "text" or
 * "hex" member (with its leading comma). */
void tool_print_data(const BYTE *data, size_t len, bool json);

/* An HRESULT failure: "drt CMD: WHAT failed: NAME (0x...): meaning" on
 * stderr, and with json also an "error" object on stdout. */
void tool_report_failure(const char *cmd, const char *what, HRESULT hr, bool json);

/* Milliseconds on the monotonic clock. */
double tool_now_ms(void);

#endif
