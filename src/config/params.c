#include "config/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/common.h"
#include "common/exitcode.h"

void params_set(struct params *p, const char *name, const char *value)
{
	for (size_t i = 0; i < p->len; i++) {
		if (!strcmp(p->item[i].name, name)) {
			free(p->item[i].value);
			p->item[i].value = xstrdup(value);
			return;
		}
	}
	p->item = grow_array(p->item, &p->cap, p->len, sizeof *p->item);
	p->item[p->len].name = xstrdup(name);
	p->item[p->len].value = xstrdup(value);
	p->len++;
}

void params_setf(struct params *p, const char *name, const char *fmt, ...)
{
	struct strbuf value;
	sb_init(&value);
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&value, fmt, ap);
	va_end(ap);
	params_set(p, name, value.buf);
	sb_free(&value);
}

const char *params_get(const struct params *p, const char *name)
{
	for (size_t i = 0; i < p->len; i++)
		if (!strcmp(p->item[i].name, name))
			return p->item[i].value;
	return NULL;
}

void params_free(struct params *p)
{
	for (size_t i = 0; i < p->len; i++) {
		free(p->item[i].name);
		free(p->item[i].value);
	}
	free(p->item);
	p->item = NULL;
	p->len = p->cap = 0;
}

void params_render(const struct params *p, struct strbuf *out)
{
	for (size_t i = 0; i < p->len; i++) {
		if (*p->item[i].value)
			sb_addf(out, "%s = %s\n", p->item[i].name, p->item[i].value);
		else
			sb_addf(out, "%s =\n", p->item[i].name);
	}
}
