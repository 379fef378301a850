/* The variable table. Add a variable here and everything else (validation,
 * `mtactl env`, the README reference) follows; the generator reads the
 * validated values through settings.h. */
#include "config/vars.h"

#include <stdlib.h>

#include "common/common.h"
#include "config/parse.h"

static bool check_domains(const char *v, struct strbuf *why)
{
	struct strlist l;
	strlist_init(&l);
	bool ok = parse_domains(v, &l, why);
	strlist_free(&l);
	return ok;
}

static bool check_mailboxes(const char *v, struct strbuf *why)
{
	struct mailbox_list l = {0};
	bool ok = parse_mailboxes(v, &l, why);
	mailbox_list_free(&l);
	return ok;
}

static bool check_aliases(const char *v, struct strbuf *why)
{
	struct alias_list l = {0};
	bool ok = parse_aliases(v, "example.com", &l, why);
	alias_list_free(&l);
	return ok;
}

static bool check_relay(const char *v, struct strbuf *why)
{
	struct relay r = {0};
	bool ok = parse_relay(v, &r, why);
	relay_free(&r);
	return ok;
}

static bool check_bytes(const char *v, struct strbuf *why)
{
	if (is_uint(v, 0x7fffffffUL, NULL))
		return true;
	sb_adds(why, "a whole number of bytes such as 10240000");
	return false;
}

static bool check_syslog_level(const char *v, struct strbuf *why)
{
	if (v[0] >= '0' && v[0] <= '7' && v[1] == '\0')
		return true;
	sb_adds(why, "a level from 0 (emerg) to 7 (debug)");
	return false;
}

static bool one_of(const char *v, const char *const *words, size_t n, struct strbuf *why)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, words[i]))
			return true;
	sb_adds(why, "one of");
	for (size_t i = 0; i < n; i++)
		sb_addf(why, " %s", words[i]);
	return false;
}

static bool check_tls_level(const char *v, struct strbuf *why)
{
	static const char *const levels[] = {"none", "may", "encrypt", "dane", "dane-only",
					     "fingerprint", "verify", "secure"};
	return one_of(v, levels, ARRAY_LEN(levels), why);
}

static bool check_yes_no(const char *v, struct strbuf *why)
{
	static const char *const yn[] = {"yes", "no"};
	return one_of(v, yn, ARRAY_LEN(yn), why);
}

/* transport:nexthop, as Postfix's virtual_transport takes it. */
static bool check_transport(const char *v, struct strbuf *why)
{
	const char *colon = strchr(v, ':');
	bool ok = colon && colon > v && colon[1];
	for (const char *c = v; ok && c < colon; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
	for (const char *c = v; ok && *c; c++)
		ok = (unsigned char)*c > ' ' && (unsigned char)*c < 0x7f;
	if (!ok)
		sb_adds(why, "empty (local mailboxes) or transport:nexthop such as lmtp:app:2003 or lmtp:unix:private/transport");
	return ok;
}

static bool check_path(const char *v, struct strbuf *why)
{
	if (v[0] == '/' && !strchr(v, '\n'))
		return true;
	sb_adds(why, "an absolute path");
	return false;
}

const struct var_def var_table[VAR_COUNT] = {
	[V_DOCKER_UNLOCK_FILE] = {
		.name = "DOCKER_UNLOCK_FILE", .def = "/srv/etc/.docker.unlock",
		.stage = STAGE_MINI, .flags = VAR_EVERY_START, .check = check_path,
		.doc = "While this file exists the next start writes the configuration, then removes it.",
	},
	[V_FORCE_CONFIG] = {
		.name = "FORCE_CONFIG", .def = "", .stage = STAGE_MINI, .flags = VAR_EVERY_START,
		.doc = "Any value: write the configuration from the environment at every start, even on a configured volume.",
	},
	[V_MAIL_ALIASES] = {
		.name = "MAIL_ALIASES", .def = "", .stage = STAGE_MINI, .check = check_aliases,
		.doc = "Space-separated alias:address[,address...]; a bare name is at the primary domain.",
	},
	[V_MAIL_BOXES] = {
		.name = "MAIL_BOXES", .def = "", .stage = STAGE_MINI, .check = check_mailboxes,
		.doc = "Space-separated address or address:mailbox accepted for delivery; a mailbox ending in / is a maildir.",
	},
	[V_MAIL_DOMAIN] = {
		.name = "MAIL_DOMAIN", .def = "", .def_doc = "hostname minus its first label",
		.stage = STAGE_MINI, .check = check_domains,
		.doc = "Space-separated domains this server is the final destination for; the first is primary.",
	},
	[V_MESSAGE_SIZE_LIMIT] = {
		.name = "MESSAGE_SIZE_LIMIT", .def = "10240000", .stage = STAGE_MINI,
		.flags = VAR_POSTCONF, .check = check_bytes,
		.doc = "Largest message accepted, in bytes, envelope included.",
	},
	[V_REGEX_ALIAS] = {
		.name = "REGEX_ALIAS", .def = "", .stage = STAGE_MINI, .check = check_regexp_table,
		.doc = "Postfix regexp table lines rewriting recipients, e.g. '/^(.+)[+-].*@(.+)$/ $1@$2'.",
	},
	[V_SMTP_RELAY_HOSTAUTH] = {
		.name = "SMTP_RELAY_HOSTAUTH", .def = "", .stage = STAGE_MINI, .flags = VAR_SECRET,
		.check = check_relay,
		.doc = "Send all outgoing mail through \"host[:port] [user:password]\", with SASL when credentials are given.",
	},
	[V_SMTP_TLS_SECURITY_LEVEL] = {
		.name = "SMTP_TLS_SECURITY_LEVEL", .def = "may", .stage = STAGE_MINI,
		.flags = VAR_POSTCONF, .check = check_tls_level,
		.doc = "TLS of outgoing SMTP: none, may (opportunistic), encrypt, verify, ...",
	},
	[V_SMTP_TLS_WRAPPERMODE] = {
		.name = "SMTP_TLS_WRAPPERMODE", .def = "no", .stage = STAGE_MINI,
		.flags = VAR_POSTCONF, .check = check_yes_no,
		.doc = "yes: outgoing SMTP uses implicit TLS (SMTPS, port 465); needs SMTP_TLS_SECURITY_LEVEL=encrypt or stronger.",
	},
	[V_SYSLOG_LEVEL] = {
		.name = "SYSLOG_LEVEL", .def = "5", .stage = STAGE_MINI, .flags = VAR_EVERY_START,
		.check = check_syslog_level,
		.doc = "Log messages up to this level: 0 emerg ... 5 notice ... 6 info ... 7 debug.",
	},
	[V_VIRTUAL_TRANSPORT] = {
		.name = "VIRTUAL_TRANSPORT", .def = "", .def_doc = "local mailboxes under /var/mail",
		.stage = STAGE_MINI, .flags = VAR_POSTCONF, .check = check_transport,
		.doc = "Where accepted mail goes: empty for /var/mail, lmtp:host:port, or lmtp:unix:private/transport.",
	},
};

static int var_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct var_def *)elem)->name);
}

const struct var_def *var_find(const char *name)
{
	return bsearch(name, var_table, VAR_COUNT, sizeof var_table[0], var_cmp);
}

const char *var_stage_name(enum var_stage stage)
{
	static const char *const names[] = {
		[STAGE_MINI] = "mini", [STAGE_BASE] = "base", [STAGE_FULL] = "full"};
	return names[stage];
}
