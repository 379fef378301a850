/* Does the resolver validate DNSSEC? The default outbound TLS level is
 * dane only when it does (RFC 7672 section 2.1.1: TLSA records count only
 * when validated), so at every start the resolver is asked for the root's
 * DNSKEY with the DO bit, and the AD bit of the answer decides. glibc
 * passes AD on only with RES_TRUSTAD (trust-ad). One question, 2 s. */
#include "outbound/outbound.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>


enum dnssec_verdict dnssec_answer_verdict(const unsigned char *msg, size_t len)
{
	ns_msg h;
	if (len > NS_MAXMSG || ns_initparse(msg, (int)len, &h) < 0)
		return DNSSEC_BAD_ANSWER;
	if (ns_msg_getflag(h, ns_f_rcode) != ns_r_noerror)
		return DNSSEC_ERROR_RCODE;
	bool dnskey = false;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return DNSSEC_BAD_ANSWER;
		const char *name = ns_rr_name(rr);
		bool root = !name[0] || (name[0] == '.' && !name[1]);
		if (ns_rr_type(rr) == ns_t_dnskey && ns_rr_class(rr) == ns_c_in && root)
			dnskey = true;
	}
	if (!dnskey)
		return DNSSEC_BAD_ANSWER;
	return ns_msg_getflag(h, ns_f_ad) ? DNSSEC_VALIDATED : DNSSEC_NOT_VALIDATED;
}

const char *dnssec_verdict_reason(enum dnssec_verdict v)
{
	switch (v) {
	case DNSSEC_VALIDATED:
		return "the resolver validates DNSSEC (\". DNSKEY\" came with the AD bit)";
	case DNSSEC_NOT_VALIDATED:
		return "the resolver does not validate DNSSEC (\". DNSKEY\" came without the AD bit)";
	case DNSSEC_NO_ANSWER:
		return "the resolver gave no answer to \". DNSKEY\" within 2 s";
	case DNSSEC_ERROR_RCODE:
		return "the resolver does not validate DNSSEC (it answered \". DNSKEY\" with an error)";
	case DNSSEC_BAD_ANSWER:
		break;
	}
	return "the resolver's answer to \". DNSKEY\" held no root DNSKEY";
}

enum dnssec_verdict dnssec_probe(void)
{
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0)
		return DNSSEC_NO_ANSWER;
	/* One question to the first resolver, 2 s: glibc would otherwise try
	 * each nameserver in turn with growing time-outs. */
	st.options |= RES_USE_DNSSEC | RES_USE_EDNS0 | RES_TRUSTAD;
	st.nscount = 1;
	st.retrans = 2;
	st.retry = 1;
	unsigned char answer[NS_MAXMSG] = {0};
	int n = res_nquery(&st, ".", ns_c_in, ns_t_dnskey, answer, sizeof answer);
	res_nclose(&st);
	if (n < 0) {
		/* res_nquery fails on an error rcode or an empty answer too, and
		 * leaves the response in the buffer: a set QR bit tells that an
		 * answer came (and what it said) from a time-out. */
		const HEADER *h = (const HEADER *)answer;
		if (!h->qr)
			return DNSSEC_NO_ANSWER;
		return h->rcode != ns_r_noerror ? DNSSEC_ERROR_RCODE : DNSSEC_BAD_ANSWER;
	}
	return dnssec_answer_verdict(answer, (size_t)n > sizeof answer ? sizeof answer : (size_t)n);
}
