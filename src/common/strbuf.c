#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"

static char empty_string[1];

void sb_init(struct strbuf *sb)
{
	sb->buf = empty_string;
	sb->len = 0;
	sb->cap = 0;
}

void sb_free(struct strbuf *sb)
{
	if (sb->cap)
		free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->cap)
		sb->buf[0] = '\0';
}

static void sb_grow(struct strbuf *sb, size_t extra)
{
	if (extra > (size_t)-1 / 2 - sb->len)
		fatalx(EXIT_SYSTEM, "string too large");
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	char *p = realloc(sb->cap ? sb->buf : NULL, cap);
	if (!p)
		fatal(EXIT_SYSTEM, "out of memory");
	if (!sb->cap)
		p[0] = '\0';
	sb->buf = p;
	sb->cap = cap;
}

void sb_add(struct strbuf *sb, const char *data, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_addc(struct strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		fatal(EXIT_SYSTEM, "vsnprintf");
	sb_grow(sb, (size_t)n);
	if (vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap) != n)
		fatalx(EXIT_SYSTEM, "vsnprintf changed its mind");
	sb->len += (size_t)n;
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

char *sb_detach(struct strbuf *sb)
{
	char *p;
	if (sb->cap) {
		p = sb->buf;
	} else {
		p = strdup("");
		if (!p)
			fatal(EXIT_SYSTEM, "out of memory");
	}
	sb_init(sb);
	return p;
}
