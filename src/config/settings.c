#include "config/settings.h"

#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"

/* Used when neither MAIL_DOMAIN nor the hostname names a domain (the old
 * image's DOCKER_DEFAULT_DOMAIN). */
static const char fallback_domain[] = "example.com";

const char *env_get_process(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

void settings_show_value(const struct var_def *def, const char *value, struct strbuf *out)
{
	if (def->flags & VAR_SECRET) {
		sb_addf(out, "<secret, %zu characters>", strlen(value));
		return;
	}
	sb_addc(out, '"');
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)value; *c; c++, n++) {
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

/* A pass over the values that each alone are fine but together are not. */
static void check_combinations(struct settings *s, struct strbuf *errors, struct strbuf *warnings)
{
	const char *level = s->value[V_SMTP_TLS_SECURITY_LEVEL];
	if (!strcmp(s->value[V_SMTP_TLS_WRAPPERMODE], "yes") &&
	    (!strcmp(level, "none") || !strcmp(level, "may") || !strcmp(level, "dane"))) {
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
		   struct strbuf *errors, struct strbuf *warnings)
{
	memset(s, 0, sizeof *s);
	s->hostname = strdup(hostname);
	if (!s->hostname)
		fatal(EXIT_SYSTEM, "out of memory");
	size_t errors_before = errors->len;

	for (int i = 0; i < VAR_COUNT; i++) {
		const struct var_def *def = &var_table[i];
		const char *v = get(def->name, ctx);
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
	sb_free(&ignored);

	check_combinations(s, errors, warnings);
	return errors->len == errors_before;
}

void settings_free(struct settings *s)
{
	free(s->hostname);
	free(s->mail_domain_default);
	strlist_free(&s->domains);
	mailbox_list_free(&s->boxes);
	alias_list_free(&s->aliases);
	relay_free(&s->relay);
	memset(s, 0, sizeof *s);
}
