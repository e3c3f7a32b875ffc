/*
 * test_keying_socket.c - key managers in another process, over the
 * key-manager socket (DrtKeyingSocketListen, FwpmEngineOpen0 with a socket
 * path; docs/KEYING.md §10).
 *
 * The engine and, for most tests, the client are this process (the client
 * connects to its own process's socket, which exercises the whole path);
 * the credential and death tests run this same binary as a separate
 * client process ("--client PATH notify|dictate"): it registers, prints
 * the code, and stays until it is killed or its stdin closes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <drt.h>
#include <fwpmu.h>

#include "api/fwpm_fixture.h"
#include "api/keying_client.h"
#include "api/loopback_node.h"

#define PSK "keying socket mesh key"
#define WAIT_STEP_MS 50u
#define WAIT_STEPS 200u /* every wait below is bounded by 10 s */

static char dir[64];
static char sock_path[108];
static wchar_t wsock_path[108];
static char self_exe[4096];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static void to_wide(const char *s, wchar_t *w, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        w[i] = (wchar_t)(unsigned char)s[i];
    w[i] = 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/drt-kmsock-XXXXXX");
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755); /* the other-uid client must reach the socket */
    snprintf(sock_path, sizeof(sock_path), "%s/engine.sock", dir);
    to_wide(sock_path, wsock_path, 108);
    assert_int_equal(DrtKeyingSocketListen(sock_path), ERROR_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DrtKeyingSocketClose();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static HANDLE open_remote(void)
{
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC};
    HANDLE h = NULL;
    assert_int_equal(FwpmEngineOpen0(wsock_path, RPC_C_AUTHN_WINNT, NULL, &s, &h), ERROR_SUCCESS);
    assert_non_null(h);
    return h;
}

static UINT32 count_key_managers(HANDLE local)
{
    IPSEC_KEY_MANAGER0 **e = NULL;
    UINT32 n = 0;
    assert_int_equal(IPsecKeyManagersGet0(local, &e, &n), ERROR_SUCCESS);
    FwpmFreeMemory0((void **)&e);
    return n;
}

/* --- codes ------------------------------------------------------------- */

static void test_remote_session_registers_lists_and_unregisters(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    HANDLE remote = open_remote();
    assert_int_equal(count_key_managers(local), 0);

    wchar_t name[] = L"remote key manager";
    IPSEC_KEY_MANAGER0 m = {.displayData = {.name = name}, .keyDictationTimeoutHint = 3};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     ERROR_SUCCESS);
    assert_non_null(km);

    /* The engine (seen from a local session) and the client agree. */
    IPSEC_KEY_MANAGER0 **e = NULL;
    UINT32 n = 0;
    assert_int_equal(IPsecKeyManagersGet0(remote, &e, &n), ERROR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(wcscmp(e[0]->displayData.name, name), 0);
    assert_null(e[0]->displayData.description);
    assert_int_equal(e[0]->keyDictationTimeoutHint, 3);
    assert_false(e[0]->keyManagerKey.Data1 == 0 && e[0]->keyManagerKey.Data2 == 0);
    FwpmFreeMemory0((void **)&e);
    assert_int_equal(count_key_managers(local), 1);

    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, km), ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 0);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, km), FWP_E_NOT_FOUND);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    /* A closed remote handle is no handle at all. */
    assert_int_equal(FwpmEngineClose0(remote), ERROR_INVALID_HANDLE);
    fx_close(local);
}

static void test_remote_calls_return_the_in_process_codes(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    HANDLE remote = open_remote();
    HANDLE km = NULL;
    IPSEC_KEY_MANAGER0 m = {0};

    /* checked by the client before anything travels */
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, NULL, &fx_notify_cbs, &km),
                     FWP_E_NULL_POINTER);
    IPSEC_KEY_MANAGER0 bad_flags = {.flags = 0x10};
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &bad_flags, &fx_notify_cbs, &km),
                     FWP_E_INVALID_FLAGS);
    IPSEC_KEY_MANAGER0 late = {.keyDictationTimeoutHint = 11};
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &late, &fx_notify_cbs, &km),
                     FWP_E_INVALID_INTERVAL);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_dictate_cbs, &km),
                     ERROR_NOT_SUPPORTED);

    /* decided by the engine */
    assert_int_equal(FwpmTransactionBegin0(remote, 0x80), FWP_E_INVALID_FLAGS);
    assert_int_equal(FwpmTransactionCommit0(remote), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionBegin0(remote, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionBegin0(remote, 0), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionAbort0(remote), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionAbort0(remote), FWP_E_NO_TXN_IN_PROGRESS);

    /* one dictator per engine, whichever process registered it */
    IPSEC_KEY_MANAGER0 dm = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    HANDLE local_km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(local, &dm, &fx_dictate_cbs, &local_km),
                     ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &dm, &fx_dictate_cbs, &km),
                     FWP_E_ALREADY_EXISTS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, local_km), FWP_E_WRONG_SESSION);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(local, local_km), ERROR_SUCCESS);

    /* the descriptor, both ways */
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    PACL dacl = NULL;
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(
                         remote, NULL, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                         &owner, NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    SID me = DRT_UNIX_USER_SID_INIT(getuid());
    assert_non_null(owner);
    assert_memory_equal(owner, &me, 16);
    assert_non_null(dacl);
    assert_true(dacl->AceCount >= 1);
    FwpmFreeMemory0(&sd);
    int marker = 0;
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(remote, &marker, 0, NULL, NULL, NULL,
                                                          NULL, &sd),
                     FWP_E_RESERVED);
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(remote, NULL, 0x100, NULL, NULL, NULL,
                                                          NULL, &sd),
                     FWP_E_INVALID_FLAGS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(remote, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, NULL, NULL),
                     FWP_E_NULL_POINTER);
    fx_set_dacl_for_uid(remote, getuid(), GENERIC_ALL); /* a DACL travels and applies */
    uint32_t buf[8] = {0};
    ACL *bad = (ACL *)(void *)buf;
    assert_int_equal(DrtAclInitialize(bad, sizeof(buf)), ERROR_SUCCESS);
    bad->AclRevision = 9;
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(remote, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, bad, NULL),
                     FWP_E_INVALID_PARAMETER);
    /* the engine's order: unknown flags before a malformed part */
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(remote, NULL, 0x100, NULL, NULL, bad,
                                                          NULL),
                     FWP_E_INVALID_FLAGS);
    fx_restore_default_dacl(remote);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, (HANDLE)(uintptr_t)12345),
                     FWP_E_NOT_FOUND);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    fx_close(local);
}

/* A descriptor that does not allow the caller's uid refuses it remotely as
 * in-process (here the client's uid is ours; with another uid below). */
static void test_descriptor_refuses_a_remote_uid_it_does_not_allow(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    HANDLE remote = open_remote();
    fx_set_dacl_for_uid(local, 4242, GENERIC_ALL);
    IPSEC_KEY_MANAGER0 m = {0};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     ERROR_ACCESS_DENIED);
    IPSEC_KEY_MANAGER0 **e = NULL;
    UINT32 n = 0;
    assert_int_equal(IPsecKeyManagersGet0(remote, &e, &n), ERROR_ACCESS_DENIED);
    fx_restore_default_dacl(local);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 0); /* gone with its session */
    fx_close(local);
}

/* --- an unreachable engine -------------------------------------------------- */

/* A server that accepts, reads the first frame, then closes the
 * connection (gone mid-call), keeps it open without answering, or answers
 * with a frame that breaks the protocol. */
enum fake_mode { FAKE_HANG_UP, FAKE_SILENT, FAKE_GARBAGE };

struct fake_server {
    int fd;
    enum fake_mode mode;
    pthread_t thread;
};

static void *fake_serve(void *arg)
{
    struct fake_server *f = arg;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[256];
    (void)recv(c, buf, sizeof(buf), 0);
    if (f->mode == FAKE_GARBAGE) {
        /* a REPLY for call 1 whose body is 3 bytes short */
        static const uint8_t bad[] = {0, 0, 0, 17, 0x81, 0, 0, 0, 0, 0, 0, 1,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0};
        (void)send(c, bad, sizeof(bad), MSG_NOSIGNAL);
    }
    if (f->mode != FAKE_HANG_UP) {
        struct pollfd p = {.fd = c, .events = POLLIN};
        poll(&p, 1, 10000); /* until the client gives up and closes */
    }
    close(c);
    return NULL;
}

static void fake_start(struct fake_server *f, const char *path, enum fake_mode mode)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    f->mode = mode;
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fd, 4), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake_server *f, const char *path)
{
    pthread_join(f->thread, NULL);
    close(f->fd);
    unlink(path);
}

static DWORD open_at(const char *path)
{
    wchar_t w[256];
    to_wide(path, w, 256);
    HANDLE h = NULL;
    DWORD rc = FwpmEngineOpen0(w, RPC_C_AUTHN_WINNT, NULL, NULL, &h);
    if (rc == ERROR_SUCCESS)
        FwpmEngineClose0(h);
    else
        assert_null(h);
    return rc;
}

static void test_unreachable_engine_gives_rpc_codes(void **state)
{
    (void)state;
    char path[108];
    /* no socket file */
    snprintf(path, sizeof(path), "%s/nobody.sock", dir);
    assert_int_equal(open_at(path), RPC_E_SERVER_DIED_DNE);
    /* a socket file nobody listens on */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    assert_int_equal(open_at(path), RPC_E_SERVER_DIED_DNE);
    unlink(path);
    /* a name longer than a socket path can be */
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(open_at(longp), RPC_E_INVALID_STD_NAME);
    /* a machine name: no remote machines */
    HANDLE h = NULL;
    assert_int_equal(FwpmEngineOpen0(L"server1", RPC_C_AUTHN_WINNT, NULL, NULL, &h),
                     RPC_E_CALL_REJECTED);
    /* DRT_KEYING_SOCKET routes a NULL serverName */
    setenv("DRT_KEYING_SOCKET", path, 1);
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, NULL, &h),
                     RPC_E_SERVER_DIED_DNE);
    setenv("DRT_KEYING_SOCKET", sock_path, 1);
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, NULL, &h), ERROR_SUCCESS);
    unsetenv("DRT_KEYING_SOCKET");
    IPSEC_KEY_MANAGER0 m = {0};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(h, &m, &fx_notify_cbs, &km), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(h), ERROR_SUCCESS);
}

static void test_engine_gone_mid_call_or_silent_gives_rpc_codes(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof(path), "%s/fake.sock", dir);
    struct fake_server f;
    fake_start(&f, path, FAKE_HANG_UP);
    assert_int_equal(open_at(path), RPC_E_DISCONNECTED);
    fake_stop(&f, path);

    fake_start(&f, path, FAKE_GARBAGE);
    assert_int_equal(open_at(path), RPC_E_SERVERFAULT);
    fake_stop(&f, path);

    fake_start(&f, path, FAKE_SILENT);
    double t0 = now_ms();
    assert_int_equal(open_at(path), RPC_E_TIMEOUT);
    double waited = now_ms() - t0;
    fake_stop(&f, path);
    /* bounded: the call's wait, not forever (generous for valgrind) */
    assert_true(waited >= 4000.0 && waited < 30000.0);

    /* the engine stops serving while a session is open */
    HANDLE remote = open_remote();
    assert_int_equal(DrtKeyingSocketClose(), ERROR_SUCCESS);
    IPSEC_KEY_MANAGER0 m = {0};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     RPC_E_DISCONNECTED);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    assert_int_equal(DrtKeyingSocketClose(), ERROR_INVALID_HANDLE);
    assert_int_equal(DrtKeyingSocketListen(sock_path), ERROR_SUCCESS);
    assert_int_equal(DrtKeyingSocketListen(sock_path), ERROR_ALREADY_EXISTS);
    assert_int_equal(DrtKeyingSocketListen(NULL), ERROR_INVALID_PARAMETER);
}

/* Connects to the engine's socket and sends raw bytes. */
static int raw_connect(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* True when the engine closes the connection within 10 s (whatever it
 * answered before). */
static bool engine_hangs_up(int fd)
{
    char buf[512];
    for (unsigned step = 0; step < WAIT_STEPS; step++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, WAIT_STEP_MS) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return true;
    }
    return false;
}

static void send_all(int fd, const void *b, size_t n)
{
    assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void test_engine_drops_a_client_that_breaks_the_protocol(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    /* a type nobody knows */
    int fd = raw_connect();
    const uint8_t unknown[] = {0, 0, 0, 8, 0x77, 0, 0, 0, 0, 0, 0, 1};
    send_all(fd, unknown, sizeof(unknown));
    assert_true(engine_hangs_up(fd));
    close(fd);
    /* a call before OPEN */
    fd = raw_connect();
    const uint8_t list_first[] = {0, 0, 0, 8, 0x08, 0, 0, 0, 0, 0, 0, 1};
    send_all(fd, list_first, sizeof(list_first));
    assert_true(engine_hangs_up(fd));
    close(fd);
    /* a length over what the engine reads from a client */
    fd = raw_connect();
    const uint8_t huge[] = {0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 1};
    send_all(fd, huge, sizeof(huge));
    assert_true(engine_hangs_up(fd));
    close(fd);
    /* an OPEN with a reserved byte set in its header */
    fd = raw_connect();
    const uint8_t reserved[] = {0, 0, 0, 8, 0x01, 0, 1, 0, 0, 0, 0, 1};
    send_all(fd, reserved, sizeof(reserved));
    assert_true(engine_hangs_up(fd));
    close(fd);
    /* an OPEN whose body stops after its version */
    fd = raw_connect();
    const uint8_t short_open[] = {0, 0, 0, 10, 0x01, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    send_all(fd, short_open, sizeof(short_open));
    assert_true(engine_hangs_up(fd));
    close(fd);
    /* nothing of them stayed, and the engine still serves */
    HANDLE remote = open_remote();
    IPSEC_KEY_MANAGER0 m = {0};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &fx_notify_cbs, &km),
                     ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 1);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 0);
    fx_close(local);
}

/* --- a client in another process ------------------------------------------ */

struct child {
    pid_t pid;
    int in;  /* its stdin: closing it lets it exit */
    int out; /* its stdout: the code it printed */
};

/* Starts exe --client sock_path mode (as uid when uid != 0) and reads the
 * code it prints (bounded by 10 s). */
static DWORD spawn_client_at(const char *exe, const char *path, const char *mode, uid_t uid,
                             struct child *c)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        if (uid && (setgid(uid) != 0 || setuid(uid) != 0))
            _exit(3);
        execl(exe, exe, "--client", path, mode, (char *)NULL);
        _exit(4);
    }
    close(in[0]);
    close(out[1]);
    c->in = in[1];
    c->out = out[0];
    char line[64] = {0};
    size_t got = 0;
    for (unsigned step = 0; step < WAIT_STEPS && !memchr(line, '\n', got); step++) {
        struct pollfd p = {.fd = c->out, .events = POLLIN};
        if (poll(&p, 1, WAIT_STEP_MS) <= 0)
            continue;
        ssize_t n = read(c->out, line + got, sizeof(line) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    unsigned rc = 0xFFFFFFFFu;
    if (sscanf(line, "rc=%x", &rc) != 1)
        fail_msg("client printed '%s'", line);
    return (DWORD)rc;
}

static DWORD spawn_client(const char *exe, const char *mode, uid_t uid, struct child *c)
{
    return spawn_client_at(exe, sock_path, mode, uid, c);
}

static void child_end(struct child *c, bool kill_it)
{
    if (kill_it)
        kill(c->pid, SIGKILL);
    close(c->in);
    close(c->out);
    int status;
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
}

/* Waits (bounded) until the engine lists n key managers. */
static bool wait_key_managers(HANDLE local, UINT32 n)
{
    for (unsigned step = 0; step < WAIT_STEPS; step++) {
        if (count_key_managers(local) == n)
            return true;
        sleep_ms(WAIT_STEP_MS);
    }
    return false;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(to, mode), 0);
}

static void test_world_writable_client_cannot_install(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    char copy[128];
    snprintf(copy, sizeof(copy), "%s/client-ow", dir);
    copy_file(self_exe, copy, 0777);
    struct child c;
    assert_int_equal(spawn_client(copy, "notify", 0, &c), SEC_E_CANNOT_INSTALL);
    child_end(&c, false);
    assert_int_equal(count_key_managers(local), 0);
    /* the same binary, not writable by others, installs */
    assert_int_equal(chmod(copy, 0755), 0);
    assert_int_equal(spawn_client(copy, "notify", 0, &c), ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 1);
    child_end(&c, false);
    assert_true(wait_key_managers(local, 0));
    fx_close(local);
}

static void test_other_uid_is_refused_by_the_default_descriptor(void **state)
{
    (void)state;
    if (getuid() != 0)
        skip(); /* starting a process under another uid needs root */
    HANDLE local = fx_open(0);
    char copy[128];
    snprintf(copy, sizeof(copy), "%s/client-nobody", dir);
    copy_file(self_exe, copy, 0755);
    struct child c;
    /* the default descriptor allows this process's user and root only */
    assert_int_equal(spawn_client(copy, "notify", 65534, &c), ERROR_ACCESS_DENIED);
    child_end(&c, false);
    /* a socket it may not reach: a folder only root may enter */
    char private_dir[96], private_sock[128];
    snprintf(private_dir, sizeof(private_dir), "%s/private", dir);
    assert_int_equal(mkdir(private_dir, 0700), 0);
    snprintf(private_sock, sizeof(private_sock), "%s/engine.sock", private_dir);
    assert_int_equal(spawn_client_at(copy, private_sock, "notify", 65534, &c),
                     RPC_E_ACCESS_DENIED);
    child_end(&c, false);
    fx_set_dacl_for_uid(local, 65534, GENERIC_ALL);
    assert_int_equal(spawn_client(copy, "notify", 65534, &c), ERROR_SUCCESS);
    fx_restore_default_dacl(local); /* which lets this process enumerate again */
    assert_int_equal(count_key_managers(local), 1);
    child_end(&c, false);
    assert_true(wait_key_managers(local, 0));
    fx_close(local);
}

/* --- negotiations with remote key managers ------------------------------- */

#define MAX_NOTES 32

struct note {
    UINT32 in_spi, out_spi;
    BYTE in_key[36], out_key[36];
    UINT32 bundle_flags;
};

static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct note notes[MAX_NOTES];
static int nnotes;
static atomic_int dictations;

static void CALLBACK on_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    pthread_mutex_lock(&notes_lock);
    if (nnotes < MAX_NOTES) {
        struct note *n = &notes[nnotes++];
        const IPSEC_SA0 *si = &in->saBundle.saList[0], *so = &out->saBundle.saList[0];
        n->in_spi = si->spi;
        n->out_spi = so->spi;
        memcpy(n->in_key, si->espAuthAndCipherInformation->saCipherInformation.cipherKey.data, 36);
        memcpy(n->out_key, so->espAuthAndCipherInformation->saCipherInformation.cipherKey.data,
               36);
        n->bundle_flags = in->saBundle.flags;
    }
    pthread_mutex_unlock(&notes_lock);
}

static void CALLBACK on_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w)
{
    (void)t;
    *will = TRUE;
    *w = 5;
}

static BYTE pattern(UINT32 spi, int b)
{
    return (BYTE)(0xa5 ^ (spi >> (8 * (b % 4))) ^ b);
}

static DWORD CALLBACK on_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    dictations++;
    *gen = TRUE;
    IPSEC_SA_DETAILS1 *ds[2] = {in, out};
    for (int i = 0; i < 2; i++) {
        IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *info =
            ds[i]->saBundle.saList[0].espAuthAndCipherInformation;
        for (int b = 0; b < 36; b++)
            info->saCipherInformation.cipherKey.data[b] = pattern(ds[i]->saBundle.saList[0].spi, b);
    }
    return ERROR_SUCCESS;
}

static const IPSEC_KEY_MANAGER_CALLBACKS0 remote_dictator_cbs = {
    .keyDictationCheck = on_check, .keyDictation = on_dictate, .keyNotify = on_notify};

/* Two REQUIRE nodes become ACTIVE (which needs SAs); returns how many SA
 * pairs the two established. */
static UINT64 run_pair(void)
{
    struct lb_node nodes[2];
    HDRT_REGISTRATION_CONTEXT regs[2];
    for (int i = 0; i < 2; i++) {
        lb_open_protected(&nodes[i], i ? &nodes[0] : NULL, DRT_PROTECTION_REQUIRE, PSK);
        BYTE key[32];
        memset(key, 0x30 + i, sizeof(key));
        lb_register(&nodes[i], key, i ? "one" : "zero", &regs[i]);
    }
    bool active = lb_wait_active(&nodes[1], WAIT_STEPS * WAIT_STEP_MS);
    for (int i = 0; i < 2 && !active; i++) {
        DRT_PROTECTION_STATS s;
        assert_int_equal(DrtGetTransportProtectionStats(nodes[i].transport, &s), S_OK);
        print_message("node %d: sas %llu failed %llu neg %llu/%llu dropped %llu\n", i,
                      (unsigned long long)s.sasEstablished,
                      (unsigned long long)s.negotiationsFailed,
                      (unsigned long long)s.negotiationSent,
                      (unsigned long long)s.negotiationReceived,
                      (unsigned long long)s.negotiationDropped);
    }
    assert_true(active);
    UINT64 sas = 0;
    for (int i = 0; i < 2; i++) {
        DRT_PROTECTION_STATS s;
        assert_int_equal(DrtGetTransportProtectionStats(nodes[i].transport, &s), S_OK);
        sas += s.sasEstablished;
    }
    for (int i = 1; i >= 0; i--) {
        DrtUnregisterKey(regs[i]);
        lb_close(&nodes[i]);
    }
    return sas;
}

static void reset_notes(void)
{
    pthread_mutex_lock(&notes_lock);
    nnotes = 0;
    pthread_mutex_unlock(&notes_lock);
    dictations = 0;
}

/* Both nodes are in this process, so the remote notify hears both sides. */
static void test_remote_dictator_keys_the_real_sas(void **state)
{
    (void)state;
    reset_notes();
    HANDLE remote = open_remote();
    IPSEC_KEY_MANAGER0 m = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &remote_dictator_cbs, &km),
                     ERROR_SUCCESS);
    UINT64 sas = run_pair();
    assert_true(sas >= 2);
    /* notifications are not answered: give the last ones time to land */
    for (unsigned step = 0; step < WAIT_STEPS; step++) {
        pthread_mutex_lock(&notes_lock);
        bool all = (UINT64)nnotes >= sas;
        pthread_mutex_unlock(&notes_lock);
        if (all)
            break;
        sleep_ms(WAIT_STEP_MS);
    }
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, km), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    pthread_mutex_lock(&notes_lock);
    assert_int_equal((UINT64)nnotes, sas);
    assert_int_equal(dictations * 2, nnotes);
    for (int i = 0; i < nnotes; i++) {
        assert_true(notes[i].bundle_flags & IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS);
        for (int b = 0; b < 36; b++) {
            assert_int_equal(notes[i].in_key[b], pattern(notes[i].in_spi, b));
            assert_int_equal(notes[i].out_key[b], pattern(notes[i].out_spi, b));
        }
        int mates = 0;
        for (int j = 0; j < nnotes; j++)
            if (notes[j].in_spi == notes[i].out_spi && notes[j].out_spi == notes[i].in_spi)
                mates++;
        assert_int_equal(mates, 1);
    }
    pthread_mutex_unlock(&notes_lock);
}

static atomic_int blocked_in_dictation;
static atomic_int release_dictation;

static DWORD CALLBACK blocking_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    blocked_in_dictation++;
    for (unsigned step = 0; step < WAIT_STEPS && !release_dictation; step++)
        sleep_ms(WAIT_STEP_MS);
    blocked_in_dictation--;
    return on_dictate(in, out, gen);
}

/* A remote dictator that does not answer within its 1 s hint: the engine
 * stops waiting at the deadline, while the callback still runs, and the
 * negotiation fails as for a late in-process dictator that did not set
 * keyingModuleGenKey (the answer that would carry it never came). */
static void test_silent_remote_dictator_is_bounded_by_its_deadline(void **state)
{
    (void)state;
    reset_notes();
    release_dictation = 0;
    HANDLE remote = open_remote();
    IPSEC_KEY_MANAGER0 m = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY,
                            .keyDictationTimeoutHint = 1};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = remote_dictator_cbs;
    cb.keyDictation = blocking_dictate;
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &cb, &km), ERROR_SUCCESS);
    struct lb_node nodes[2];
    lb_open_protected(&nodes[0], NULL, DRT_PROTECTION_REQUIRE, PSK);
    lb_open_protected(&nodes[1], &nodes[0], DRT_PROTECTION_REQUIRE, PSK);
    UINT64 failed = 0, sas = 0;
    for (unsigned step = 0; step < WAIT_STEPS && !failed; step++) {
        sleep_ms(WAIT_STEP_MS);
        for (int i = 0; i < 2; i++) {
            DRT_PROTECTION_STATS s;
            assert_int_equal(DrtGetTransportProtectionStats(nodes[i].transport, &s), S_OK);
            failed += s.negotiationsFailed;
            sas += s.sasEstablished;
        }
    }
    /* failed while the dictator is still inside its callback */
    assert_true(failed >= 1);
    assert_int_equal(blocked_in_dictation, 1);
    assert_int_equal(sas, 0);
    release_dictation = 1;
    lb_close(&nodes[1]);
    lb_close(&nodes[0]);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, km), ERROR_SUCCESS);
    assert_int_equal(blocked_in_dictation, 0); /* Unregister waited for it */
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    pthread_mutex_lock(&notes_lock);
    assert_int_equal(nnotes, 0);
    pthread_mutex_unlock(&notes_lock);
}

struct begin_job {
    HANDLE session;
    DWORD rc;
};

static void *begin_write_txn(void *arg)
{
    struct begin_job *j = arg;
    j->rc = FwpmTransactionBegin0(j->session, 0);
    return NULL;
}

/* While a client's own API call waits in the engine (its transaction
 * begin, for a writer another session holds), the engine still takes that
 * client's callback answers: its dictator keys real SAs meanwhile. */
static void test_client_waiting_in_a_call_still_answers_callbacks(void **state)
{
    (void)state;
    reset_notes();
    HANDLE local = fx_open(0);
    assert_int_equal(FwpmTransactionBegin0(local, 0), ERROR_SUCCESS);
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC, .txnWaitTimeoutInMSec = 8000};
    HANDLE remote = NULL;
    assert_int_equal(FwpmEngineOpen0(wsock_path, RPC_C_AUTHN_WINNT, NULL, &s, &remote),
                     ERROR_SUCCESS);
    IPSEC_KEY_MANAGER0 m = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    HANDLE km = NULL;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(remote, &m, &remote_dictator_cbs, &km),
                     ERROR_SUCCESS);
    struct begin_job j = {.session = remote, .rc = 0xFFFFFFFFu};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, begin_write_txn, &j), 0);
    sleep_ms(200); /* the begin is waiting in the engine now */
    assert_true(run_pair() >= 2);
    assert_true(dictations >= 1);
    assert_int_equal(j.rc, 0xFFFFFFFFu); /* still waiting */
    assert_int_equal(FwpmTransactionAbort0(local), ERROR_SUCCESS);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionAbort0(remote), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(remote, km), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    fx_close(local);
    pthread_mutex_lock(&notes_lock);
    for (int i = 0; i < nnotes; i++)
        assert_int_equal(notes[i].in_key[0], pattern(notes[i].in_spi, 0));
    pthread_mutex_unlock(&notes_lock);
}

/* A session that waits "as long as it takes" for the writer (a
 * txnWaitTimeoutInMSec near UINT32_MAX) still waits past the client's own
 * 5 s answer time: the two are not added into a 32-bit wrap. */
static void test_a_wait_for_the_writer_without_end_outlasts_the_call_time(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    assert_int_equal(FwpmTransactionBegin0(local, 0), ERROR_SUCCESS);
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC, .txnWaitTimeoutInMSec = 0xFFFFFFFFu};
    HANDLE remote = NULL;
    assert_int_equal(FwpmEngineOpen0(wsock_path, RPC_C_AUTHN_WINNT, NULL, &s, &remote),
                     ERROR_SUCCESS);
    struct begin_job j = {.session = remote, .rc = 0xFFFFFFFFu};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, begin_write_txn, &j), 0);
    sleep_ms(KEYING_CLIENT_CALL_MS + 700);
    DWORD early = j.rc; /* read before the writer leaves; checked once all is undone */
    assert_int_equal(FwpmTransactionAbort0(local), ERROR_SUCCESS);
    pthread_join(t, NULL);
    if (early != 0xFFFFFFFFu && j.rc == ERROR_SUCCESS)
        FwpmTransactionAbort0(remote);
    if (early != 0xFFFFFFFFu) {
        FwpmEngineClose0(remote);
        fx_close(local);
    }
    assert_int_equal(early, 0xFFFFFFFFu); /* it was still waiting, not RPC_E_TIMEOUT */
    assert_int_equal(j.rc, ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionAbort0(remote), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(remote), ERROR_SUCCESS);
    fx_close(local);
}

/* The client process dies: its registration goes with it, and the nodes
 * go on negotiating without it. */
static void test_killed_client_takes_its_registration_with_it(void **state)
{
    (void)state;
    HANDLE local = fx_open(0);
    struct child c;
    assert_int_equal(spawn_client(self_exe, "dictate", 0, &c), ERROR_SUCCESS);
    assert_int_equal(count_key_managers(local), 1);
    assert_true(run_pair() >= 2); /* keyed by the other process's dictator */
    child_end(&c, true);
    assert_true(wait_key_managers(local, 0));
    reset_notes();
    assert_true(run_pair() >= 2);
    fx_close(local);
}

/* --- the client process ------------------------------------------------ */

static void CALLBACK child_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

static int client_main(const char *path, const char *mode)
{
    wchar_t w[108];
    to_wide(path, w, 108);
    HANDLE h = NULL, km = NULL;
    DWORD rc = FwpmEngineOpen0(w, RPC_C_AUTHN_WINNT, NULL, NULL, &h);
    IPSEC_KEY_MANAGER0 m = {0};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyNotify = child_notify};
    if (strcmp(mode, "dictate") == 0) {
        m.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY;
        cb = remote_dictator_cbs;
    }
    if (rc == ERROR_SUCCESS)
        rc = IPsecKeyManagerAddAndRegister0(h, &m, &cb, &km);
    printf("rc=%08x\n", (unsigned)rc);
    fflush(stdout);
    char b;
    while (read(0, &b, 1) > 0) /* until the test closes our stdin or kills us */
        ;
    if (h)
        FwpmEngineClose0(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--client") == 0)
        return client_main(argv[2], argv[3]);
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n <= 0)
        return 1;
    self_exe[n] = 0;
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_session_registers_lists_and_unregisters),
        cmocka_unit_test(test_remote_calls_return_the_in_process_codes),
        cmocka_unit_test(test_descriptor_refuses_a_remote_uid_it_does_not_allow),
        cmocka_unit_test(test_unreachable_engine_gives_rpc_codes),
        cmocka_unit_test(test_engine_gone_mid_call_or_silent_gives_rpc_codes),
        cmocka_unit_test(test_engine_drops_a_client_that_breaks_the_protocol),
        cmocka_unit_test(test_world_writable_client_cannot_install),
        cmocka_unit_test(test_other_uid_is_refused_by_the_default_descriptor),
        cmocka_unit_test(test_remote_dictator_keys_the_real_sas),
        cmocka_unit_test(test_silent_remote_dictator_is_bounded_by_its_deadline),
        cmocka_unit_test(test_client_waiting_in_a_call_still_answers_callbacks),
        cmocka_unit_test(test_a_wait_for_the_writer_without_end_outlasts_the_call_time),
        cmocka_unit_test(test_killed_client_takes_its_registration_with_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
