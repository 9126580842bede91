/* Enumerating training mail (see train/source.h). */
#include "train/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper trees than this are not followed (and symlink loops end here). */
#define MAX_DEPTH 32

static void note_error(pm__source *src, const char *fmt, const char *path,
                       const char *why) {
  if (src->n_errors < sizeof src->first_errors / sizeof src->first_errors[0]) {
    size_t n = strlen(fmt) + strlen(path) + strlen(why) + 1;
    char *m = malloc(n);
    if (m) {
      snprintf(m, n, fmt, path, why);
      src->first_errors[src->n_errors] = m;
    }
  }
  src->n_errors++;
}

static bool add_item(pm__source *src, const char *path, uint64_t off,
                     uint64_t len, uint32_t index, bool mbox) {
  if (src->n == src->cap) {
    size_t c = src->cap ? src->cap * 2 : 1024;
    pm__source_item *p = realloc(src->items, c * sizeof *p);
    if (!p)
      return false;
    src->items = p;
    src->cap = c;
  }
  char *dup = strdup(path);
  if (!dup)
    return false;
  src->items[src->n++] = (pm__source_item){dup, off, len, index, mbox};
  src->total_bytes += len;
  return true;
}

/* An mbox begins with "From " (the envelope line). */
static bool looks_like_mbox(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char head[5];
  ssize_t n = read(fd, head, sizeof head);
  close(fd);
  return n == 5 && memcmp(head, "From ", 5) == 0;
}

/* Splits an mbox at its "From " lines (at the start of the file or after a
 * line end). Each message's bytes start after its envelope line. */
static bool add_mbox(pm__source *src, const char *path, uint64_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    note_error(src, "%s: cannot open: %s", path, strerror(errno));
    return true;
  }
  if (size == 0) {
    close(fd);
    return true;
  }
  const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) {
    note_error(src, "%s: cannot map: %s", path, strerror(errno));
    return true;
  }
  bool ok = true;
  uint32_t index = 0;
  uint64_t pos = 0, start = 0;
  bool in_msg = false;
  while (pos < size && ok) {
    bool from_line = size - pos >= 5 && memcmp(data + pos, "From ", 5) == 0;
    const char *nl = memchr(data + pos, '\n', size - pos);
    uint64_t next = nl ? (uint64_t)(nl - data) + 1 : size;
    if (from_line) {
      if (in_msg)
        ok = add_item(src, path, start, pos - start, index++, true);
      start = next;
      in_msg = true;
    }
    pos = next;
  }
  if (ok && in_msg)
    ok = add_item(src, path, start, size - start, index, true);
  munmap((void *)data, size);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A maildir holds cur/ and new/ (tmp/ is for deliveries in progress). */
static bool is_maildir(const char *path) {
  char p[4096];
  snprintf(p, sizeof p, "%s/cur", path);
  if (!is_dir(p))
    return false;
  snprintf(p, sizeof p, "%s/new", path);
  return is_dir(p);
}

static bool mail_extension(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcmp(dot, ".eml") || !strcmp(dot, ".txt") ||
                 !strcmp(dot, ".msg") || !strcmp(dot, ".mbox") ||
                 !strcmp(dot, ".mbx"));
}

static bool add_path(pm__source *src, const char *path, int depth,
                     bool in_maildir);

/* Walks a directory's entries in name order. */
static bool add_dir(pm__source *src, const char *path, int depth,
                    bool in_maildir) {
  if (depth > MAX_DEPTH) {
    note_error(src, "%s: %s", path, "deeper than 32 levels, not followed");
    return true;
  }
  bool maildir = is_maildir(path);
  DIR *d = opendir(path);
  if (!d) {
    note_error(src, "%s: cannot open directory: %s", path, strerror(errno));
    return true;
  }
  size_t n = 0, cap = 64;
  char **names = malloc(cap * sizeof *names);
  bool ok = names != NULL;
  struct dirent *e;
  while (ok && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue; /* hidden files, ".", ".." */
    if (maildir && strcmp(e->d_name, "cur") && strcmp(e->d_name, "new"))
      continue; /* tmp/ and the maildir's own files */
    if (n == cap) {
      char **p = realloc(names, cap * 2 * sizeof *names);
      if (!p) {
        ok = false;
        break;
      }
      names = p;
      cap *= 2;
    }
    names[n] = strdup(e->d_name);
    ok = names[n++] != NULL;
  }
  closedir(d);
  if (ok)
    qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; ok && i < n; i++) {
    size_t len = strlen(path) + strlen(names[i]) + 2;
    char *child = malloc(len);
    if (!child) {
      ok = false;
      break;
    }
    snprintf(child, len, "%s/%s", path, names[i]);
    ok = add_path(src, child, depth + 1, in_maildir || maildir);
    free(child);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return ok;
}

static bool add_path(pm__source *src, const char *path, int depth,
                     bool in_maildir) {
  struct stat st;
  if (stat(path, &st) != 0) {
    note_error(src, "%s: %s", path, strerror(errno));
    return true;
  }
  if (S_ISDIR(st.st_mode))
    return add_dir(src, path, depth, in_maildir);
  if (!S_ISREG(st.st_mode))
    return true;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  /* Given by name, any file is taken; found in a tree, only mail-like
   * names (and every file of a maildir, whose names have no extension). */
  if (depth > 0 && !in_maildir && !mail_extension(base))
    return true;
  if (looks_like_mbox(path))
    return add_mbox(src, path, (uint64_t)st.st_size);
  return add_item(src, path, 0, (uint64_t)st.st_size, 0, false);
}

static bool add_stdin_list(pm__source *src) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  bool ok = true;
  while (ok && (n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n > 0)
      ok = add_path(src, line, 0, false);
  }
  free(line);
  return ok;
}

pm_status pm__source_open(const char *const *inputs, size_t n_inputs,
                          pm__source *src, pm_error *err) {
  memset(src, 0, sizeof *src);
  for (size_t i = 0; i < n_inputs; i++) {
    bool ok = strcmp(inputs[i], "-") == 0 ? add_stdin_list(src)
                                          : add_path(src, inputs[i], 0, false);
    if (!ok) {
      pm__source_free(src);
      return pm_error_set(err, PM_NOMEM, "out of memory listing the input");
    }
  }
  return PM_OK;
}

void pm__source_free(pm__source *src) {
  for (size_t i = 0; i < src->n; i++)
    free(src->items[i].path);
  free(src->items);
  for (size_t i = 0; i < sizeof src->first_errors / sizeof src->first_errors[0];
       i++)
    free(src->first_errors[i]);
  memset(src, 0, sizeof *src);
}

/* mboxrd: ">From " lines inside a message had one ">" added; take it off. */
static void unescape_mbox(pm__buf *b) {
  size_t w = 0;
  for (size_t r = 0; r < b->len;) {
    bool bol = r == 0 || b->data[r - 1] == '\n';
    if (bol && b->data[r] == '>') {
      size_t k = r;
      while (k < b->len && b->data[k] == '>')
        k++;
      if (b->len - k >= 5 && memcmp(b->data + k, "From ", 5) == 0)
        r++;
    }
    b->data[w++] = b->data[r++];
  }
  b->len = w;
  b->data[w] = '\0';
}

pm_status pm__source_read(const pm__source *src, size_t i, size_t max_bytes,
                          pm__buf *out, pm_error *err) {
  const pm__source_item *it = &src->items[i];
  char name[4200];
  pm__source_name(src, i, name, sizeof name);
  if (!it->mbox)
    return pm__read_file(it->path, max_bytes, out, err);
  pm__buf_clear(out);
  if (it->len > max_bytes)
    return pm_error_set(err, PM_TOOBIG,
                        "%s: %llu bytes, over the limit of %zu bytes", name,
                        (unsigned long long)it->len, max_bytes);
  int fd = open(it->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "%s: cannot open: %s", name,
                        strerror(errno));
  if (!pm__buf_reserve(out, (size_t)it->len)) {
    close(fd);
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", name);
  }
  uint64_t done = 0;
  while (done < it->len) {
    ssize_t n = pread(fd, out->data + done, (size_t)(it->len - done),
                      (off_t)(it->off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fd);
      pm__buf_clear(out);
      return pm_error_set(err, PM_IO, "%s: read error: %s", name,
                          n < 0 ? strerror(errno) : "file shrank");
    }
    done += (uint64_t)n;
  }
  close(fd);
  out->len = (size_t)it->len;
  out->data[out->len] = '\0';
  unescape_mbox(out);
  return PM_OK;
}

void pm__source_name(const pm__source *src, size_t i, char *buf, size_t cap) {
  const pm__source_item *it = &src->items[i];
  if (it->mbox)
    snprintf(buf, cap, "%s#%u", it->path, it->index + 1);
  else
    snprintf(buf, cap, "%s", it->path);
}

void pm__source_label(const pm__source *src, size_t i, char *buf, size_t cap) {
  const char *p = src->items[i].path;
  const char *slash = strrchr(p, '/');
  /* no directory part, or "." / "..": no name to take (an empty label,
   * which training rejects as no_sender) */
  if (!slash) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  const char *start = slash;
  while (start > p && start[-1] != '/')
    start--;
  int n = (int)(slash - start);
  /* a maildir's cur/ and new/ are not labels: use the maildir's name */
  if ((n == 3 && (!memcmp(start, "cur", 3) || !memcmp(start, "new", 3))) &&
      start > p) {
    const char *end = start - 1;
    const char *s2 = end;
    while (s2 > p && s2[-1] != '/')
      s2--;
    snprintf(buf, cap, "%.*s", (int)(end - s2), s2);
  } else {
    snprintf(buf, cap, "%.*s", n, start);
  }
  if (!strcmp(buf, ".") || !strcmp(buf, ".."))
    buf[0] = '\0';
}
