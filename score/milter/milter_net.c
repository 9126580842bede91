/* Trusted networks: CIDR lists, IPv4 and IPv6, matched against the
 * connecting client's address. IPv4 is kept as IPv4-mapped IPv6 so that
 * one comparison serves both families (a dual-stack socket reports IPv4
 * clients as ::ffff:a.b.c.d). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "score/milter/milter_lists.h"

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};

/* Text address to 16 bytes; *v4 tells the family written. */
static bool parse_addr(const char *s, unsigned char out[16], bool *v4) {
  struct in_addr a4;
  if (inet_pton(AF_INET, s, &a4) == 1) {
    memcpy(out, v4_mapped, 12);
    memcpy(out + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  *v4 = false;
  return inet_pton(AF_INET6, s, out) == 1;
}

/* True when the bits of a past the prefix are all zero. */
static bool host_bits_clear(const unsigned char a[16], unsigned bits) {
  for (unsigned i = bits; i < 128; i++)
    if (a[i / 8] & (0x80u >> (i % 8)))
      return false;
  return true;
}

/* One "ADDR[/BITS]" item. */
static pm_status parse_item(pm__netlist *l, const char *item,
                            const char *origin, pm_error *err) {
  char addr[64];
  const char *slash = strchr(item, '/');
  size_t n = slash ? (size_t)(slash - item) : strlen(item);
  if (n == 0 || n >= sizeof addr)
    return pm_error_set(err, PM_CONFIG, "%s: '%s' is not an address/prefix",
                        origin, item);
  memcpy(addr, item, n);
  addr[n] = '\0';
  pm__cidr c = {{0}, 0};
  bool v4;
  if (!parse_addr(addr, c.addr, &v4))
    return pm_error_set(err, PM_CONFIG,
                        "%s: '%s' is not an IPv4 or IPv6 address", origin,
                        addr);
  unsigned max = v4 ? 32 : 128;
  unsigned bits = max;
  if (slash) {
    char *end;
    const char *b = slash + 1;
    long v = (*b >= '0' && *b <= '9') ? strtol(b, &end, 10) : -1;
    if (v < 0 || *end || (unsigned long)v > max)
      return pm_error_set(err, PM_CONFIG,
                          "%s: '%s': the prefix length must be 0 to %u", origin,
                          item, max);
    bits = (unsigned)v;
  }
  c.bits = v4 ? 96 + bits : bits;
  if (!host_bits_clear(c.addr, c.bits))
    return pm_error_set(err, PM_CONFIG,
                        "%s: '%s' has bits set past its /%u prefix", origin,
                        item, bits);
  if (!pm__grow((void **)&l->c, &l->cap, l->n + 1, sizeof *l->c))
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", origin);
  l->c[l->n++] = c;
  return PM_OK;
}

pm_status pm__netlist_parse(pm__netlist *l, const char *list,
                            const char *origin, pm_error *err) {
  const char *p = list ? list : "";
  while (*p) {
    size_t skip = strspn(p, ", \t\r\n");
    p += skip;
    size_t n = strcspn(p, ", \t\r\n");
    if (n == 0)
      break;
    char item[128];
    if (n >= sizeof item)
      return pm_error_set(err, PM_CONFIG, "%s: '%.40s...' is too long", origin,
                          p);
    memcpy(item, p, n);
    item[n] = '\0';
    pm_status st = parse_item(l, item, origin, err);
    if (st != PM_OK)
      return st;
    p += n;
  }
  return PM_OK;
}

static bool in_net(const pm__cidr *c, const unsigned char a[16]) {
  unsigned full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, a, full))
    return false;
  if (!rest)
    return true;
  unsigned char mask = (unsigned char)(0xffu << (8 - rest));
  return (c->addr[full] & mask) == (a[full] & mask);
}

static bool match16(const pm__netlist *l, const unsigned char a[16]) {
  for (size_t i = 0; l && i < l->n; i++)
    if (in_net(&l->c[i], a))
      return true;
  return false;
}

bool pm__netlist_match(const pm__netlist *l, const struct sockaddr *sa) {
  unsigned char a[16];
  if (!sa)
    return false;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
    memcpy(a, v4_mapped, 12);
    memcpy(a + 12, &s4->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    memcpy(a, &s6->sin6_addr, 16);
  } else {
    return false;
  }
  return match16(l, a);
}

bool pm__netlist_match_text(const pm__netlist *l, const char *ip) {
  unsigned char a[16];
  bool v4;
  return ip && parse_addr(ip, a, &v4) && match16(l, a);
}

void pm__netlist_free(pm__netlist *l) {
  if (l) {
    free(l->c);
    *l = (pm__netlist){0};
  }
}
