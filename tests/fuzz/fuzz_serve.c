/* The daemon itself: a pm_serve runs in this process on the store trained
 * at start; each input is written as raw bytes to a new connection (then
 * the write side is shut), and the answer read to the end. What is fuzzed
 * is everything between the socket and the scorer: libmicrohttpd's request
 * parsing as configured here, the handlers, the body budget, the score. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/tmpdir.h"
#include "penmark/serve.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pm_serve *srv;
static char *sock_dir;
static struct sockaddr_un addr;

static void quiet(pm_log_level level, const char *msg, void *ctx) {
  (void)level;
  (void)msg;
  (void)ctx;
}

static void stop(void) {
  pm_serve_free(srv);
  srv = NULL;
  pm__rmtree(sock_dir);
  free(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *store = pm_fuzz_store_dir();
  if (!(sock_dir = pm__make_tmpdir(NULL, "fuzz-serve", NULL)))
    abort();
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s/s", sock_dir);
  pm_serve_opts o;
  pm_serve_opts_default(&o);
  o.socket_path = addr.sun_path;
  o.store_dir = store;
  o.threads = 1;
  o.timeout_s = 2;
  o.drain_s = 0;
  o.max_bytes = 64 * 1024;
  o.log = quiet;
  pm_error err;
  pm_error_clear(&err);
  if (pm_serve_start(&o, &srv, &err) != PM_OK) {
    fprintf(stderr, "fuzz_serve: %s\n", pm_error_message(&err));
    abort();
  }
  atexit(stop);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    abort(); /* the daemon is gone: that is a crash of the daemon */
  size_t off = 0;
  char buf[65536];
  /* Write and read together: a large answer must not block our writes. */
  while (off < size) {
    struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
    if (poll(&p, 1, 5000) <= 0)
      abort(); /* no progress in 5 s: the daemon hangs */
    if (p.revents & POLLIN) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0)
        break; /* answered early (413) and closed */
    }
    if (p.revents & POLLOUT) {
      ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
      if (w < 0)
        break;
      off += (size_t)w;
    }
    if (p.revents & (POLLERR | POLLHUP))
      break;
  }
  shutdown(fd, SHUT_WR);
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, 5000);
    if (pr == 0)
      abort(); /* a half-closed client must get its answer or an EOF */
    if (pr < 0 && errno == EINTR)
      continue;
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0)
      break;
  }
  close(fd);
  return 0;
}
