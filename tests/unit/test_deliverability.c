/* The pure parts of `mtactl dns` and `mtactl doctor`: DNS answers as the
 * resolver returns them (hand-made messages, truncated and hostile ones),
 * TXT tag lists, zone-file strings, reverse names, the validators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/nameser.h>
#include <stdlib.h>
#include <string.h>

#include "deliverability/records.h"
#include "deliverability/resolve.h"
#include "deliverability/tags.h"
#include "deliverability/varchecks.h"

#define S(s) (s), strlen(s)

/* A response for example.org with one answer record of type and rdata. */
static size_t message(unsigned char *m, int type, const unsigned char *rd, size_t rdlen, bool ad)
{
	static const unsigned char head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
					     7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0};
	size_t n = sizeof head;
	memcpy(m, head, n);
	if (ad)
		m[3] |= 0x20;
	unsigned char q[] = {0, (unsigned char)type, 0, 1, 0xc0, 12, 0, (unsigned char)type, 0, 1,
			     0, 0, 0x0e, 0x10, 0, (unsigned char)rdlen};
	memcpy(m + n, q, sizeof q);
	n += sizeof q;
	memcpy(m + n, rd, rdlen);
	return n + rdlen;
}

static void test_answer_types(void **state)
{
	(void)state;
	unsigned char m[512];
	struct dns_answer a;

	static const unsigned char addr[] = {172, 18, 0, 5};
	strlist_init(&a.rr);
	assert_true(dns_parse_answer(m, message(m, ns_t_a, addr, 4, true), ns_t_a, &a));
	assert_int_equal(a.status, DNS_OK);
	assert_true(a.secure);
	assert_string_equal(a.rr.item[0], "172.18.0.5");
	dns_answer_free(&a);

	/* MX 10 MX.example.org, the name compressed against the question. */
	static const unsigned char mx[] = {0, 10, 2, 'M', 'X', 0xc0, 12};
	strlist_init(&a.rr);
	assert_true(dns_parse_answer(m, message(m, ns_t_mx, mx, sizeof mx, false), ns_t_mx, &a));
	assert_false(a.secure);
	assert_string_equal(a.rr.item[0], "10 mx.example.org");
	dns_answer_free(&a);

	/* TXT of two character-strings is one text (RFC 7208 3.3). */
	static const unsigned char txt[] = {6, 'v', '=', 's', 'p', 'f', '1', 7, ' ', 'm', 'x', ' ', '-', 'a', 'l'};
	unsigned char t[sizeof txt + 1];
	memcpy(t, txt, sizeof txt);
	t[sizeof txt] = 'l';
	t[7] = 8;
	strlist_init(&a.rr);
	assert_true(dns_parse_answer(m, message(m, ns_t_txt, t, sizeof t, false), ns_t_txt, &a));
	assert_string_equal(a.rr.item[0], "v=spf1 mx -all");
	dns_answer_free(&a);

	static const unsigned char tlsa[] = {3, 1, 1, 0xab, 0x12, 0x00};
	strlist_init(&a.rr);
	assert_true(dns_parse_answer(m, message(m, ns_t_tlsa, tlsa, sizeof tlsa, true), ns_t_tlsa, &a));
	assert_string_equal(a.rr.item[0], "3 1 1 ab1200");
	dns_answer_free(&a);

	/* Records of another type are not answers to this query. */
	strlist_init(&a.rr);
	assert_true(dns_parse_answer(m, message(m, ns_t_a, addr, 4, false), ns_t_txt, &a));
	assert_int_equal(a.status, DNS_NODATA);
	dns_answer_free(&a);
}

static void test_answer_broken(void **state)
{
	(void)state;
	unsigned char m[512];
	struct dns_answer a;
	/* A TXT string longer than the rdata. */
	static const unsigned char txt[] = {9, 'a', 'b'};
	strlist_init(&a.rr);
	assert_false(dns_parse_answer(m, message(m, ns_t_txt, txt, sizeof txt, false), ns_t_txt, &a));
	assert_int_equal(a.status, DNS_TEMPFAIL);
	dns_answer_free(&a);
	/* An A record of 3 bytes. */
	static const unsigned char addr[] = {1, 2, 3};
	strlist_init(&a.rr);
	assert_false(dns_parse_answer(m, message(m, ns_t_a, addr, 3, false), ns_t_a, &a));
	dns_answer_free(&a);
	/* A compression pointer that loops on itself. */
	static const unsigned char mx[] = {0, 10, 0xc0, 0};
	size_t n = message(m, ns_t_mx, mx, sizeof mx, false);
	m[n - 2] = (unsigned char)((n - 2) >> 8 | 0xc0);
	m[n - 1] = (unsigned char)(n - 2);
	strlist_init(&a.rr);
	assert_false(dns_parse_answer(m, n, ns_t_mx, &a));
	dns_answer_free(&a);
	/* Truncated anywhere: never read past the end. */
	static const unsigned char ok[] = {172, 18, 0, 5};
	size_t full = message(m, ns_t_a, ok, 4, false);
	for (size_t cut = 0; cut < full; cut++) {
		unsigned char *c = malloc(cut ? cut : 1);
		assert_non_null(c);
		memcpy(c, m, cut);
		strlist_init(&a.rr);
		assert_false(dns_parse_answer(c, cut, ns_t_a, &a));
		dns_answer_free(&a);
		free(c);
	}
}

static void test_tags(void **state)
{
	(void)state;
	struct tag_list t;
	assert_true(tag_list_parse("v=DKIM1; k=rsa; p=MIIB\r\n\tAQAB", &t));
	assert_int_equal(t.len, 3);
	assert_string_equal(tag_get(&t, "v"), "DKIM1");
	assert_string_equal(tag_get(&t, "p"), "MIIBAQAB");
	assert_null(tag_get(&t, "P"));
	tag_list_free(&t);
	assert_true(tag_list_parse(" v = DMARC1 ; p = reject ; ", &t));
	assert_string_equal(tag_get(&t, "p"), "reject");
	tag_list_free(&t);
	assert_true(tag_list_parse("", &t));
	assert_int_equal(t.len, 0);
	assert_true(tag_list_parse("p=", &t));
	assert_string_equal(tag_get(&t, "p"), "");
	tag_list_free(&t);
	assert_false(tag_list_parse("v=DMARC1; p=none; p=reject", &t)); /* twice */
	assert_int_equal(t.len, 0);
	assert_false(tag_list_parse("v=DMARC1; novalue", &t));
	assert_false(tag_list_parse("=x", &t));
	assert_false(tag_list_parse("v=1;;", &t));
	assert_false(tag_list_parse("bad-name=1", &t));
	char many[40 * 8];
	many[0] = '\0';
	for (int i = 0; i < 40; i++) {
		char one[16];
		snprintf(one, sizeof one, "t%d=1;", i);
		strncat(many, one, sizeof many - strlen(many) - 1);
	}
	assert_false(tag_list_parse(many, &t)); /* more than TAG_MAX */
}

static void test_zone_strings(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	txt_zone_strings("v=spf1 \"x\\ -all", &sb);
	assert_string_equal(sb.buf, "\"v=spf1 \\\"x\\\\ -all\"");
	sb_reset(&sb);
	char text[600];
	memset(text, 'a', 599);
	text[599] = '\0';
	txt_zone_strings(text, &sb);
	/* 255 + 255 + 89, each quoted, separated by one space. */
	assert_int_equal(sb.len, 599 + 3 * 2 + 2);
	assert_int_equal(sb.buf[256], '"');
	assert_int_equal(sb.buf[257], ' ');
	assert_int_equal(sb.buf[258], '"');
	sb_reset(&sb);
	txt_zone_strings("", &sb);
	assert_string_equal(sb.buf, "\"\"");
	sb_free(&sb);
}

static void test_reverse_names(void **state)
{
	(void)state;
	char out[300];
	assert_true(dns_reverse_name("172.18.0.5", "in-addr.arpa", out, sizeof out));
	assert_string_equal(out, "5.0.18.172.in-addr.arpa");
	assert_true(dns_reverse_name("192.0.2.1", "zen.spamhaus.org", out, sizeof out));
	assert_string_equal(out, "1.2.0.192.zen.spamhaus.org");
	assert_true(dns_reverse_name("2001:db8::1", "ip6.arpa", out, sizeof out));
	assert_string_equal(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_false(dns_reverse_name("172.18.0", "in-addr.arpa", out, sizeof out));
	assert_false(dns_reverse_name("example.org", "in-addr.arpa", out, sizeof out));
	assert_false(dns_reverse_name("1.2.3.4", "in-addr.arpa", out, 10)); /* too small */
}

static void test_validators(void **state)
{
	(void)state;
	struct strbuf why;
	sb_init(&why);
	assert_true(check_ip_addresses("192.0.2.25 2001:db8::25", &why));
	assert_false(check_ip_addresses("192.0.2.256", &why));
	assert_false(check_ip_addresses("mx.example.org", &why));
	assert_true(check_dnsbl_zones("zen.spamhaus.org bl.spamcop.net", &why));
	assert_true(check_dnsbl_zones("", &why));
	assert_false(check_dnsbl_zones("zen.spamhaus.org not_a_domain!", &why));
	assert_non_null(strstr(why.buf, "domain names"));
	sb_free(&why);
}

static void test_mta_sts_id(void **state)
{
	(void)state;
	struct strbuf a, b;
	sb_init(&a);
	sb_init(&b);
	char id_a[21], id_b[21];
	mta_sts_policy("mx.example.org", &a, id_a);
	mta_sts_policy("mx2.example.org", &b, id_b);
	assert_string_equal(a.buf, "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 604800\n");
	assert_int_equal(strlen(id_a), 20);
	assert_string_not_equal(id_a, id_b); /* the id changes with the policy */
	sb_free(&a);
	sb_free(&b);
}

/* What `mtactl dns --zone` prints for a host with two domains, a public
 * address and a certificate digest (no DKIM key on disk here). */
static void test_records_zone(void **state)
{
	(void)state;
	struct local_facts f;
	memset(&f, 0, sizeof f);
	f.hostname = "mx.example.org";
	strlist_init(&f.domains);
	strlist_init(&f.addresses);
	sb_init(&f.cert_why);
	strlist_add(&f.domains, S("example.org"));
	strlist_add(&f.domains, S("example.net"));
	strlist_add(&f.addresses, S("192.0.2.25"));
	strlist_add(&f.addresses, S("2001:db8::25"));
	f.addresses_given = true;
	memset(f.spki_sha256, 'a', 64);
	struct strbuf out;
	sb_init(&out);
	dns_records_render(&f, true, &out);
	static const char *const want[] = {
		"example.org.\t3600\tIN\tMX\t10 mx.example.org.\n",
		"example.net.\t3600\tIN\tMX\t10 mx.example.org.\n",
		"example.net.\t3600\tIN\tTXT\t\"v=spf1 mx -all\"\n",
		"_dmarc.example.net.\t3600\tIN\tTXT\t\"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.net; "
		"ruf=mailto:postmaster@example.net; fo=1\"\n",
		"_smtp._tls.example.org.\t3600\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:postmaster@example.org\"\n",
		"mx.example.org.\t3600\tIN\tA\t192.0.2.25\n",
		"mx.example.org.\t3600\tIN\tAAAA\t2001:db8::25\n",
		"_25._tcp.mx.example.org.\t3600\tIN\tTLSA\t3 1 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaa\n",
		";   mode: enforce\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_non_null(strstr(out.buf, want[i]));
	/* Every line is a record or a comment. */
	for (const char *l = out.buf; *l; l = strchr(l, '\n') + 1) {
		const char *record = strstr(l, "\t3600\tIN\t");
		assert_true(*l == ';' || (record && record < strchr(l, '\n')));
	}
	sb_reset(&out);
	dns_records_render(&f, false, &out);
	assert_non_null(strstr(out.buf, "Domain example.net:\n"));
	assert_non_null(strstr(out.buf, "    _mta-sts.example.net. TXT \"v=STSv1; id="));
	assert_null(strstr(out.buf, "\t3600"));
	sb_free(&out);
	strlist_free(&f.domains);
	strlist_free(&f.addresses);
	sb_free(&f.cert_why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_types),
		cmocka_unit_test(test_answer_broken),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_zone_strings),
		cmocka_unit_test(test_reverse_names),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_mta_sts_id),
		cmocka_unit_test(test_records_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
