/* The validated configuration: every table variable's effective value,
 * and the list-valued ones parsed. Loading checks everything and writes
 * nothing, so bad input stops the container before any file changes. */
#ifndef MTACTL_CONFIG_SETTINGS_H
#define MTACTL_CONFIG_SETTINGS_H

#include "config/parse.h"
#include "config/vars.h"

/* Where values come from: the process environment in production, a table
 * in the unit tests. Returns NULL for unset. */
typedef const char *env_get_fn(const char *name, void *ctx);
const char *env_get_process(const char *name, void *ctx);

struct settings {
	const char *value[VAR_COUNT]; /* effective: the environment's or the default */
	bool is_set[VAR_COUNT];       /* given (non-empty) in the environment */
	char *hostname;
	char *mail_domain_default;    /* owned storage behind value[V_MAIL_DOMAIN] */
	char *from_file[VAR_COUNT];   /* values read from NAME_FILE (Docker secrets) */
	struct strlist domains;       /* MAIL_DOMAIN, lower-cased, primary first */
	struct mailbox_list boxes;
	struct alias_list aliases;
	struct relay relay;           /* relay.host NULL when not set */
	struct strbuf passwd_file;    /* SMTPD_SASL_CLIENTAUTH as Dovecot's passwd-file */
	char *ldap_uri;               /* LDAP_HOST as a URI, NULL when not set */
	char *ldap_pass_filter;       /* LDAP_QUERY_FILTER_PASS, or derived from the user filter */
	bool ldap_lookup, ldap_groups, mysql_lookup;
	bool sasl_file, sasl_imap, sasl_ldap, sasl_mysql;
	bool dovecot_mailboxes;       /* VIRTUAL_TRANSPORT hands mail to Dovecot's LMTP */
	bool catch_all;               /* MAIL_ALIASES has an @domain entry */
};

#define DOVECOT_TRANSPORT "lmtp:unix:private/transport"

static inline bool settings_sasl_active(const struct settings *s)
{
	return s->sasl_file || s->sasl_imap || s->sasl_ldap || s->sasl_mysql;
}

/* Validates every variable. Appends one line per problem to errors, each
 * naming the variable, its value and what was expected; warnings (valid but
 * suspicious) go to warnings. A variable that has no meaning in the image
 * is an error: its feature is not installed here. Returns true when errors stayed empty. */
bool settings_load(struct settings *s, env_get_fn *get, void *ctx, const char *hostname,
		   enum image image, struct strbuf *errors, struct strbuf *warnings);
void settings_free(struct settings *s);
const char *settings_primary_domain(const struct settings *s);
/* Checks one value; on failure appends the "NAME=value: expected ..." line. */
bool var_validate(const struct var_def *def, const char *value, struct strbuf *errors);
/* The value as it may be shown: secrets reduced to their length. */
void settings_show_value(const struct var_def *def, const char *value, struct strbuf *out);

#endif
