/* tool_ipsec.c - --ipsec, --psk and the example key managers (tool_ipsec.h). */
#include "tool_ipsec.h"

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include <fwpmu.h>

#include "util/result_text.h"

#define KEYMAT 36u /* AES-256 key and 4-byte salt, as keyNotify carries it */
#define KEY_FILE_MAX 4096u
#define KEY_FILE_LABEL "libdrt key file v1"

/* The key managers' state: their callbacks run on the library's loop
 * thread, one at a time, and there is one key manager per process. */
static FILE *key_log;
static BYTE key_file_bytes[KEY_FILE_MAX];
static size_t key_file_len;

void tool_ipsec_usage(void)
{
    printf("  --ipsec MODE      protect the transport with ESP SAs negotiated on its own\n"
           "                    port: require (nothing in the clear) or request (ESP with\n"
           "                    peers that negotiate, the clear with the others)\n"
           "  --psk FILE        the mesh's pre-shared key: the file's bytes (1..128, one\n"
           "                    trailing newline dropped)\n"
           "  --ipsec-auth A    psk (the default) or cert: each side proves its --cert\n"
           "                    and --key, and the peer's chain must lead to --root\n"
           "  --key-manager KM  notify: log every SA's keys to --key-log FILE, one line\n"
           "                    per SA in Wireshark's esp_sa table format; dictate:\n"
           "                    dictate every SA's keys from --key-file FILE (shared by\n"
           "                    both sides: key = HKDF-SHA-256(file, SPI)), logging to\n"
           "                    --key-log too when given\n"
           "  --key-log FILE    where notify appends (default ./esp_sa)\n"
           "  --key-file FILE   the dictating key manager's shared secret (1..4096 bytes)\n"
           "  --key-manager-socket PATH  (drt node) serve the keying engine on a Unix\n"
           "                    socket at PATH: key managers of other processes\n"
           "                    ('drt keymgr --connect PATH') take part in its SAs\n");
}

static int usage(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "drt %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt %s --help lists the options)\n", cmd);
    return 2;
}

bool tool_ipsec_option(struct tool_ipsec *ip, const char *cmd, const char *opt, const char *val,
                       int *rc)
{
    *rc = 0;
    if (strcmp(opt, "--ipsec") == 0) {
        if (strcmp(val, "require") == 0)
            ip->mode = DRT_PROTECTION_REQUIRE;
        else if (strcmp(val, "request") == 0)
            ip->mode = DRT_PROTECTION_REQUEST;
        else
            *rc = usage(cmd, "--ipsec takes require or request, not '%s'", val);
    } else if (strcmp(opt, "--ipsec-auth") == 0) {
        if (strcmp(val, "cert") == 0 || strcmp(val, "psk") == 0)
            ip->auth_cert = strcmp(val, "cert") == 0;
        else
            *rc = usage(cmd, "--ipsec-auth takes psk or cert, not '%s'", val);
    } else if (strcmp(opt, "--psk") == 0) {
        ip->psk_file = val;
    } else if (strcmp(opt, "--key-manager") == 0) {
        if (strcmp(val, "notify") == 0)
            ip->km = TOOL_KM_NOTIFY;
        else if (strcmp(val, "dictate") == 0)
            ip->km = TOOL_KM_DICTATE;
        else
            *rc = usage(cmd, "--key-manager takes notify or dictate, not '%s'", val);
    } else if (strcmp(opt, "--key-log") == 0) {
        ip->key_log = val;
    } else if (strcmp(opt, "--key-file") == 0) {
        ip->key_file = val;
    } else if (strcmp(opt, "--key-manager-socket") == 0) {
        ip->serve = val;
    } else {
        return false;
    }
    return true;
}

/* Reads 1..max bytes (one more is read to tell a file that is too large). */
static int read_file(const char *cmd, const char *what, const char *path, BYTE *buf, size_t max,
                     size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "drt %s: cannot open %s '%s'\n", cmd, what, path);
        return 2;
    }
    BYTE tmp[KEY_FILE_MAX + 1];
    size_t n = fread(tmp, 1, max + 1, f);
    bool error = ferror(f) != 0;
    fclose(f);
    if (n > 0 && n <= max + 1 && tmp[n - 1] == '\n')
        n--;
    if (error || n == 0 || n > max) {
        OPENSSL_cleanse(tmp, sizeof(tmp));
        fprintf(stderr, "drt %s: %s '%s' must hold 1..%zu bytes\n", cmd, what, path, max);
        return 2;
    }
    memcpy(buf, tmp, n);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    *len = n;
    return 0;
}

/* --- the key-log line ------------------------------------------------------ */

static void format_address(const IPSEC_SA_DETAILS1 *d, bool local, char *out, size_t cap)
{
    const UINT8 *a = local ? d->traffic.localV6Address : d->traffic.remoteV6Address;
    /* libdrt keeps an IPv4 address in the union's first 4 bytes, network order. */
    inet_ntop(d->ipVersion == FWP_IP_VERSION_V4 ? AF_INET : AF_INET6, a, out, (socklen_t)cap);
}

static const BYTE *keymat_of(const IPSEC_SA_DETAILS1 *d)
{
    const IPSEC_SA0 *sa = &d->saBundle.saList[0];
    if (d->saBundle.numSAs < 1 || sa->saTransformType != IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER ||
        sa->espAuthAndCipherInformation->saCipherInformation.cipherKey.size != KEYMAT)
        return NULL;
    return sa->espAuthAndCipherInformation->saCipherInformation.cipherKey.data;
}

/* One record of Wireshark's ESP SA table: protocol, source, destination,
 * SPI, encryption algorithm, key (AES key then salt, as RFC 4106 keys it),
 * authentication algorithm (none apart from GCM's own), its key. */
static void log_sa(const IPSEC_SA_DETAILS1 *d)
{
    const BYTE *k = keymat_of(d);
    if (!key_log || !k)
        return;
    char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
    format_address(d, true, local, sizeof(local));
    format_address(d, false, remote, sizeof(remote));
    bool inbound = d->saDirection == FWP_DIRECTION_INBOUND;
    char hex[2 * KEYMAT + 1];
    for (unsigned i = 0; i < KEYMAT; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    fprintf(key_log,
            "\"%s\",\"%s\",\"%s\",\"0x%08x\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x%s\","
            "\"NULL\",\"\"\n",
            d->ipVersion == FWP_IP_VERSION_V4 ? "IPv4" : "IPv6", inbound ? remote : local,
            inbound ? local : remote, (unsigned)d->saBundle.saList[0].spi, hex);
    OPENSSL_cleanse(hex, sizeof(hex));
    fflush(key_log);
}

/* Callbacks of different negotiations may run at once on the engine's
 * workers; each record is one fprintf, which POSIX stdio makes atomic. */
static void CALLBACK on_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    log_sa(in);
    log_sa(out);
}

/* --- the dictator -------------------------------------------------------- */

static void CALLBACK on_check(const IKEEXT_TRAFFIC0 *traffic, BOOL *will, UINT32 *weight)
{
    (void)traffic;
    *will = TRUE;
    *weight = 1;
}

/* key = HKDF-SHA-256(ikm = the key file, salt = KEY_FILE_LABEL,
 *                    info = SPI (4 bytes, big-endian), 36 bytes) */
static bool derive(UINT32 spi, BYTE out[KEYMAT])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return false;
    BYTE info[4] = {(BYTE)(spi >> 24), (BYTE)(spi >> 16), (BYTE)(spi >> 8), (BYTE)spi};
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key_file_bytes, key_file_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, KEY_FILE_LABEL,
                                          sizeof(KEY_FILE_LABEL) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(ctx, out, KEYMAT, p) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

static DWORD CALLBACK on_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    *gen = FALSE; /* keys from the file or none: a failure must show */
    IPSEC_SA_DETAILS1 *ds[2] = {in, out};
    for (int i = 0; i < 2; i++) {
        IPSEC_SA0 *sa = &ds[i]->saBundle.saList[0];
        IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *info = sa->espAuthAndCipherInformation;
        if (info->saCipherInformation.cipherKey.size != KEYMAT ||
            info->saAuthInformation.authKey.size != KEYMAT ||
            !derive(sa->spi, info->saCipherInformation.cipherKey.data))
            return ERROR_INVALID_PARAMETER;
        memcpy(info->saAuthInformation.authKey.data, info->saCipherInformation.cipherKey.data,
               KEYMAT);
    }
    return ERROR_SUCCESS;
}

/* --- life cycle ---------------------------------------------------------- */

static int register_key_manager(struct tool_ipsec *ip, const char *cmd)
{
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC};
    /* With --connect the session is in the process that serves that
     * socket; the calls below are the same either way. */
    wchar_t path[108] = {0};
    for (size_t i = 0; ip->connect && ip->connect[i] && i + 1 < 108; i++)
        path[i] = (wchar_t)(unsigned char)ip->connect[i];
    DWORD rc = FwpmEngineOpen0(ip->connect ? path : NULL, RPC_C_AUTHN_WINNT, NULL, &s,
                               &ip->session);
    wchar_t name[] = L"drt example key manager";
    IPSEC_KEY_MANAGER0 m = {.displayData = {.name = name}};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyNotify = on_notify};
    if (ip->km == TOOL_KM_DICTATE) {
        m.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY;
        cb.keyDictationCheck = on_check;
        cb.keyDictation = on_dictate;
    }
    if (rc == ERROR_SUCCESS)
        rc = IPsecKeyManagerAddAndRegister0(ip->session, &m, &cb, &ip->registration);
    if (rc != ERROR_SUCCESS) {
        char text[160];
        fprintf(stderr, "drt %s: registering the key manager failed: %s\n", cmd,
                result_describe((HRESULT)rc, text, sizeof(text)));
        return 1;
    }
    return 0;
}

int tool_ipsec_start(struct tool_ipsec *ip, const char *cmd, const char *default_psk)
{
    if (ip->mode == DRT_PROTECTION_OFF) {
        if (ip->psk_file || ip->km || ip->key_log || ip->key_file || ip->auth_cert || ip->serve)
            return usage(cmd, "%s needs --ipsec require|request",
                         "--psk/--ipsec-auth/--key-manager/--key-manager-socket");
        return 0;
    }
    if (ip->auth_cert && ip->psk_file)
        return usage(cmd, "--psk and --ipsec-auth cert exclude each other%s", "");
    /* The demo makes a certificate per node; the others need the node's. */
    if (ip->auth_cert && !default_psk && (!ip->cert || !ip->root))
        return usage(cmd, "--ipsec-auth cert needs --root, --cert and --key%s", "");
    if ((ip->key_log && !ip->km) || (ip->key_file && ip->km != TOOL_KM_DICTATE))
        return usage(cmd, "%s: --key-log needs --key-manager, --key-file needs dictate", "");
    /* The demo (which has a default key) dictates from a default secret
     * too: all its nodes are in this process. */
    if (ip->km == TOOL_KM_DICTATE && !ip->key_file && !default_psk)
        return usage(cmd, "--key-manager dictate needs --key-file FILE%s", "");
    size_t len = 0;
    if (ip->psk_file) {
        int rc = read_file(cmd, "--psk", ip->psk_file, ip->psk, DRT_PROTECTION_MAX_KEY, &len);
        if (rc)
            return rc;
    } else if (default_psk) {
        len = strlen(default_psk);
        memcpy(ip->psk, default_psk, len);
    } else if (!ip->auth_cert) {
        return usage(cmd, "--ipsec needs --psk FILE (the mesh's pre-shared key)%s", "");
    }
    ip->psk_len = (ULONG)len;
    if (ip->serve) {
        DWORD rc = DrtKeyingSocketListen(ip->serve);
        if (rc != ERROR_SUCCESS) {
            char text[160];
            fprintf(stderr, "drt %s: cannot serve --key-manager-socket '%s': %s\n", cmd,
                    ip->serve, result_describe((HRESULT)rc, text, sizeof(text)));
            return 1;
        }
        ip->serving = true;
    }
    return ip->km ? tool_ipsec_key_manager(ip, cmd, default_psk) : 0;
}

int tool_ipsec_key_manager(struct tool_ipsec *ip, const char *cmd, const char *default_secret)
{
    if (ip->key_file) {
        int rc = read_file(cmd, "--key-file", ip->key_file, key_file_bytes, KEY_FILE_MAX,
                           &key_file_len);
        if (rc)
            return rc;
    } else if (ip->km == TOOL_KM_DICTATE) {
        key_file_len = strlen(default_secret);
        memcpy(key_file_bytes, default_secret, key_file_len);
    }
    if (ip->km == TOOL_KM_NOTIFY && !ip->key_log)
        ip->key_log = "esp_sa";
    if (ip->key_log && !(key_log = fopen(ip->key_log, "a"))) {
        fprintf(stderr, "drt %s: cannot open --key-log '%s'\n", cmd, ip->key_log);
        return 2;
    }
    return register_key_manager(ip, cmd);
}

HRESULT tool_ipsec_protect(const struct tool_ipsec *ip, HDRT_TRANSPORT transport,
                           PCCERT_CONTEXT cert, PCCERT_CONTEXT root, const char **failed)
{
    if (ip->mode == DRT_PROTECTION_OFF)
        return S_OK;
    if (!ip->auth_cert) {
        *failed = "DrtSetTransportProtection";
        return DrtSetTransportProtection(transport, ip->mode, ip->psk, ip->psk_len);
    }
    PCCERT_CONTEXT roots[1] = {root ? root : ip->root};
    *failed = "DrtSetTransportProtectionCredential";
    return DrtSetTransportProtectionCredential(transport, ip->mode, cert ? cert : ip->cert, 1,
                                               roots);
}

void tool_ipsec_describe(const struct tool_ipsec *ip, bool json)
{
    if (ip->mode == DRT_PROTECTION_OFF)
        return;
    const char *mode = ip->mode == DRT_PROTECTION_REQUIRE ? "require" : "request";
    const char *km = ip->km == TOOL_KM_NOTIFY    ? "notify"
                     : ip->km == TOOL_KM_DICTATE ? "dictate"
                                                 : "none";
    const char *auth = !ip->auth_cert ? "pre-shared key"
                       : ip->cert  ? "node certificate (--cert, under --root)"
                                   : "node certificates (one per node, under the demo's root)";
    if (json)
        printf("{\"event\":\"ipsec\",\"mode\":\"%s\",\"auth\":\"%s\",\"key_manager\":\"%s\","
               "\"key_log\":%s%s%s}\n",
               mode, ip->auth_cert ? "cert" : "psk", km, ip->key_log ? "\"" : "",
               ip->key_log ? ip->key_log : "null", ip->key_log ? "\"" : "");
    else if (ip->auth_cert)
        printf("ipsec: %s, authenticated by %s, key manager %s%s%s\n", mode, auth, km,
               ip->key_log ? ", key log " : "", ip->key_log ? ip->key_log : "");
    else
        printf("ipsec: %s, %s %s, key manager %s%s%s\n", mode, auth,
               ip->psk_file ? ip->psk_file : "(the demo's default)", km,
               ip->key_log ? ", key log " : "", ip->key_log ? ip->key_log : "");
    fflush(stdout);
}

void tool_ipsec_stop(struct tool_ipsec *ip)
{
    if (ip->registration)
        IPsecKeyManagerUnregisterAndDelete0(ip->session, ip->registration);
    if (ip->session)
        FwpmEngineClose0(ip->session);
    ip->registration = ip->session = NULL;
    if (ip->serving)
        DrtKeyingSocketClose();
    ip->serving = false;
    if (key_log)
        fclose(key_log);
    key_log = NULL;
    OPENSSL_cleanse(key_file_bytes, sizeof(key_file_bytes));
    OPENSSL_cleanse(ip->psk, sizeof(ip->psk));
}
