/* The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and
 * 2) that a balancer sends before the client's bytes: an incremental
 * parser, and the v1 line the gate writes to its backends. */
#ifndef MTACTL_GATE_PROXY_HEADER_H
#define MTACTL_GATE_PROXY_HEADER_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The longest v1 line, CRLF included (proxy-protocol.txt 2.1: 107). */
#define PROXY_V1_MAX 107

enum proxy_kind {
	/* Addresses given: src is the client, dst the address it connected to. */
	PROXY_TCP,
	/* v2 LOCAL (a balancer's own connection, e.g. a health check): no
	 * client behind it; the receiver uses the connection's own peer. */
	PROXY_LOCAL,
	/* v1 UNKNOWN, or v2 PROXY with an unspecified or UNIX address family:
	 * addresses not usable; the receiver uses the connection's peer. */
	PROXY_UNKNOWN,
};

struct proxy_header {
	int version; /* 1 or 2 */
	enum proxy_kind kind;
	/* For PROXY_TCP: AF_INET or AF_INET6, both of the same family. */
	struct sockaddr_storage src, dst;
};

/* Reads a header from the first len bytes the peer sent. Returns the
 * header's length in bytes when it is complete and valid (the bytes after
 * it are the client's), 0 when more bytes are needed to decide, -1 when it
 * is not a valid header. v2 TLVs are skipped. A v2 header may be up to
 * 16 + 65535 bytes long: the caller bounds what it waits for. */
ssize_t proxy_header_parse(const void *buf, size_t len, struct proxy_header *out);

/* Writes "PROXY TCP4 src dst sport dport\r\n" (TCP6 for IPv6; an
 * IPv4-mapped IPv6 address is written as IPv4, and when one address is
 * IPv4 and the other IPv6 both are written as IPv6) into buf, which needs
 * PROXY_V1_MAX + 1 bytes. Returns the line's length (no NUL counted), or 0
 * for an address that is neither IPv4 nor IPv6. */
size_t proxy_v1_write(char *buf, size_t cap, const struct sockaddr *src, const struct sockaddr *dst);

/* "192.0.2.7" or "2001:db8::1" (IPv4-mapped written as IPv4) for logs. */
void proxy_addr_text(const struct sockaddr *sa, char *buf, size_t cap);

#endif
