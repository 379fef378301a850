/* Rendering Postfix's configuration from the settings: main.cf parameters,
 * master.cf, and the lookup tables. Pure: the engine does the I/O. */
#ifndef MTACTL_CONFIG_POSTFIX_H
#define MTACTL_CONFIG_POSTFIX_H

#include <sys/types.h>

#include "config/params.h"
#include "config/settings.h"

#define POSTFIX_DIR "/etc/postfix"
#define MAILBOX_BASE "/var/mail"

/* Facts about the machine that the configuration depends on. */
struct postfix_host {
	unsigned long uid, gid; /* the postfix user, owner of virtual mailboxes */
	bool ipv6;              /* the kernel has IPv6 (Docker can switch it off) */
	enum image image;       /* which master.cf services exist */
	bool filters;           /* the full image: amavis, SPF, PostSRSd */
	int filter_children;    /* amavis processes = smtp-amavis maxproc */
	bool rspamd;            /* the rspamd image: rspamd's milter instead of amavis */
};

/* Inbound TLS as decided by the engine: the files Postfix and Dovecot use. */
struct tls_setup {
	bool enabled;
	bool explicit_files;  /* the SMTPD_TLS_*_FILE variables say it all */
	const char *cert, *key;
};

/* A lookup table to write: file name under POSTFIX_DIR, its type as main.cf
 * names it (lmdb is compiled with postmap; regexp, ldap and mysql are read
 * as text), its text, and its mode. Tables that hold a password are not
 * world-readable: 0600 root when Postfix opens them as root (SASL client
 * passwords), 0640 root:postfix when its unprivileged daemons do. */
struct postfix_map {
	const char *name;
	const char *type;
	struct strbuf text;
	unsigned mode;
	bool group_postfix;
};

/* With a catch-all (@domain alias) virtual_alias_maps ends in identity
 * lookups of the real mailboxes: Postfix tries a recipient's full address
 * in every alias table before any @domain key, so a mailbox found as itself
 * keeps its mail (VIRTUAL_README, "catch-all"). They come last, so that
 * explicit aliases and REGEX_ALIAS still win as without a catch-all:
 * MAIL_BOXES as "address address" lines, and the LDAP and MySQL mailbox
 * tables, whose result must then be the address (LDAP's mail attribute). */
enum postfix_map_id {
	MAP_USERS, MAP_LDAP_USERS, MAP_MYSQL_USERS,               /* virtual_mailbox_maps */
	MAP_ALIASES, MAP_LDAP_ALIASES, MAP_LDAP_GROUPS, MAP_LDAP_EXPAND,
	MAP_MYSQL_ALIASES, MAP_REGEX_ALIASES,                     /* virtual_alias_maps */
	MAP_USERS_IDENTITY,                                       /* + with a catch-all */
	MAP_RELAY_PASSWORDS,
	MAP_SRS_SENDERS,                                          /* sender_dependent_default_transport_maps */
	MAP_SRS_KEEP,                                             /* srs-cleanup's sender_canonical_maps */
	MAP_COUNT
};

void postfix_maps_render(const struct settings *s, const struct postfix_host *host,
			 struct postfix_map maps[MAP_COUNT]);
void postfix_maps_free(struct postfix_map maps[MAP_COUNT]);

/* The parameters this image sets, before the generic rule. */
void postfix_main_params(const struct settings *s, const struct postfix_host *host,
			 const struct postfix_map maps[MAP_COUNT], const struct tls_setup *tls,
			 struct params *out);

/* The generic rule: every upper-case variable in env (NAME=value strings)
 * whose lower-case name is in known (sorted postconf parameter names) sets
 * that parameter, unless the variable table handles it. A value with a
 * newline is an error (it would inject main.cf lines). Names that match
 * nothing are reported in unknown (one per line) unless ignorable. */
bool postfix_generic_params(char *const *env, const struct strlist *known, struct params *out,
			    struct strbuf *errors, struct strbuf *unknown);

/* LDAP and MySQL lookup tables (ldap_table(5), mysql_table(5)). */
void postfix_lookups_render(const struct settings *s, struct postfix_map maps[MAP_COUNT]);

void postfix_main_render(const struct params *p, struct strbuf *out);
void postfix_master_render(const struct settings *s, const struct postfix_host *host,
			   struct strbuf *out);

#endif
