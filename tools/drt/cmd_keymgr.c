/*
 * cmd_keymgr.c - `drt keymgr --connect PATH notify|dictate`: the example
 * key managers of `drt node --key-manager` (tool_ipsec.c), run in a
 * process of their own and registered with the keying engine of the node
 * that serves PATH (`drt node --key-manager-socket PATH`). The code is the
 * in-process one: only FwpmEngineOpen0's serverName differs.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <fwpmu.h>

#include "cli.h"
#include "tool_ipsec.h"
#include "tool_node.h"
#include "util/result_text.h"

#define CHECK_EVERY_MS 500u /* how soon a signal or a lost engine is noticed */

void usage_keymgr(void)
{
    printf("usage: drt keymgr --connect PATH notify|dictate [--key-log FILE]\n"
           "                  [--key-file FILE] [--exit-after SECONDS]\n\n"
           "Registers one of the example key managers with the keying engine of the\n"
           "process serving the Unix socket PATH ('drt node --key-manager-socket PATH')\n"
           "and answers its callbacks until Ctrl-C (SIGINT or SIGTERM), or until that\n"
           "engine goes away. The key managers are those of 'drt node --key-manager':\n"
           "  notify            append every SA the engine installs to --key-log FILE\n"
           "                    (default ./esp_sa), Wireshark's esp_sa format\n"
           "  dictate           dictate every SA's keys from --key-file FILE (HKDF-SHA-256\n"
           "                    of the file, salt 'libdrt key file v1', info the SPI),\n"
           "                    logging them to --key-log too when given\n"
           "It prints 'registered' once the engine accepted it.\n"
           "Exit: 0 on a signal or --exit-after, 1 when registering fails or the\n"
           "engine goes away, 2 on usage errors.\n");
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "drt keymgr: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt keymgr --help lists the options)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct tool_ipsec *ip, unsigned long *exit_after)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "notify") == 0 || strcmp(opt, "dictate") == 0) {
            ip->km = opt[0] == 'n' ? TOOL_KM_NOTIFY : TOOL_KM_DICTATE;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("%s needs a value", opt);
        const char *val = argv[++i];
        int rc = 0;
        if (strcmp(opt, "--connect") == 0)
            ip->connect = val;
        else if (strcmp(opt, "--exit-after") == 0) {
            if (!tool_parse_ulong(val, 1, 86400UL * 365, exit_after))
                return usage_error("--exit-after needs a number of seconds, not '%s'", val);
        } else if (strcmp(opt, "--key-log") == 0 || strcmp(opt, "--key-file") == 0) {
            tool_ipsec_option(ip, "keymgr", opt, val, &rc);
        } else
            return usage_error("unknown option '%s'", opt);
        if (rc)
            return rc;
    }
    if (!ip->connect)
        return usage_error("--connect PATH is required%s", "");
    if (!ip->km)
        return usage_error("which key manager: notify or dictate%s", "");
    if (ip->km == TOOL_KM_DICTATE && !ip->key_file)
        return usage_error("dictate needs --key-file FILE%s", "");
    if (ip->km == TOOL_KM_NOTIFY && ip->key_file)
        return usage_error("--key-file is for dictate%s", "");
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

int cmd_keymgr(int argc, char **argv)
{
    struct tool_ipsec ip;
    memset(&ip, 0, sizeof(ip));
    unsigned long exit_after = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = parse_args(argc, argv, &ip, &exit_after);
    if (rc)
        return rc;
    /* The session's threads (which run the callbacks) start with the
     * signals blocked, so that only this thread takes them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = tool_ipsec_key_manager(&ip, "keymgr", NULL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (rc) {
        tool_ipsec_stop(&ip);
        return rc;
    }
    printf("registered: %s key manager with the engine at %s\n",
           ip.km == TOOL_KM_NOTIFY ? "notify" : "dictate", ip.connect);
    double deadline = exit_after ? tool_now_ms() + (double)exit_after * 1000.0 : 0;
    DWORD lost = ERROR_SUCCESS;
    while (!stop_signal && (!deadline || tool_now_ms() < deadline)) {
        sleep_ms(CHECK_EVERY_MS);
        IPSEC_KEY_MANAGER0 **e = NULL;
        UINT32 n = 0;
        DWORD r = IPsecKeyManagersGet0(ip.session, &e, &n);
        FwpmFreeMemory0((void **)&e);
        if (r == RPC_E_DISCONNECTED || r == RPC_E_TIMEOUT || r == RPC_E_SERVERFAULT) {
            lost = r;
            break;
        }
    }
    if (lost) {
        char text[160];
        fprintf(stderr, "drt keymgr: the engine went away: %s\n",
                result_describe((HRESULT)lost, text, sizeof(text)));
    }
    tool_ipsec_stop(&ip);
    printf("stopped\n");
    return lost ? 1 : 0;
}
