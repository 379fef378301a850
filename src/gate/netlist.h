/* Lists of addresses and CIDR networks (IPv4 and IPv6) that may talk to a
 * listener: PROXY_TRUSTED_NETWORKS, DOVECOT_LMTP_TRUSTED_NETWORKS and the
 * gate's per-listener trust check. Fixed size, no allocation. */
#ifndef MTACTL_GATE_NETLIST_H
#define MTACTL_GATE_NETLIST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/strbuf.h"

#define NETLIST_MAX 64

/* IPv4 entries are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96),
 * so one comparison serves IPv4 peers and IPv4-mapped peers of a
 * dual-stack socket alike. */
struct netlist_entry {
	uint8_t addr[16]; /* host bits cleared */
	unsigned prefix;  /* 0-128 */
};

struct netlist {
	struct netlist_entry entry[NETLIST_MAX];
	size_t n;
};

/* Parses "10.0.9.0/24, 192.0.2.7 2001:db8::/32": entries separated by
 * commas and/or white space; an address without /prefix is one host; host
 * bits under the prefix are ignored (10.0.9.1/24 = 10.0.9.0/24). False on
 * an empty list, a bad entry or more than NETLIST_MAX entries, with the
 * reason appended to why (may be NULL): `"10.0.0.0/33": prefix over 32`. */
bool netlist_parse(const char *text, struct netlist *out, struct strbuf *why);

/* Decimal without sign or leading zero ("0" itself is fine), up to max
 * (prefix lengths, ports); for the gate's other parsers. */
bool netlist_decimal(const char *s, unsigned long max, unsigned long *out);

/* True when the address (AF_INET or AF_INET6) is in the list. */
bool netlist_match(const struct netlist *list, const struct sockaddr *sa);

#endif
