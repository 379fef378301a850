/* Bounded DNS lookups (see resolve.h). glibc's resolver reads its
 * timeouts from resolv.conf and RES_OPTIONS; they are set here per query
 * so that a container whose resolv.conf says 5 s times 2 attempts does
 * not make `doctor` wait minutes. Nothing here is fatal but memory. */
#include "deliverability/resolve.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/proc.h"

static bool resolver_down;
static struct sockaddr_in resolver_given; /* DOCTOR_RESOLVER; sin_family 0: resolv.conf's */

bool dns_use_resolver(const char *addr)
{
	memset(&resolver_given, 0, sizeof resolver_given);
	if (!addr || !*addr)
		return true;
	if (inet_pton(AF_INET, addr, &resolver_given.sin_addr) != 1)
		return false;
	resolver_given.sin_family = AF_INET;
	resolver_given.sin_port = htons(NS_DEFAULTPORT);
	return true;
}

void dns_answer_free(struct dns_answer *a)
{
	strlist_free(&a->rr);
}

bool dns_is_down(void)
{
	return resolver_down;
}

const char *dns_status_text(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "no record";
	case DNS_NXDOMAIN:
		return "no such name";
	case DNS_TEMPFAIL:
		break;
	}
	return "DNS timeout or server failure";
}

static bool rr_text(const ns_msg *msg, const ns_rr *rr, struct strbuf *out)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	size_t len = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	char addr[INET6_ADDRSTRLEN];
	switch (ns_rr_type(*rr)) {
	case ns_t_a:
	case ns_t_aaaa:
		if (len != (ns_rr_type(*rr) == ns_t_a ? 4u : 16u) ||
		    !inet_ntop(ns_rr_type(*rr) == ns_t_a ? AF_INET : AF_INET6, rd, addr, sizeof addr))
			return false;
		sb_adds(out, addr);
		return true;
	case ns_t_mx:
		if (len < 3 || ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2, name,
						  sizeof name) < 0)
			return false;
		sb_addf(out, "%u %s", (unsigned)ns_get16(rd), name);
		return true;
	case ns_t_ptr:
	case ns_t_cname:
		if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd, name, sizeof name) < 0)
			return false;
		sb_adds(out, name);
		return true;
	case ns_t_txt:
		for (size_t i = 0; i < len;) {
			size_t n = rd[i++];
			if (n > len - i)
				return false;
			sb_add(out, (const char *)rd + i, n);
			i += n;
		}
		return true;
	case ns_t_tlsa:
		if (len < 4)
			return false;
		sb_addf(out, "%u %u %u ", rd[0], rd[1], rd[2]);
		for (size_t i = 3; i < len; i++)
			sb_addf(out, "%02x", rd[i]);
		return true;
	default:
		return false;
	}
}

bool dns_parse_answer(const unsigned char *msg, size_t len, int type, struct dns_answer *out)
{
	ns_msg h;
	if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0)
		return false;
	out->secure = ns_msg_getflag(h, ns_f_ad) != 0;
	struct strbuf text;
	sb_init(&text);
	bool ok = true;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0) {
			ok = false;
			break;
		}
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
			continue;
		sb_reset(&text);
		if (!rr_text(&h, &rr, &text)) {
			ok = false;
			break;
		}
		/* MX and PTR names compare case-insensitively; keep them lower. */
		if (type == ns_t_mx || type == ns_t_ptr || type == ns_t_cname)
			for (char *c = text.buf; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		strlist_add(&out->rr, text.buf, text.len);
	}
	sb_free(&text);
	out->status = ok ? (out->rr.len ? DNS_OK : DNS_NODATA) : DNS_TEMPFAIL;
	return ok;
}

bool dns_resolver_is_dockers(void)
{
	if (resolver_given.sin_family)
		return false;
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0)
		return false;
	bool docker = st.nscount > 0;
	for (int i = 0; i < st.nscount && i < MAXNS; i++)
		docker = docker && st.nsaddr_list[i].sin_family == AF_INET &&
			 st.nsaddr_list[i].sin_addr.s_addr == htonl(0x7f00000b); /* 127.0.0.11 */
	res_nclose(&st);
	return docker;
}

void dns_lookup(const char *name, int type, struct dns_answer *out)
{
	out->status = DNS_TEMPFAIL;
	out->secure = false;
	strlist_init(&out->rr);
	if (resolver_down)
		return;
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0)
		return;
	if (resolver_given.sin_family) {
		st.nsaddr_list[0] = resolver_given;
		st.nscount = 1;
	}
	st.retrans = DNS_TIMEOUT_S;
	st.retry = 1;
	/* Keep the resolver's AD bit (glibc clears it unless told to trust
	 * the server, resolv.conf(5) trust-ad). */
	st.options |= RES_TRUSTAD;
	unsigned char buf[65535];
	int64_t start = now_ms();
	int n = res_nquery(&st, name, ns_c_in, type, buf, sizeof buf);
	if (n < 0) {
		if (st.res_h_errno == HOST_NOT_FOUND)
			out->status = DNS_NXDOMAIN;
		else if (st.res_h_errno == NO_DATA)
			out->status = DNS_NODATA;
		else if (now_ms() - start >= DNS_TIMEOUT_S * 1000 - 100)
			resolver_down = true; /* no answer at all, not a SERVFAIL */
	} else if (!dns_parse_answer(buf, (size_t)n, type, out)) {
		out->status = DNS_TEMPFAIL;
	}
	res_nclose(&st);
}

bool dns_reverse_name(const char *addr, const char *suffix, char *out, size_t size)
{
	unsigned char b[16];
	struct strbuf s;
	sb_init(&s);
	if (inet_pton(AF_INET, addr, b) == 1) {
		sb_addf(&s, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], suffix);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		for (int i = 15; i >= 0; i--)
			sb_addf(&s, "%x.%x.", b[i] & 0xf, b[i] >> 4);
		sb_adds(&s, suffix);
	} else {
		sb_free(&s);
		return false;
	}
	bool ok = s.len < size && s.len <= DOMAIN_MAX;
	if (ok)
		memcpy(out, s.buf, s.len + 1);
	sb_free(&s);
	return ok;
}
