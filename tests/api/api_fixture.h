/*
 * api_fixture.h - what the API tests start from: providers whose every
 * callback is present (the resolver finds nobody), a real transport, and
 * settings that pass every DrtOpen check.
 */
#ifndef DRT_TESTS_API_FIXTURE_H
#define DRT_TESTS_API_FIXTURE_H

#include <drt.h>

#include "api/api_internal.h"

struct api_fixture {
    DRT_SECURITY_PROVIDER security;
    DRT_BOOTSTRAP_PROVIDER bootstrap;
    struct drt_transport *transport;
    DRT_SETTINGS settings;
    struct drt_instance *instance; /* NULL until fixture_open() */
    BYTE key[32];
    BYTE data[DRT_MAX_PAYLOAD_SIZE + 1];
    DRT_REGISTRATION registration;
};

/* Providers, a transport and settings that pass every DrtOpen check. */
void fixture_init(struct api_fixture *f);
/* The same with a transport of the given scope (one per scope may exist). */
void fixture_init_scope(struct api_fixture *f, DRT_SCOPE scope);
/* Opens the DRT through DrtOpen (on loopback, finding nobody). */
void fixture_open(struct api_fixture *f);
void fixture_fini(struct api_fixture *f);

#endif
