/* Bounded DNS lookups with glibc's libresolv (res_nquery) and the parser
 * of their answers. Every query gives up after DNS_TIMEOUT_S; after one
 * query timed out the resolver counts as down and later queries fail at
 * once, so a run against a dead resolver stays within seconds. */
#ifndef MTACTL_DELIVERABILITY_RESOLVE_H
#define MTACTL_DELIVERABILITY_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/parse.h"

#define DNS_TIMEOUT_S 2

enum dns_status {
	DNS_OK,       /* records in rr */
	DNS_NODATA,   /* the name exists, no record of the type */
	DNS_NXDOMAIN, /* no such name */
	DNS_TEMPFAIL, /* timeout, SERVFAIL, unparsable answer: nothing known */
};

/* The records of one type, each as text: A/AAAA the address, MX
 * "preference host" (host lower-case, no final dot), PTR/CNAME the name,
 * TXT the character-strings joined (RFC 7208 3.3), TLSA "u s m hex". */
struct dns_answer {
	enum dns_status status;
	bool secure;          /* the resolver set AD: DNSSEC-validated */
	struct strlist rr;
};

/* Parses a DNS response message for records of type (ns_t_*) owned by
 * any name (CNAME chains are followed by the resolver). Pure; used by the
 * fuzzer. Returns false when the message does not parse. */
bool dns_parse_answer(const unsigned char *msg, size_t len, int type, struct dns_answer *out);

/* Ask the resolver at this IPv4 address instead of resolv.conf's (NULL
 * or "": resolv.conf's). False when addr is not an IPv4 address. */
bool dns_use_resolver(const char *addr);
/* Whether the lookups go to Docker's embedded DNS (127.0.0.11, on
 * user-defined networks), which answers the names of the containers on
 * the network, this one's host name included, with their private
 * addresses, whatever the public DNS says. */
bool dns_resolver_is_dockers(void);
/* Looks name up; out is always initialized (dns_answer_free it). */
void dns_lookup(const char *name, int type, struct dns_answer *out);
void dns_answer_free(struct dns_answer *a);
/* Whether a query timed out during this run. */
bool dns_is_down(void);
const char *dns_status_text(enum dns_status s);

/* The reverse name of a textual IPv4 or IPv6 address under suffix
 * ("in-addr.arpa", "ip6.arpa" or a DNSBL zone). False when not an address
 * of that family or too long. */
bool dns_reverse_name(const char *addr, const char *suffix, char *out, size_t size);

#endif
