/* `mtactl doctor [--json]`: checks from inside the container, against
 * live DNS and our own port 25, what operators get wrong (MX, reverse
 * DNS, SPF, DKIM, DMARC, certificate, TLSA, open relay, DNS blocklists).
 * One finding per check; exit 0 all ok, 1 warnings, 2 failures. */
#ifndef MTACTL_DOCTOR_DOCTOR_H
#define MTACTL_DOCTOR_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"
#include "deliverability/local.h"

enum verdict { VERDICT_OK, VERDICT_SKIP, VERDICT_WARN, VERDICT_FAIL };

struct finding {
	enum verdict verdict;
	char *check;   /* "spf" */
	char *subject; /* "example.org", an address, "" */
	char *found;   /* what was found, one line */
	char *fix;     /* one sentence, "" when nothing is to be done */
};

struct report {
	struct finding *item;
	size_t len, cap;
};

/* What the checks learn that later checks use. */
struct doctor_state {
	struct local_facts facts;
	struct strlist mx_names;     /* myhostname, and the MX hosts of our domains that resolve to us */
	struct strlist spf_pass;     /* domains whose SPF authorizes every address */
	struct strlist dkim_match;   /* domains whose DKIM record is the key on disk */
	bool tlsa_match;             /* a published TLSA record matches the served certificate */
	struct report report;
};

void report_add(struct report *r, enum verdict v, const char *check, const char *subject, const char *fix,
		const char *fmt, ...) PRINTF_LIKE(6, 7);
const char *verdict_name(enum verdict v);

/* The DNS checks (checks_dns.c) and those of our own SMTP service
 * (checks_smtp.c), in the order they run. */
void doctor_mx(struct doctor_state *st);
void doctor_fcrdns(struct doctor_state *st);
void doctor_spf(struct doctor_state *st);
void doctor_dkim(struct doctor_state *st);
void doctor_dmarc(struct doctor_state *st);
void doctor_tlsa(struct doctor_state *st);
void doctor_dnsbl(struct doctor_state *st);
void doctor_certificate(struct doctor_state *st);
void doctor_open_relay(struct doctor_state *st);

int doctor_main(int argc, char **argv);

#endif
