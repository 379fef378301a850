/* The table of configuration variables: the single truth that validation,
 * the config generator, `mtactl env` and the README reference all read.
 * Entries are in alphabetical order (enum and table alike); a unit test
 * keeps them so, and var_find() relies on it. */
#ifndef MTACTL_CONFIG_VARS_H
#define MTACTL_CONFIG_VARS_H

#include <stdbool.h>

#include "common/strbuf.h"

enum var_id {
	V_DOCKER_UNLOCK_FILE,
	V_FORCE_CONFIG,
	V_MAIL_ALIASES,
	V_MAIL_BOXES,
	V_MAIL_DOMAIN,
	V_MESSAGE_SIZE_LIMIT,
	V_REGEX_ALIAS,
	V_SMTP_RELAY_HOSTAUTH,
	V_SMTP_TLS_SECURITY_LEVEL,
	V_SMTP_TLS_WRAPPERMODE,
	V_SYSLOG_LEVEL,
	V_VIRTUAL_TRANSPORT,
	VAR_COUNT
};

enum var_stage { STAGE_MINI, STAGE_BASE, STAGE_FULL };

enum var_flags {
	VAR_SECRET = 1 << 0,      /* never printed: `env` shows only that it is set */
	VAR_EVERY_START = 1 << 1, /* applied at every start, not only when unlocked */
	VAR_POSTCONF = 1 << 2,    /* also the main.cf parameter of the same name, lower-cased */
	VAR_EMPTY_IS_VALUE = 1 << 3, /* an empty value is meant, not "use the default" */
};

/* A validator says whether value is acceptable; when not, it appends what
 * was expected to `expected` ("a number of bytes, such as 10240000"). */
typedef bool var_check_fn(const char *value, struct strbuf *expected);

struct var_def {
	const char *name;
	const char *def;      /* default value; "" for none */
	const char *def_doc;  /* how a computed default is shown; NULL: def */
	enum var_stage stage;
	unsigned flags;
	var_check_fn *check;  /* NULL: any value */
	const char *doc;
};

extern const struct var_def var_table[VAR_COUNT];

const struct var_def *var_find(const char *name);
const char *var_stage_name(enum var_stage stage);

#endif
