/* Dovecot's configuration from the settings: dovecot.conf (SASL for
 * Postfix, LMTP, IMAP and POP3) and the password databases. Pure. */
#ifndef MTACTL_CONFIG_DOVECOT_H
#define MTACTL_CONFIG_DOVECOT_H

#include "config/postfix.h"
#include "config/settings.h"

#define DOVECOT_DIR "/etc/dovecot"

struct dovecot_files {
	struct strbuf conf;         /* dovecot.conf */
	struct strbuf passwd;       /* virt-passwd (SMTPD_SASL_CLIENTAUTH) */
	struct strbuf ldap_passdb;  /* ldap-passdb.conf.ext */
	struct strbuf sql_passdb;   /* sql-passdb.conf.ext */
};

/* Dovecot runs when it authenticates submission or holds the mailboxes. */
static inline bool dovecot_wanted(const struct settings *s)
{
	return settings_sasl_active(s) || s->dovecot_mailboxes;
}

/* SMTPD_SASL_CLIENTAUTH's passwd-file, also the empty stand-in passdb. */
static inline bool dovecot_passwd_file_used(const struct settings *s)
{
	return s->sasl_file || !settings_sasl_active(s);
}

/* The DOVECOT_* rule: DOVECOT_FOO_BAR=value sets foo_bar when it is in
 * known (sorted top-level Dovecot setting names); env holds NAME=value
 * strings. Appends "name = value" lines to out; unknown names to unknown. */
bool dovecot_generic_settings(char *const *env, const struct strlist *known, struct strbuf *out,
			      struct strbuf *errors, struct strbuf *unknown);
/* generic: the lines dovecot_generic_settings made, appended last. */
void dovecot_render(const struct settings *s, const struct postfix_host *host,
		    const struct tls_setup *tls, const char *generic, struct dovecot_files *out);
void dovecot_files_free(struct dovecot_files *f);

#endif
