/* One-line messages on stderr. Writes go out in one write(2) so that lines
 * from several processes sharing the container's stdout do not interleave. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static char log_name[64] = "mtactl";

void log_set_name(const char *name)
{
	int n = snprintf(log_name, sizeof log_name, "mtactl %s", name);
	if (n < 0 || (size_t)n >= sizeof log_name)
		log_name[sizeof log_name - 1] = '\0';
}

static void log_line(const char *level, int err, const char *fmt, va_list ap)
{
	char line[2048];
	size_t len = 0;
	int n = snprintf(line, sizeof line, "%s: %s", log_name, level);
	if (n > 0)
		len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	n = vsnprintf(line + len, sizeof line - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof line - len ? (size_t)n : sizeof line - len - 1;
	if (err && len < sizeof line - 1) {
		n = snprintf(line + len, sizeof line - len, ": %s", strerror(err));
		if (n > 0)
			len += (size_t)n < sizeof line - len ? (size_t)n : sizeof line - len - 1;
	}
	if (len >= sizeof line - 1)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* Nothing sensible to do if stderr is gone; the message is lost. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("", 0, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	log_line("warning: ", err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("warning: ", 0, fmt, ap);
	va_end(ap);
}

void fatal(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	log_line("fatal: ", err, fmt, ap);
	va_end(ap);
	exit(code);
}

void fatalx(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(code);
}
