/* Validators of single values (see checks.h). */
#include "config/checks.h"

#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "config/parse.h"
#include "dkim/dkim.h"

bool check_domains(const char *v, struct strbuf *why)
{
	struct strlist l;
	strlist_init(&l);
	bool ok = parse_domains(v, &l, why);
	strlist_free(&l);
	return ok;
}

bool check_mailboxes(const char *v, struct strbuf *why)
{
	struct mailbox_list l = {0};
	bool ok = parse_mailboxes(v, &l, why);
	mailbox_list_free(&l);
	return ok;
}

bool check_aliases(const char *v, struct strbuf *why)
{
	struct alias_list l = {0};
	bool ok = parse_aliases(v, "example.com", &l, why);
	alias_list_free(&l);
	return ok;
}

bool check_relay(const char *v, struct strbuf *why)
{
	struct relay r = {0};
	bool ok = parse_relay(v, &r, why);
	relay_free(&r);
	return ok;
}

bool check_bytes(const char *v, struct strbuf *why)
{
	if (is_uint(v, 0x7fffffffUL, NULL))
		return true;
	sb_adds(why, "a whole number of bytes such as 10240000");
	return false;
}

bool check_syslog_level(const char *v, struct strbuf *why)
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

bool check_tls_level(const char *v, struct strbuf *why)
{
	static const char *const levels[] = {"none", "may", "encrypt", "dane", "dane-only",
					     "fingerprint", "verify", "secure"};
	return one_of(v, levels, ARRAY_LEN(levels), why);
}

/* resolv.conf(5) options as RES_OPTIONS takes them: glibc ignores a word
 * it does not know, so a typo would silently keep the unbounded defaults. */
bool check_resolver_options(const char *v, struct strbuf *why)
{
	static const struct {
		const char *name;
		unsigned long max; /* 0: a flag without a value */
	} options[] = {
		{"attempts", 5}, {"debug", 0}, {"edns0", 0}, {"inet6", 0}, {"ndots", 15},
		{"no-aaaa", 0}, {"no-check-names", 0}, {"no-reload", 0}, {"no-tld-query", 0},
		{"rotate", 0}, {"single-request", 0}, {"single-request-reopen", 0},
		{"timeout", 30}, {"trust-ad", 0}, {"use-vc", 0},
	};
	char word[64];
	bool any = false;
	for (const char *p = v; *p;) {
		size_t len = strcspn(p, " \t");
		if (len == 0) {
			p++;
			continue;
		}
		any = true;
		bool ok = len < sizeof word;
		if (ok) {
			memcpy(word, p, len);
			word[len] = '\0';
			char *colon = strchr(word, ':');
			if (colon)
				*colon = '\0';
			ok = false;
			for (size_t i = 0; i < ARRAY_LEN(options) && !ok; i++) {
				if (strcmp(word, options[i].name) != 0)
					continue;
				unsigned long n;
				ok = options[i].max ? colon && is_uint(colon + 1, options[i].max, &n) && n > 0
						    : !colon;
			}
		}
		if (!ok) {
			sb_addf(why, "resolver options such as \"timeout:1 attempts:2\" (timeout:1-30, "
				     "attempts:1-5, ndots:1-15, or a resolv.conf(5) flag), got \"%.*s\"",
				(int)(len > 60 ? 60 : len), p);
			return false;
		}
		p += len;
	}
	if (!any)
		sb_adds(why, "at least one resolver option such as timeout:1");
	return any;
}

bool check_yes_no(const char *v, struct strbuf *why)
{
	static const char *const yn[] = {"yes", "no"};
	return one_of(v, yn, ARRAY_LEN(yn), why);
}

/* transport:nexthop, as Postfix's virtual_transport takes it. */
bool check_transport(const char *v, struct strbuf *why)
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

bool check_path(const char *v, struct strbuf *why)
{
	if (v[0] == '/' && !strchr(v, '\n'))
		return true;
	sb_adds(why, "an absolute path");
	return false;
}


bool check_host_port(const char *v, struct strbuf *why)
{
	if (is_host_port(v, strlen(v)))
		return true;
	sb_adds(why, "host or host:port");
	return false;
}

bool check_ldap_host(const char *v, struct strbuf *why)
{
	struct strbuf uri;
	sb_init(&uri);
	bool ok = ldap_uri(v, &uri);
	sb_free(&uri);
	if (!ok)
		sb_adds(why, "host, host:port or ldap://host:port");
	return ok;
}

bool check_one_line(const char *v, struct strbuf *why)
{
	if (!strpbrk(v, "\r\n"))
		return true;
	sb_adds(why, "a single line");
	return false;
}

bool check_address(const char *v, struct strbuf *why)
{
	if (is_address(v, strlen(v)))
		return true;
	sb_adds(why, "a mail address, such as noreply-dmarc@example.com");
	return false;
}

/* rspamd's controller compares it as given; a word of printable characters
 * keeps it out of reach of its configuration syntax. */
bool check_password(const char *v, struct strbuf *why)
{
	size_t len = strlen(v);
	bool ok = len >= 8 && len <= 256;
	for (size_t i = 0; ok && i < len; i++)
		ok = v[i] > ' ' && v[i] < 0x7f;
	if (!ok)
		sb_adds(why, "8 to 256 printable characters without spaces");
	return ok;
}

/* RFC 4514 in outline: attr=value pairs separated by commas. */
bool check_dn(const char *v, struct strbuf *why)
{
	bool ok = strchr(v, '=') && v[0] != '=' && v[0] != ',' && check_one_line(v, why);
	if (!ok && !why->len)
		sb_adds(why, "a distinguished name such as ou=users,dc=example,dc=com");
	return ok;
}

/* RFC 4515 in outline: one parenthesized filter, parentheses balanced. */
bool check_ldap_filter(const char *v, struct strbuf *why)
{
	int depth = 0;
	bool ok = v[0] == '(' && check_one_line(v, why);
	for (const char *c = v; ok && *c; c++) {
		if (*c == '(')
			depth++;
		else if (*c == ')' && --depth == 0 && c[1])
			ok = false; /* text after the outermost filter */
		if (depth < 0)
			ok = false;
	}
	ok = ok && depth == 0;
	if (!ok && !why->len)
		sb_adds(why, "an LDAP filter in balanced parentheses such as (&(objectclass=posixAccount)(mail=%s))");
	return ok;
}

/* Dovecot pass_attrs: ldapAttr=field[,ldapAttr=field...]. */
bool check_ldap_attrs(const char *v, struct strbuf *why)
{
	bool ok = *v && check_one_line(v, why);
	for (const char *c = v; ok && *c; c++)
		ok = isalnum((unsigned char)*c) || strchr("=,_-.%{}:", *c);
	ok = ok && strchr(v, '=') && v[0] != '=';
	if (!ok && !why->len)
		sb_adds(why, "attribute=field pairs such as uid=user");
	return ok;
}

bool check_clientauth(const char *v, struct strbuf *why)
{
	struct strbuf file;
	sb_init(&file);
	bool ok = parse_clientauth(v, &file, why);
	sb_free(&file);
	return ok;
}

bool check_readable_file(const char *v, struct strbuf *why)
{
	if (v[0] == '/' && access(v, R_OK) == 0)
		return true;
	sb_adds(why, "the absolute path of a readable file in the container");
	return false;
}

/* SMTPD_TLS_CHAIN_FILES: one or more files, separated by spaces or commas. */
bool check_readable_files(const char *v, struct strbuf *why)
{
	char *copy = strdup(v);
	if (!copy)
		return false;
	bool ok = true, any = false;
	for (char *save = NULL, *f = strtok_r(copy, " ,\t", &save); ok && f;
	     f = strtok_r(NULL, " ,\t", &save)) {
		any = true;
		ok = f[0] == '/' && access(f, R_OK) == 0;
	}
	free(copy);
	if (!ok || !any)
		sb_adds(why, "absolute paths of readable PEM files (key first, then its certificate chain)");
	return ok && any;
}

/* Dovecot mail_location: format:path[:option...]. */
bool check_dovecot_location(const char *v, struct strbuf *why)
{
	static const char *const formats[] = {"mbox:", "maildir:", "sdbox:", "mdbox:"};
	bool ok = false;
	for (size_t i = 0; i < ARRAY_LEN(formats); i++)
		ok = ok || !strncmp(v, formats[i], strlen(formats[i]));
	ok = ok && check_one_line(v, why);
	if (!ok && !why->len)
		sb_adds(why, "FORMAT:PATH such as mbox:/var/mail/%Lu or maildir:/var/mail/%Ld/%Ln");
	return ok;
}

/* Postfix result_attribute: attribute names separated by commas or spaces. */
bool check_ldap_attrs_list(const char *v, struct strbuf *why)
{
	bool ok = *v;
	for (const char *c = v; ok && *c; c++)
		ok = isalnum((unsigned char)*c) || strchr("-;, ", *c);
	if (!ok)
		sb_adds(why, "LDAP attribute names such as mail");
	return ok;
}

bool check_destiny(const char *v, struct strbuf *why)
{
	static const char *const destinies[] = {"D_PASS", "D_BOUNCE", "D_REJECT", "D_DISCARD"};
	return one_of(v, destinies, ARRAY_LEN(destinies), why);
}

/* A SpamAssassin score: optional sign, digits, optional decimals. */
bool check_score(const char *v, struct strbuf *why)
{
	const char *c = v + (*v == '-' || *v == '+');
	size_t digits = strspn(c, "0123456789");
	c += digits;
	if (*c == '.' && digits) {
		size_t frac = strspn(c + 1, "0123456789");
		c += frac ? 1 + frac : 0;
	}
	if (digits && digits <= 4 && !*c)
		return true;
	sb_adds(why, "a score such as 2.0, 6.9 or -99");
	return false;
}

bool check_zero_one(const char *v, struct strbuf *why)
{
	static const char *const values[] = {"0", "1"};
	return one_of(v, values, ARRAY_LEN(values), why);
}

bool check_amavis_log_level(const char *v, struct strbuf *why)
{
	if (v[0] >= '0' && v[0] <= '5' && !v[1])
		return true;
	sb_adds(why, "a level from 0 to 5");
	return false;
}

bool check_dkim_bits(const char *v, struct strbuf *why)
{
	unsigned long bits;
	if (is_uint(v, 4096, &bits) && bits >= 1024)
		return true;
	sb_adds(why, "a key size from 1024 to 4096 bits, such as 2048");
	return false;
}

/* RFC 6376 3.1: a selector is one or more dot-separated labels. */
bool check_dkim_selector(const char *v, struct strbuf *why)
{
	if (is_domain(v, strlen(v)))
		return true;
	sb_adds(why, "a selector of letters, digits and hyphens, such as default or mail2024");
	return false;
}

bool check_dkim_key(const char *v, struct strbuf *why)
{
	struct strbuf pem;
	sb_init(&pem);
	bool ok = dkim_key_pem_from_value(v, &pem, why);
	sb_free(&pem);
	return ok;
}

/* user:password, user:, :password or ":" (Razor assigns what is empty). */
bool check_razor(const char *v, struct strbuf *why)
{
	bool ok = strchr(v, ':') && check_one_line(v, why) && !strpbrk(v, " \t");
	if (!ok && !why->len)
		sb_adds(why, "user:password (either may be empty, \":\" lets Razor assign both)");
	return ok;
}

/* MIGRATE_CONFIG: "all" or fix numbers; the only fix there was (1) is
 * applied at every start now, so any valid list is accepted. */
bool check_migrate(const char *v, struct strbuf *why)
{
	bool ok = !strcmp(v, "all") || (strspn(v, "0123456789 ,") == strlen(v) && strpbrk(v, "0123456789"));
	if (!ok)
		sb_adds(why, "all, or fix numbers such as 1");
	return ok;
}
