/* METRICS_LISTEN: where the metrics service listens, ":9154" (every
 * address, IPv6 and IPv4), "ADDRESS:9154" or "[IPv6]:9154". */
#ifndef MTACTL_METRICS_LISTEN_H
#define MTACTL_METRICS_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/strbuf.h"

struct metrics_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	bool any; /* ":port": both families */
	unsigned port;
};

/* Parses v; false with what was expected appended to why. */
bool metrics_listen_parse(const char *v, struct metrics_addr *out, struct strbuf *why);
/* The variable table's validator of METRICS_LISTEN. */
bool check_metrics_listen(const char *v, struct strbuf *why);

#endif
