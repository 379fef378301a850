/* The checks of our own port 25 in `mtactl doctor`: the served
 * certificate (dates, names, trust), and whether a client from outside
 * can relay through us. The relay attempts come from one of the
 * container's interface addresses, so Postfix sees what an outside client
 * would (loopback is in mynetworks by default, and trusted); nothing is
 * ever sent: no DATA, RSET after the recipients. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "common/common.h"
#include "deliverability/smtp.h"
#include "doctor/doctor.h"

#define RELAY_TIMEOUT_MS 12000 /* with the certificate (6 s) and DNS (a few s): under 30 s in all */
#define CERT_WARN_DAYS 14

/* Trusted by the system's CA store (what MTA-STS senders require)? */
static bool chain_trusted(X509 *cert, struct strbuf *why)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = store && ctx && X509_STORE_set_default_paths(store) &&
		  X509_STORE_CTX_init(ctx, store, cert, NULL) && X509_verify_cert(ctx) == 1;
	if (!ok && ctx)
		sb_adds(why, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

void doctor_certificate(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	const char *fix_new = "install a current certificate for the MX name (SMTPD_TLS_CERT_FILE or "
			      "ACME_FILE; see TLS and ACME)";
	if (!f->cert) {
		report_add(&st->report, VERDICT_FAIL, "tls-cert", f->hostname, "enable TLS (SMTPD_USE_TLS=yes or "
			   "a certificate)", "port 25 offers no certificate: %s", f->cert_why.buf);
		return;
	}
	int days = 0, secs = 0;
	const ASN1_TIME *not_after = X509_get0_notAfter(f->cert);
	bool dated = ASN1_TIME_diff(&days, &secs, NULL, not_after);
	char ends[64] = "?";
	BIO *b = BIO_new(BIO_s_mem());
	if (b && ASN1_TIME_print(b, not_after)) {
		int n = BIO_read(b, ends, sizeof ends - 1);
		ends[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	const struct strlist *names = &st->mx_names;
	struct strbuf uncovered, why;
	sb_init(&uncovered);
	sb_init(&why);
	for (size_t i = 0; i < names->len; i++)
		if (X509_check_host(f->cert, names->item[i], 0, 0, NULL) != 1)
			sb_addf(&uncovered, "%s%s", uncovered.len ? ", " : "", names->item[i]);
	if (!dated || days < 0 || (days == 0 && secs < 0))
		report_add(&st->report, VERDICT_FAIL, "tls-cert", f->hostname, fix_new,
			   "the served certificate expired (%s)", ends);
	else if (X509_cmp_current_time(X509_get0_notBefore(f->cert)) > 0)
		report_add(&st->report, VERDICT_FAIL, "tls-cert", f->hostname, fix_new,
			   "the served certificate is not valid yet");
	else if (uncovered.len)
		report_add(&st->report, VERDICT_FAIL, "tls-cert", f->hostname, fix_new,
			   "the served certificate does not name %s", uncovered.buf);
	else if (days < CERT_WARN_DAYS)
		report_add(&st->report, VERDICT_WARN, "tls-cert", f->hostname, "renew it now (ACME renews "
			   "30 days ahead when it runs)", "the served certificate expires in %d days (%s)", days, ends);
	else if (!chain_trusted(f->cert, &why) && !st->tlsa_match)
		report_add(&st->report, VERDICT_WARN, "tls-cert", f->hostname, "use a certificate of a public "
			   "CA (ACME), or publish a TLSA record of this one in a signed zone",
			   "valid until %s, but not trusted (%s): MTA-STS senders will not deliver", ends, why.buf);
	else
		report_add(&st->report, VERDICT_OK, "tls-cert", f->hostname, "", "valid until %s, names %s%s", ends,
			   f->hostname, why.len ? ", vouched for by its TLSA record" : "");
	sb_free(&uncovered);
	sb_free(&why);
}

/* The classic tricks (RFC 2505, relay-test suites): a foreign recipient,
 * and addresses at our domain that route elsewhere. */
static void relay_recipients(const char *d, struct strlist *out)
{
	const char *x = "relay-test.invalid";
	struct strbuf r;
	sb_init(&r);
	for (int i = 0; i < 8; i++) {
		sb_reset(&r);
		switch (i) {
		case 0: sb_addf(&r, "<doctor@%s>", x); break;             /* foreign -> foreign */
		case 1: sb_addf(&r, "<doctor%%%s@%s>", x, d); break;      /* percent hack */
		case 2: sb_addf(&r, "<@%s:doctor@%s>", d, x); break;      /* source route */
		case 3: sb_addf(&r, "<%s!doctor@%s>", x, d); break;       /* bang path */
		case 4: sb_addf(&r, "<\"doctor@%s\">", x); break;         /* quoted @, no domain */
		case 5: sb_addf(&r, "<\"doctor@%s\"@%s>", x, d); break;   /* quoted @ at our domain */
		case 6: sb_addf(&r, "<doctor@%s@%s>", x, d); break;       /* two @ */
		default: sb_addf(&r, "<doctor@%s.>", x); break;           /* trailing dot */
		}
		strlist_add(out, r.buf, r.len);
	}
	sb_free(&r);
}

void doctor_open_relay(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	struct strlist ifaddrs;
	strlist_init(&ifaddrs);
	const char *src = NULL;
	if (local_interface_addresses(&ifaddrs))
		for (size_t i = 0; i < ifaddrs.len && !src; i++)
			if (!strchr(ifaddrs.item[i], ':'))
				src = ifaddrs.item[i];
	for (size_t i = 0; i < ifaddrs.len && !src; i++)
		src = ifaddrs.item[i];
	if (!src) {
		report_add(&st->report, VERDICT_SKIP, "relay", "", "", "not checked: no interface address but "
			   "loopback to come from (loopback is trusted)");
		strlist_free(&ifaddrs);
		return;
	}
	struct smtp_session s;
	struct strbuf why, text, accepted, line;
	sb_init(&why);
	sb_init(&text);
	sb_init(&accepted);
	sb_init(&line);
	struct strlist rcpts;
	strlist_init(&rcpts);
	relay_recipients(f->domains.len ? f->domains.item[0] : f->hostname, &rcpts);
	int tried = 0, refused = 0, unsure = 0;
	if (smtp_open(&s, src, 25, src, RELAY_TIMEOUT_MS, &why) &&
	    smtp_command(&s, "EHLO relay-test.invalid", &text, &why) == 250 &&
	    smtp_command(&s, "MAIL FROM:<doctor@relay-test.invalid>", &text, &why) / 100 == 2) {
		for (size_t i = 0; i < rcpts.len; i++) {
			sb_reset(&line);
			sb_addf(&line, "RCPT TO:%s", rcpts.item[i]);
			int code = smtp_command(&s, line.buf, &text, &why);
			if (code < 0)
				break;
			tried++;
			if (code / 100 == 2)
				sb_addf(&accepted, "%s%s", accepted.len ? ", " : "", rcpts.item[i]);
			else if (code / 100 == 5)
				refused++;
			else
				unsure++;
		}
		(void)smtp_command(&s, "RSET", NULL, &why);
	}
	smtp_close(&s);
	if (accepted.len)
		report_add(&st->report, VERDICT_FAIL, "relay", src, "trust only the hosts that must send without "
			   "a password (MYNETWORKS: single addresses, never a public range); everyone else "
			   "authenticates on 587", "OPEN RELAY: a client at %s may send to %s", src, accepted.buf);
	else if (tried == (int)rcpts.len && refused == tried)
		report_add(&st->report, VERDICT_OK, "relay", src, "", "all %d relay attempts from %s were refused",
			   tried, src);
	else
		report_add(&st->report, VERDICT_WARN, "relay", src, "look at `postconf smtpd_relay_restrictions` "
			   "and the log", "inconclusive: %d of %zu attempts refused, %d deferred%s%s", refused,
			   rcpts.len, unsure, why.len ? "; " : "", why.buf);
	strlist_free(&rcpts);
	strlist_free(&ifaddrs);
	sb_free(&why);
	sb_free(&text);
	sb_free(&accepted);
	sb_free(&line);
}
