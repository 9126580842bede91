/* Data files compiled into the library (lexicons, store schema). */
#ifndef PM_COMMON_EMBEDDED_H
#define PM_COMMON_EMBEDDED_H
#include <stddef.h>

/* The bytes of the shipped data file `name` (a base name such as
 * "en_function_words.txt"), NUL-terminated, with its length (without the NUL)
 * in *len. Static storage: never free. NULL when there is no such file. */
const unsigned char *pm__embedded(const char *name, size_t *len);

#endif
