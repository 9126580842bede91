/* Temporary directories (see common/tmpdir.h). */
#include "common/tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pm__make_tmpdir(const char *parent, const char *what, const char **used) {
  if (!parent || !*parent)
    parent = getenv("TMPDIR");
  if (!parent || !*parent)
    parent = "/tmp";
  if (used)
    *used = parent;
  size_t n = strlen(parent) + strlen(what) + sizeof "/penmark-.XXXXXX";
  char *p = malloc(n);
  if (!p) {
    errno = ENOMEM;
    return NULL;
  }
  snprintf(p, n, "%s/penmark-%s.XXXXXX", parent, what);
  if (!mkdtemp(p)) {
    int e = errno;
    free(p);
    errno = e;
    return NULL;
  }
  return p;
}

static int remove_one(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0; /* keep going: remove what can be removed */
}

void pm__rmtree(const char *dir) {
  /* FTW_DEPTH: children before their directory; FTW_PHYS: a symbolic link
   * is removed, never followed. */
  if (dir)
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
