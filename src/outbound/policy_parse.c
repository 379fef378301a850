/* The pure parts of `mtactl tls-policy` (policy.c): Postfix's socketmap
 * netstrings and the DNS answers that say whether a domain has DANE. All
 * of it reads outside input (Postfix's requests, resolver answers); see
 * tests/fuzz/fuzz_tls_policy.c. */
#include "outbound/outbound.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "deliverability/resolve.h"

/* socketmap_table(5): netstrings, "LEN:DATA," (djb), LEN in decimal. */
ssize_t netstring_decode(const char *buf, size_t len, const char **data, size_t *dlen)
{
	size_t n = 0, i = 0;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (i >= 6)
			return -1; /* longer than Postfix's 100000-byte maximum */
		n = n * 10 + (size_t)(buf[i] - '0');
	}
	if (i == len)
		return len > 6 ? -1 : 0;
	if (i == 0 || buf[i] != ':' || n > POLICY_MAX_NETSTRING)
		return -1;
	if (len - i - 1 < n + 1)
		return 0;
	if (buf[i + 1 + n] != ',')
		return -1;
	*data = buf + i + 1;
	*dlen = n;
	return (ssize_t)(i + n + 2);
}

void netstring_encode(struct strbuf *out, const char *data, size_t len)
{
	sb_addf(out, "%zu:", len);
	sb_add(out, data, len);
	sb_addc(out, ',');
}

/* A request is "NAME KEY"; the key is what Postfix looks up (a domain, a
 * [host] or a .parent). Returns false when there is no key. */
bool policy_request_key(const char *data, size_t len, char *key, size_t size)
{
	const char *sp = memchr(data, ' ', len);
	if (!sp || sp == data)
		return false;
	size_t klen = len - (size_t)(sp + 1 - data);
	if (klen == 0 || klen >= size || memchr(sp + 1, '\0', klen))
		return false;
	memcpy(key, sp + 1, klen);
	key[klen] = '\0';
	return true;
}

/* The records of type in a validated NOERROR answer, read by the one DNS
 * answer parser (deliverability/resolve.c). a is always initialized. */
static bool secure_records(const unsigned char *msg, size_t len, int type, struct dns_answer *a)
{
	ns_msg h;
	strlist_init(&a->rr);
	return len <= NS_MAXMSG && ns_initparse(msg, (int)len, &h) == 0 &&
	       ns_msg_getflag(h, ns_f_rcode) == ns_r_noerror &&
	       dns_parse_answer(msg, len, type, a) && a->secure;
}

int dane_mx_hosts(const unsigned char *msg, size_t len, char hosts[][NS_MAXDNAME], int max)
{
	struct dns_answer a;
	int n = -1; /* RFC 7672 2.2.1: DANE only with a validated MX RRset */
	if (secure_records(msg, len, ns_t_mx, &a)) {
		n = 0;
		for (size_t i = 0; i < a.rr.len && n < max; i++) {
			const char *host = strchr(a.rr.item[i], ' ') + 1; /* "preference host" */
			if (host[0] && strcmp(host, ".") != 0) /* "." is a null MX (RFC 7505) */
				snprintf(hosts[n++], NS_MAXDNAME, "%s", host);
		}
	}
	dns_answer_free(&a);
	return n;
}

bool dane_tlsa_secure(const unsigned char *msg, size_t len)
{
	struct dns_answer a;
	bool found = secure_records(msg, len, 52 /* TLSA, RFC 6698 */, &a) && a.rr.len > 0;
	dns_answer_free(&a);
	return found;
}
