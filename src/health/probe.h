/* Protocol probes of the mail daemons: SMTP/LMTP greeting, EHLO or LHLO,
 * QUIT; clamd's PING; a milter's negotiation; rspamd's ping. Each returns true when the daemon answered every
 * step within timeout_ms, else appends one line saying which step failed
 * to why. They never block longer than timeout_ms. */
#ifndef MTACTL_HEALTH_PROBE_H
#define MTACTL_HEALTH_PROBE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/strbuf.h"

bool probe_smtp(const struct sockaddr *sa, socklen_t len, bool lmtp, int timeout_ms, const char *what,
		struct strbuf *why);
/* The same behind a PROXY protocol listener: proxy_header (a v1 line) first. */
bool probe_smtp_proxied(const struct sockaddr *sa, socklen_t len, bool lmtp, const char *proxy_header,
			int timeout_ms, const char *what, struct strbuf *why);
bool probe_smtp_unix(const char *path, bool lmtp, int timeout_ms, struct strbuf *why);
bool probe_clamd(const char *path, int timeout_ms, struct strbuf *why);
/* A milter's option negotiation (rspamd's proxy worker). */
bool probe_milter(const char *path, int timeout_ms, struct strbuf *why);
/* rspamd's GET /ping on a worker's HTTP address. */
bool probe_rspamd_ping(const struct sockaddr *sa, socklen_t len, int timeout_ms, const char *what,
		       struct strbuf *why);

#endif
