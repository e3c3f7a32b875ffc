/*
 * tool_ipsec.h - the options `drt node` and `drt demo` share for SA
 * protection of their transports (DrtSetTransportProtection) and the two
 * built-in example key managers:
 *   --ipsec require|request   the protection mode
 *   --psk FILE                the mesh's pre-shared key: the file's bytes
 *                             (1..128; one trailing newline is dropped)
 *   --ipsec-auth psk|cert     what authenticates the negotiations: the
 *                             PSK (the default) or the node's certificate
 *                             (--root/--cert/--key; DrtSetTransportProtectionCredential)
 *   --key-manager notify      logs every SA's keys to --key-log FILE in the
 *                             format of Wireshark's ESP SA table (esp_sa)
 *   --key-manager dictate     dictates every SA's keys, derived from
 *                             --key-file FILE, which both sides share; it
 *                             also logs to --key-log FILE when given
 * Format of both files: README and docs/KEYING.md §9.
 */
#ifndef DRT_TOOL_IPSEC_H
#define DRT_TOOL_IPSEC_H

#include <stdbool.h>

#include <drt.h>

enum tool_key_manager { TOOL_KM_NONE = 0, TOOL_KM_NOTIFY, TOOL_KM_DICTATE };

struct tool_ipsec {
    DRT_PROTECTION_MODE mode;
    bool auth_cert; /* --ipsec-auth cert: the node's certificate, not a PSK */
    /* The certificate and root of --root/--cert/--key, for auth_cert; the
     * command sets them before tool_ipsec_start (the demo gives each node
     * its own to tool_ipsec_protect instead). */
    PCCERT_CONTEXT cert, root;
    const char *psk_file;
    BYTE psk[DRT_PROTECTION_MAX_KEY];
    ULONG psk_len;
    enum tool_key_manager km;
    const char *key_log;
    const char *key_file;
    const char *serve;   /* --key-manager-socket PATH (drt node) */
    bool serving;
    const char *connect; /* drt keymgr --connect PATH: the session is there */
    HANDLE session;      /* the key manager's engine session */
    HANDLE registration; /* and its registration */
};

/* The option help lines, for usage texts. */
void tool_ipsec_usage(void);

/* Takes opt (with its value) when it is one of the options above: returns
 * true and sets *rc (0, or 2 after a usage message on stderr). */
bool tool_ipsec_option(struct tool_ipsec *ip, const char *cmd, const char *opt, const char *val,
                       int *rc);

/* After parsing: checks the combination, reads the files (default_psk is
 * used without --psk, and as the dictator's secret without --key-file; NULL
 * makes both files required), registers the key manager in this process.
 * 0, 1 (a call failed) or 2 (usage). */
int tool_ipsec_start(struct tool_ipsec *ip, const char *cmd, const char *default_psk);

/* Reads --key-file (default_secret without it), opens --key-log and
 * registers the key manager ip->km (in the process behind ip->connect when
 * set). 0, 1 or 2 as above. */
int tool_ipsec_key_manager(struct tool_ipsec *ip, const char *cmd, const char *default_secret);

/* DrtSetTransportProtection, or DrtSetTransportProtectionCredential with
 * cert and root (NULL: those of the options), as the options say; nothing
 * when --ipsec is absent. *failed names the call. */
HRESULT tool_ipsec_protect(const struct tool_ipsec *ip, HDRT_TRANSPORT transport,
                           PCCERT_CONTEXT cert, PCCERT_CONTEXT root, const char **failed);

/* One line on stdout saying what protects the node, or nothing. */
void tool_ipsec_describe(const struct tool_ipsec *ip, bool json);

/* Unregisters the key manager, closes its files. */
void tool_ipsec_stop(struct tool_ipsec *ip);

#endif
