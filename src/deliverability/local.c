/* Facts about this host for `mtactl dns` and `mtactl doctor` (see
 * local.h). The host name and domains come from Postfix's running
 * configuration, not the environment: a configured volume ignores changed
 * variables, and the records must describe what is served. */
#include "deliverability/local.h"

#include <arpa/inet.h>
#include <glob.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "config/vars.h"
#include "deliverability/smtp.h"
#include "deliverability/varchecks.h"
#include "dkim/dkim.h"

#define POSTCONF_TIMEOUT_MS 5000
#define CERT_TIMEOUT_MS 6000

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* Words of a list split at commas and white space. */
static void split_words(const char *s, struct strlist *out)
{
	while (*s) {
		size_t skip = strspn(s, ", \t\r\n");
		s += skip;
		size_t n = strcspn(s, ", \t\r\n");
		if (n)
			strlist_add(out, s, n);
		s += n;
	}
}

bool local_interface_addresses(struct strlist *out)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct in_addr *a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			if ((ntohl(a->s_addr) >> 24) == 127 || !inet_ntop(AF_INET, a, text, sizeof text))
				continue;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
			    !inet_ntop(AF_INET6, a, text, sizeof text))
				continue;
		} else {
			continue;
		}
		if (!strlist_contains_nocase(out, text))
			strlist_add(out, text, strlen(text));
	}
	freeifaddrs(ifa);
	return true;
}

bool tlsa_digest(X509 *cert, int selector, int mtype, char *hex, size_t size)
{
	unsigned char *der = NULL;
	int n = selector == 1 ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der)
		: selector == 0 ? i2d_X509(cert, &der) : -1;
	if (n <= 0)
		return false;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	const EVP_MD *type = mtype == 1 ? EVP_sha256() : mtype == 2 ? EVP_sha512() : NULL;
	bool ok = type && EVP_Digest(der, (size_t)n, md, &md_len, type, NULL) && size > md_len * 2;
	OPENSSL_free(der);
	for (unsigned int i = 0; ok && i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return ok;
}

bool local_facts_load(struct local_facts *f, struct strbuf *why)
{
	memset(f, 0, sizeof *f);
	strlist_init(&f->domains);
	strlist_init(&f->addresses);
	sb_init(&f->cert_why);
	char *argv[] = {"postconf", "-h", "myhostname", "virtual_mailbox_domains", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, 1 << 20, now_ms() + POSTCONF_TIMEOUT_MS);
	struct strlist lines;
	strlist_init(&lines);
	for (const char *p = out.buf; *p;) {
		size_t n = strcspn(p, "\n");
		strlist_add(&lines, p, n);
		p += n + (p[n] == '\n');
	}
	sb_free(&out);
	if (rc != 0 || lines.len != 2 || !*lines.item[0]) {
		sb_adds(why, "postconf did not give myhostname and virtual_mailbox_domains");
		strlist_free(&lines);
		return false;
	}
	f->hostname = strdup(lines.item[0]);
	if (!f->hostname)
		fatal(EXIT_SYSTEM, "out of memory");
	lower(f->hostname);
	split_words(lines.item[1], &f->domains);
	strlist_free(&lines);
	for (size_t i = 0; i < f->domains.len; i++)
		lower(f->domains.item[i]);
	const char *given = var_env(V_DOCTOR_PUBLIC_ADDRESSES);
	if (given && *given) {
		split_words(given, &f->addresses);
		f->addresses_given = true;
	} else if (!local_interface_addresses(&f->addresses)) {
		sb_adds(why, "cannot list the interface addresses");
		return false;
	}
	f->cert = smtp_served_certificate(f->hostname, CERT_TIMEOUT_MS, &f->cert_why);
	if (f->cert && !tlsa_digest(f->cert, 1, 1, f->spki_sha256, sizeof f->spki_sha256))
		f->spki_sha256[0] = '\0';
	return true;
}

void local_facts_free(struct local_facts *f)
{
	free(f->hostname);
	strlist_free(&f->domains);
	strlist_free(&f->addresses);
	X509_free(f->cert);
	sb_free(&f->cert_why);
}

bool local_dkim_key(const char *domain, struct strbuf *selector, struct strbuf *pem)
{
	/* dkim_install names keys DOMAIN.SELECTOR.privkey.pem; selectors have
	 * no dots (check_dkim_selector), so the first match is the key. */
	struct strbuf pattern;
	sb_init(&pattern);
	sb_addf(&pattern, DKIM_DIR "/%s.*.privkey.pem", domain);
	glob_t g;
	bool found = false;
	if (glob(pattern.buf, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && !found; i++) {
			const char *sel = g.gl_pathv[i] + pattern.len - strlen("*.privkey.pem");
			size_t sel_len = strlen(sel) - strlen(".privkey.pem");
			if (memchr(sel, '.', sel_len))
				continue;
			sb_reset(pem);
			if (file_read(g.gl_pathv[i], pem, 1 << 16) < 0)
				continue;
			sb_reset(selector);
			sb_add(selector, sel, sel_len);
			found = true;
		}
		globfree(&g);
	}
	sb_free(&pattern);
	return found;
}

bool check_ip_addresses(const char *value, struct strbuf *why)
{
	struct strlist l;
	strlist_init(&l);
	split_words(value, &l);
	bool ok = true;
	for (size_t i = 0; i < l.len && ok; i++) {
		unsigned char b[16];
		ok = inet_pton(AF_INET, l.item[i], b) == 1 || inet_pton(AF_INET6, l.item[i], b) == 1;
	}
	strlist_free(&l);
	if (!ok)
		sb_adds(why, "space-separated IPv4 or IPv6 addresses, such as 192.0.2.25 2001:db8::25");
	return ok;
}

bool check_ipv4_address(const char *value, struct strbuf *why)
{
	struct in_addr a;
	bool ok = inet_pton(AF_INET, value, &a) == 1;
	if (!ok)
		sb_adds(why, "an IPv4 address, such as 192.0.2.53");
	return ok;
}

bool check_dnsbl_zones(const char *value, struct strbuf *why)
{
	struct strlist l;
	strlist_init(&l);
	struct strbuf ignore;
	sb_init(&ignore);
	bool ok = !*value || parse_domains(value, &l, &ignore);
	strlist_free(&l);
	sb_free(&ignore);
	if (!ok)
		sb_adds(why, "space-separated DNS list zones (domain names), such as zen.spamhaus.org bl.spamcop.net");
	return ok;
}
