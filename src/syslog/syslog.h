/* `mtactl syslog`: the receiver on /dev/log. Each datagram becomes one
 * line on stdout ("mail.info postfix/smtpd[42]: connect from ..."), unless
 * its severity is above SYSLOG_LEVEL. */
#ifndef MTACTL_SYSLOG_SYSLOG_H
#define MTACTL_SYSLOG_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

struct syslog_msg {
	int facility;      /* 0-23 */
	int severity;      /* 0 emerg .. 7 debug */
	const char *body;  /* "tag[pid]: text", timestamp and host removed */
	size_t body_len;
};

/* Parses an RFC 3164 datagram as syslog(3) sends it: "<PRI>Mmm dd hh:mm:ss
 * body". A missing or malformed PRI is user.notice (RFC 3164 4.3.3). */
void syslog_parse(const char *dgram, size_t len, struct syslog_msg *out);
/* Lowers to info the few notice lines of amavis's start that say nothing
 * an operator needs and that no setting of amavis silences. */
void syslog_demote(struct syslog_msg *m);
/* The output line, newline-terminated, control characters escaped. */
void syslog_format(const struct syslog_msg *m, struct strbuf *out);

int syslog_main(int argc, char **argv);

#endif
