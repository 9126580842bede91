/* The daemon's listening unix socket (see serve_socket.h). */
#include "score/serve/serve_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static pm_status fill_addr(const char *path, struct sockaddr_un *sa,
                           pm_error *err) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len = strlen(path);
  /* sun_path is a fixed array; Linux would not truncate silently, it
   * refuses, but say why in words. */
  if (len == 0)
    return pm_error_set(err, PM_INVAL, "empty socket path");
  if (len >= sizeof sa->sun_path)
    return pm_error_set(err, PM_INVAL,
                        "socket path too long: %zu bytes, a unix socket path "
                        "holds at most %zu: %s",
                        len, sizeof sa->sun_path - 1, path);
  memcpy(sa->sun_path, path, len + 1);
  return PM_OK;
}

/* Whether something accepts connections on the socket file at path. */
static pm_status probe(const char *path, const struct sockaddr_un *sa,
                       bool *live, pm_error *err) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "socket: %s", strerror(errno));
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  close(fd);
  if (rc == 0 || e == EAGAIN) { /* EAGAIN: alive, its backlog is full */
    *live = true;
    return PM_OK;
  }
  if (e == ECONNREFUSED) {
    *live = false;
    return PM_OK;
  }
  return pm_error_set(err, PM_IO, "%s: cannot tell whether it is in use: %s",
                      path, strerror(e));
}

pm_status pm__socket_listen(const char *path, unsigned mode, int backlog,
                            const pm__log *log, int *out, struct stat *id,
                            pm_error *err) {
  struct sockaddr_un sa;
  pm_status rc = fill_addr(path, &sa, err);
  if (rc != PM_OK)
    return rc;
  struct stat sb;
  if (lstat(path, &sb) == 0) {
    if (!S_ISSOCK(sb.st_mode))
      return pm_error_set(err, PM_INVAL,
                          "%s exists and is not a socket; not touching it",
                          path);
    bool live = false;
    if ((rc = probe(path, &sa, &live, err)) != PM_OK)
      return rc;
    if (live)
      return pm_error_set(err, PM_BUSY,
                          "%s: another daemon is listening on this socket; "
                          "stop it first (or choose another --socket)",
                          path);
    if (unlink(path) != 0 && errno != ENOENT)
      return pm_error_set(err, PM_IO, "%s: cannot remove the stale socket: %s",
                          path, strerror(errno));
    pm__log_printf(log, PM_LOG_WARN, "replaced stale socket %s", path);
  } else if (errno != ENOENT) {
    return pm_error_set(err, PM_IO, "%s: %s", path, strerror(errno));
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "socket: %s", strerror(errno));
  /* The umask makes the file with no more than `mode` from the start, so
   * that there is no moment where a wider permission lets someone in;
   * chmod then gives exactly `mode` whatever the umask was. The daemon is
   * still single-threaded here (no worker exists yet). */
  mode_t old = umask(~(mode_t)mode & 0777);
  int b = bind(fd, (const struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  umask(old);
  if (b != 0) {
    close(fd);
    if (e == EADDRINUSE)
      return pm_error_set(err, PM_BUSY,
                          "%s: in use (another daemon started at the same "
                          "time?)",
                          path);
    return pm_error_set(err, PM_IO, "bind %s: %s", path, strerror(e));
  }
  if (chmod(path, (mode_t)mode) != 0 || listen(fd, backlog) != 0 ||
      lstat(path, id) != 0) {
    e = errno;
    close(fd);
    unlink(path);
    return pm_error_set(err, PM_IO, "%s: %s", path, strerror(e));
  }
  *out = fd;
  return PM_OK;
}

void pm__socket_remove(const char *path, const struct stat *id) {
  struct stat sb;
  if (lstat(path, &sb) == 0 && sb.st_dev == id->st_dev &&
      sb.st_ino == id->st_ino)
    unlink(path);
}
