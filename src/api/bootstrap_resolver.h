/*
 * bootstrap_resolver.h - the DRT_BOOTSTRAP_PROVIDER behaviour shared by the
 * built-in resolvers (DNS and static): attach bookkeeping, resolve contexts,
 * the IPv6 address batch and the callback sequence of reference §5.2. Each
 * resolver only supplies the function that gathers candidate endpoints.
 */
#ifndef DRT_API_BOOTSTRAP_RESOLVER_H
#define DRT_API_BOOTSTRAP_RESOLVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <drt.h>

struct bootstrap_resolver;
struct bootstrap_resolve;

/* The endpoints of one resolve: SOCKADDR_IN6 only (IPv4 mapped), no
 * duplicates, at most `max` of them. */
struct bootstrap_addrs {
    SOCKADDR_IN6 *v;
    size_t n, cap, max;
};

/* Adds one endpoint. `port` (host order) replaces the address's own port
 * unless it is 0. Returns false when the batch is full (stop gathering);
 * families other than AF_INET/AF_INET6 are ignored. */
bool bootstrap_addrs_add(struct bootstrap_addrs *a, const struct sockaddr *sa, size_t salen,
                         USHORT port);
/* E_OUTOFMEMORY after an allocation failed inside bootstrap_addrs_add. */
HRESULT bootstrap_addrs_status(const struct bootstrap_addrs *a);

/* Fills `out` for one resolve; runs without the resolver's lock held and may
 * block. Returns S_OK or a failure that IssueResolve passes back. */
typedef HRESULT (*bootstrap_gather_fn)(struct bootstrap_resolver *r, struct bootstrap_resolve *rs,
                                       struct bootstrap_addrs *out);

enum bootstrap_kind { BOOTSTRAP_KIND_DNS = 0x444e53, BOOTSTRAP_KIND_STATIC = 0x535441 };

struct bootstrap_resolver {
    /* First member: the pointer handed to the application is the object. */
    DRT_BOOTSTRAP_PROVIDER provider;
    enum bootstrap_kind kind;
    bootstrap_gather_fn gather;
    void *source; /* owned by the concrete resolver */
    pthread_mutex_t lock;
    pthread_cond_t idle; /* a resolve left its callbacks */
    bool attached;
};

/* Fills the vtable and the lock; the caller sets source. */
HRESULT bootstrap_resolver_init(struct bootstrap_resolver *r, enum bootstrap_kind kind,
                                bootstrap_gather_fn gather);
void bootstrap_resolver_fini(struct bootstrap_resolver *r);

/* The resolver behind a public pointer, or NULL when it is not one of `kind`. */
struct bootstrap_resolver *bootstrap_resolver_from(DRT_BOOTSTRAP_PROVIDER *p,
                                                   enum bootstrap_kind kind);

/* True once EndResolve was called from another thread: a gatherer that
 * does several slow steps stops early. */
bool bootstrap_resolve_cancelled(struct bootstrap_resolve *rs);

#endif
