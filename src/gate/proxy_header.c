/* PROXY protocol headers after haproxy's proxy-protocol.txt. The parser is
 * strict where the text is (single spaces, CRLF, ports 0-65535 without
 * leading zeros, addresses of the announced family) and decides as early
 * as it can, so a peer that sends something else is refused at its first
 * wrong byte instead of at the time-out. Nothing here is fatal. */
#include "gate/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "gate/netlist.h"

static const uint8_t v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
#define V2_FIXED 16 /* signature, version/command, family, length */

static const char v1_prefix[] = "PROXY ";

/* True when the first len bytes of s agree with the len first of prefix
 * (or all of prefix when len is longer). */
static bool agrees(const uint8_t *s, size_t len, const void *prefix, size_t plen)
{
	return !memcmp(s, prefix, len < plen ? len : plen);
}

static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	char text[6];
	unsigned long v;
	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (!netlist_decimal(text, 65535, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool parse_addr(int family, const char *s, size_t len, uint16_t port, struct sockaddr_storage *out)
{
	char text[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(out, 0, sizeof *out);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return inet_pton(AF_INET, text, &in->sin_addr) == 1;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return inet_pton(AF_INET6, text, &in6->sin6_addr) == 1;
}

/* "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443" (no CRLF). */
static bool parse_v1_line(const char *line, size_t len, struct proxy_header *out)
{
	const char *field[6];
	size_t flen[6];
	size_t n = 0;
	const char *p = line, *end = line + len;
	while (p <= end && n < 6) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp ? sp : end;
		field[n] = p;
		flen[n] = (size_t)(fe - p);
		n++;
		if (!sp)
			break;
		p = sp + 1;
	}
	out->version = 1;
	/* "PROXY UNKNOWN" may be followed by anything up to the CRLF. */
	if (n >= 2 && flen[1] == 7 && !memcmp(field[1], "UNKNOWN", 7)) {
		out->kind = PROXY_UNKNOWN;
		return true;
	}
	if (n != 6 || (field[5] + flen[5]) != end || flen[1] != 4)
		return false;
	int family;
	if (!memcmp(field[1], "TCP4", 4))
		family = AF_INET;
	else if (!memcmp(field[1], "TCP6", 4))
		family = AF_INET6;
	else
		return false;
	uint16_t sport, dport;
	if (!parse_port(field[4], flen[4], &sport) || !parse_port(field[5], flen[5], &dport))
		return false;
	if (!parse_addr(family, field[2], flen[2], sport, &out->src) ||
	    !parse_addr(family, field[3], flen[3], dport, &out->dst))
		return false;
	out->kind = PROXY_TCP;
	return true;
}

static ssize_t parse_v1(const uint8_t *b, size_t len, struct proxy_header *out)
{
	size_t scan = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	for (size_t i = 0; i < scan; i++) {
		if (b[i] == '\r') {
			if (i + 1 == len)
				return 0;
			if (b[i + 1] != '\n')
				return -1;
			if (i + 2 > PROXY_V1_MAX)
				return -1;
			return parse_v1_line((const char *)b, i, out) ? (ssize_t)(i + 2) : -1;
		}
		/* Only printable US-ASCII before the CRLF. */
		if (b[i] < 0x20 || b[i] > 0x7e)
			return -1;
	}
	return len >= PROXY_V1_MAX ? -1 : 0;
}

static void set_v4(struct sockaddr_storage *ss, const uint8_t addr[4], const uint8_t port[2])
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	memcpy(&in->sin_addr, addr, 4);
	memcpy(&in->sin_port, port, 2); /* both in network order */
}

static void set_v6(struct sockaddr_storage *ss, const uint8_t addr[16], const uint8_t port[2])
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, addr, 16);
	memcpy(&in6->sin6_port, port, 2);
}

static ssize_t parse_v2(const uint8_t *b, size_t len, struct proxy_header *out)
{
	if (len > 12 && (b[12] >> 4) != 2)
		return -1;
	if (len > 12 && (b[12] & 0x0f) > 1)
		return -1; /* neither LOCAL (0) nor PROXY (1) */
	if (len > 13 && ((b[13] >> 4) > 3 || (b[13] & 0x0f) > 2))
		return -1; /* family beyond UNIX, transport beyond DGRAM */
	if (len < V2_FIXED)
		return 0;
	size_t total = V2_FIXED + ((size_t)b[14] << 8 | b[15]);
	unsigned family = b[13] >> 4, transport = b[13] & 0x0f;
	size_t need = family == 1 ? 12 : family == 2 ? 36 : family == 3 ? 216 : 0;
	bool local = (b[12] & 0x0f) == 0;
	/* An address block shorter than its family's is malformed even for LOCAL. */
	if (total - V2_FIXED < need)
		return -1;
	if (!local && (family == 1 || family == 2) && transport != 1)
		return -1; /* a datagram or unspecified transport is no TCP connection */
	if (len < total)
		return 0;
	out->version = 2;
	const uint8_t *a = b + V2_FIXED;
	if (local) {
		out->kind = PROXY_LOCAL;
	} else if (family == 1) {
		out->kind = PROXY_TCP;
		set_v4(&out->src, a, a + 8);
		set_v4(&out->dst, a + 4, a + 10);
	} else if (family == 2) {
		out->kind = PROXY_TCP;
		set_v6(&out->src, a, a + 32);
		set_v6(&out->dst, a + 16, a + 34);
	} else {
		out->kind = PROXY_UNKNOWN; /* AF_UNSPEC or AF_UNIX: no usable address */
	}
	return (ssize_t)total; /* TLVs after the addresses are skipped */
}

ssize_t proxy_header_parse(const void *buf, size_t len, struct proxy_header *out)
{
	const uint8_t *b = buf;
	memset(out, 0, sizeof *out);
	if (len == 0)
		return 0;
	if (agrees(b, len, v1_prefix, sizeof v1_prefix - 1))
		return len < sizeof v1_prefix - 1 ? 0 : parse_v1(b, len, out);
	if (agrees(b, len, v2_signature, sizeof v2_signature))
		return parse_v2(b, len, out);
	return -1;
}

/* The address as IPv4 when it is IPv4 or IPv4-mapped IPv6. */
static bool as_v4(const struct sockaddr *sa, struct in_addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		*a = in->sin_addr;
		*port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return false;
		memcpy(a, in6->sin6_addr.s6_addr + 12, 4);
		*port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

/* The address as IPv6 (IPv4 as IPv4-mapped). */
static bool as_v6(const struct sockaddr *sa, struct in6_addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		*a = in6->sin6_addr;
		*port = ntohs(in6->sin6_port);
		return true;
	}
	struct in_addr v4;
	if (!as_v4(sa, &v4, port))
		return false;
	memset(a, 0, sizeof *a);
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	memcpy(a->s6_addr + 12, &v4, 4);
	return true;
}

size_t proxy_v1_write(char *buf, size_t cap, const struct sockaddr *src, const struct sockaddr *dst)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	uint16_t sport, dport;
	const char *proto;
	struct in_addr s4, d4;
	struct in6_addr s6, d6;
	if (as_v4(src, &s4, &sport) && as_v4(dst, &d4, &dport)) {
		proto = "TCP4";
		if (!inet_ntop(AF_INET, &s4, s, sizeof s) || !inet_ntop(AF_INET, &d4, d, sizeof d))
			return 0;
	} else if (as_v6(src, &s6, &sport) && as_v6(dst, &d6, &dport)) {
		proto = "TCP6";
		if (!inet_ntop(AF_INET6, &s6, s, sizeof s) || !inet_ntop(AF_INET6, &d6, d, sizeof d))
			return 0;
	} else {
		return 0;
	}
	int n = snprintf(buf, cap, "PROXY %s %s %s %u %u\r\n", proto, s, d, (unsigned)sport, (unsigned)dport);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

void proxy_addr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	struct in_addr v4;
	struct in6_addr v6;
	uint16_t port;
	const char *ok = NULL;
	if (as_v4(sa, &v4, &port))
		ok = inet_ntop(AF_INET, &v4, buf, (socklen_t)cap);
	else if (as_v6(sa, &v6, &port))
		ok = inet_ntop(AF_INET6, &v6, buf, (socklen_t)cap);
	if (!ok && cap > 0)
		snprintf(buf, cap, "%s", "(unknown address)");
}
