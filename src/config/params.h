/* An ordered list of main.cf parameters. Setting a name twice replaces
 * the value in place, so the rendered main.cf has each name once (Postfix
 * warns about duplicates) and later rules override earlier ones. */
#ifndef MTACTL_CONFIG_PARAMS_H
#define MTACTL_CONFIG_PARAMS_H

#include "common/strbuf.h"

struct param {
	char *name;
	char *value;
};

struct params {
	struct param *item;
	size_t len;
	size_t cap;
};

void params_set(struct params *p, const char *name, const char *value);
void params_setf(struct params *p, const char *name, const char *fmt, ...) PRINTF_LIKE(3, 4);
const char *params_get(const struct params *p, const char *name);
void params_free(struct params *p);
/* "name = value" lines, in the order first set. */
void params_render(const struct params *p, struct strbuf *out);

#endif
