/*
 * api_fixture.h - objects the API tests need before the node exists:
 * providers whose every callback is present, and instance / transport /
 * registration / search objects made through the same internal
 * constructors DrtOpen and friends use.
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
/* Creates the instance (as DrtOpen will once it attaches providers). */
void fixture_open(struct api_fixture *f);
void fixture_fini(struct api_fixture *f);

#endif
