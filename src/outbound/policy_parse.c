/* The pure parts of `mtactl tls-policy` (policy.c): Postfix's socketmap
 * netstrings and the DNS answers that say whether a domain has DANE. All
 * of it reads outside input (Postfix's requests, resolver answers); see
 * tests/fuzz/fuzz_tls_policy.c. */
#include "outbound/outbound.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

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

static bool secure_answer(const unsigned char *msg, size_t len, ns_msg *h)
{
	return len <= NS_MAXMSG && ns_initparse(msg, (int)len, h) == 0 &&
	       ns_msg_getflag(*h, ns_f_rcode) == ns_r_noerror && ns_msg_getflag(*h, ns_f_ad);
}

int dane_mx_hosts(const unsigned char *msg, size_t len, char hosts[][NS_MAXDNAME], int max)
{
	ns_msg h;
	if (!secure_answer(msg, len, &h))
		return -1; /* RFC 7672 2.2.1: DANE only with a validated MX RRset */
	int n = 0;
	for (int i = 0; i < ns_msg_count(h, ns_s_an) && n < max; i++) {
		ns_rr rr;
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), ns_rr_rdata(rr) + 2, hosts[n],
				       NS_MAXDNAME) < 0)
			return -1;
		if (hosts[n][0] && strcmp(hosts[n], ".") != 0) /* "." is a null MX (RFC 7505) */
			n++;
	}
	return n;
}

bool dane_tlsa_secure(const unsigned char *msg, size_t len)
{
	ns_msg h;
	if (!secure_answer(msg, len, &h))
		return false;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return false;
		if (ns_rr_type(rr) == 52 /* TLSA, RFC 6698 */ && ns_rr_rdlen(rr) > 3)
			return true;
	}
	return false;
}
