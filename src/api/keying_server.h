/*
 * keying_server.h - the engine's side of the key-manager socket
 * (DrtKeyingSocketListen, docs/KEYING.md §10): one accept thread, one
 * thread per connection serving that client's engine session, and the
 * remote ops through which the SA negotiation calls the callbacks of key
 * managers that registered over the socket.
 */
#ifndef DRT_API_KEYING_SERVER_H
#define DRT_API_KEYING_SERVER_H

#include "ipsec/neg_keymgr.h"

/* What every negotiation's key-manager env carries (drt_protection.c). */
extern const struct neg_remote_ops keying_server_remote_ops;

#endif
