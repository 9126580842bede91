/* Private temporary directories: making them and removing them, for the
 * library's, the command's and the tests' own use. */
#ifndef PM_COMMON_TMPDIR_H
#define PM_COMMON_TMPDIR_H

/* Makes "<parent>/penmark-<what>.XXXXXX" with mkdtemp: a new directory,
 * mode 0700, that no one else can have made. parent NULL or "" takes
 * $TMPDIR, or /tmp. Returns the path, malloc'd (free it); NULL with errno
 * set when it fails. *used (when used is not NULL) gets the parent taken,
 * for messages. */
char *pm__make_tmpdir(const char *parent, const char *what, const char **used);

/* Removes dir and everything below it, as far as it can: an entry that
 * cannot be removed is passed over, not an error. A symbolic link is
 * removed, never followed. NULL is ignored. */
void pm__rmtree(const char *dir);

#endif
