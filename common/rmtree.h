/* Removing a directory tree, for the library's and the command's own
 * temporary directories. */
#ifndef PM_COMMON_RMTREE_H
#define PM_COMMON_RMTREE_H

/* Removes dir and everything below it, as far as it can: an entry that
 * cannot be removed is passed over, not an error. A symbolic link is
 * removed, never followed. NULL is ignored. */
void pm__rmtree(const char *dir);

#endif
