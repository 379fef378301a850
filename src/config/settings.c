#include "config/settings.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "config/postfix_master.h"
#include "config/proxy.h"
#include "tls/tls.h"

/* Used when neither MAIL_DOMAIN nor the hostname names a domain (the old
 * image's DOCKER_DEFAULT_DOMAIN). */
static const char fallback_domain[] = "example.com";

const char *env_get_process(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* Shows value with the passwords of its "user:password" words from word
 * `from` on replaced by "***", in the quoted form below. */
static void show_masked(const char *value, int from, struct strbuf *out)
{
	int word = 0;
	bool in_word = false, masking = false;
	for (const char *c = value; *c; c++) {
		bool space = *c == ' ' || *c == '\t';
		if (!space && !in_word) {
			word++;
			masking = false;
		}
		in_word = !space;
		if (space) {
			sb_addc(out, *c);
		} else if (masking) {
			continue;
		} else {
			sb_addc(out, *c);
			if (*c == ':' && word >= from) {
				sb_adds(out, "***");
				masking = true;
			}
		}
	}
}

void settings_show_value(const struct var_def *def, const char *value, struct strbuf *out)
{
	if ((def->flags & VAR_SECRET) && !def->credentials_from) {
		sb_addf(out, "<secret, %zu characters>", strlen(value));
		return;
	}
	struct strbuf shown;
	sb_init(&shown);
	if (def->flags & VAR_SECRET)
		show_masked(value, def->credentials_from, &shown);
	else
		sb_adds(&shown, value);
	sb_addc(out, '"');
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)shown.buf; *c; c++, n++) {
		if (n == 120) {
			sb_adds(out, "...");
			break;
		}
		if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\')
			sb_addf(out, "\\x%02x", *c);
		else
			sb_addc(out, (char)*c);
	}
	sb_addc(out, '"');
	sb_free(&shown);
}

static void report(struct strbuf *errors, const struct var_def *def, const char *value,
		   const char *expected)
{
	sb_addf(errors, "%s=", def->name);
	settings_show_value(def, value, errors);
	sb_addf(errors, ": expected %s\n", expected);
}

bool var_validate(const struct var_def *def, const char *value, struct strbuf *errors)
{
	if (!def->check)
		return true;
	struct strbuf why;
	sb_init(&why);
	bool ok = def->check(value, &why);
	if (!ok)
		report(errors, def, value, why.buf);
	sb_free(&why);
	return ok;
}

const char *settings_primary_domain(const struct settings *s)
{
	return s->domains.len ? s->domains.item[0] : fallback_domain;
}

static const char *domain_of_hostname(const char *hostname)
{
	const char *dot = strchr(hostname, '.');
	return dot && dot[1] ? dot + 1 : NULL;
}

/* The Docker secrets convention, for every variable: NAME_FILE names a
 * file holding NAME's value (one trailing newline dropped), for secrets and
 * for lists too long for the environment (10,000 MAIL_BOXES). NULL when
 * NAME_FILE is unset. */
static char *value_from_file(const struct var_def *def, env_get_fn *get, void *ctx,
			      struct strbuf *errors)
{
	char name[80];
	snprintf(name, sizeof name, "%s_FILE", def->name);
	const char *path = get(name, ctx);
	if (!path || !*path)
		return NULL;
	struct strbuf text;
	sb_init(&text);
	if (path[0] != '/' || file_read(path, &text, 16 << 20) < 0) {
		sb_addf(errors, "%s=\"%.200s\": expected the absolute path of a readable file holding %s\n",
			name, path, def->name);
		sb_free(&text);
		return NULL;
	}
	if (text.len && text.buf[text.len - 1] == '\n')
		text.buf[--text.len] = '\0';
	if (text.len && text.buf[text.len - 1] == '\r')
		text.buf[--text.len] = '\0';
	return sb_detach(&text);
}

static bool set(const struct settings *s, enum var_id id)
{
	return *s->value[id] != '\0';
}

/* Variables that only work together: `id` is set, so `needed` must be. */
static void require(const struct settings *s, struct strbuf *errors, enum var_id id, enum var_id needed)
{
	if (set(s, id) && !set(s, needed)) {
		char what[96];
		snprintf(what, sizeof what, "%s to be set as well", var_table[needed].name);
		report(errors, &var_table[id], s->value[id], what);
	}
}

/* LDAP_QUERY_FILTER_PASS by default: the user filter with (mail=%s) as
 * (<attr>=%u), <attr> from LDAP_QUERY_ATTRS_PASS ("uid=user" -> uid). */
static char *derive_pass_filter(const struct settings *s)
{
	const char *user_filter = s->value[V_LDAP_QUERY_FILTER_USER];
	const char *attrs = s->value[V_LDAP_QUERY_ATTRS_PASS];
	const char *hit = strstr(user_filter, "(mail=%s)");
	const char *eq = strchr(attrs, '=');
	if (!hit || !eq)
		return NULL;
	struct strbuf f;
	sb_init(&f);
	sb_add(&f, user_filter, (size_t)(hit - user_filter));
	sb_addf(&f, "(%.*s=%%u)", (int)(eq - attrs), attrs);
	sb_adds(&f, hit + strlen("(mail=%s)"));
	return sb_detach(&f);
}

/* Variables that only work together: when the first is set, the second
 * must be (an LDAP host without a base, a certificate without its key). */
static const enum var_id requirements[][2] = {
	{V_LDAP_HOST, V_LDAP_USER_BASE},
	{V_LDAP_USER_BASE, V_LDAP_HOST},
	{V_LDAP_QUERY_FILTER_USER, V_LDAP_USER_BASE},
	{V_LDAP_QUERY_FILTER_ALIAS, V_LDAP_USER_BASE},
	{V_LDAP_QUERY_ATTRS_PASS, V_LDAP_USER_BASE},
	{V_LDAP_BIND_DN, V_LDAP_HOST},
	{V_LDAP_BIND_PW, V_LDAP_BIND_DN},
	{V_LDAP_QUERY_FILTER_GROUP, V_LDAP_GROUP_BASE},
	{V_LDAP_QUERY_FILTER_GROUP, V_LDAP_QUERY_FILTER_EXPAND},
	{V_LDAP_QUERY_FILTER_EXPAND, V_LDAP_QUERY_FILTER_GROUP},
	{V_LDAP_GROUP_BASE, V_LDAP_QUERY_FILTER_GROUP},
	{V_MYSQL_HOST, V_MYSQL_DATABASE},
	{V_MYSQL_DATABASE, V_MYSQL_HOST},
	{V_MYSQL_QUERY_USER, V_MYSQL_HOST},
	{V_MYSQL_QUERY_ALIAS, V_MYSQL_HOST},
	{V_MYSQL_QUERY_PASS, V_MYSQL_HOST},
	{V_MYSQL_PASSWORD, V_MYSQL_USER},
	{V_SMTPD_TLS_CERT_FILE, V_SMTPD_TLS_KEY_FILE},
	{V_SMTPD_TLS_KEY_FILE, V_SMTPD_TLS_CERT_FILE},
	{V_SMTPD_TLS_DCERT_FILE, V_SMTPD_TLS_DKEY_FILE},
	{V_SMTPD_TLS_DKEY_FILE, V_SMTPD_TLS_DCERT_FILE},
	{V_SMTPD_TLS_ECCERT_FILE, V_SMTPD_TLS_ECKEY_FILE},
	{V_SMTPD_TLS_ECKEY_FILE, V_SMTPD_TLS_ECCERT_FILE},
};

static void check_ldap(struct settings *s, struct strbuf *errors)
{
	if (set(s, V_LDAP_HOST)) {
		struct strbuf uri;
		sb_init(&uri);
		ldap_uri(s->value[V_LDAP_HOST], &uri);
		s->ldap_uri = sb_detach(&uri);
	}
	s->ldap_lookup = set(s, V_LDAP_HOST) && set(s, V_LDAP_USER_BASE) && set(s, V_LDAP_QUERY_FILTER_USER);
	s->ldap_groups = s->ldap_lookup && set(s, V_LDAP_GROUP_BASE) && set(s, V_LDAP_QUERY_FILTER_GROUP);
	if (set(s, V_LDAP_QUERY_ATTRS_PASS) && set(s, V_LDAP_HOST) && set(s, V_LDAP_USER_BASE)) {
		s->ldap_pass_filter = set(s, V_LDAP_QUERY_FILTER_PASS)
					      ? strdup(s->value[V_LDAP_QUERY_FILTER_PASS])
					      : derive_pass_filter(s);
		if (set(s, V_LDAP_QUERY_FILTER_PASS) && !s->ldap_pass_filter)
			fatal(EXIT_SYSTEM, "out of memory");
		if (!s->ldap_pass_filter)
			report(errors, &var_table[V_LDAP_QUERY_ATTRS_PASS], s->value[V_LDAP_QUERY_ATTRS_PASS],
			       "LDAP_QUERY_FILTER_PASS, or an LDAP_QUERY_FILTER_USER containing (mail=%s) to derive it from");
		s->sasl_ldap = s->ldap_pass_filter != NULL;
	}
}

static void check_mysql(struct settings *s)
{
	bool db = set(s, V_MYSQL_HOST) && set(s, V_MYSQL_DATABASE);
	s->mysql_lookup = db && set(s, V_MYSQL_QUERY_USER);
	s->sasl_mysql = db && set(s, V_MYSQL_QUERY_PASS);
}

static void check_tls_files(struct settings *s, struct strbuf *errors)
{
	static const enum var_id pairs[][2] = {
		{V_SMTPD_TLS_CERT_FILE, V_SMTPD_TLS_KEY_FILE},
		{V_SMTPD_TLS_DCERT_FILE, V_SMTPD_TLS_DKEY_FILE},
		{V_SMTPD_TLS_ECCERT_FILE, V_SMTPD_TLS_ECKEY_FILE},
	};
	for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
		if (!set(s, pairs[i][0]) || !set(s, pairs[i][1]))
			continue;
		struct strbuf why;
		sb_init(&why);
		if (!tls_check_pair(s->value[pairs[i][0]], s->value[pairs[i][1]], &why))
			report(errors, &var_table[pairs[i][1]], s->value[pairs[i][1]], why.buf);
		sb_free(&why);
	}
}

/* A catch-all (@domain) only works for a domain we are the destination
 * for: Postfix refuses mail for any other domain before it looks at the
 * aliases (relay access denied). */
static void check_catch_alls(struct settings *s, struct strbuf *errors)
{
	for (size_t i = 0; i < s->aliases.len; i++) {
		const struct alias *a = &s->aliases.item[i];
		if (!alias_is_catchall(a))
			continue;
		s->catch_all = true;
		if (strlist_contains_nocase(&s->domains, a->address + 1))
			continue;
		struct strbuf what;
		sb_init(&what);
		sb_adds(&what, "a catch-all @domain only for a domain of MAIL_DOMAIN (");
		for (size_t d = 0; d < s->domains.len; d++)
			sb_addf(&what, "%s%s", d ? " " : "", s->domains.item[d]);
		sb_addf(&what, "), got \"%s\"", a->address);
		report(errors, &var_table[V_MAIL_ALIASES], s->value[V_MAIL_ALIASES], what.buf);
		sb_free(&what);
		return; /* one line for the variable */
	}
}

/* VIRTUAL_TRANSPORT's transport must be a service that this image's
 * master.cf defines for delivery: Postfix would accept any name and leave
 * every message in the queue ("unknown mail transport"). */
static void check_transport_service(const struct settings *s, enum image image,
				    struct strbuf *errors)
{
	const char *v = s->value[V_VIRTUAL_TRANSPORT];
	size_t len = strcspn(v, ":");
	if (!*v || postfix_master_has_transport(image, v, len))
		return;
	struct strbuf what;
	sb_init(&what);
	sb_addf(&what, "a transport that master.cf of the %s image defines for delivery (",
		image_name(image));
	postfix_master_transports(image, &what);
	sb_addf(&what, "), got \"%.*s\"", (int)(len > 80 ? 80 : len), v);
	report(errors, &var_table[V_VIRTUAL_TRANSPORT], v, what.buf);
	sb_free(&what);
}

/* A pass over the values that each alone are fine but together are not. */
static void check_combinations(struct settings *s, struct strbuf *errors, struct strbuf *warnings)
{
	for (size_t i = 0; i < ARRAY_LEN(requirements); i++)
		require(s, errors, requirements[i][0], requirements[i][1]);
	check_ldap(s, errors);
	check_mysql(s);
	check_tls_files(s, errors);
	check_catch_alls(s, errors);
	s->sasl_imap = set(s, V_SMTPD_SASL_IMAPHOST);
	s->sasl_file = set(s, V_SMTPD_SASL_CLIENTAUTH);
	s->dovecot_mailboxes = !strcmp(s->value[V_VIRTUAL_TRANSPORT], DOVECOT_TRANSPORT);
	proxy_check_combinations(s, errors);

	const char *level = s->value[V_SMTP_TLS_SECURITY_LEVEL];
	if (!strcmp(s->value[V_SMTP_TLS_WRAPPERMODE], "yes") &&
	    (!*level || !strcmp(level, "none") || !strcmp(level, "may") || !strcmp(level, "dane"))) {
		report(errors, &var_table[V_SMTP_TLS_WRAPPERMODE], "yes",
		       "SMTP_TLS_SECURITY_LEVEL=encrypt or stronger with wrapper mode");
	}
	for (size_t i = 0; i < s->boxes.len; i++) {
		const char *domain = strrchr(s->boxes.item[i].address, '@') + 1;
		if (!strlist_contains_nocase(&s->domains, domain))
			sb_addf(warnings, "MAIL_BOXES: %s is not in MAIL_DOMAIN, so mail to it will be refused\n",
				s->boxes.item[i].address);
	}
}

bool settings_load(struct settings *s, env_get_fn *get, void *ctx, const char *hostname,
		   enum image image, struct strbuf *errors, struct strbuf *warnings)
{
	memset(s, 0, sizeof *s);
	sb_init(&s->passwd_file);
	s->hostname = strdup(hostname);
	if (!s->hostname)
		fatal(EXIT_SYSTEM, "out of memory");
	size_t errors_before = errors->len;

	for (int i = 0; i < VAR_COUNT; i++) {
		const struct var_def *def = &var_table[i];
		const char *v = get(def->name, ctx);
		if (!v || !*v)
			v = s->from_file[i] = value_from_file(def, get, ctx, errors);
		bool given = v && (*v || (def->flags & VAR_EMPTY_IS_VALUE));
		s->is_set[i] = given;
		s->value[i] = given ? v : def->def;
	}
	if (!s->is_set[V_MAIL_DOMAIN]) {
		const char *d = domain_of_hostname(hostname);
		if (!d) {
			sb_addf(warnings, "MAIL_DOMAIN is not set and hostname \"%s\" has no domain; using %s\n",
				hostname, fallback_domain);
			d = fallback_domain;
		}
		s->mail_domain_default = strdup(d);
		if (!s->mail_domain_default)
			fatal(EXIT_SYSTEM, "out of memory");
		s->value[V_MAIL_DOMAIN] = s->mail_domain_default;
	}

	for (int i = 0; i < VAR_COUNT; i++) {
		const struct var_def *def = &var_table[i];
		if (s->is_set[i] && !(def->images & IMAGE_BIT(image)) && *s->value[i]) {
			char need[96];
			snprintf(need, sizeof need, "no value in the %s image: it has a meaning only in %s",
				 image_name(image), image_set_name(def->images));
			report(errors, def, s->value[i], need);
			continue;
		}
		if (!def->check || (!*s->value[i] && !(def->flags & VAR_EMPTY_IS_VALUE)))
			continue;
		var_validate(def, s->value[i], errors);
	}
	if (errors->len != errors_before)
		return false;

	/* Each parse below was already done by the validator; it cannot fail now. */
	struct strbuf ignored;
	sb_init(&ignored);
	parse_domains(s->value[V_MAIL_DOMAIN], &s->domains, &ignored);
	parse_mailboxes(s->value[V_MAIL_BOXES], &s->boxes, &ignored);
	parse_aliases(s->value[V_MAIL_ALIASES], settings_primary_domain(s), &s->aliases, &ignored);
	if (*s->value[V_SMTP_RELAY_HOSTAUTH])
		parse_relay(s->value[V_SMTP_RELAY_HOSTAUTH], &s->relay, &ignored);
	parse_clientauth(s->value[V_SMTPD_SASL_CLIENTAUTH], &s->passwd_file, &ignored);
	sb_free(&ignored);

	check_combinations(s, errors, warnings);
	check_transport_service(s, image, errors);
	return errors->len == errors_before;
}

void settings_free(struct settings *s)
{
	free(s->hostname);
	free(s->mail_domain_default);
	for (int i = 0; i < VAR_COUNT; i++)
		free(s->from_file[i]);
	strlist_free(&s->domains);
	mailbox_list_free(&s->boxes);
	alias_list_free(&s->aliases);
	relay_free(&s->relay);
	sb_free(&s->passwd_file);
	free(s->ldap_uri);
	free(s->ldap_pass_filter);
	memset(s, 0, sizeof *s);
}
