/* The milter's lists: the tenant map (sender domain -> tenant), the
 * protected senders (addresses) and the trusted networks (CIDR). Each is
 * parsed from text whose name (a file, an option) the error messages carry,
 * as "NAME:LINE: problem" for files. Read-only once parsed: any thread may
 * look them up. Zero-initialise, free with the matching _free. */
#ifndef PM_SCORE_MILTER_LISTS_H
#define PM_SCORE_MILTER_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "penmark/error.h"

/* ---- the lines of a list or policy file ---- */

typedef struct {
  const char *p, *end;
  unsigned line; /* number of the line last returned, from 1 */
} pm__lines;

/* The next line with content: surrounding spaces trimmed, blank lines and
 * lines starting with '#' skipped. *s and *n get the line (not
 * NUL-terminated); false at the end. */
bool pm__lines_next(pm__lines *it, const char **s, size_t *n);

/* ---- tenant map: "domain tenant" a line ---- */

typedef struct {
  char *domain; /* lower-case; a leading '.' matches every subdomain */
  char *tenant;
  unsigned line; /* where it was given, for messages */
} pm__map_entry;

typedef struct {
  pm__map_entry *e; /* sorted by domain */
  size_t n, cap;
} pm__tenant_map;

/* Lines "domain tenant" (blank and '#' lines skipped). Errors: a bad
 * domain or tenant name, a missing or extra field, a domain given twice. */
pm_status pm__tenant_map_parse(pm__tenant_map *m, const char *text, size_t len,
                               const char *name, pm_error *err);
pm_status pm__tenant_map_read(pm__tenant_map *m, const char *path,
                              pm_error *err);
/* The tenant of a domain (any case): the exact entry, else the nearest
 * ".parent" entry (".example.com" for "eu.example.com"); NULL when none.
 * Borrowed from the map. */
const char *pm__tenant_map_find(const pm__tenant_map *m, const char *domain);
void pm__tenant_map_free(pm__tenant_map *m);

/* ---- protected senders: one address a line ---- */

typedef struct {
  char **addr; /* lower-case, sorted, no duplicates */
  size_t n, cap;
} pm__senders;

/* Lines of one address "local@domain" (blank and '#' lines skipped,
 * surrounding spaces and <> dropped); an address given twice is kept once.
 */
pm_status pm__senders_parse(pm__senders *s, const char *text, size_t len,
                            const char *name, pm_error *err);
pm_status pm__senders_read(pm__senders *s, const char *path, pm_error *err);
bool pm__senders_has(const pm__senders *s, const char *addr); /* any case */
void pm__senders_free(pm__senders *s);

/* ---- trusted networks: CIDR, IPv4 and IPv6 ---- */

typedef struct {
  unsigned char addr[16]; /* IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
  unsigned bits;          /* prefix length over the 128 bits */
} pm__cidr;

typedef struct {
  pm__cidr *c;
  size_t n, cap;
} pm__netlist;

/* Adds the networks of a list separated by commas or spaces: "10.0.0.0/8,
 * 192.0.2.7, 2001:db8::/32, ::1". An address without a prefix is one host.
 * Bits set past the prefix are an error (a typo more often than not). */
pm_status pm__netlist_parse(pm__netlist *l, const char *list,
                            const char *origin, pm_error *err);
/* True when the address (AF_INET or AF_INET6; an IPv4-mapped IPv6 address
 * matches IPv4 networks) is in a network of the list. NULL: false. */
bool pm__netlist_match(const pm__netlist *l, const struct sockaddr *sa);
/* The same for an address in text form; false when it is not one. */
bool pm__netlist_match_text(const pm__netlist *l, const char *ip);
void pm__netlist_free(pm__netlist *l);

#endif
