/* PROXY protocol and network LMTP: validators, cross checks and the gate's
 * listener lines (see proxy.h). */
#include "config/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "config/filters.h"
#include "config/parse.h"
#include "outbound/outbound.h"
#include "rspamd/rspamd.h"
#include "gate/netlist.h"

bool check_proxy_protocol(const char *v, struct strbuf *why)
{
	if (!strcmp(v, "haproxy"))
		return true;
	sb_adds(why, "empty or haproxy");
	return false;
}

/* Calls fn on each word of a comma- or space-separated list; stops at the
 * first false. Words longer than a CIDR can be are passed cut to "" so the
 * checker refuses them. */
static bool each_network(const char *list, bool (*fn)(const char *word, void *ctx), void *ctx)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", \t");
		if (len == 0) {
			p++;
			continue;
		}
		char word[INET6_ADDRSTRLEN + 8];
		if (len >= sizeof word)
			len = 0;
		memcpy(word, p, len);
		word[len] = '\0';
		if (!fn(word, ctx))
			return false;
		p += len ? len : strcspn(p, ", \t");
	}
	return true;
}

/* The gate's own parser decides, so what passes here is what it enforces. */
bool check_trusted_networks(const char *v, struct strbuf *why)
{
	struct netlist list;
	struct strbuf reason;
	sb_init(&reason);
	bool ok = netlist_parse(v, &list, &reason);
	if (!ok)
		sb_addf(why, "comma- or space-separated IPv4/IPv6 addresses or networks, such as "
			     "10.0.9.0/24 fd00::/64 (%s)", reason.buf);
	sb_free(&reason);
	return ok;
}

/* Ports the daemons of the images (and the gate's backends) listen on: an
 * LMTP listener there would fail to bind at start, after the configuration
 * was accepted. */
bool proxy_port_taken(unsigned long port)
{
	static const unsigned long taken[] = {
		25, 110, 143, 465, 587, 993, 995, LMTP_BACKEND_PORT, PROXY_SMTP_PORT, PROXY_SMTPS_PORT,
		PROXY_SUBMISSION_PORT, AMAVIS_REINJECT_PORT, AMAVIS_OWN_REINJECT_PORT, SRS_FORWARD_PORT, SRS_REVERSE_PORT, SRS_LOOP_PORT,
		RSPAMD_NORMAL_PORT, RSPAMD_CONTROLLER_PORT, MTA_STS_PORT, TLS_POLICY_PORT};
	for (size_t i = 0; i < ARRAY_LEN(taken); i++)
		if (taken[i] == port)
			return true;
	return false;
}

/* *:port, 0.0.0.0:port, [IPv6]:port or IPv4:port, port 1-65535 and free. */
bool check_lmtp_listen(const char *v, struct strbuf *why)
{
	const char *colon = strrchr(v, ':');
	unsigned long port = 0;
	bool ok = colon && colon > v && is_uint(colon + 1, 65535, &port) && port > 0;
	if (ok && proxy_port_taken(port)) {
		sb_addf(why, "a port no other service here listens on, not %lu (*:24 is LMTP's own)", port);
		return false;
	}
	if (ok) {
		char host[INET6_ADDRSTRLEN + 2];
		size_t len = (size_t)(colon - v);
		unsigned char bytes[16];
		ok = len < sizeof host;
		if (ok) {
			memcpy(host, v, len);
			host[len] = '\0';
			if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
				host[len - 1] = '\0';
				ok = inet_pton(AF_INET6, host + 1, bytes) == 1;
			} else {
				ok = !strcmp(host, "*") || inet_pton(AF_INET, host, bytes) == 1;
			}
		}
	}
	if (!ok)
		sb_adds(why, "empty (off) or address:port for LMTP, such as *:24, 0.0.0.0:24, 10.0.9.5:24 or [::]:24");
	return ok;
}

static const struct var_def *def_of(enum var_id id)
{
	return &var_table[id];
}

static void refuse(const struct settings *s, enum var_id id, const char *expected, struct strbuf *errors)
{
	sb_addf(errors, "%s=", def_of(id)->name);
	settings_show_value(def_of(id), s->value[id], errors);
	sb_addf(errors, ": expected %s\n", expected);
}

void proxy_check_combinations(const struct settings *s, struct strbuf *errors)
{
	bool proxy_nets = *s->value[V_PROXY_TRUSTED_NETWORKS] != '\0';
	bool lmtp_nets = *s->value[V_DOVECOT_LMTP_TRUSTED_NETWORKS] != '\0';
	if (proxy_enabled(s) && !proxy_nets)
		refuse(s, V_PROXY_TRUSTED_NETWORKS,
		       "the balancers' addresses or networks, such as 10.0.9.0/24 (required with "
		       "PROXY_PROTOCOL=haproxy: only they may tell the client's address)",
		       errors);
	if (!proxy_enabled(s) && proxy_nets)
		refuse(s, V_PROXY_TRUSTED_NETWORKS, "PROXY_PROTOCOL=haproxy to be set as well", errors);
	if (lmtp_tcp_enabled(s) && !lmtp_nets)
		refuse(s, V_DOVECOT_LMTP_TRUSTED_NETWORKS,
		       "the addresses or networks of the MTAs that deliver here, such as 10.0.9.0/24 "
		       "(required with DOVECOT_LMTP_LISTEN)",
		       errors);
	if (!lmtp_tcp_enabled(s) && lmtp_nets)
		refuse(s, V_DOVECOT_LMTP_TRUSTED_NETWORKS, "DOVECOT_LMTP_LISTEN to be set as well", errors);
	if (lmtp_tcp_enabled(s) && !s->dovecot_mailboxes)
		refuse(s, V_DOVECOT_LMTP_LISTEN,
		       "VIRTUAL_TRANSPORT=" DOVECOT_TRANSPORT " as well (only where Dovecot keeps the mailboxes)",
		       errors);
}

struct join {
	const char *sep;
	struct strbuf *out;
	bool first;
};

static bool join_one(const char *word, void *ctx)
{
	struct join *j = ctx;
	sb_addf(j->out, "%s%s", j->first ? "" : j->sep, word);
	j->first = false;
	return true;
}

void proxy_networks_join(const char *list, const char *sep, struct strbuf *out)
{
	struct join j = {.sep = sep, .out = out, .first = true};
	each_network(list, join_one, &j);
}

static void gate_line(struct strbuf *out, const char *name, const char *listen, int backend_port,
		      const char *mode, const char *nets, const char *variable)
{
	sb_addf(out, "%s %s " PROXY_BACKEND_ADDR ":%d %s ", name, listen, backend_port, mode);
	proxy_networks_join(nets, ",", out);
	sb_addf(out, " %s\n", variable);
}

void proxy_gate_render(const struct settings *s, struct strbuf *out)
{
	if (proxy_enabled(s)) {
		const char *nets = s->value[V_PROXY_TRUSTED_NETWORKS];
		gate_line(out, "smtp", "*:25", PROXY_SMTP_PORT, "proxy", nets, "PROXY_TRUSTED_NETWORKS");
		if (settings_sasl_active(s)) { /* Postfix has 465 and 587 only then */
			gate_line(out, "smtps", "*:465", PROXY_SMTPS_PORT, "proxy", nets, "PROXY_TRUSTED_NETWORKS");
			gate_line(out, "submission", "*:587", PROXY_SUBMISSION_PORT, "proxy", nets,
				  "PROXY_TRUSTED_NETWORKS");
		}
	}
	if (lmtp_tcp_enabled(s))
		gate_line(out, "lmtp", s->value[V_DOVECOT_LMTP_LISTEN], LMTP_BACKEND_PORT, "peer",
			  s->value[V_DOVECOT_LMTP_TRUSTED_NETWORKS], "DOVECOT_LMTP_TRUSTED_NETWORKS");
}
