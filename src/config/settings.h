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
	struct strlist domains;       /* MAIL_DOMAIN, lower-cased, primary first */
	struct mailbox_list boxes;
	struct alias_list aliases;
	struct relay relay;           /* relay.host NULL when not set */
};

/* Validates every variable. Appends one line per problem to errors, each
 * naming the variable, its value and what was expected; warnings (valid but
 * suspicious) go to warnings. Returns true when errors stayed empty. */
bool settings_load(struct settings *s, env_get_fn *get, void *ctx, const char *hostname,
		   struct strbuf *errors, struct strbuf *warnings);
void settings_free(struct settings *s);
const char *settings_primary_domain(const struct settings *s);
/* Checks one value; on failure appends the "NAME=value: expected ..." line. */
bool var_validate(const struct var_def *def, const char *value, struct strbuf *errors);
/* The value as it may be shown: secrets reduced to their length. */
void settings_show_value(const struct var_def *def, const char *value, struct strbuf *out);

#endif
