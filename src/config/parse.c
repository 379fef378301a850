/* Parsers of list-valued variables. Syntax follows RFC 5321/5322 where it
 * matters to Postfix lookups; anything outside printable ASCII is refused
 * (internationalized domains go in as their xn-- form). */
#include "config/parse.h"

#include <ctype.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/common.h"
#include "common/exitcode.h"

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

void strlist_init(struct strlist *l)
{
	l->item = NULL;
	l->len = l->cap = 0;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->len; i++)
		free(l->item[i]);
	free(l->item);
	strlist_init(l);
}

void strlist_add(struct strlist *l, const char *s, size_t len)
{
	l->item = grow_array(l->item, &l->cap, l->len, sizeof *l->item);
	l->item[l->len++] = xstrndup(s, len);
}

bool strlist_contains_nocase(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->len; i++)
		if (!strcasecmp(l->item[i], s))
			return true;
	return false;
}

/* Next token separated by any char of seps; false at the end. */
static bool next_token(const char **p, const char *seps, const char **tok, size_t *len)
{
	const char *s = *p;
	while (*s && strchr(seps, *s))
		s++;
	if (!*s)
		return false;
	const char *e = s;
	while (*e && !strchr(seps, *e))
		e++;
	*tok = s;
	*len = (size_t)(e - s);
	*p = e;
	return true;
}

static const char list_seps[] = " \t\r\n";

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first string (a char * at `offset` in each of n items of `size`
 * bytes) that occurs twice, or NULL: sorted, so lists of 10,000 entries
 * stay fast (n log n, not n squared). */
static const char *first_duplicate(const void *items, size_t n, size_t size, size_t offset)
{
	if (n < 2)
		return NULL;
	char **keys = reallocarray(NULL, n, sizeof *keys);
	if (!keys)
		fatal(EXIT_SYSTEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		memcpy(&keys[i], (const char *)items + i * size + offset, sizeof *keys);
	qsort(keys, n, sizeof *keys, cmp_strp);
	const char *dup = NULL;
	for (size_t i = 1; i < n && !dup; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			dup = keys[i];
	free(keys);
	return dup;
}

bool is_domain(const char *s, size_t len)
{
	if (len == 0 || len > DOMAIN_MAX || s[len - 1] == '.')
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

/* RFC 5322 dot-atom: atext characters, dots only between them. */
bool is_localpart(const char *s, size_t len)
{
	static const char atext_special[] = "!#$%&'*+-/=?^_`{|}~";
	if (len == 0 || len > LOCALPART_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return false;
			continue;
		}
		if (c >= 0x80 || !(isalnum(c) || strchr(atext_special, c)) || c == '\0')
			return false;
	}
	return true;
}

bool is_address(const char *s, size_t len)
{
	const char *at = memrchr(s, '@', len);
	if (!at)
		return false;
	size_t local = (size_t)(at - s);
	return is_localpart(s, local) && is_domain(at + 1, len - local - 1);
}

/* Relative, no "." or ".." component, no empty component but a final
 * slash (maildir), and only characters that need no quoting anywhere. */
bool is_mailbox_path(const char *s, size_t len)
{
	if (len == 0 || len > MAILBOX_PATH_MAX || s[0] == '/')
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/') {
			unsigned char c = (unsigned char)s[i];
			if (c >= 0x80 || !(isalnum(c) || strchr("._@+=-", c)))
				return false;
			continue;
		}
		size_t n = i - start;
		if (n == 0 && !(i == len && i > 0 && s[i - 1] == '/'))
			return false;
		if ((n == 1 && s[start] == '.') || (n == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

bool is_uint(const char *s, unsigned long max, unsigned long *out)
{
	if (!*s || strlen(s) > 19)
		return false;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned long d = (unsigned long)(*p - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (out)
		*out = v;
	return true;
}

static void why_token(struct strbuf *why, const char *what, const char *tok, size_t len)
{
	sb_addf(why, "%s, got \"%.*s\"", what, (int)(len > 80 ? 80 : len), tok);
}

bool parse_domains(const char *value, struct strlist *out, struct strbuf *why)
{
	const char *p = value, *tok;
	size_t len;
	while (next_token(&p, " \t\r\n,", &tok, &len)) {
		if (!is_domain(tok, len)) {
			why_token(why, "domain names such as example.com, separated by spaces", tok, len);
			return false;
		}
		char *d = xstrndup(tok, len);
		lower(d);
		if (strlist_contains_nocase(out, d)) {
			sb_addf(why, "each domain once, got \"%s\" twice", d);
			free(d);
			return false;
		}
		out->item = grow_array(out->item, &out->cap, out->len, sizeof *out->item);
		out->item[out->len++] = d;
	}
	if (out->len == 0) {
		sb_adds(why, "at least one domain name");
		return false;
	}
	return true;
}

void mailbox_list_free(struct mailbox_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->item[i].address);
		free(l->item[i].path);
	}
	free(l->item);
	l->item = NULL;
	l->len = l->cap = 0;
}

bool parse_mailboxes(const char *value, struct mailbox_list *out, struct strbuf *why)
{
	const char *p = value, *tok;
	size_t len;
	while (next_token(&p, list_seps, &tok, &len)) {
		const char *colon = memchr(tok, ':', len);
		size_t alen = colon ? (size_t)(colon - tok) : len;
		if (!is_address(tok, alen)) {
			why_token(why, "entries \"address\" or \"address:mailbox\" with a full address such as info@example.com",
				  tok, len);
			return false;
		}
		const char *path = colon ? colon + 1 : tok;
		size_t plen = colon ? len - alen - 1 : alen;
		if (!is_mailbox_path(path, plen)) {
			why_token(why, "a relative mailbox path without \"..\" or special characters (a trailing / means maildir)",
				  path, plen);
			return false;
		}
		char *address = xstrndup(tok, alen);
		lower(address);
		out->item = grow_array(out->item, &out->cap, out->len, sizeof *out->item);
		out->item[out->len].address = address;
		out->item[out->len].path = xstrndup(path, plen);
		out->len++;
	}
	const char *dup = first_duplicate(out->item, out->len, sizeof *out->item,
					  offsetof(struct mailbox, address));
	if (dup) {
		sb_addf(why, "each address once, got \"%s\" twice", dup);
		return false;
	}
	return true;
}

void alias_list_free(struct alias_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->item[i].address);
		strlist_free(&l->item[i].targets);
	}
	free(l->item);
	l->item = NULL;
	l->len = l->cap = 0;
}

/* A bare local part stands for that name at the primary domain. */
static char *qualify(const char *s, size_t len, const char *primary_domain)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_add(&sb, s, len);
	if (!memchr(s, '@', len))
		sb_addf(&sb, "@%s", primary_domain);
	char *r = sb_detach(&sb);
	lower(r);
	return r;
}

static bool is_alias_name(const char *s, size_t len)
{
	return memchr(s, '@', len) ? is_address(s, len) : is_localpart(s, len);
}

/* What an alias may be: a name, an address, or "@domain", virtual(5)'s
 * catch-all for the addresses of domain that nothing else matches. */
static bool is_alias_key(const char *s, size_t len)
{
	return len > 1 && s[0] == '@' ? is_domain(s + 1, len - 1) : is_alias_name(s, len);
}

bool alias_is_catchall(const struct alias *a)
{
	return a->address[0] == '@';
}

bool aliases_catch_all(const struct alias_list *l, const char *domain)
{
	for (size_t i = 0; i < l->len; i++)
		if (alias_is_catchall(&l->item[i]) && !strcasecmp(l->item[i].address + 1, domain))
			return true;
	return false;
}

bool parse_aliases(const char *value, const char *primary_domain, struct alias_list *out,
		   struct strbuf *why)
{
	static const char expected[] =
		"entries \"alias:address[,address...]\" such as postmaster:info@example.com";
	const char *p = value, *tok;
	size_t len;
	while (next_token(&p, list_seps, &tok, &len)) {
		const char *colon = memchr(tok, ':', len);
		if (!colon || colon == tok || colon == tok + len - 1) {
			why_token(why, expected, tok, len);
			return false;
		}
		size_t alen = (size_t)(colon - tok);
		if (!is_alias_key(tok, alen)) {
			why_token(why, "an alias that is a local part, an address or @domain (a catch-all)", tok,
				  alen);
			return false;
		}
		struct alias a;
		a.address = qualify(tok, alen, primary_domain);
		strlist_init(&a.targets);
		const char *t = colon + 1, *end = tok + len;
		while (t <= end) {
			const char *comma = memchr(t, ',', (size_t)(end - t));
			const char *te = comma ? comma : end;
			size_t tlen = (size_t)(te - t);
			if (!is_alias_name(t, tlen)) {
				why_token(why, "targets that are addresses or local parts, separated by commas", t,
					  tlen);
				free(a.address);
				strlist_free(&a.targets);
				return false;
			}
			char *q = qualify(t, tlen, primary_domain);
			strlist_add(&a.targets, q, strlen(q));
			free(q);
			t = te + 1;
		}
		out->item = grow_array(out->item, &out->cap, out->len, sizeof *out->item);
		out->item[out->len++] = a;
	}
	const char *dup = first_duplicate(out->item, out->len, sizeof *out->item,
					  offsetof(struct alias, address));
	if (dup) {
		sb_addf(why, "each alias once, got \"%s\" twice", dup);
		return false;
	}
	return true;
}

void relay_free(struct relay *r)
{
	free(r->host);
	free(r->user);
	free(r->password);
	r->host = r->user = r->password = NULL;
}

static bool is_port(const char *s, size_t len)
{
	char buf[8];
	unsigned long v;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return is_uint(buf, 65535, &v) && v > 0;
}

/* Postfix nexthop forms: host, host:port, [host], [host]:port. */
static bool is_relay_host(const char *s, size_t len)
{
	const char *name = s, *port = NULL;
	size_t nlen = len;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return false;
		name = s + 1;
		nlen = (size_t)(close - name);
		size_t rest = len - (size_t)(close + 1 - s);
		if (rest) {
			if (close[1] != ':')
				return false;
			port = close + 2;
			if (!is_port(port, rest - 1))
				return false;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		if (colon) {
			nlen = (size_t)(colon - s);
			if (!is_port(colon + 1, len - nlen - 1))
				return false;
		}
	}
	return is_domain(name, nlen);
}

bool parse_relay(const char *value, struct relay *out, struct strbuf *why)
{
	static const char expected[] = "\"host[:port] [user:password]\" such as \"[smtp.example.com]:587 user:secret\"";
	const char *p = value;
	while (*p && isspace((unsigned char)*p))
		p++;
	const char *h = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	size_t hlen = (size_t)(p - h);
	if (hlen == 0 || !is_relay_host(h, hlen)) {
		sb_addf(why, "%s; the host part is not a host name with an optional port", expected);
		return false;
	}
	while (*p && isspace((unsigned char)*p))
		p++;
	size_t alen = strlen(p);
	while (alen && isspace((unsigned char)p[alen - 1]))
		alen--;
	out->host = xstrndup(h, hlen);
	if (alen == 0)
		return true;
	const char *colon = memchr(p, ':', alen);
	if (!colon || colon == p) {
		sb_addf(why, "%s; the credentials need \"user:password\"", expected);
		relay_free(out);
		return false;
	}
	for (const char *c = p; c < p + alen; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			sb_addf(why, "%s; no control characters in the credentials", expected);
			relay_free(out);
			return false;
		}
	}
	out->user = xstrndup(p, (size_t)(colon - p));
	out->password = xstrndup(colon + 1, alen - (size_t)(colon + 1 - p));
	return true;
}

/* Checks one "/pattern/flags" at *p; advances past it. */
static bool check_pattern(const char **p, struct strbuf *why)
{
	const char *s = *p;
	char delim = *s;
	if (!delim || isalnum((unsigned char)delim) || isspace((unsigned char)delim)) {
		sb_adds(why, "lines \"/pattern/ result\" (Postfix regexp_table)");
		return false;
	}
	struct strbuf pat;
	sb_init(&pat);
	const char *c = s + 1;
	for (; *c && *c != delim && *c != '\n'; c++) {
		if (*c == '\\' && c[1] == delim)
			c++; /* an escaped delimiter is part of the pattern */
		sb_addc(&pat, *c);
	}
	if (*c != delim) {
		sb_addf(why, "a pattern closed by %c", delim);
		sb_free(&pat);
		return false;
	}
	c++;
	int cflags = REG_EXTENDED | REG_ICASE | REG_NOSUB;
	for (; *c && !isspace((unsigned char)*c); c++) {
		if (*c == 'i')
			cflags ^= REG_ICASE;
		else if (*c == 'm')
			cflags |= REG_NEWLINE;
		else if (*c != 'x') {
			sb_addf(why, "pattern flags among i, m and x, got '%c'", *c);
			sb_free(&pat);
			return false;
		}
	}
	regex_t re;
	int rc = regcomp(&re, pat.buf, cflags);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &re, msg, sizeof msg);
		sb_addf(why, "a valid regular expression: /%s/ fails: %s", pat.buf, msg);
		sb_free(&pat);
		return false;
	}
	regfree(&re);
	sb_free(&pat);
	*p = c;
	return true;
}

bool check_regexp_table(const char *value, struct strbuf *why)
{
	const char *line = value;
	int depth = 0;
	while (*line) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		const char *s = line;
		while (s < end && isspace((unsigned char)*s))
			s++;
		if (s < end && *s != '#') {
			bool is_if = !strncmp(s, "if", 2) && end - s > 2 && isspace((unsigned char)s[2]);
			bool is_endif = !strncmp(s, "endif", 5) && (end - s == 5 || isspace((unsigned char)s[5]));
			if (is_endif) {
				if (--depth < 0) {
					sb_adds(why, "an endif that closes an if");
					return false;
				}
			} else {
				if (is_if) {
					s += 2;
					while (s < end && isspace((unsigned char)*s))
						s++;
				}
				if (*s == '!')
					s++;
				if (!check_pattern(&s, why))
					return false;
				while (s < end && isspace((unsigned char)*s))
					s++;
				if (is_if)
					depth++;
				else if (s == end) {
					sb_adds(why, "a result after each pattern (\"/pattern/ result\")");
					return false;
				}
			}
		}
		line = *end ? end + 1 : end;
	}
	if (depth != 0) {
		sb_adds(why, "every if closed by an endif");
		return false;
	}
	return true;
}

bool is_host_port(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t hlen = colon ? (size_t)(colon - s) : len;
	return is_domain(s, hlen) && (!colon || is_port(colon + 1, len - hlen - 1));
}

bool ldap_uri(const char *value, struct strbuf *uri)
{
	const char *scheme = "ldap";
	const char *rest = value;
	if (!strncmp(value, "ldap://", 7)) {
		rest = value + 7;
	} else if (!strncmp(value, "ldaps://", 8)) {
		scheme = "ldaps";
		rest = value + 8;
	}
	size_t len = strlen(rest);
	if (len && rest[len - 1] == '/')
		len--; /* "ldap://host:389/" as in the old image's examples */
	if (!is_host_port(rest, len))
		return false;
	sb_addf(uri, "%s://%.*s", scheme, (int)len, rest);
	if (!memchr(rest, ':', len))
		sb_adds(uri, !strcmp(scheme, "ldaps") ? ":636" : ":389");
	return true;
}

bool parse_clientauth(const char *value, struct strbuf *passwd_file, struct strbuf *why)
{
	const char *p = value, *tok;
	size_t len;
	struct strlist users;
	strlist_init(&users);
	bool ok = true;
	while (ok && next_token(&p, list_seps, &tok, &len)) {
		const char *colon = memchr(tok, ':', len);
		size_t ulen = colon ? (size_t)(colon - tok) : 0;
		if (!colon || ulen == 0 || colon == tok + len - 1 || ulen > 255) {
			sb_adds(why, "entries \"user:{SCHEME}password\" such as \"client1:{PLAIN}secret\"");
			ok = false;
			break;
		}
		for (size_t i = 0; i < ulen && ok; i++)
			ok = isgraph((unsigned char)tok[i]) && tok[i] != '%';
		if (!ok) {
			sb_adds(why, "user names of printable ASCII without %");
			break;
		}
		char *user = xstrndup(tok, ulen);
		lower(user);
		if (strlist_contains_nocase(&users, user)) {
			sb_addf(why, "each user once, got \"%s\" twice", user);
			free(user);
			ok = false;
			break;
		}
		strlist_add(&users, user, ulen);
		free(user);
		sb_add(passwd_file, tok, len);
		sb_addc(passwd_file, '\n');
	}
	strlist_free(&users);
	return ok;
}
