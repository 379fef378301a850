/* Parsing METRICS_LISTEN into a socket address. The same parser serves
 * the configuration check (exit 100 before any service starts) and the
 * service, so what was accepted is what is bound. */
#include "metrics/listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "config/parse.h"
#include "config/proxy.h"

/* Dovecot's LMTP (DOVECOT_LMTP_LISTEN's usual *:24) is the one port the
 * shared list leaves out. */
static bool port_in_use(unsigned long port)
{
	return port == 24 || proxy_port_taken(port);
}

bool metrics_listen_parse(const char *v, struct metrics_addr *out, struct strbuf *why)
{
	memset(out, 0, sizeof *out);
	const char *colon = strrchr(v, ':');
	unsigned long port = 0;
	if (!colon || !is_uint(colon + 1, 65535, &port) || port == 0) {
		sb_adds(why, ":PORT, ADDRESS:PORT or [IPv6]:PORT with a port of 1-65535, such as :9154");
		return false;
	}
	if (port_in_use(port)) {
		sb_addf(why, "a port no other service here listens on, not %lu (such as :9154)", port);
		return false;
	}
	out->port = (unsigned)port;
	char host[INET6_ADDRSTRLEN + 2] = "";
	size_t len = (size_t)(colon - v);
	bool ok = len < sizeof host;
	if (ok)
		memcpy(host, v, len);
	if (ok && len == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->sa;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		out->len = sizeof *a;
		out->any = true;
	} else if (ok && host[0] == '[' && len > 2 && host[len - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->sa;
		host[len - 1] = '\0';
		ok = inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		out->len = sizeof *a;
	} else if (ok) {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->sa;
		ok = inet_pton(AF_INET, host, &a->sin_addr) == 1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		out->len = sizeof *a;
	}
	if (!ok)
		sb_adds(why, ":PORT, ADDRESS:PORT or [IPv6]:PORT with an IP address, such as :9154, "
			     "127.0.0.1:9154 or [::1]:9154");
	return ok;
}

bool check_metrics_listen(const char *v, struct strbuf *why)
{
	struct metrics_addr a;
	return metrics_listen_parse(v, &a, why);
}
