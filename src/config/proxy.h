/* The PROXY protocol (PROXY_PROTOCOL, PROXY_TRUSTED_NETWORKS) and Dovecot's
 * LMTP over TCP (DOVECOT_LMTP_LISTEN, DOVECOT_LMTP_TRUSTED_NETWORKS): their
 * validators, the cross checks, and the listener plan both share. Postfix
 * cannot restrict which peers may send it a PROXY header, so its public
 * listeners move to loopback ports behind `mtactl gate`, which checks the
 * peer against the trusted networks and hands Postfix (or Dovecot's LMTP)
 * one PROXY v1 line with the real client. GATE_CONF, one line a listener:
 *   <name> <listen> <backend> <proxy|peer> <trusted,list> <VARIABLE>
 * Pure. */
#ifndef MTACTL_CONFIG_PROXY_H
#define MTACTL_CONFIG_PROXY_H

#include <stdbool.h>
#include <string.h>

#include "common/strbuf.h"
#include "config/settings.h"
#include "config/vars.h"
#include "gate/gate.h" /* GATE_CONF; its absence keeps the gate service off */

/* Loopback ports the public listeners move to in PROXY mode; each takes one
 * PROXY v1 line from the gate (smtpd_upstream_proxy_protocol, Dovecot's
 * haproxy = yes). */
#define PROXY_BACKEND_ADDR "127.0.0.1"
#define PROXY_SMTP_PORT 10125
#define PROXY_SMTPS_PORT 10465
#define PROXY_SUBMISSION_PORT 10587
#define LMTP_BACKEND_PORT 10124

var_check_fn check_proxy_protocol, check_trusted_networks, check_lmtp_listen;
/* Is port one that a service of some image here listens on (24 aside)? */
bool proxy_port_taken(unsigned long port);

/* PROXY_PROTOCOL=haproxy. */
static inline bool proxy_enabled(const struct settings *s)
{
	return !strcmp(s->value[V_PROXY_PROTOCOL], "haproxy");
}

/* DOVECOT_LMTP_LISTEN set: Dovecot's LMTP serves other MTAs through the gate. */
static inline bool lmtp_tcp_enabled(const struct settings *s)
{
	return *s->value[V_DOVECOT_LMTP_LISTEN] != '\0';
}

/* The pairs that need each other, and DOVECOT_LMTP_LISTEN only where Dovecot
 * keeps the mailboxes. Appends one line per problem to errors. */
void proxy_check_combinations(const struct settings *s, struct strbuf *errors);

/* The networks of a list variable (commas or spaces), joined by sep. */
void proxy_networks_join(const char *list, const char *sep, struct strbuf *out);

/* GATE_CONF's text: smtp, and smtps and submission when Postfix has them
 * (with a SASL method), in PROXY mode; lmtp with DOVECOT_LMTP_LISTEN.
 * Empty when the gate has nothing to do. */
void proxy_gate_render(const struct settings *s, struct strbuf *out);

#endif
