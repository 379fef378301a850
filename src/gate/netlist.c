/* Address lists: parsing with inet_pton (so only the canonical forms of
 * inet_pton(3) are accepted: no "10.1", no zone ids) and prefix matching on
 * 16-byte addresses. Nothing here is fatal; bad input is reported. */
#include "gate/netlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/parse.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void mask(uint8_t addr[16], unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
		if (bits < 8)
			addr[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* Decimal without sign or leading zero ("0" itself is fine), up to max. */
bool netlist_decimal(const char *s, unsigned long max, unsigned long *out)
{
	return (s[0] != '0' || !s[1]) && is_uint(s, max, out);
}

static bool parse_entry(const char *text, size_t len, struct netlist_entry *e, struct strbuf *why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (len >= sizeof buf) {
		if (why)
			sb_addf(why, "\"%.*s...\": too long for an address", 40, text);
		return false;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	struct in_addr a4;
	struct in6_addr a6;
	unsigned max;
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memcpy(e->addr, v4mapped, 12);
		memcpy(e->addr + 12, &a4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		memcpy(e->addr, &a6, 16);
		max = 128;
	} else {
		if (why)
			sb_addf(why, "\"%.*s\": not an IPv4 or IPv6 address", (int)len, text);
		return false;
	}
	unsigned long prefix = max;
	if (slash && !netlist_decimal(slash + 1, max, &prefix)) {
		if (why)
			sb_addf(why, "\"%.*s\": expected a prefix length 0-%u after /", (int)len, text, max);
		return false;
	}
	e->prefix = (unsigned)prefix + (max == 32 ? 96 : 0);
	mask(e->addr, e->prefix);
	return true;
}

bool netlist_parse(const char *text, struct netlist *out, struct strbuf *why)
{
	out->n = 0;
	const char *p = text ? text : "";
	for (;;) {
		while (*p && is_separator(*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_separator(*p))
			p++;
		if (out->n == NETLIST_MAX) {
			if (why)
				sb_addf(why, "more than %d entries", NETLIST_MAX);
			return false;
		}
		if (!parse_entry(start, (size_t)(p - start), &out->entry[out->n], why))
			return false;
		out->n++;
	}
	if (out->n == 0) {
		if (why)
			sb_adds(why, "no address or network in the list");
		return false;
	}
	return true;
}

bool netlist_match(const struct netlist *list, const struct sockaddr *sa)
{
	uint8_t addr[16];
	if (sa->sa_family == AF_INET) {
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct netlist_entry *e = &list->entry[i];
		uint8_t masked[16];
		memcpy(masked, addr, 16);
		mask(masked, e->prefix);
		if (!memcmp(masked, e->addr, 16))
			return true;
	}
	return false;
}
