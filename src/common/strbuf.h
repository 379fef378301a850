/* A growable, always NUL-terminated string for rendering files and
 * messages. Allocation failure is fatal (EXIT_SYSTEM): there is no useful
 * way for a config step to go on without memory. */
#ifndef MTACTL_STRBUF_H
#define MTACTL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/log.h"

struct strbuf {
	char *buf;    /* never NULL after sb_init */
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_add(struct strbuf *sb, const char *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
/* Hands the buffer to the caller (to free) and leaves sb empty. */
char *sb_detach(struct strbuf *sb);

#endif
