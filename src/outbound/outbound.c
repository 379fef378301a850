/* Outbound TLS in main.cf and the MTA-STS resolver's files. The level is
 * dane or may, decided at each start (resolver.c) unless
 * SMTP_TLS_SECURITY_LEVEL fixes it. MTA-STS (full image): Postfix asks
 * Debian's mta-sts-daemon for every destination (a socketmap); a domain
 * whose policy says enforce gets "secure match=<its MX patterns>", i.e.
 * PKIX- and name-verified TLS or the mail stays queued; a domain without
 * a policy gets the default level. `mtactl tls-policy` (policy.c) is the
 * table Postfix asks: it answers dane for domains with TLSA records (DANE
 * wins, RFC 8461 section 2) and passes the rest to the daemon. */
#include "outbound/outbound.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

bool check_dns_resolver(const char *v, struct strbuf *why)
{
	if (!strcmp(v, "docker") || !strcmp(v, "unbound"))
		return true;
	sb_adds(why, "docker (the resolver Docker gives) or unbound (a validating resolver in the container)");
	return false;
}

bool check_ca_file(const char *v, struct strbuf *why)
{
	FILE *f = v[0] == '/' ? fopen(v, "r") : NULL;
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	bool ok = cert != NULL;
	X509_free(cert);
	if (f)
		fclose(f);
	if (!ok)
		sb_adds(why, "the absolute path of a readable PEM file in the container holding a CA certificate");
	return ok;
}

static bool mta_sts_on(const struct settings *s, enum image image)
{
	return (image == IMAGE_FULL || image == IMAGE_RSPAMD) && !strcmp(s->value[V_MTA_STS], "yes");
}

void outbound_params(const struct settings *s, enum image image, struct params *p)
{
	/* DANE needs validated answers; "dnssec" asks for them (RES_USE_DNSSEC)
	 * and trusts AD only as far as the resolver earns it. */
	params_set(p, "smtp_dns_support_level", "dnssec");
	if (!*s->value[V_SMTP_TLS_SECURITY_LEVEL]) {
		params_set(p, OUTBOUND_AUTO_PARAM, "may");
		params_set(p, "smtp_tls_security_level", "$" OUTBOUND_AUTO_PARAM);
	}
	if (*s->value[V_SMTP_TLS_CA_FILE])
		params_set(p, "smtp_tls_CAfile", s->value[V_SMTP_TLS_CA_FILE]);
	if (mta_sts_on(s, image))
		params_setf(p, "smtp_tls_policy_maps", "socketmap:inet:127.0.0.1:%d:postfix", TLS_POLICY_PORT);
}

static void write_or_die(const char *path, const struct strbuf *text)
{
	if (file_write_atomic(path, text->buf, text->len, 0644) < 0)
		fatal(EXIT_SYSTEM, "writing %s", path);
}

void outbound_write_files(const struct settings *s)
{
	if (!mta_sts_on(s, IMAGE_FULL))
		return;
	if (mkdir_p("/srv/etc/mtactl", 0755) < 0)
		fatal(EXIT_SYSTEM, "creating /srv/etc/mtactl");
	struct strbuf text;
	sb_init(&text);
	/* timeout bounds the DNS lookup and the HTTPS fetch each (aiodns, aiohttp):
	 * a dead policy host or resolver holds a delivery 4 s, not 8. The cache
	 * is on the volume: a policy learnt before an attacker blocks the fetch
	 * still applies after a restart (RFC 8461 section 10.2). */
	sb_addf(&text, "# Written by `mtactl config`; see mta-sts-daemon.yml(5).\n"
		       "host: 127.0.0.1\nport: %d\nreuse_port: true\nshutdown_timeout: 2\n"
		       "cache:\n  type: sqlite\n  options:\n    filename: \"/var/lib/mta-sts/cache.db\"\n"
		       "default_zone:\n  strict_testing: false\n  timeout: 2\n",
		MTA_STS_PORT);
	write_or_die(MTA_STS_CONF, &text);
	/* The policy fetch trusts the system CAs plus SMTP_TLS_CA_FILE (Python's
	 * ssl reads SSL_CERT_FILE, which replaces the system bundle). */
	sb_reset(&text);
	if (file_read(SYSTEM_CA_BUNDLE, &text, 8 << 20) < 0)
		log_warn("reading %s", SYSTEM_CA_BUNDLE);
	const char *extra = s->value[V_SMTP_TLS_CA_FILE];
	if (*extra) {
		sb_addc(&text, '\n');
		if (file_read(extra, &text, 8 << 20) < 0)
			fatal(EXIT_SYSTEM, "reading %s", extra);
	}
	write_or_die(MTA_STS_CA_BUNDLE, &text);
	sb_free(&text);
}

void outbound_services(const struct settings *s, struct strbuf *out)
{
	if (!mta_sts_on(s, IMAGE_FULL))
		return;
	/* Errors only: a failed policy fetch is in Postfix's deferral reason.
	 * HOME: aiohttp reads ~/.netrc, and root's is not readable as _mta-sts. */
	sb_adds(out, "mta-sts - /usr/bin/env HOME=/var/lib/mta-sts SSL_CERT_FILE=" MTA_STS_CA_BUNDLE
		     " /usr/bin/setpriv --reuid=_mta-sts --regid=_mta-sts --init-groups"
		     " /usr/bin/mta-sts-daemon -c " MTA_STS_CONF " -v error\n");
	/* In front of it: DANE where the domain has TLSA records (policy.c). */
	sb_adds(out, "tls-policy - /usr/bin/setpriv --reuid=nobody --regid=nogroup --init-groups"
		     " /usr/local/bin/mtactl tls-policy\n");
}
