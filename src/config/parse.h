/* Parsers of the list-valued variables and the syntax checks they share.
 * Pure functions: no I/O, no globals, fed awkward input by the unit tests
 * and the fuzzers. On failure each appends to `why` what was expected. */
#ifndef MTACTL_CONFIG_PARSE_H
#define MTACTL_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

#define DOMAIN_MAX 253
#define LOCALPART_MAX 64
#define MAILBOX_PATH_MAX 255

/* A list of owned strings. */
struct strlist {
	char **item;
	size_t len;
	size_t cap;
};

void strlist_init(struct strlist *l);
void strlist_free(struct strlist *l);
void strlist_add(struct strlist *l, const char *s, size_t len);
bool strlist_contains_nocase(const struct strlist *l, const char *s);

/* One MAIL_BOXES entry: `address` or `address:mailbox`. */
struct mailbox {
	char *address;  /* lower-cased */
	char *path;     /* relative to the mailbox base; ends in '/' for maildir */
};

struct mailbox_list {
	struct mailbox *item;
	size_t len;
	size_t cap;
};

/* One MAIL_ALIASES entry: `alias:target[,target...]`, bare names made
 * addresses of the primary domain. An alias "@domain" is a catch-all: it
 * takes the mail for every address of domain that nothing else matches
 * (virtual(5)). */
struct alias {
	char *address;  /* lower-cased; "@domain" for a catch-all */
	struct strlist targets;
};

struct alias_list {
	struct alias *item;
	size_t len;
	size_t cap;
};

bool alias_is_catchall(const struct alias *a);
/* Whether the list holds a catch-all for domain. */
bool aliases_catch_all(const struct alias_list *l, const char *domain);

/* SMTP_RELAY_HOSTAUTH: `host[:port] [user:password]`. */
struct relay {
	char *host;      /* as Postfix's relayhost wants it, e.g. [smtp.example.com]:587 */
	char *user;      /* NULL when no credentials were given */
	char *password;
};

bool is_domain(const char *s, size_t len);
bool is_localpart(const char *s, size_t len);
bool is_address(const char *s, size_t len);
bool is_mailbox_path(const char *s, size_t len);
bool is_uint(const char *s, unsigned long max, unsigned long *out);

bool parse_domains(const char *value, struct strlist *out, struct strbuf *why);
void mailbox_list_free(struct mailbox_list *l);
bool parse_mailboxes(const char *value, struct mailbox_list *out, struct strbuf *why);
void alias_list_free(struct alias_list *l);
bool parse_aliases(const char *value, const char *primary_domain, struct alias_list *out,
		   struct strbuf *why);
void relay_free(struct relay *r);
bool parse_relay(const char *value, struct relay *out, struct strbuf *why);
/* Postfix regexp_table(5) text: every pattern must compile. */
bool check_regexp_table(const char *value, struct strbuf *why);

#endif

/* host or host:port (a name or an IPv4 address, port 1-65535). */
bool is_host_port(const char *s, size_t len);
/* LDAP_HOST forms "auth", "auth:389", "ldap://auth:389", "ldaps://auth" to
 * one LDAP URI ("ldap://auth:389"); false when it is none of them. */
bool ldap_uri(const char *value, struct strbuf *uri);
/* SMTPD_SASL_CLIENTAUTH: space-separated user:{SCHEME}password (or a
 * plain password); appends "user:password" lines for Dovecot's passwd-file. */
bool parse_clientauth(const char *value, struct strbuf *passwd_file, struct strbuf *why);
