#include "common/alloc.h"

#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		fatal(EXIT_SYSTEM, "out of memory");
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		fatal(EXIT_SYSTEM, "out of memory");
	return p;
}

void *grow_array(void *items, size_t *cap, size_t len, size_t size)
{
	if (len < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = reallocarray(items, ncap, size);
	if (!p)
		fatal(EXIT_SYSTEM, "out of memory");
	*cap = ncap;
	return p;
}
