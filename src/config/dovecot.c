/* dovecot.conf, written whole (the old image wrote conf.d snippets over the
 * package's files; one generated file is easier to read and to test). */
#include "config/dovecot.h"

#include <ctype.h>
#include <stdlib.h>

#include "common/common.h"
#include "config/proxy.h"

#define PREFIX "DOVECOT_"

static void passdbs(const struct settings *s, struct dovecot_files *out)
{
	struct strbuf *c = &out->conf;
	/* Tried in turn until one accepts, as the old image did. Dovecot
	 * needs at least one: without any method the (empty) passwd-file
	 * stands, so LMTP delivers while nobody can log in yet. */
	if (dovecot_passwd_file_used(s)) {
		sb_adds(c, "passdb {\n  driver = passwd-file\n"
			   "  args = scheme=PLAIN username_format=%u " DOVECOT_DIR "/virt-passwd\n}\n");
		sb_adds(&out->passwd, s->passwd_file.buf);
	}
	if (s->sasl_ldap) {
		sb_adds(c, "passdb {\n  driver = ldap\n  args = " DOVECOT_DIR "/ldap-passdb.conf.ext\n}\n");
		sb_addf(&out->ldap_passdb,
			"# Written by `mtactl config`: authentication binds (auth_bind).\n"
			"uris = %s\nbase = %s\nldap_version = 3\nscope = subtree\nauth_bind = yes\n"
			"pass_attrs = %s\npass_filter = %s\n",
			s->ldap_uri, s->value[V_LDAP_USER_BASE], s->value[V_LDAP_QUERY_ATTRS_PASS],
			s->ldap_pass_filter);
		if (*s->value[V_LDAP_BIND_DN])
			sb_addf(&out->ldap_passdb, "dn = %s\ndnpass = %s\n", s->value[V_LDAP_BIND_DN],
				s->value[V_LDAP_BIND_PW]);
	}
	if (s->sasl_mysql) {
		sb_adds(c, "passdb {\n  driver = sql\n  args = " DOVECOT_DIR "/sql-passdb.conf.ext\n}\n");
		const char *hp = s->value[V_MYSQL_HOST];
		const char *colon = strchr(hp, ':');
		struct strbuf *q = &out->sql_passdb;
		sb_addf(q, "# Written by `mtactl config`.\ndriver = mysql\nconnect = host=%.*s",
			colon ? (int)(colon - hp) : (int)strlen(hp), hp);
		if (colon)
			sb_addf(q, " port=%s", colon + 1);
		sb_addf(q, " dbname=%s", s->value[V_MYSQL_DATABASE]);
		if (*s->value[V_MYSQL_USER])
			sb_addf(q, " user=%s password=%s", s->value[V_MYSQL_USER], s->value[V_MYSQL_PASSWORD]);
		sb_addf(q, "\npassword_query = %s\n", s->value[V_MYSQL_QUERY_PASS]);
	}
	/* Last: a remote server that sees failures from this host slows it
	 * down, so local databases answer first. */
	if (s->sasl_imap) {
		const char *hp = s->value[V_SMTPD_SASL_IMAPHOST];
		const char *colon = strchr(hp, ':');
		int hlen = colon ? (int)(colon - hp) : (int)strlen(hp);
		const char *port = colon ? colon + 1 : "143";
		sb_addf(c, "passdb {\n  driver = imap\n  args = host=%.*s port=%s%s\n}\n", hlen, hp, port,
			!strcmp(port, "993") ? " ssl=imaps" : "");
	}
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool dovecot_generic_settings(char *const *env, const struct strlist *known, struct strbuf *conf,
			      struct strbuf *errors, struct strbuf *unknown)
{
	bool ok = true;
	for (; *env; env++) {
		if (strncmp(*env, PREFIX, strlen(PREFIX)) != 0)
			continue;
		const char *eq = strchr(*env, '=');
		size_t len = eq ? (size_t)(eq - *env) : 0;
		char upper[128], name[128];
		if (!eq || len >= sizeof upper || len <= strlen(PREFIX))
			continue;
		memcpy(upper, *env, len);
		upper[len] = '\0';
		if (var_find(upper))
			continue; /* the table's own DOVECOT_ variables */
		size_t n = 0;
		for (const char *c = upper + strlen(PREFIX); *c; c++)
			name[n++] = (char)tolower((unsigned char)*c);
		name[n] = '\0';
		const char *key = name;
		if (!bsearch(&key, known->item, known->len, sizeof *known->item, cmp_strp)) {
			sb_addf(unknown, "%s\n", upper);
			continue;
		}
		if (strpbrk(eq + 1, "\r\n{}")) {
			sb_addf(errors, "%s: expected a one-line Dovecot setting value without braces\n", upper);
			ok = false;
			continue;
		}
		sb_addf(conf, "%s = %s\n", name, eq + 1);
	}
	return ok;
}

void dovecot_render(const struct settings *s, const struct postfix_host *host,
		    const struct tls_setup *tls, const char *generic, struct dovecot_files *out)
{
	sb_init(&out->conf);
	sb_init(&out->passwd);
	sb_init(&out->ldap_passdb);
	sb_init(&out->sql_passdb);
	struct strbuf *c = &out->conf;
	sb_addf(c, "# Written by `mtactl config` from the environment (see `mtactl env`).\n"
		   "protocols = %s\n"
		   "listen = %s\n"
		   "log_path = syslog\n"
		   "syslog_facility = mail\n"
		   "auth_mechanisms = plain login\n"
		   "disable_plaintext_auth = %s\n"
		   "auth_username_format = %s\n"
		   "first_valid_uid = %lu\n"
		   "mail_uid = %lu\n"
		   "mail_gid = %lu\n"
		   "mail_location = %s\n",
		s->dovecot_mailboxes ? "imap pop3 lmtp" : "none",
		host->ipv6 ? "*, ::" : "*",
		s->value[V_DOVECOT_DISABLE_PLAINTEXT_AUTH], s->value[V_DOVECOT_AUTH_USERNAME_FORMAT],
		host->uid, host->uid, host->gid, s->value[V_DOVECOT_MAIL_LOCATION]);
	if (tls->enabled)
		sb_addf(c, "ssl = yes\nssl_cert = <%s\nssl_key = <%s\nssl_min_protocol = TLSv1.2\n"
			   "ssl_prefer_server_ciphers = yes\n"
			   "ssl_cipher_list = ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL:!MD5\n",
			tls->cert, tls->key);
	else
		sb_adds(c, "ssl = no\n");
	/* No growing per-address penalty after failed logins: Postfix gives up
	 * on an auth reply after a few seconds (454 to everyone), and behind
	 * NAT or Docker's proxy all clients share one address. The fixed
	 * auth_failure_delay still slows guessing. */
	sb_adds(c, "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n");
	/* Postfix reaches Dovecot through sockets in its own private directory. */
	sb_adds(c, "service auth {\n"
		   "  unix_listener /var/spool/postfix/private/auth {\n"
		   "    mode = 0660\n    user = postfix\n    group = postfix\n  }\n}\n");
	if (s->dovecot_mailboxes) {
		/* PROXY mode: Dovecot checks the balancers itself
		 * (haproxy_trusted_networks); the network LMTP listener takes the
		 * gate's PROXY line from loopback, so the Received: header names
		 * the delivering MTA, not 127.0.0.1. */
		if (proxy_enabled(s) || lmtp_tcp_enabled(s)) {
			sb_adds(c, "haproxy_trusted_networks =");
			if (proxy_enabled(s)) {
				sb_addc(c, ' ');
				proxy_networks_join(s->value[V_PROXY_TRUSTED_NETWORKS], " ", c);
			}
			if (lmtp_tcp_enabled(s))
				sb_adds(c, " " PROXY_BACKEND_ADDR "/32");
			sb_addc(c, '\n');
		}
		const char *haproxy = proxy_enabled(s) ? "    haproxy = yes\n" : "";
		sb_adds(c, "service lmtp {\n"
			   "  unix_listener /var/spool/postfix/private/transport {\n"
			   "    mode = 0660\n    user = postfix\n    group = postfix\n  }\n");
		if (lmtp_tcp_enabled(s))
			sb_addf(c, "  inet_listener lmtp {\n    address = " PROXY_BACKEND_ADDR "\n"
				   "    port = %d\n    haproxy = yes\n  }\n",
				LMTP_BACKEND_PORT);
		sb_adds(c, "}\n");
		sb_addf(c, "service imap-login {\n  inet_listener imap {\n    port = 143\n%s  }\n"
			   "  inet_listener imaps {\n    port = %d\n    ssl = yes\n%s  }\n}\n"
			   "service pop3-login {\n  inet_listener pop3 {\n    port = 110\n%s  }\n"
			   "  inet_listener pop3s {\n    port = %d\n    ssl = yes\n%s  }\n}\n",
			haproxy, tls->enabled ? 993 : 0, haproxy, haproxy, tls->enabled ? 995 : 0, haproxy);
		sb_addf(c, "protocol lmtp {\n  postmaster_address = postmaster@%s\n}\n",
			settings_primary_domain(s));
	}
	passdbs(s, out);
	/* Postfix has already decided who exists: every recipient it hands
	 * over gets a mailbox under the delivery user. */
	sb_adds(c, "userdb {\n  driver = static\n"
		   "  args = uid=postfix gid=postfix home=/var/mail/%Lu allow_all_users=yes\n}\n");
	sb_adds(c, generic);
}

void dovecot_files_free(struct dovecot_files *f)
{
	sb_free(&f->conf);
	sb_free(&f->passwd);
	sb_free(&f->ldap_passdb);
	sb_free(&f->sql_passdb);
}
