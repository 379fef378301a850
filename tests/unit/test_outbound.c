/* Outbound TLS: reading the DNSSEC probe's answer, the validators of the
 * new variables, and the main.cf parameters and service line they give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/params.h"
#include "config/settings.h"
#include "fake_env.h"
#include "outbound/outbound.h"
#include "tls/tls.h"

/* A response to ". IN DNSKEY": header flags, rcode, and n answer records
 * of type type (each a root DNSKEY-shaped RR with a 4-byte rdata). */
static size_t answer(unsigned char *buf, size_t size, bool ad, int rcode, int n, int type)
{
	unsigned char q[NS_PACKETSZ];
	int len = res_mkquery(ns_o_query, ".", ns_c_in, ns_t_dnskey, NULL, 0, NULL, q, sizeof q);
	assert_true(len > 0 && (size_t)len <= size);
	memcpy(buf, q, (size_t)len);
	HEADER *h = (HEADER *)buf;
	h->qr = 1;
	h->ra = 1;
	h->ad = ad;
	h->rcode = rcode & 0xf;
	h->ancount = htons((uint16_t)n);
	size_t at = (size_t)len;
	for (int i = 0; i < n; i++) {
		unsigned char rr[] = {0, (unsigned char)(type >> 8), (unsigned char)type, 0, 1, 0, 0, 0, 60, 0, 4,
				      1, 1, 3, 8};
		assert_true(at + sizeof rr <= size);
		memcpy(buf + at, rr, sizeof rr);
		at += sizeof rr;
	}
	return at;
}

static void test_verdicts(void **state)
{
	(void)state;
	unsigned char buf[512];
	size_t n = answer(buf, sizeof buf, true, ns_r_noerror, 2, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_VALIDATED);
	n = answer(buf, sizeof buf, false, ns_r_noerror, 1, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_NOT_VALIDATED);
	n = answer(buf, sizeof buf, true, ns_r_servfail, 0, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_ERROR_RCODE);
	n = answer(buf, sizeof buf, false, ns_r_refused, 0, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_ERROR_RCODE);
	/* AD on an answer without the key (a resolver that sets AD blindly on
	 * an empty answer is not trusted with DANE). */
	n = answer(buf, sizeof buf, true, ns_r_noerror, 0, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_BAD_ANSWER);
	n = answer(buf, sizeof buf, true, ns_r_noerror, 1, ns_t_a);
	assert_int_equal(dnssec_answer_verdict(buf, n), DNSSEC_BAD_ANSWER);
	/* Cut short: the answer count promises more than there is. */
	n = answer(buf, sizeof buf, true, ns_r_noerror, 2, ns_t_dnskey);
	assert_int_equal(dnssec_answer_verdict(buf, n - 3), DNSSEC_BAD_ANSWER);
	assert_int_equal(dnssec_answer_verdict(buf, 5), DNSSEC_BAD_ANSWER);
	assert_int_equal(dnssec_answer_verdict(buf, 0), DNSSEC_BAD_ANSWER);
	for (int v = DNSSEC_VALIDATED; v <= DNSSEC_BAD_ANSWER; v++)
		assert_non_null(strstr(dnssec_verdict_reason((enum dnssec_verdict)v), "DNSKEY"));
}

static void test_validators(void **state)
{
	(void)state;
	struct strbuf why;
	sb_init(&why);
	assert_true(check_dns_resolver("docker", &why));
	assert_true(check_dns_resolver("unbound", &why));
	assert_false(check_dns_resolver("bind", &why));
	assert_non_null(strstr(why.buf, "docker"));
	sb_reset(&why);
	assert_false(check_dns_resolver("", &why));

	char dir[] = "/tmp/test-outbound-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cert[128], key[128], text[128];
	snprintf(cert, sizeof cert, "%s/ca.pem", dir);
	snprintf(key, sizeof key, "%s/ca.key", dir);
	snprintf(text, sizeof text, "%s/notes.txt", dir);
	assert_int_equal(tls_make_self_signed(cert, key, "ca.test", 1), 0);
	FILE *f = fopen(text, "w");
	assert_non_null(f);
	fputs("not a certificate\n", f);
	fclose(f);
	sb_reset(&why);
	assert_true(check_ca_file(cert, &why));
	assert_false(check_ca_file(key, &why)); /* a key is not a certificate */
	assert_non_null(strstr(why.buf, "PEM"));
	assert_false(check_ca_file(text, &why));
	assert_false(check_ca_file("/nonexistent/ca.pem", &why));
	assert_false(check_ca_file("ca.pem", &why));
	unlink(cert);
	unlink(key);
	unlink(text);
	rmdir(dir);
	sb_free(&why);
}

static void load(struct settings *s, struct fake_env *env, enum image stage)
{
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	bool ok = settings_load(s, fake_env_get, env, "mx1.example.com", stage, &e, &w);
	if (!ok)
		fail_msg("%s", e.buf);
	sb_free(&e);
	sb_free(&w);
}

static void test_params(void **state)
{
	(void)state;
	struct fake_env none = {{{NULL, NULL}}};
	struct settings s;
	struct params p = {0};
	load(&s, &none, IMAGE_MINI);
	outbound_params(&s, IMAGE_MINI, &p);
	assert_string_equal(params_get(&p, "smtp_dns_support_level"), "dnssec");
	assert_string_equal(params_get(&p, "smtp_tls_security_level"), "$" OUTBOUND_AUTO_PARAM);
	assert_string_equal(params_get(&p, OUTBOUND_AUTO_PARAM), "may");
	assert_null(params_get(&p, "smtp_tls_policy_maps")); /* MTA-STS is the full image's */
	params_free(&p);
	settings_free(&s);

	memset(&p, 0, sizeof p);
	load(&s, &none, IMAGE_FULL);
	outbound_params(&s, IMAGE_FULL, &p);
	assert_string_equal(params_get(&p, "smtp_tls_policy_maps"), "socketmap:inet:127.0.0.1:8462:postfix");
	struct strbuf svc;
	sb_init(&svc);
	outbound_services(&s, &svc);
	assert_non_null(strstr(svc.buf, "mta-sts - /usr/bin/env HOME=/var/lib/mta-sts SSL_CERT_FILE="));
	assert_non_null(strstr(svc.buf, "mta-sts-daemon -c " MTA_STS_CONF " -v error\n"));
	assert_non_null(strstr(svc.buf, "/usr/local/bin/mtactl tls-policy\n"));
	sb_free(&svc);
	params_free(&p);
	settings_free(&s);

	struct fake_env fixed = {{{"SMTP_TLS_SECURITY_LEVEL", "verify"}, {"MTA_STS", "no"}}};
	memset(&p, 0, sizeof p);
	load(&s, &fixed, IMAGE_FULL);
	outbound_params(&s, IMAGE_FULL, &p);
	assert_null(params_get(&p, "smtp_tls_security_level")); /* the table's VAR_POSTCONF sets it */
	assert_null(params_get(&p, OUTBOUND_AUTO_PARAM));
	assert_null(params_get(&p, "smtp_tls_policy_maps"));
	sb_init(&svc);
	outbound_services(&s, &svc);
	assert_int_equal(svc.len, 0);
	sb_free(&svc);
	params_free(&p);
	settings_free(&s);
}

/* Bad input is refused with one line naming the variable. */
static void test_bad_input(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"MTA_STS", "sometimes"},
		{"DNS_RESOLVER", "bind9"},
		{"SMTP_TLS_CA_FILE", "/nonexistent/ca.pem"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fake_env env = {{{bad[i][0], bad[i][1]}}};
		struct settings s;
		struct strbuf e, w;
		sb_init(&e);
		sb_init(&w);
		assert_false(settings_load(&s, fake_env_get, &env, "mx1.example.com", IMAGE_FULL, &e, &w));
		assert_non_null(strstr(e.buf, bad[i][0]));
		assert_non_null(strstr(e.buf, bad[i][1]));
		size_t lines = 0;
		for (size_t c = 0; c < e.len; c++)
			lines += e.buf[c] == '\n';
		assert_int_equal(lines, 1);
		settings_free(&s);
		sb_free(&e);
		sb_free(&w);
	}
}

static void test_netstrings(void **state)
{
	(void)state;
	const char *data;
	size_t len;
	assert_int_equal(netstring_decode("12:postfix a.de,", 16, &data, &len), 16);
	assert_int_equal(len, 12);
	assert_memory_equal(data, "postfix a.de", 12);
	assert_int_equal(netstring_decode("0:,x", 4, &data, &len), 3);
	assert_int_equal(len, 0);
	/* incomplete: wait for more */
	assert_int_equal(netstring_decode("12:postfix", 10, &data, &len), 0);
	assert_int_equal(netstring_decode("12", 2, &data, &len), 0);
	assert_int_equal(netstring_decode("", 0, &data, &len), 0);
	/* malformed */
	assert_int_equal(netstring_decode("3:abcd", 6, &data, &len), -1);
	assert_int_equal(netstring_decode(":abc,", 5, &data, &len), -1);
	assert_int_equal(netstring_decode("x:abc,", 6, &data, &len), -1);
	assert_int_equal(netstring_decode("9999999:", 8, &data, &len), -1);
	assert_int_equal(netstring_decode("100001:", 7, &data, &len), -1);
	assert_int_equal(netstring_decode("1234567", 7, &data, &len), -1);
	struct strbuf sb;
	sb_init(&sb);
	netstring_encode(&sb, "OK dane", 7);
	assert_string_equal(sb.buf, "7:OK dane,");
	sb_free(&sb);

	char key[64];
	assert_true(policy_request_key("postfix example.org", 19, key, sizeof key));
	assert_string_equal(key, "example.org");
	assert_false(policy_request_key("postfix", 7, key, sizeof key));
	assert_false(policy_request_key("postfix ", 8, key, sizeof key));
	assert_false(policy_request_key(" example.org", 12, key, sizeof key));
	assert_false(policy_request_key("postfix a\0b", 11, key, sizeof key));
	assert_false(policy_request_key("postfix aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 72, key,
					sizeof key));
}

/* A response to "example.org MX" with the given MX hosts (uncompressed). */
static size_t mx_answer(unsigned char *buf, size_t size, bool ad, const char *const *hosts, int n)
{
	int len = res_mkquery(ns_o_query, "example.org", ns_c_in, ns_t_mx, NULL, 0, NULL, buf, (int)size);
	assert_true(len > 0);
	HEADER *h = (HEADER *)buf;
	h->qr = 1;
	h->ad = ad;
	h->ancount = htons((uint16_t)n);
	size_t at = (size_t)len;
	for (int i = 0; i < n; i++) {
		unsigned char name[NS_MAXCDNAME];
		int nlen = ns_name_compress(hosts[i], name, sizeof name, NULL, NULL);
		assert_true(nlen > 0);
		unsigned char rr[] = {0xc0, 12, 0, ns_t_mx, 0, 1, 0, 0, 0, 60, 0, (unsigned char)(nlen + 2), 0, 10};
		assert_true(at + sizeof rr + (size_t)nlen <= size);
		memcpy(buf + at, rr, sizeof rr);
		at += sizeof rr;
		memcpy(buf + at, name, (size_t)nlen);
		at += (size_t)nlen;
	}
	return at;
}

static void test_dane_answers(void **state)
{
	(void)state;
	unsigned char buf[1024];
	char hosts[4][1025];
	const char *const two[] = {"mx1.example.org", "mx2.example.org"};
	size_t n = mx_answer(buf, sizeof buf, true, two, 2);
	assert_int_equal(dane_mx_hosts(buf, n, hosts, 4), 2);
	assert_string_equal(hosts[0], "mx1.example.org");
	assert_string_equal(hosts[1], "mx2.example.org");
	assert_int_equal(dane_mx_hosts(buf, n, hosts, 1), 1);
	n = mx_answer(buf, sizeof buf, false, two, 2); /* not validated: no DANE */
	assert_int_equal(dane_mx_hosts(buf, n, hosts, 4), -1);
	const char *const null_mx[] = {"."};
	n = mx_answer(buf, sizeof buf, true, null_mx, 1);
	assert_int_equal(dane_mx_hosts(buf, n, hosts, 4), 0);
	n = mx_answer(buf, sizeof buf, true, two, 2);
	assert_int_equal(dane_mx_hosts(buf, n - 4, hosts, 4), -1); /* cut short */

	/* TLSA: the DNSKEY-shaped builder with type 52 and AD */
	n = answer(buf, sizeof buf, true, ns_r_noerror, 1, 52);
	assert_true(dane_tlsa_secure(buf, n));
	n = answer(buf, sizeof buf, false, ns_r_noerror, 1, 52);
	assert_false(dane_tlsa_secure(buf, n));
	n = answer(buf, sizeof buf, true, ns_r_noerror, 0, 52);
	assert_false(dane_tlsa_secure(buf, n));
	n = answer(buf, sizeof buf, true, ns_r_servfail, 1, 52);
	assert_false(dane_tlsa_secure(buf, n));
	assert_false(dane_tlsa_secure(buf, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_netstrings),
		cmocka_unit_test(test_dane_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
