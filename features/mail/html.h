/* HTML to plain text for mails that come without a text/plain part.
 *
 * Internal to the library. GMime has no HTML-to-text, and what a style
 * profile needs is small: the visible text with the author's line breaks. */
#ifndef PM_FEATURES_HTML_H
#define PM_FEATURES_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Appends the visible text of the HTML document html[0..len) (UTF-8) to out:
 * tags dropped; script, style, title and comments dropped with their
 * content; <br> and the block elements (p, div, li, tr, h1-h6, table, hr,
 * blockquote...) become line breaks; whitespace collapses as a browser
 * collapses it, except inside <pre>; named and numeric character references
 * decoded (&nbsp; as a plain space, so that typed double spaces survive);
 * blockquote content gets a "> " per level, so that the own-text step sees
 * quoted replies as quotes. Trailing spaces of each line are dropped.
 * Linear in len; any input is accepted. Returns false only when memory runs
 * out. */
bool pm__html_to_text(const char *html, size_t len, pm__buf *out);

#endif
