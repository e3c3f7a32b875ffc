/*
 * route_file_io.c - reading a route cache file and writing one atomically
 * (route_file.h). The only file I/O of the DRT API; it runs on the
 * caller's thread, never on the loop thread.
 *
 * Errors as HRESULTs (docs/API.md, "DrtSaveRouteCache / DrtLoadRouteCache"):
 * no such file HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), no such folder
 * when writing HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), permissions
 * E_ACCESSDENIED, a full disk HRESULT_FROM_WIN32(ERROR_DISK_FULL), memory
 * E_OUTOFMEMORY, anything else E_FAIL. A path that is not a regular file,
 * or a file over the size cap, is DRT_E_INVALID_MESSAGE: it is not a route
 * cache file, whatever it is.
 */
#include "api/route_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static HRESULT from_errno(int err, bool writing)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return HRESULT_FROM_WIN32(writing ? ERROR_PATH_NOT_FOUND : ERROR_FILE_NOT_FOUND);
    case EACCES:
    case EPERM:
    case EROFS:
        return E_ACCESSDENIED;
    case ENOSPC:
    case EDQUOT:
        return HRESULT_FROM_WIN32(ERROR_DISK_FULL);
    case ENOMEM:
        return E_OUTOFMEMORY;
    default:
        return E_FAIL;
    }
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t k = write(fd, buf, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return false;
        }
        buf += k;
        len -= (size_t)k;
    }
    return true;
}

/* The folder holding path, so the rename can be made durable. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

static HRESULT sync_folder(const char *path)
{
    char *dir = folder_of(path);
    if (!dir)
        return E_OUTOFMEMORY;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return from_errno(errno, true);
    /* Some file systems cannot sync a folder (EINVAL): nothing more to do. */
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    close(fd);
    return rc ? from_errno(rc, true) : S_OK;
}

HRESULT route_file_write(const char *path, const uint8_t *buf, size_t len)
{
    /* A name no other writer (thread or process) picks: a reader of path
     * sees the old file or the new one, never half of either. */
    static atomic_uint serial;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp)
        return E_OUTOFMEMORY;
    snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&serial, 1));
    /* 0600: the file lists the peers this node talks to. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        HRESULT hr = from_errno(errno, true);
        free(tmp);
        return hr;
    }
    int err = 0;
    if (!write_all(fd, buf, len) || fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return from_errno(err, true);
    }
    free(tmp);
    return sync_folder(path);
}

HRESULT route_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO planted at path must not hang the caller. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return from_errno(errno, false);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        HRESULT hr = from_errno(errno, false);
        close(fd);
        return hr;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return DRT_E_INVALID_MESSAGE;
    }
    /* One byte over the cap, in case the file grew since fstat. */
    uint8_t *data = malloc(max + 1);
    if (!data) {
        close(fd);
        return E_OUTOFMEMORY;
    }
    size_t got = 0;
    while (got <= max) {
        ssize_t k = read(fd, data + got, max + 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            HRESULT hr = from_errno(errno, false);
            free(data);
            close(fd);
            return hr;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (got > max) {
        free(data);
        return DRT_E_INVALID_MESSAGE;
    }
    *buf = data;
    *len = got;
    return S_OK;
}
