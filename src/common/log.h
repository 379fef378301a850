/* Logging for mtactl itself: one line per message on stderr, prefixed with
 * the program and subcommand ("mtactl init: ..."), so it reads well in
 * `docker logs`. log_warn appends strerror(errno); log_warnx does not. */
#ifndef MTACTL_LOG_H
#define MTACTL_LOG_H

#include <stdarg.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

void log_set_name(const char *name);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
_Noreturn void fatal(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);
_Noreturn void fatalx(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
