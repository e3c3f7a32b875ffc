/*
 * drt cert - a test PKI for the derived-key provider: `drt cert root`
 * makes a root CA (DIR/root.pem, DIR/root.key), `drt cert issue` a node
 * certificate signed by it (DIR/node.pem, DIR/node.key). Keys are
 * unencrypted PEM, mode 0600: test material, not a production CA.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include <drt.h>

#include "cli.h"
#include "tool_certgen.h"
#include "tool_node.h"
#include "tool_pki.h"

#define DEFAULT_DAYS 365ul
#define MAX_DAYS 36500ul
#define PATH_CAP 4096

void usage_cert(void)
{
    printf("usage: drt cert root --out DIR [--name CN] [--days N] [--alg ec|ed25519|rsa]\n"
           "                     [--force] [--json]\n"
           "       drt cert issue --root DIR --out DIR --name CN [--days N | --seconds N]\n"
           "                      [--alg ec|ed25519|rsa] [--force] [--json]\n\n"
           "Test certificates for the derived-key security provider (PEM files).\n"
           "  root            a self-signed root CA: DIR/root.pem and DIR/root.key\n"
           "  issue           a node certificate signed by the root in --root DIR:\n"
           "                  DIR/node.pem and DIR/node.key; prints its DRT key\n"
           "  --out DIR       where the files go (made, mode 0700, if missing)\n"
           "  --name CN       the subject's common name (root default: libdrt test root)\n"
           "  --days N        valid for N days from now (default 365, at most 36500)\n"
           "  --seconds N     (issue) valid for N seconds instead: a key that expires\n"
           "                  soon, to see DRT_REGISTRATION_STATE_UNRESOLVEABLE\n"
           "  --alg A         key type: ec (P-256, default), ed25519, rsa (2048 bits)\n"
           "  --force         replace existing files (else they are kept: exit 2)\n"
           "  --json          one JSON object instead of text\n"
           "Private keys are written unencrypted with mode 0600; certificates are valid\n"
           "from five minutes ago (clock skew). Use them with\n"
           "  drt node --root ROOT/root.pem --cert DIR/node.pem --key DIR/node.key\n"
           "Exit: 0, 1 when OpenSSL fails, 2 on usage and file errors.\n");
}

struct cert_opts {
    bool issue; /* else root */
    const char *out, *root_dir, *name;
    unsigned long days, seconds;
    enum tool_alg alg;
    bool force, json;
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "drt cert: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt cert --help lists the options)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct cert_opts *o)
{
    if (argc < 2 || (strcmp(argv[1], "root") != 0 && strcmp(argv[1], "issue") != 0))
        return usage_error("%s", "the first argument is 'root' or 'issue'");
    o->issue = strcmp(argv[1], "issue") == 0;
    o->alg = TOOL_ALG_EC;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--force") == 0) {
            o->force = true;
            continue;
        }
        if (strcmp(opt, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("%s needs a value (or is unknown)", opt);
        const char *val = argv[++i];
        if (strcmp(opt, "--out") == 0)
            o->out = val;
        else if (strcmp(opt, "--root") == 0 && o->issue)
            o->root_dir = val;
        else if (strcmp(opt, "--name") == 0)
            o->name = val;
        else if (strcmp(opt, "--days") == 0) {
            if (!tool_parse_ulong(val, 1, MAX_DAYS, &o->days))
                return usage_error("--days must be 1..36500, not '%s'", val);
        } else if (strcmp(opt, "--seconds") == 0 && o->issue) {
            if (!tool_parse_ulong(val, 1, MAX_DAYS * 86400, &o->seconds))
                return usage_error("--seconds must be 1..3153600000, not '%s'", val);
        } else if (strcmp(opt, "--alg") == 0) {
            if (!tool_alg_parse(val, &o->alg))
                return usage_error("--alg must be ec, ed25519 or rsa, not '%s'", val);
        } else
            return usage_error("unknown option '%s'", opt);
    }
    if (!o->out)
        return usage_error("%s", "--out DIR is required");
    if (o->issue && !o->root_dir)
        return usage_error("%s", "--root DIR (made by 'drt cert root') is required");
    if (o->issue && !o->name)
        return usage_error("%s", "--name CN is required");
    if (o->days && o->seconds)
        return usage_error("%s", "--days and --seconds exclude each other");
    if (o->name && (!*o->name || strlen(o->name) > 64))
        return usage_error("--name must be 1..64 characters, not '%s'", o->name);
    if (!o->name)
        o->name = "libdrt test root";
    return 0;
}

/* DIR/FILE into out; false when it does not fit. */
static bool join(char out[PATH_CAP], const char *dir, const char *file)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, file);
    return n > 0 && n < PATH_CAP;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory and its missing parents, as mkdir -p (new ones 0700). */
static int make_dir(const char *dir)
{
    char path[PATH_CAP];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return usage_error("--out '%s' is too long", dir);
    for (char *p = path + 1;; p++) {
        bool end = *p == 0;
        if (*p != '/' && !end)
            continue;
        *p = 0;
        if (!is_dir(path) && mkdir(path, 0700) != 0 && errno != EEXIST)
            return usage_error("--out: cannot make the directory '%s'", path);
        if (end)
            break;
        *p = '/';
    }
    return is_dir(dir) ? 0 : usage_error("--out: '%s' is not a directory", dir);
}

/* The issuing root: its certificate and the key that matches it. */
static int load_root(const char *dir, X509 **cert, EVP_PKEY **key)
{
    char cert_path[PATH_CAP], key_path[PATH_CAP], err[PATH_CAP + 128];
    *cert = NULL;
    *key = NULL;
    if (!join(cert_path, dir, "root.pem") || !join(key_path, dir, "root.key"))
        return usage_error("--root '%s' is too long", dir);
    if (!tool_load_certs(cert_path, cert, NULL, err, sizeof(err)) ||
        !tool_load_key(key_path, key, err, sizeof(err))) {
        X509_free(*cert);
        *cert = NULL;
        return usage_error("--root: %s", err);
    }
    if (X509_check_private_key(*cert, *key) != 1) {
        X509_free(*cert);
        EVP_PKEY_free(*key);
        *cert = NULL;
        *key = NULL;
        return usage_error("--root: root.key is not the key of root.pem in '%s'", dir);
    }
    return 0;
}

static void print_made(const struct cert_opts *o, const char *cert_path, const char *key_path,
                       X509 *cert)
{
    char until[64] = "?";
    const ASN1_TIME *na = X509_get0_notAfter(cert);
    struct tm tm;
    if (ASN1_TIME_to_tm(na, &tm) == 1)
        strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
    char hex[65] = "";
    if (o->issue) {
        CERT_CONTEXT ctx = {cert, NULL, NULL};
        BYTE key[32];
        DRT_DATA k = {32, key};
        if (SUCCEEDED(DrtCreateDerivedKey(&ctx, &k)))
            tool_key_hex(key, hex);
    }
    if (o->json) {
        printf("{\"event\":\"cert\",\"kind\":\"%s\",\"name\":", o->issue ? "node" : "root");
        tool_json_string(stdout, o->name, strlen(o->name));
        printf(",\"alg\":\"%s\",\"cert\":", tool_alg_name(o->alg));
        tool_json_string(stdout, cert_path, strlen(cert_path));
        printf(",\"key_file\":");
        tool_json_string(stdout, key_path, strlen(key_path));
        printf(",\"not_after\":\"%s\"", until);
        if (o->issue)
            printf(",\"key\":\"%s\"", hex);
        printf("}\n");
        return;
    }
    printf("%s certificate %s (CN=%s, %s, valid until %s)\n", o->issue ? "node" : "root",
           cert_path, o->name, tool_alg_name(o->alg), until);
    printf("private key %s (mode 0600)\n", key_path);
    if (o->issue)
        printf("DRT key %s\n", hex);
}

int cmd_cert(int argc, char **argv)
{
    struct cert_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    char cert_path[PATH_CAP], key_path[PATH_CAP], err[PATH_CAP + 128];
    if (!join(cert_path, o.out, o.issue ? "node.pem" : "root.pem") ||
        !join(key_path, o.out, o.issue ? "node.key" : "root.key"))
        return usage_error("--out '%s' is too long", o.out);
    X509 *issuer = NULL;
    EVP_PKEY *issuer_key = NULL;
    if (o.issue && (rc = load_root(o.root_dir, &issuer, &issuer_key)) != 0)
        return rc;
    if ((rc = make_dir(o.out)) != 0)
        goto out;
    long seconds = o.seconds ? (long)o.seconds : (long)(o.days ? o.days : DEFAULT_DAYS) * 86400L;
    EVP_PKEY *key = tool_keygen(o.alg);
    X509 *cert = key ? tool_cert_make(o.name, key, !o.issue, seconds, issuer, issuer_key) : NULL;
    if (!cert) {
        fprintf(stderr, "drt cert: OpenSSL could not make the %s key or certificate\n",
                tool_alg_name(o.alg));
        rc = 1;
    } else if (!tool_write_cert(cert_path, cert, o.force, err, sizeof(err))) {
        rc = usage_error("%s", err);
    } else if (!tool_write_key(key_path, key, o.force, err, sizeof(err))) {
        unlink(cert_path); /* a certificate without its key is of no use */
        rc = usage_error("%s", err);
    } else {
        print_made(&o, cert_path, key_path, cert);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
out:
    X509_free(issuer);
    EVP_PKEY_free(issuer_key);
    return rc;
}
