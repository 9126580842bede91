/* Parsing alone, with the default limits and room for large inputs: the
 * shapes the guards rewrite (nesting past max_depth, more parts than
 * max_parts, header blocks past 256 KiB) need more bytes than the pipeline
 * harness gets. */
#include <stdlib.h>
#include <string.h>

#include "features/mail/charset.h"
#include "penmark/mail.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = pm_fuzz_exact_copy(data, size);
  pm_mail *mail = NULL;
  if (pm_mail_parse(copy, size, NULL, &mail, NULL) == PM_OK) {
    size_t n, b;
    const char *own = pm_mail_own_text(mail, &n);
    const char *body = pm_mail_body_text(mail, &b);
    if (!pm__utf8_valid(own, n) || !pm__utf8_valid(body, b))
      abort();
    const char *strs[] = {pm_mail_sender(mail), pm_mail_display_name(mail),
                          pm_mail_subject(mail), pm_mail_message_id(mail)};
    for (size_t i = 0; i < 4; i++)
      if (!strs[i] || !pm__utf8_valid(strs[i], strlen(strs[i])))
        abort();
    pm_mail_free(mail);
  }
  free(copy);
  return 0;
}
