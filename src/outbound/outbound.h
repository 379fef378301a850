/* Outbound TLS: the main.cf parameters and files of MTA-STS (RFC 8461,
 * Debian's postfix-mta-sts-resolver as a socketmap) and DANE (RFC 7672),
 * the DNSSEC probe that picks the default level at every start, and the
 * optional validating resolver (DNS_RESOLVER=unbound). */
#ifndef MTACTL_OUTBOUND_H
#define MTACTL_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/strbuf.h"
#include "config/params.h"
#include "config/settings.h"

/* main.cf says smtp_tls_security_level = $OUTBOUND_AUTO_PARAM when the
 * level is left to the probe; init sets OUTBOUND_AUTO_PARAM at each start. */
#define OUTBOUND_AUTO_PARAM "mtactl_outbound_tls_level"
#define MTA_STS_PORT 8461
#define MTA_STS_CONF "/srv/etc/mtactl/mta-sts-daemon.yml"
#define MTA_STS_CA_BUNDLE "/srv/etc/mtactl/mta-sts-ca.pem"
#define UNBOUND_CONF "/run/mtactl/unbound.conf"

/* Validators of the table (vars.c). */
bool check_dns_resolver(const char *v, struct strbuf *why);
bool check_ca_file(const char *v, struct strbuf *why);

/* Config step: the outbound parameters of main.cf (every image). */
void outbound_params(const struct settings *s, enum image image, struct params *p);
/* Config step, full image: the daemon's configuration and CA bundle; the
 * supervised service line (filters_services). */
void outbound_write_files(const struct settings *s);
void outbound_services(const struct settings *s, struct strbuf *out);

/* What the DNSSEC probe found. */
enum dnssec_verdict {
	DNSSEC_VALIDATED,     /* . DNSKEY answered with the AD bit */
	DNSSEC_NOT_VALIDATED, /* answered, without the AD bit */
	DNSSEC_NO_ANSWER,     /* time-out or no resolver */
	DNSSEC_ERROR_RCODE,   /* SERVFAIL, REFUSED, NXDOMAIN ... */
	DNSSEC_BAD_ANSWER,    /* an answer that is not a DNSKEY answer */
};
/* Reads a DNS answer to ". DNSKEY" (RFC 1035 message, outside input). */
enum dnssec_verdict dnssec_answer_verdict(const unsigned char *msg, size_t len);
const char *dnssec_verdict_reason(enum dnssec_verdict v);

/* Asks the resolver (at most 2 s). */
enum dnssec_verdict dnssec_probe(void);

/* Every start. outbound_level_start, before the config step: a child asks
 * the resolver at once, then waits; outbound_level_go, once the
 * configuration is in place: the child sets the level in main.cf (unless
 * SMTP_TLS_SECURITY_LEVEL or a hand edit fixed it), logs it in one line
 * and exits, while init goes on starting the services. Postfix's smtp
 * processes read main.cf when they start, so no reload is needed; none
 * runs before the first delivery. */
struct outbound_level {
	pid_t pid;
	int go_fd;
};
void outbound_level_start(struct outbound_level *l);
void outbound_level_go(struct outbound_level *l);

/* Every start, before the services: the validating resolver when asked for. */
void outbound_resolver_prepare(void);

/* `mtactl tls-policy` (policy.c): Postfix's TLS policy socketmap in
 * front of mta-sts-daemon. A domain whose MX hosts have validated TLSA
 * records gets dane (RFC 8461 section 2: DANE wins where both exist);
 * every other request goes on to mta-sts-daemon. */
#define TLS_POLICY_PORT 8462
#define POLICY_MAX_NETSTRING 100000
int tls_policy_main(int argc, char **argv);
/* Its parsers (policy_parse.c). netstring_decode: bytes consumed, 0 when
 * more are needed, -1 when malformed. */
ssize_t netstring_decode(const char *buf, size_t len, const char **data, size_t *dlen);
void netstring_encode(struct strbuf *out, const char *data, size_t len);
bool policy_request_key(const char *data, size_t len, char *key, size_t size);
/* The MX hosts of a validated answer (-1: not validated or malformed). */
int dane_mx_hosts(const unsigned char *msg, size_t len, char hosts[][1025], int max);
/* A validated answer holding a TLSA record. */
bool dane_tlsa_secure(const unsigned char *msg, size_t len);

#endif
