/* main.cf: the parameters this image decides, then the generic rule that
 * lets any upper-case variable set the Postfix parameter of its name. */
#include "config/postfix.h"

#include <ctype.h>
#include <stdlib.h>

#include "authres/authres.h"
#include "common/common.h"
#include "config/filters.h"
#include "rspamd/rspamd.h"
#include "outbound/outbound.h"

/* Loopback only. Docker's bridge range is never trusted by default: a
 * client behind Docker's userland proxy would look local and relay. */
static const char default_mynetworks[] = "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128";

static void map_ref(struct strbuf *sb, const struct postfix_map *m)
{
	if (m->text.len)
		sb_addf(sb, "%s%s:" POSTFIX_DIR "/%s", sb->len ? " " : "", m->type, m->name);
}

/* Inbound TLS: opportunistic on port 25 (any TLS beats none there, so the
 * protocol floor stays low for old MTAs), TLS 1.2 or newer wherever TLS is
 * mandatory (submission), never NULL, EXPORT, RC4 or other weak ciphers. */
static void tls_params(const struct tls_setup *tls, struct params *p)
{
	if (!tls->enabled)
		return;
	if (!tls->explicit_files) {
		params_set(p, "smtpd_tls_cert_file", tls->cert);
		params_set(p, "smtpd_tls_key_file", tls->key);
	}
	params_set(p, "smtpd_tls_security_level", "may");
	params_set(p, "smtpd_tls_auth_only", "yes");
	params_set(p, "smtpd_tls_received_header", "yes");
	params_set(p, "smtpd_tls_loglevel", "1");
	params_set(p, "smtpd_tls_protocols", "!SSLv2, !SSLv3");
	params_set(p, "smtpd_tls_mandatory_protocols", ">=TLSv1.2");
	params_set(p, "smtpd_tls_mandatory_ciphers", "high");
	params_set(p, "smtpd_tls_exclude_ciphers", "aNULL, eNULL, EXPORT, DES, 3DES, RC4, MD5, PSK, SRP");
	params_set(p, "tls_preempt_cipherlist", "yes");
	params_set(p, "smtpd_tls_session_cache_database", "lmdb:${data_directory}/smtpd_scache");
}

/* Submission users authenticate against Dovecot; port 25 offers no AUTH
 * (smtpd_sasl_auth_enable stays no there; master.cf turns it on for 465/587). */
static void sasl_params(const struct settings *s, struct params *p)
{
	if (!settings_sasl_active(s))
		return;
	params_set(p, "smtpd_sasl_type", "dovecot");
	params_set(p, "smtpd_sasl_path", "private/auth");
	params_set(p, "smtpd_sasl_security_options", "noanonymous");
	params_set(p, "smtpd_sasl_tls_security_options", "noanonymous");
}

/* The full image: every message passes amavis (virtual aliases expand
 * after it, on re-injection, so amavis sees the original recipients); SPF
 * is checked for mail from outside. PostSRSd rewrites the sender only of
 * mail forwarded to another host (the srs-senders table routes it through
 * the srs-forward loop); mail delivered here keeps its sender. Bounces to
 * an SRS0 address are turned back into the original sender on any pass. */
static void filter_params(const struct postfix_host *host, const struct postfix_map maps[MAP_COUNT],
			  struct params *p)
{
	if (!host->filters)
		return;
	if (!host->rspamd) { /* rspamd is a milter and checks SPF itself */
		params_set(p, "content_filter", AMAVIS_INBOUND_FILTER);
		params_set(p, "receive_override_options", "no_address_mappings");
		params_set(p, "smtpd_recipient_restrictions",
			   "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, "
			   "check_policy_service unix:private/policyd-spf");
		params_set(p, "policyd-spf_time_limit", "3600");
	}
	struct strbuf ref;
	sb_init(&ref);
	map_ref(&ref, &maps[MAP_SRS_SENDERS]);
	params_set(p, "sender_dependent_default_transport_maps", ref.buf);
	sb_free(&ref);
	params_setf(p, "recipient_canonical_maps", "tcp:127.0.0.1:%d", SRS_REVERSE_PORT);
	params_set(p, "recipient_canonical_classes", "envelope_recipient, header_recipient");
}

void postfix_main_params(const struct settings *s, const struct postfix_host *host,
			 const struct postfix_map maps[MAP_COUNT], const struct tls_setup *tls,
			 struct params *p)
{
	params_set(p, "compatibility_level", "3.6");
	params_set(p, "myhostname", s->hostname);
	params_set(p, "mydomain", settings_primary_domain(s));
	params_set(p, "mydestination", "$myhostname, localhost.$mydomain, localhost");
	params_set(p, "mynetworks", host->ipv6 ? default_mynetworks : "127.0.0.0/8");
	params_set(p, "inet_interfaces", "all");
	params_set(p, "inet_protocols", host->ipv6 ? "all" : "ipv4");
	/* Postfix's default list plus the resolver time-outs init sets. */
	params_set(p, "import_environment", "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY "
					    "LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME RES_OPTIONS");
	params_set(p, "biff", "no");
	params_set(p, "append_dot_mydomain", "no");
	params_set(p, "readme_directory", "no");
	/* Local aliases are not used: addresses live in the virtual tables. */
	params_set(p, "alias_maps", "");
	params_set(p, "alias_database", "");
	params_set(p, "smtpd_banner", "$myhostname ESMTP $mail_name");
	params_set(p, "smtpd_relay_restrictions",
		   "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
	params_set(p, "smtp_tls_CApath", "/etc/ssl/certs");
	params_set(p, "smtp_tls_loglevel", "1");

	struct strbuf list;
	sb_init(&list);
	for (size_t i = 0; i < s->domains.len; i++)
		sb_addf(&list, "%s%s", i ? ", " : "", s->domains.item[i]);
	params_set(p, "virtual_mailbox_domains", list.buf);
	sb_reset(&list);
	for (int i = MAP_USERS; i <= MAP_MYSQL_USERS; i++)
		map_ref(&list, &maps[i]);
	params_set(p, "virtual_mailbox_maps", list.buf);
	sb_reset(&list);
	for (int i = MAP_ALIASES; i <= MAP_REGEX_ALIASES; i++)
		map_ref(&list, &maps[i]);
	if (s->catch_all) { /* identities last: see postfix.h */
		map_ref(&list, &maps[MAP_USERS_IDENTITY]);
		map_ref(&list, &maps[MAP_LDAP_USERS]);
		map_ref(&list, &maps[MAP_MYSQL_USERS]);
	}
	params_set(p, "virtual_alias_maps", list.buf);
	sb_free(&list);
	tls_params(tls, p);
	sasl_params(s, p);
	filter_params(host, maps, p);
	if (host->rspamd)
		rspamd_postfix_params(s, p);
	else if (host->filters)
		authres_main_params(s, p);

	if (!*s->value[V_VIRTUAL_TRANSPORT]) {
		/* Postfix's virtual(8) delivers as the postfix user under /var/mail. */
		params_set(p, "virtual_transport", "virtual");
		params_set(p, "virtual_mailbox_base", MAILBOX_BASE);
		params_setf(p, "virtual_uid_maps", "static:%lu", host->uid);
		params_setf(p, "virtual_gid_maps", "static:%lu", host->gid);
		/* 0: no limit, so MESSAGE_SIZE_LIMIT alone bounds a message
		 * (virtual(8) refuses to start if this is below it). */
		params_set(p, "virtual_mailbox_limit", "0");
	}

	if (s->relay.host) {
		params_set(p, "relayhost", s->relay.host);
		if (s->relay.user) {
			params_set(p, "smtp_sasl_auth_enable", "yes");
			params_set(p, "smtp_sasl_password_maps", "lmdb:" POSTFIX_DIR "/sasl-passwords");
			params_set(p, "smtp_sasl_security_options", "noanonymous");
			params_set(p, "smtp_sasl_tls_security_options", "noanonymous");
		}
	}

	outbound_params(s, host->image, p);

	for (int i = 0; i < VAR_COUNT; i++) {
		if (!(var_table[i].flags & VAR_POSTCONF))
			continue;
		char name[64];
		size_t n = strlen(var_table[i].name);
		if (n >= sizeof name)
			continue;
		for (size_t c = 0; c <= n; c++)
			name[c] = (char)tolower((unsigned char)var_table[i].name[c]);
		if (*s->value[i])
			params_set(p, name, s->value[i]);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Variables every container has, which are neither ours nor Postfix's. */
static bool ignorable(const char *name, size_t len)
{
	static const char *const names[] = {"HOME", "HOSTNAME", "LANG", "LANGUAGE", "LOGNAME",
					    "OLDPWD", "PATH", "PWD", "SHELL", "SHLVL", "TERM",
					    "TZ", "USER", "DEBIAN_FRONTEND", "NOTIFY_SOCKET"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strlen(names[i]) == len && !memcmp(names[i], name, len))
			return true;
	return (len > 3 && !memcmp(name, "LC_", 3)) ||
	       (len > 8 && !memcmp(name, "DOVECOT_", 8)); /* the Dovecot rule's */
}

bool postfix_generic_params(char *const *env, const struct strlist *known, struct params *out,
			    struct strbuf *errors, struct strbuf *unknown)
{
	bool ok = true;
	for (; *env; env++) {
		const char *eq = strchr(*env, '=');
		if (!eq || eq == *env)
			continue;
		size_t len = (size_t)(eq - *env);
		char name[128];
		if (len >= sizeof name)
			continue;
		bool upper = true;
		for (size_t i = 0; i < len; i++) {
			char c = (*env)[i];
			upper = upper && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
			name[i] = (char)tolower((unsigned char)c);
		}
		name[len] = '\0';
		if (!upper)
			continue;
		char upper_name[128];
		memcpy(upper_name, *env, len);
		upper_name[len] = '\0';
		if (var_find(upper_name))
			continue; /* validated and applied through the table */
		if (len > 5 && !strcmp(upper_name + len - 5, "_FILE")) {
			upper_name[len - 5] = '\0';
			if (var_find(upper_name))
				continue; /* NAME_FILE of a table variable, read by settings_load */
			upper_name[len - 5] = '_';
		}
		const char *key = name;
		if (!bsearch(&key, known->item, known->len, sizeof *known->item, cmp_str)) {
			if (!ignorable(*env, len))
				sb_addf(unknown, "%s\n", upper_name);
			continue;
		}
		const char *value = eq + 1;
		if (strpbrk(value, "\r\n")) {
			sb_addf(errors, "%s: expected a one-line Postfix parameter value, got a line break\n",
				upper_name);
			ok = false;
			continue;
		}
		params_set(out, name, value);
	}
	return ok;
}

void postfix_main_render(const struct params *p, struct strbuf *out)
{
	sb_adds(out, "# Written by `mtactl config` from the environment (see `mtactl env`).\n"
		     "# It is written once per volume; FORCE_CONFIG=1 writes it again at the\n"
		     "# next start. Edits made here are kept until then.\n");
	params_render(p, out);
}
