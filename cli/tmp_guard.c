/* Temporary directory removed on return and on interruption (see
 * cli/tmp_guard.h). The signal handler only writes the signal number into
 * a pipe (async-signal-safe, and whichever thread the kernel picks runs
 * it); the watcher thread does the removal in ordinary thread context. */
#include "cli/tmp_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/tmpdir.h"

struct pm_cli_tmp_guard {
  char *dir;            /* NULL until made (under lock) */
  pthread_mutex_t lock; /* held while the directory is being made */
  pthread_t watcher;
  struct sigaction old[3];
};

static const int guarded[3] = {SIGINT, SIGTERM, SIGHUP};

/* The pipe between the handler and the watcher: a process-wide resource,
 * as signal dispositions are. */
static int wake[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t w = write(wake[1], &b, 1);
  (void)w;
  errno = saved;
}

static void *watch(void *arg) {
  pm_cli_tmp_guard *g = arg;
  unsigned char b;
  for (;;) {
    ssize_t n = read(wake[0], &b, 1);
    if (n == 1)
      break;
    if (n < 0 && errno == EINTR)
      continue;
    return NULL;
  }
  if (b == 0)
    return NULL; /* pm_cli_tmp_guard_free: the command is done */
  /* A signal during pm_cli_tmp_guard_new waits until the directory is made
   * (or not). Workers may still be writing into it: remove it twice, so
   * that a file created during the first pass goes too. */
  pthread_mutex_lock(&g->lock);
  if (g->dir) {
    pm__rmtree(g->dir);
    pm__rmtree(g->dir);
    pm_cli_err("interrupted (%s): temporary files in %s removed", strsignal(b),
               g->dir);
  } else {
    pm_cli_err("interrupted (%s)", strsignal(b));
  }
  _exit(128 + b);
}

pm_cli_tmp_guard *pm_cli_tmp_guard_new(const char *what) {
  pm_cli_tmp_guard *g = calloc(1, sizeof *g);
  if (!g) {
    pm_cli_err("out of memory");
    return NULL;
  }
  pthread_mutex_init(&g->lock, NULL);
  /* The watcher and the handlers first, the directory last: whenever a
   * signal comes, either nothing exists yet or the watcher sees it. */
  pthread_mutex_lock(&g->lock);
  if (pipe(wake) != 0) {
    pm_cli_err("cannot watch for interruptions: %s", strerror(errno));
    goto fail;
  }
  if (pthread_create(&g->watcher, NULL, watch, g) != 0) {
    pm_cli_err("cannot watch for interruptions: %s", strerror(errno));
    close(wake[0]);
    close(wake[1]);
    wake[0] = wake[1] = -1;
    goto fail;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; i++)
    sigaction(guarded[i], &sa, &g->old[i]);
  const char *parent;
  g->dir = pm__make_tmpdir(NULL, what, &parent);
  if (!g->dir) {
    pm_cli_err("cannot make a temporary directory in %s: %s", parent,
               strerror(errno));
    pthread_mutex_unlock(&g->lock);
    pm_cli_tmp_guard_free(g);
    return NULL;
  }
  pthread_mutex_unlock(&g->lock);
  return g;
fail:
  pthread_mutex_unlock(&g->lock);
  pthread_mutex_destroy(&g->lock);
  free(g);
  return NULL;
}

const char *pm_cli_tmp_guard_dir(const pm_cli_tmp_guard *g) {
  return g->dir;
}

void pm_cli_tmp_guard_free(pm_cli_tmp_guard *g) {
  if (!g)
    return;
  for (int i = 0; i < 3; i++)
    sigaction(guarded[i], &g->old[i], NULL);
  unsigned char done = 0;
  ssize_t w = write(wake[1], &done, 1);
  (void)w;
  pthread_join(g->watcher, NULL);
  close(wake[0]);
  close(wake[1]);
  wake[0] = wake[1] = -1;
  pm__rmtree(g->dir);
  pthread_mutex_destroy(&g->lock);
  free(g->dir);
  free(g);
}
