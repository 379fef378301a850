/* The table of configuration variables: the single truth that validation,
 * the config generator, `mtactl env` and the README reference all read.
 * Entries are in alphabetical order (enum and table alike); a unit test
 * keeps them so, and var_find() relies on it. */
#ifndef MTACTL_CONFIG_VARS_H
#define MTACTL_CONFIG_VARS_H

#include <stdbool.h>

#include "common/strbuf.h"

enum var_id {
	V_ACME_FILE,
	V_ACME_POSTHOOK,
	V_ARC_SEAL,
	V_ARC_TRUSTED_SIGNERS,
	V_AUTH_RESULTS,
	V_CLAMAV_DAEMON,
	V_CLAMAV_FRESHCLAM,
	V_DKIM_KEYBITS,
	V_DKIM_PRIVATEKEY,
	V_DKIM_SELECTOR,
	V_DMARC_ENFORCE,
	V_DMARC_REPORTS,
	V_DMARC_REPORTS_FROM,
	V_DNS_RESOLVER,
	V_DOCKER_UNLOCK_FILE,
	V_DOCTOR_DNSBL,
	V_DOCTOR_PUBLIC_ADDRESSES,
	V_DOCTOR_RESOLVER,
	V_DOVECOT_AUTH_USERNAME_FORMAT,
	V_DOVECOT_DISABLE_PLAINTEXT_AUTH,
	V_DOVECOT_LMTP_LISTEN,
	V_DOVECOT_LMTP_TRUSTED_NETWORKS,
	V_DOVECOT_MAIL_LOCATION,
	V_FINAL_BAD_HEADER_DESTINY,
	V_FINAL_BANNED_DESTINY,
	V_FINAL_SPAM_DESTINY,
	V_FINAL_VIRUS_DESTINY,
	V_FORCE_CONFIG,
	V_KOPANO_SPAMD_LIB,
	V_LDAP_BIND_DN,
	V_LDAP_BIND_PW,
	V_LDAP_GROUP_BASE,
	V_LDAP_HOST,
	V_LDAP_QUERY_ATTRS_PASS,
	V_LDAP_QUERY_ATTRS_USER,
	V_LDAP_QUERY_FILTER_ALIAS,
	V_LDAP_QUERY_FILTER_EXPAND,
	V_LDAP_QUERY_FILTER_GROUP,
	V_LDAP_QUERY_FILTER_PASS,
	V_LDAP_QUERY_FILTER_USER,
	V_LDAP_USER_BASE,
	V_LOG_LEVEL,
	V_MAIL_ALIASES,
	V_MAIL_BOXES,
	V_MAIL_DOMAIN,
	V_MESSAGE_SIZE_LIMIT,
	V_METRICS_LISTEN,
	V_METRICS_PASSWORD,
	V_MIGRATE_CONFIG,
	V_MTA_STS,
	V_MYSQL_DATABASE,
	V_MYSQL_HOST,
	V_MYSQL_PASSWORD,
	V_MYSQL_QUERY_ALIAS,
	V_MYSQL_QUERY_PASS,
	V_MYSQL_QUERY_USER,
	V_MYSQL_USER,
	V_PROXY_PROTOCOL,
	V_PROXY_TRUSTED_NETWORKS,
	V_RAZOR_REGISTRATION,
	V_REGEX_ALIAS,
	V_RES_OPTIONS,
	V_RSPAMD_PASSWORD,
	V_SA_DEBUG,
	V_SA_KILL_LEVEL_DEFLT,
	V_SA_TAG2_LEVEL_DEFLT,
	V_SA_TAG_LEVEL_DEFLT,
	V_SMTPD_SASL_CLIENTAUTH,
	V_SMTPD_SASL_IMAPHOST,
	V_SMTPD_TLS_CERT_FILE,
	V_SMTPD_TLS_CHAIN_FILES,
	V_SMTPD_TLS_DCERT_FILE,
	V_SMTPD_TLS_DKEY_FILE,
	V_SMTPD_TLS_ECCERT_FILE,
	V_SMTPD_TLS_ECKEY_FILE,
	V_SMTPD_TLS_KEY_FILE,
	V_SMTPD_USE_TLS,
	V_SMTP_RELAY_HOSTAUTH,
	V_SMTP_TLS_CA_FILE,
	V_SMTP_TLS_SECURITY_LEVEL,
	V_SMTP_TLS_WRAPPERMODE,
	V_SYSLOG_LEVEL,
	V_VIRTUAL_TRANSPORT,
	VAR_COUNT
};

/* The images, the Dockerfile's targets: base adds Dovecot to mini; full
 * (amavis) and rspamd are siblings that each add filters to base. */
enum image { IMAGE_MINI, IMAGE_BASE, IMAGE_FULL, IMAGE_RSPAMD, IMAGE_COUNT };

/* The images a variable (or a master.cf service) exists in. */
#define IMAGE_BIT(i) (1u << (i))
#define IMAGES_ALL (IMAGE_BIT(IMAGE_MINI) | IMAGES_BASE_UP)
#define IMAGES_BASE_UP (IMAGE_BIT(IMAGE_BASE) | IMAGES_FILTERS)
#define IMAGES_FILTERS (IMAGE_BIT(IMAGE_FULL) | IMAGE_BIT(IMAGE_RSPAMD))
#define IMAGES_FULL IMAGE_BIT(IMAGE_FULL)
#define IMAGES_RSPAMD IMAGE_BIT(IMAGE_RSPAMD)

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
	unsigned images;      /* IMAGES_*: where it has a meaning */
	unsigned flags;
	var_check_fn *check;  /* NULL: any value */
	/* For VAR_SECRET: 0 hides the whole value; N > 0 shows it but for the
	 * password of each "user:password" word from the Nth word on. */
	int credentials_from;
	const char *doc;
};

extern const struct var_def var_table[VAR_COUNT];

const struct var_def *var_find(const char *name);
/* The variable's value in the process environment, else its default (an
 * empty value counts as unset unless VAR_EMPTY_IS_VALUE); for the
 * every-start readers outside the configuration step. */
const char *var_env(enum var_id id);
const char *image_name(enum image image);
/* "all", "base, full, rspamd", ...: the images of a set, for people. */
const char *image_set_name(unsigned images);
/* Dovecot is in base and the images built on it. */
bool image_has_dovecot(enum image image);

#endif
