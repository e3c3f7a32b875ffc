/*
 * drt key - the DRT key a certificate proves (DrtCreateDerivedKey: SHA-256
 * of its SubjectPublicKeyInfo), printed as `drt node` prints the keys it
 * registers and as `drt search` reads KEY: 64 hex digits, the key as a
 * number, most significant first.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include <drt.h>

#include "cli.h"
#include "tool_node.h"
#include "tool_pki.h"

void usage_key(void)
{
    printf("usage: drt key --cert FILE [--json]\n\n"
           "Prints the DRT key derived from the certificate in FILE (PEM; the first\n"
           "certificate when there are several): SHA-256 of its public key, as 64 hex\n"
           "digits, most significant first. That is the key 'drt node --register-cert'\n"
           "publishes and 'drt search KEY' looks for.\n"
           "  --cert FILE  the certificate (from 'drt cert issue', or any PEM)\n"
           "  --json       {\"event\":\"key\",...} instead of the bare key\n"
           "Exit: 0, 1 when the key type cannot sign records\n"
           "(DRT_E_CAPABILITY_MISMATCH), 2 on usage and file errors.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "drt key: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt key --help lists the options)\n");
    return 2;
}

int cmd_key(int argc, char **argv)
{
    const char *cert_file = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
            cert_file = argv[++i];
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!cert_file)
        return usage_error("%s", "--cert FILE is required");
    X509 *cert;
    char err[512];
    if (!tool_load_certs(cert_file, &cert, NULL, err, sizeof(err)))
        return usage_error("%s", err);
    CERT_CONTEXT ctx = {cert, NULL, NULL};
    BYTE key[32];
    DRT_DATA k = {32, key};
    HRESULT hr = DrtCreateDerivedKey(&ctx, &k);
    if (FAILED(hr)) {
        tool_report_failure("key", "DrtCreateDerivedKey", hr, json);
        X509_free(cert);
        return 1;
    }
    char hex[65];
    tool_key_hex(key, hex);
    if (json) {
        char subject[256];
        X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        printf("{\"event\":\"key\",\"cert\":");
        tool_json_string(stdout, cert_file, strlen(cert_file));
        printf(",\"subject\":");
        tool_json_string(stdout, subject, strlen(subject));
        printf(",\"key\":\"%s\"}\n", hex);
    } else {
        printf("%s\n", hex);
    }
    X509_free(cert);
    return 0;
}
