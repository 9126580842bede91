/* The process-wide shutdown (see include/penmark/penmark.h). */
#include <unicode/uclean.h>

#include "features/lexicon.h"
#include "features/named.h"
#include "penmark/penmark.h"

void pm_library_shutdown(void) {
  pm_mail_library_shutdown();
  pm__named_release();
  pm__lexicon_release();
  u_cleanup();
}
