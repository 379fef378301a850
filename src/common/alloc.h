/* Allocation where running out of memory is fatal (exit 111, as everywhere
 * in mtactl), so callers have nothing to check. */
#ifndef MTACTL_ALLOC_H
#define MTACTL_ALLOC_H

#include <stddef.h>

char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns items grown (doubled; 8 at first) so that index len fits, with
 * *cap updated; items unchanged when it fits already. */
void *grow_array(void *items, size_t *cap, size_t len, size_t size);

#endif
