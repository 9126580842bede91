/* Removing a directory tree (see common/rmtree.h). */
#include "common/rmtree.h"

#include <ftw.h>
#include <stdio.h>

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
