/* The milter's policy and lists: the tenant map, the protected senders, the
 * trusted networks (CIDR), the key = value policy file and its errors. */
#include "penmark/milter.h"
#include "score/milter/milter_internal.h"
#include "score/milter/milter_lists.h"
#include "tests/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static pm_status map_of(pm__tenant_map *m, const char *text, pm_error *err) {
  memset(m, 0, sizeof *m);
  pm_error_clear(err);
  return pm__tenant_map_parse(m, text, strlen(text), "t.map", err);
}

START_TEST(tenant_map_lookup) {
  pm__tenant_map m;
  pm_error err;
  ck_assert_int_eq(map_of(&m,
                          "# domains\n\n  Acme.Example   acme \r\n"
                          ".eu.acme.example acme-eu\n"
                          "globex.example\tglobex\n",
                          &err),
                   PM_OK);
  ck_assert_uint_eq(m.n, 3);
  ck_assert_str_eq(pm__tenant_map_find(&m, "acme.example"), "acme");
  ck_assert_str_eq(pm__tenant_map_find(&m, "ACME.EXAMPLE"), "acme");
  /* subdomains only through a leading-dot entry, nearest first */
  ck_assert_ptr_null(pm__tenant_map_find(&m, "mail.acme.example"));
  ck_assert_str_eq(pm__tenant_map_find(&m, "paris.eu.acme.example"), "acme-eu");
  ck_assert_ptr_null(pm__tenant_map_find(&m, "eu.acme.example"));
  ck_assert_str_eq(pm__tenant_map_find(&m, "globex.example"), "globex");
  ck_assert_ptr_null(pm__tenant_map_find(&m, "example"));
  ck_assert_ptr_null(pm__tenant_map_find(&m, ""));
  ck_assert_ptr_null(pm__tenant_map_find(&m, NULL));
  pm__tenant_map_free(&m);
}
END_TEST

/* Each bad map fails naming the file, the line and the problem. */
START_TEST(tenant_map_errors) {
  static const struct {
    const char *text, *want;
  } bad[] = {
      {"acme.example\n", "t.map:1: expected \"domain tenant\""},
      {"a.example acme\nb.example acme extra\n", "t.map:2: expected"},
      {"a.example acme\n\nbad_domain! acme\n", "t.map:3: 'bad_domain!' is not"},
      {"a..example acme\n", "t.map:1: 'a..example' is not a domain"},
      {"a.example Bad/Tenant\n", "t.map:1: "},
      {"a.example x\n# c\nA.example y\n", "t.map:3: domain 'a.example' given "
                                          "twice (line 1 too)"},
      {"# only comments\n\n", "t.map: no \"domain tenant\" line"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm__tenant_map m;
    pm_error err;
    ck_assert_int_eq(map_of(&m, bad[i].text, &err), PM_CONFIG);
    ck_assert_msg(strstr(err.msg, bad[i].want), "map <%s>: got '%s', want '%s'",
                  bad[i].text, err.msg, bad[i].want);
    pm__tenant_map_free(&m);
  }
}
END_TEST

START_TEST(protected_senders) {
  pm__senders s = {0};
  pm_error err;
  const char *text = "# who matters\nCEO@Acme.example\n<cfo@acme.example>\n"
                     "  ceo@acme.example  \n";
  ck_assert_int_eq(pm__senders_parse(&s, text, strlen(text), "p.txt", &err),
                   PM_OK);
  ck_assert_uint_eq(s.n, 2); /* the duplicate is kept once */
  ck_assert(pm__senders_has(&s, "ceo@acme.example"));
  ck_assert(pm__senders_has(&s, "CFO@ACME.EXAMPLE"));
  ck_assert(!pm__senders_has(&s, "intern@acme.example"));
  ck_assert(!pm__senders_has(&s, NULL));
  pm__senders_free(&s);

  static const struct {
    const char *text, *want;
  } bad[] = {
      {"a@acme.example\nnobody\n", "p.txt:2: 'nobody' is not an address"},
      {"a@b@acme.example\n", "p.txt:1:"},
      {"a b@acme.example\n", "p.txt:1:"},
      {"@acme.example\n", "p.txt:1:"},
      {"a@\n", "p.txt:1:"},
      {"\n# none\n", "p.txt: no address"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm__senders b = {0};
    ck_assert_int_eq(
        pm__senders_parse(&b, bad[i].text, strlen(bad[i].text), "p.txt", &err),
        PM_CONFIG);
    ck_assert_msg(strstr(err.msg, bad[i].want), "<%s>: got '%s'", bad[i].text,
                  err.msg);
    pm__senders_free(&b);
  }
}
END_TEST

START_TEST(cidr_match) {
  pm__netlist l = {0};
  pm_error err;
  ck_assert_int_eq(pm__netlist_parse(&l,
                                     "10.0.0.0/8, 192.0.2.7 2001:db8::/32,\n"
                                     "::1,198.51.100.0/25",
                                     "--trusted-networks", &err),
                   PM_OK);
  ck_assert_uint_eq(l.n, 5);
  ck_assert(pm__netlist_match_text(&l, "10.255.1.2"));
  ck_assert(!pm__netlist_match_text(&l, "11.0.0.1"));
  ck_assert(pm__netlist_match_text(&l, "192.0.2.7"));
  ck_assert(!pm__netlist_match_text(&l, "192.0.2.8"));
  ck_assert(pm__netlist_match_text(&l, "198.51.100.127"));
  ck_assert(!pm__netlist_match_text(&l, "198.51.100.128"));
  ck_assert(pm__netlist_match_text(&l, "2001:db8:ffff::1"));
  ck_assert(!pm__netlist_match_text(&l, "2001:db9::1"));
  ck_assert(pm__netlist_match_text(&l, "::1"));
  ck_assert(!pm__netlist_match_text(&l, "::2"));
  /* an IPv4 client on a dual-stack socket: IPv4-mapped IPv6 */
  ck_assert(pm__netlist_match_text(&l, "::ffff:10.1.2.3"));
  ck_assert(!pm__netlist_match_text(&l, "not an address"));

  /* the sockaddr forms of the connect callback */
  struct sockaddr_in s4 = {.sin_family = AF_INET};
  inet_pton(AF_INET, "10.9.8.7", &s4.sin_addr);
  ck_assert(pm__netlist_match(&l, (struct sockaddr *)&s4));
  inet_pton(AF_INET, "172.16.0.1", &s4.sin_addr);
  ck_assert(!pm__netlist_match(&l, (struct sockaddr *)&s4));
  struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
  inet_pton(AF_INET6, "2001:db8::25", &s6.sin6_addr);
  ck_assert(pm__netlist_match(&l, (struct sockaddr *)&s6));
  inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr);
  ck_assert(pm__netlist_match(&l, (struct sockaddr *)&s6));
  struct sockaddr un = {.sa_family = AF_UNIX};
  ck_assert(!pm__netlist_match(&l, &un));
  ck_assert(!pm__netlist_match(&l, NULL));
  pm__netlist_free(&l);

  /* the empty list matches nothing; 0.0.0.0/0 every IPv4 address only */
  ck_assert_int_eq(pm__netlist_parse(&l, "", "x", &err), PM_OK);
  ck_assert(!pm__netlist_match_text(&l, "10.0.0.1"));
  ck_assert_int_eq(pm__netlist_parse(&l, "0.0.0.0/0", "x", &err), PM_OK);
  ck_assert(pm__netlist_match_text(&l, "203.0.113.9"));
  ck_assert(!pm__netlist_match_text(&l, "2001:db8::1"));
  pm__netlist_free(&l);
}
END_TEST

START_TEST(cidr_errors) {
  static const struct {
    const char *list, *want;
  } bad[] = {
      {"10.0.0.1/8", "'10.0.0.1/8' has bits set past its /8 prefix"},
      {"10.0.0.0/33", "the prefix length must be 0 to 32"},
      {"2001:db8::/129", "the prefix length must be 0 to 128"},
      {"10.0.0.0/", "the prefix length"},
      {"10.0.0.0/-1", "the prefix length"},
      {"10.0.0.0/8x", "the prefix length"},
      {"10.0.0.256", "'10.0.0.256' is not an IPv4 or IPv6 address"},
      {"example.com", "is not an IPv4 or IPv6 address"},
      {"/8", "is not an address/prefix"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm__netlist l = {0};
    pm_error err;
    pm_error_clear(&err);
    ck_assert_int_eq(pm__netlist_parse(&l, bad[i].list, "milter.conf:4", &err),
                     PM_CONFIG);
    ck_assert_msg(strstr(err.msg, "milter.conf:4: ") &&
                      strstr(err.msg, bad[i].want),
                  "<%s>: got '%s'", bad[i].list, err.msg);
    pm__netlist_free(&l);
  }
}
END_TEST

static char *dir;

static void setup(void) {
  dir = pm_test_tmpdir();
}

static void teardown(void) {
  pm_test_rmtree(dir);
  free(dir);
}

static char *write_in_dir(const char *name, const char *text) {
  char *p = pm_test_fmt("%s/%s", dir, name);
  pm_test_write_file(p, text, strlen(text));
  return p;
}

START_TEST(policy_file_and_overrides) {
  char *map = write_in_dir("tenants.map", "acme.example acme\n");
  char *prot = write_in_dir("protected", "ceo@acme.example\n");
  char *path = write_in_dir("milter.conf",
                            "# the policy\n"
                            "socket = unix:/run/penmark/milter.sock\n"
                            "store = stores\n"
                            "tenant_map = tenants.map\n"
                            "action = quarantine\n"
                            "tag = \"[suspect] \"\n"
                            "protected = protected\n"
                            "trusted_networks = 10.0.0.0/8, 2001:db8::/32\n"
                            "skip_authenticated = yes\n"
                            "time_limit_ms = 250\n"
                            "max_connections = 7\n"
                            "timeout_s = 30\n");
  pm_milter_policy *p = pm_milter_policy_new();
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_milter_policy_load(p, path, &err), PM_OK);
  /* relative paths are the policy file's folder's */
  char *store = pm_test_fmt("%s/stores", dir);
  ck_assert_str_eq(p->store, store);
  ck_assert_str_eq(p->tenant_map_path, map);
  ck_assert_str_eq(p->protected_path, prot);
  ck_assert_str_eq(p->socket, "unix:/run/penmark/milter.sock");
  ck_assert_int_eq(p->action, PM_MILTER_QUARANTINE);
  ck_assert_str_eq(p->tag, "[suspect] ");
  ck_assert(p->skip_authenticated);
  ck_assert_uint_eq(p->time_limit_ms, 250);
  ck_assert_uint_eq(p->max_connections, 7);
  ck_assert_uint_eq(p->timeout_s, 30);
  ck_assert_uint_eq(p->trusted.n, 2);
  /* the command line after the file: it wins; --tenant replaces the map */
  ck_assert_int_eq(
      pm_milter_policy_set(p, "action", "reject", "--action", &err), PM_OK);
  ck_assert_int_eq(pm_milter_policy_set(p, "tenant", "solo", "--tenant", &err),
                   PM_OK);
  ck_assert_int_eq(p->action, PM_MILTER_REJECT);
  ck_assert_ptr_null(p->tenant_map_path);
  ck_assert_int_eq(
      pm_milter_policy_set(p, "protected", "profiled", "--protected", &err),
      PM_OK);
  ck_assert_ptr_null(p->protected_path);
  ck_assert_int_eq(pm_milter_policy_check(p, &err), PM_OK);
  ck_assert_uint_eq(p->protected_senders.n, 0);
  /* checked: no more changes */
  ck_assert_int_eq(pm_milter_policy_set(p, "action", "tag", "--action", &err),
                   PM_INVAL);
  pm_milter_policy_free(p);

  /* the map and the protected list are read by the check */
  p = pm_milter_policy_new();
  ck_assert_int_eq(pm_milter_policy_load(p, path, &err), PM_OK);
  ck_assert_int_eq(pm_milter_policy_check(p, &err), PM_OK);
  ck_assert_str_eq(pm__tenant_map_find(&p->map, "acme.example"), "acme");
  ck_assert(pm__senders_has(&p->protected_senders, "ceo@acme.example"));
  pm_milter_policy_free(p);
  free(store);
  free(map);
  free(prot);
  free(path);
}
END_TEST

/* One bad policy file: load (or check) fails, naming file:line. */
static void expect_bad(const char *text, const char *want_suffix) {
  char *path = write_in_dir("bad.conf", text);
  char *want = pm_test_fmt("%s%s", path, want_suffix);
  pm_milter_policy *p = pm_milter_policy_new();
  pm_error err;
  pm_error_clear(&err);
  pm_status st = pm_milter_policy_load(p, path, &err);
  if (st == PM_OK)
    st = pm_milter_policy_check(p, &err);
  ck_assert_int_eq(st, PM_CONFIG);
  ck_assert_msg(strstr(err.msg, want) || strstr(err.msg, want_suffix + 1),
                "policy <%s>: got '%s', want '%s'", text, err.msg, want);
  pm_milter_policy_free(p);
  free(want);
  free(path);
}

START_TEST(policy_errors) {
  expect_bad("action = report\nfrobnicate = 1\n",
             ":2: unknown setting 'frobnicate'");
  expect_bad("\n\naction = drop\n", ":3: action 'drop': not report, tag, "
                                    "quarantine or reject");
  expect_bad("action report\n", ":1: expected \"key = value\"");
  expect_bad(" = report\n", ":1: no key before '='");
  expect_bad("tag = \"[x] \n", ":1: a quoted value must end with \"");
  expect_bad("tag = \xc3\xa9t\xc3\xa9\n", ":1: tag: only printable ASCII");
  expect_bad("time_limit_ms = 0\n", ":1: time_limit_ms '0': not a whole "
                                    "number 1 to 600000");
  expect_bad("time_limit_ms = 12ms\n", ":1: time_limit_ms '12ms'");
  expect_bad("max_connections = -3\n", ":1: max_connections '-3'");
  /* libmilter's own default (7210 s) is the most */
  expect_bad("timeout_s = 0\n", ":1: timeout_s '0': not a whole number 1 "
                                "to 7210");
  expect_bad("timeout_s = 7211\n", ":1: timeout_s '7211'");
  expect_bad("skip_authenticated = sometimes\n",
             ":1: skip_authenticated 'sometimes': not yes or no");
  expect_bad("tenant = Bad Name\n", ":1: ");
  expect_bad("tenant = acme\ntenant_map = t.map\n",
             ":2: tenant and tenant_map (line 1): give one");
  expect_bad("action = tag\n# again\naction = reject\n",
             ":3: action given twice (line 1 too)");
  expect_bad("trusted_networks = 10.0.0.0/8 300.1.1.1\n",
             ":1: '300.1.1.1' is not an IPv4 or IPv6 address");
  /* complete but for the tenant: the check says what is missing */
  expect_bad("socket = unix:/x\nstore = /x\n", ": no tenant");
  expect_bad("socket = unix:/x\ntenant = a\n", ": no store");
  /* the map's own errors name the map file */
  char *map = write_in_dir("m.map", "a.example a\nb.example\n");
  pm_milter_policy *p = pm_milter_policy_new();
  pm_error err;
  ck_assert_int_eq(
      pm_milter_policy_set(p, "socket", "unix:/x", "--socket", &err), PM_OK);
  ck_assert_int_eq(pm_milter_policy_set(p, "store", "/x", "--store", &err),
                   PM_OK);
  ck_assert_int_eq(
      pm_milter_policy_set(p, "tenant_map", map, "--tenant-map", &err), PM_OK);
  ck_assert_int_eq(pm_milter_policy_check(p, &err), PM_CONFIG);
  char *want = pm_test_fmt("%s:2: expected \"domain tenant\"", map);
  ck_assert_msg(strstr(err.msg, want), "got '%s'", err.msg);
  pm_milter_policy_free(p);
  free(want);
  free(map);
  /* a missing policy file is an I/O error naming it */
  p = pm_milter_policy_new();
  char *missing = pm_test_fmt("%s/none.conf", dir);
  ck_assert_int_eq(pm_milter_policy_load(p, missing, &err), PM_IO);
  ck_assert_ptr_nonnull(strstr(err.msg, "none.conf"));
  pm_milter_policy_free(p);
  free(missing);
}
END_TEST

START_TEST(policy_defaults) {
  pm_milter_policy *p = pm_milter_policy_new();
  ck_assert_int_eq(p->action, PM_MILTER_REPORT);
  ck_assert_str_eq(p->tag, PM_MILTER_TAG_DEFAULT);
  ck_assert_uint_eq(p->time_limit_ms, PM_MILTER_TIME_LIMIT_MS_DEFAULT);
  ck_assert_uint_eq(p->max_connections, PM_MILTER_MAX_CONNECTIONS_DEFAULT);
  ck_assert_uint_eq(p->timeout_s, PM_MILTER_TIMEOUT_S_DEFAULT);
  ck_assert(!p->skip_authenticated);
  pm_error err;
  ck_assert_int_eq(pm_milter_policy_check(p, &err), PM_CONFIG);
  ck_assert_ptr_nonnull(strstr(err.msg, "no socket"));
  pm_milter_policy_free(p);
  pm_milter_policy_free(NULL);
}
END_TEST

/* Found by fuzz_milter_msg: `tag = ""` (or --tag '') left the tag NULL,
 * and the first impersonation under action = tag crashed the milter in
 * the tagged subject. An empty tag is no prefix. */
START_TEST(empty_tag) {
  pm_error err;
  pm_milter_policy *p = pm_milter_policy_new();
  ck_assert_int_eq(pm_milter_policy_set(p, "tag", "", "--tag", &err), PM_OK);
  ck_assert_ptr_nonnull(p->tag);
  ck_assert_str_eq(p->tag, "");
  pm__mmsg *m = calloc(1, sizeof *m);
  pm__mmsg_header(m, "Subject", "the invoices");
  char *t = pm__mmsg_tagged_subject(m, p->tag);
  ck_assert_str_eq(t, "the invoices");
  free(t);
  pm__mmsg_free(m);
  m = calloc(1, sizeof *m); /* no Subject: an empty one */
  t = pm__mmsg_tagged_subject(m, p->tag);
  ck_assert_str_eq(t, "");
  free(t);
  pm__mmsg_free(m);
  pm_milter_policy_free(p);

  char *path = write_in_dir("milter.conf", "tag = \"\"\n");
  p = pm_milter_policy_new();
  ck_assert_int_eq(pm_milter_policy_load(p, path, &err), PM_OK);
  ck_assert_ptr_nonnull(p->tag);
  ck_assert_str_eq(p->tag, "");
  pm_milter_policy_free(p);
  free(path);
}
END_TEST

START_TEST(skip_value) {
  char buf[64];
  pm_milter_skip_value("trusted network", buf, sizeof buf);
  ck_assert_str_eq(buf, "not_judged; trusted network");
  pm_milter_skip_value("\xe2\x80\x94\n", buf, sizeof buf);
  ck_assert_str_eq(buf, "not_judged; ????");
  char small[5];
  pm_milter_skip_value("x", small, sizeof small);
  ck_assert_str_eq(small, "not_");
}
END_TEST

static Suite *policy_suite(void) {
  Suite *s = suite_create("milter_policy");
  TCase *lists = tcase_create("lists");
  tcase_add_test(lists, tenant_map_lookup);
  tcase_add_test(lists, tenant_map_errors);
  tcase_add_test(lists, protected_senders);
  tcase_add_test(lists, cidr_match);
  tcase_add_test(lists, cidr_errors);
  tcase_add_test(lists, skip_value);
  suite_add_tcase(s, lists);
  TCase *pol = tcase_create("policy");
  tcase_add_checked_fixture(pol, setup, teardown);
  tcase_add_test(pol, policy_file_and_overrides);
  tcase_add_test(pol, policy_errors);
  tcase_add_test(pol, policy_defaults);
  tcase_add_test(pol, empty_tag);
  suite_add_tcase(s, pol);
  return s;
}

int main(void) {
  return pm_test_run_suite(policy_suite()) != 0;
}
