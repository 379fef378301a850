/* The gate's pure parts: address lists (netlist) and the PROXY protocol
 * header parser and writer (proxy_header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "gate/gate_conf.h"
#include "gate/netlist.h"
#include "gate/proxy_header.h"

static struct sockaddr_storage addr_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", text);
	return ss;
}

static bool matches(const struct netlist *l, const char *text)
{
	struct sockaddr_storage ss = addr_of(text);
	return netlist_match(l, (struct sockaddr *)&ss);
}

static void test_netlist_match(void **state)
{
	(void)state;
	struct netlist l;
	struct strbuf why;
	sb_init(&why);
	assert_true(netlist_parse("10.0.9.0/24, 192.0.2.7 2001:db8::/32,,\t fe80::1/128", &l, &why));
	assert_int_equal(l.n, 4);
	assert_int_equal(why.len, 0);
	assert_true(matches(&l, "10.0.9.0"));
	assert_true(matches(&l, "10.0.9.255"));
	assert_false(matches(&l, "10.0.8.255"));
	assert_false(matches(&l, "10.0.10.0"));
	assert_true(matches(&l, "192.0.2.7"));
	assert_false(matches(&l, "192.0.2.8"));
	/* IPv4-mapped peers of a dual-stack socket match IPv4 entries. */
	assert_true(matches(&l, "::ffff:10.0.9.3"));
	assert_true(matches(&l, "::ffff:192.0.2.7"));
	assert_false(matches(&l, "::ffff:192.0.2.6"));
	assert_false(matches(&l, "::10.0.9.3"));
	assert_true(matches(&l, "2001:db8:ffff::1"));
	assert_false(matches(&l, "2001:db9::1"));
	assert_true(matches(&l, "fe80::1"));
	assert_false(matches(&l, "fe80::2"));

	/* Host bits under the prefix are ignored; /0 is everything of a family. */
	assert_true(netlist_parse("10.0.9.77/24", &l, &why));
	assert_true(matches(&l, "10.0.9.1"));
	assert_true(netlist_parse("0.0.0.0/0", &l, &why));
	assert_true(matches(&l, "198.51.100.7"));
	assert_true(matches(&l, "::ffff:198.51.100.7"));
	assert_false(matches(&l, "2001:db8::1"));
	assert_true(netlist_parse("2001:db8::1/33", &l, &why));
	assert_true(matches(&l, "2001:db8:7fff::"));
	assert_false(matches(&l, "2001:db8:8000::"));
	assert_true(netlist_parse("::ffff:10.1.0.0/112", &l, &why));
	assert_true(matches(&l, "10.1.2.3"));

	/* Other families never match. */
	struct sockaddr sa = {.sa_family = AF_UNIX};
	assert_false(netlist_match(&l, &sa));
	sb_free(&why);
}

static void expect_bad(const char *text, const char *reason)
{
	struct netlist l;
	struct strbuf why;
	sb_init(&why);
	assert_false(netlist_parse(text, &l, &why));
	if (!strstr(why.buf, reason))
		fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text, why.buf, reason);
	sb_free(&why);
}

static void test_netlist_bad(void **state)
{
	(void)state;
	expect_bad("", "no address");
	expect_bad(" , ,", "no address");
	expect_bad("10.0.0.0/33", "\"10.0.0.0/33\": expected a prefix length 0-32");
	expect_bad("10.0.0.0/", "prefix length");
	expect_bad("10.0.0.0/-1", "prefix length");
	expect_bad("10.0.0.0/08", "prefix length");
	expect_bad("10.0.0.0/24/8", "prefix length");
	expect_bad("::/129", "0-128");
	expect_bad("10.0.9.0/24 bogus", "\"bogus\": not an IPv4 or IPv6 address");
	expect_bad("10.1", "not an IPv4");
	expect_bad("010.1.2.3", "not an IPv4");
	expect_bad("256.1.2.3", "not an IPv4");
	expect_bad("fe80::1%eth0", "not an IPv4");
	expect_bad("[::1]", "not an IPv4");
	expect_bad("10.0.9.0;10.0.8.0", "not an IPv4");
	expect_bad("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64", "too long");
	char many[NETLIST_MAX * 12 + 16];
	size_t len = 0;
	for (int i = 0; i <= NETLIST_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof many - len, "10.0.%d.1,", i);
	expect_bad(many, "more than");
	struct netlist l;
	assert_false(netlist_parse(NULL, &l, NULL));
	assert_false(netlist_parse("x", &l, NULL));
}

/* Every proper prefix of a valid header asks for more; the whole gives its length. */
static ssize_t parse_incrementally(const void *buf, size_t len, struct proxy_header *h)
{
	for (size_t i = 0; i < len; i++)
		if (proxy_header_parse(buf, i, h) != 0)
			fail_msg("prefix of %zu of %zu bytes did not ask for more", i, len);
	return proxy_header_parse(buf, len, h);
}

static const char *text_of(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	proxy_addr_text((const struct sockaddr *)ss, buf, cap);
	return buf;
}

static unsigned port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void test_proxy_v1(void **state)
{
	(void)state;
	struct proxy_header h;
	char a[64];
	/* The examples of proxy-protocol.txt 2.1, with the client's bytes after them. */
	const char tcp4[] = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\nEHLO x\r\n";
	assert_int_equal(parse_incrementally(tcp4, 56, &h), 56);
	assert_int_equal(proxy_header_parse(tcp4, sizeof tcp4 - 1, &h), 56);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.kind, PROXY_TCP);
	assert_int_equal(h.src.ss_family, AF_INET);
	assert_string_equal(text_of(&h.src, a, sizeof a), "255.255.255.255");
	assert_int_equal(port_of(&h.src), 65535);

	const char tcp4b[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	assert_int_equal(parse_incrementally(tcp4b, sizeof tcp4b - 1, &h), sizeof tcp4b - 1);
	assert_string_equal(text_of(&h.src, a, sizeof a), "192.0.2.1");
	assert_string_equal(text_of(&h.dst, a, sizeof a), "198.51.100.2");
	assert_int_equal(port_of(&h.src), 56324);
	assert_int_equal(port_of(&h.dst), 25);

	const char tcp6[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_int_equal(parse_incrementally(tcp6, sizeof tcp6 - 1, &h), 104);
	assert_int_equal(h.src.ss_family, AF_INET6);
	const char tcp6b[] = "PROXY TCP6 2001:db8::1 ::1 0 1\r\n";
	assert_int_equal(proxy_header_parse(tcp6b, sizeof tcp6b - 1, &h), sizeof tcp6b - 1);
	assert_string_equal(text_of(&h.src, a, sizeof a), "2001:db8::1");
	assert_int_equal(port_of(&h.src), 0);
	assert_int_equal(port_of(&h.dst), 1);

	const char unknown[] = "PROXY UNKNOWN\r\n";
	assert_int_equal(parse_incrementally(unknown, sizeof unknown - 1, &h), 15);
	assert_int_equal(h.kind, PROXY_UNKNOWN);
	/* The worst case: 107 bytes, the addresses after UNKNOWN ignored. */
	const char worst[] = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_int_equal(sizeof worst - 1, PROXY_V1_MAX);
	assert_int_equal(parse_incrementally(worst, sizeof worst - 1, &h), PROXY_V1_MAX);
	assert_int_equal(h.kind, PROXY_UNKNOWN);
}

static void expect_invalid(const char *what, const void *buf, size_t len)
{
	struct proxy_header h;
	ssize_t r = proxy_header_parse(buf, len, &h);
	if (r != -1)
		fail_msg("%s: %zd instead of -1", what, r);
}

#define INVALID(s) expect_invalid((s), (s), sizeof(s) - 1)

static void test_proxy_v1_malformed(void **state)
{
	(void)state;
	INVALID("EHLO client\r\n");
	INVALID("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	INVALID("PROXY\r\n");
	INVALID("PROXY \r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
	INVALID("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n");
	INVALID("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n");
	INVALID("PROXY TCP4 ::1 ::1 1 2\r\n");
	INVALID("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n");
	INVALID("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
	INVALID("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n");
	INVALID("PROXY UNKNOWNX\r\n");
	INVALID("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
	INVALID("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n");
	/* No CRLF within 107 bytes: invalid, without waiting for more. */
	char longline[200];
	memset(longline, 'f', sizeof longline);
	memcpy(longline, "PROXY UNKNOWN ", 14);
	expect_invalid("108 bytes without CRLF", longline, 108);
	expect_invalid("107 bytes without CRLF", longline, 107);
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(longline, 106, &h), 0);
	longline[105] = '\r';
	longline[106] = '\n';
	assert_int_equal(proxy_header_parse(longline, 107, &h), 107);
	longline[105] = 'f';
	longline[106] = '\r';
	longline[107] = '\n';
	expect_invalid("CRLF at 108", longline, 108);
	/* Wrong from the first byte: decided at once. */
	expect_invalid("one wrong byte", "E", 1);
	expect_invalid("wrong at byte 3", "PRX", 3);
	assert_int_equal(proxy_header_parse("PRO", 3, &h), 0);
	assert_int_equal(proxy_header_parse("", 0, &h), 0);
}

static size_t v2(uint8_t *b, uint8_t ver_cmd, uint8_t fam, const uint8_t *payload, size_t plen)
{
	static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
	memcpy(b, sig, 12);
	b[12] = ver_cmd;
	b[13] = fam;
	b[14] = (uint8_t)(plen >> 8);
	b[15] = (uint8_t)plen;
	if (plen)
		memcpy(b + 16, payload, plen);
	return 16 + plen;
}

static void test_proxy_v2(void **state)
{
	(void)state;
	struct proxy_header h;
	uint8_t b[512];
	char a[64];
	/* TCP over IPv4: 192.0.2.1:56324 -> 198.51.100.2:25, then a TLV
	 * (PP2_TYPE_AUTHORITY "mx") and a NOOP, skipped. */
	const uint8_t in4[] = {192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0, 25,
			       0x02, 0, 2, 'm', 'x', 0x04, 0, 0};
	size_t len = v2(b, 0x21, 0x11, in4, sizeof in4);
	memcpy(b + len, "EHLO", 4);
	assert_int_equal(parse_incrementally(b, len, &h), len);
	assert_int_equal(proxy_header_parse(b, len + 4, &h), len);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.kind, PROXY_TCP);
	assert_string_equal(text_of(&h.src, a, sizeof a), "192.0.2.1");
	assert_string_equal(text_of(&h.dst, a, sizeof a), "198.51.100.2");
	assert_int_equal(port_of(&h.src), 56324);
	assert_int_equal(port_of(&h.dst), 25);

	uint8_t in6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7, [16] = 0x20, [17] = 0x01, [18] = 0x0d,
			   [19] = 0xb8, [31] = 1, [32] = 0x01, [33] = 0x02, [34] = 0, [35] = 143};
	len = v2(b, 0x21, 0x21, in6, sizeof in6);
	assert_int_equal(parse_incrementally(b, len, &h), 52);
	assert_int_equal(h.src.ss_family, AF_INET6);
	assert_string_equal(text_of(&h.src, a, sizeof a), "2001:db8::7");
	assert_string_equal(text_of(&h.dst, a, sizeof a), "2001:db8::1");
	assert_int_equal(port_of(&h.src), 258);
	assert_int_equal(port_of(&h.dst), 143);

	/* LOCAL (haproxy's health checks): no addresses, or ignored ones. */
	len = v2(b, 0x20, 0x00, NULL, 0);
	assert_int_equal(parse_incrementally(b, len, &h), 16);
	assert_int_equal(h.kind, PROXY_LOCAL);
	len = v2(b, 0x20, 0x11, in4, 12);
	assert_int_equal(proxy_header_parse(b, len, &h), 28);
	assert_int_equal(h.kind, PROXY_LOCAL);
	/* PROXY with AF_UNSPEC or AF_UNIX: no usable address. */
	len = v2(b, 0x21, 0x00, NULL, 0);
	assert_int_equal(proxy_header_parse(b, len, &h), 16);
	assert_int_equal(h.kind, PROXY_UNKNOWN);
	uint8_t unixaddr[216] = {'/'};
	len = v2(b, 0x21, 0x31, unixaddr, sizeof unixaddr);
	assert_int_equal(proxy_header_parse(b, len, &h), len);
	assert_int_equal(h.kind, PROXY_UNKNOWN);
	/* The length announced is waited for (up to 16 + 65535 bytes). */
	b[14] = 0xff;
	b[15] = 0xff;
	assert_int_equal(proxy_header_parse(b, len, &h), 0);
}

static void test_proxy_v2_malformed(void **state)
{
	(void)state;
	uint8_t b[512];
	const uint8_t in4[12] = {192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2};
	uint8_t in6[36] = {0};
	expect_invalid("version 1 binary", b, v2(b, 0x11, 0x11, in4, 12));
	expect_invalid("version 3", b, v2(b, 0x31, 0x11, in4, 12));
	expect_invalid("command 2", b, v2(b, 0x22, 0x11, in4, 12));
	expect_invalid("command 15", b, v2(b, 0x2f, 0x11, in4, 12));
	expect_invalid("family 4", b, v2(b, 0x21, 0x41, in4, 12));
	expect_invalid("transport 3", b, v2(b, 0x21, 0x13, in4, 12));
	expect_invalid("UDP over IPv4", b, v2(b, 0x21, 0x12, in4, 12));
	expect_invalid("IPv4, unspecified transport", b, v2(b, 0x21, 0x10, in4, 12));
	expect_invalid("IPv4, short block", b, v2(b, 0x21, 0x11, in4, 11));
	expect_invalid("IPv6, short block", b, v2(b, 0x21, 0x21, in6, 35));
	expect_invalid("IPv6 block for IPv4 header is fine, IPv4 for IPv6 is not", b, v2(b, 0x21, 0x21, in6, 12));
	expect_invalid("UNIX, short block", b, v2(b, 0x21, 0x31, in6, 36));
	expect_invalid("LOCAL, short IPv4 block", b, v2(b, 0x20, 0x11, in4, 4));
	/* The short-block verdict comes at the fixed 16 bytes, not after the rest. */
	size_t len = v2(b, 0x21, 0x21, in6, 20);
	expect_invalid("IPv6, 20-byte block, first 16 bytes", b, 16);
	/* A broken signature is decided at its first wrong byte. */
	len = v2(b, 0x21, 0x11, in4, 12);
	b[6] = 0x0B;
	expect_invalid("signature", b, 7);
	expect_invalid("signature", b, len);
	b[6] = 0x0A;
	/* Truncated parts ask for more. */
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(b, 12, &h), 0);
	assert_int_equal(proxy_header_parse(b, 13, &h), 0);
	b[12] = 0x11;
	expect_invalid("version nibble seen early", b, 13);
}

static void expect_line(const char *src, unsigned sport, const char *dst, unsigned dport, const char *want)
{
	struct sockaddr_storage s = addr_of(src), d = addr_of(dst);
	if (s.ss_family == AF_INET)
		((struct sockaddr_in *)&s)->sin_port = htons((uint16_t)sport);
	else
		((struct sockaddr_in6 *)&s)->sin6_port = htons((uint16_t)sport);
	if (d.ss_family == AF_INET)
		((struct sockaddr_in *)&d)->sin_port = htons((uint16_t)dport);
	else
		((struct sockaddr_in6 *)&d)->sin6_port = htons((uint16_t)dport);
	char line[PROXY_V1_MAX + 1];
	size_t n = proxy_v1_write(line, sizeof line, (struct sockaddr *)&s, (struct sockaddr *)&d);
	assert_int_equal(n, strlen(want));
	assert_string_equal(line, want);
	/* What is written parses back to the same addresses. */
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(line, n, &h), n);
	assert_int_equal(h.kind, PROXY_TCP);
}

static void test_proxy_v1_write(void **state)
{
	(void)state;
	expect_line("192.0.2.1", 56324, "10.0.9.5", 25, "PROXY TCP4 192.0.2.1 10.0.9.5 56324 25\r\n");
	expect_line("::ffff:192.0.2.1", 1, "::ffff:10.0.9.5", 2, "PROXY TCP4 192.0.2.1 10.0.9.5 1 2\r\n");
	expect_line("::ffff:192.0.2.1", 1, "10.0.9.5", 2, "PROXY TCP4 192.0.2.1 10.0.9.5 1 2\r\n");
	expect_line("2001:db8::1", 65535, "2001:db8::2", 0, "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n");
	expect_line("2001:db8::1", 3, "10.0.9.5", 25, "PROXY TCP6 2001:db8::1 ::ffff:10.0.9.5 3 25\r\n");
	expect_line("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    65535,
		    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	char small[20];
	struct sockaddr_storage s = addr_of("192.0.2.1");
	assert_int_equal(proxy_v1_write(small, sizeof small, (struct sockaddr *)&s, (struct sockaddr *)&s), 0);
	struct sockaddr un = {.sa_family = AF_UNIX};
	char line[PROXY_V1_MAX + 1];
	assert_int_equal(proxy_v1_write(line, sizeof line, &un, (struct sockaddr *)&s), 0);
}

static void test_gate_conf_line(void **state)
{
	(void)state;
	struct gate_listener_conf cf;
	struct strbuf why;
	sb_init(&why);
	assert_int_equal(gate_conf_parse_line("smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24 PROXY_TRUSTED_NETWORKS",
					      &cf, &why), 1);
	assert_string_equal(cf.name, "smtp");
	assert_true(cf.listen_any);
	assert_int_equal(cf.listen.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&cf.listen)->sin6_port), 25);
	assert_int_equal(cf.backend.ss_family, AF_INET);
	assert_int_equal(cf.backend_len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&cf.backend)->sin_port), 10125);
	assert_int_equal(cf.mode, GATE_PROXY);
	assert_int_equal(cf.trusted.n, 1);
	assert_string_equal(cf.variable, "PROXY_TRUSTED_NETWORKS");
	assert_int_equal(gate_conf_parse_line("\tlmtp [::]:24 [::1]:10124 peer 10.0.9.0/24,fd00::/8 V  # x", &cf, &why), 1);
	assert_false(cf.listen_any);
	assert_int_equal(cf.listen.ss_family, AF_INET6);
	assert_int_equal(cf.backend.ss_family, AF_INET6);
	assert_int_equal(cf.mode, GATE_PEER);
	assert_int_equal(cf.trusted.n, 2);
	/* The list as the variable holds it: commas, spaces, both. */
	assert_int_equal(gate_conf_parse_line("smtp *:25 127.0.0.1:1 proxy 10.0.9.0/24, 10.0.8.0/24 fd00::1 V", &cf, &why), 1);
	assert_int_equal(cf.trusted.n, 3);
	assert_string_equal(cf.trusted_text, "10.0.9.0/24, 10.0.8.0/24 fd00::1");
	assert_string_equal(cf.variable, "V");
	assert_int_equal(gate_conf_parse_line("", &cf, &why), 0);
	assert_int_equal(gate_conf_parse_line("   # comment", &cf, &why), 0);
	assert_int_equal(why.len, 0);

	static const struct {
		const char *line, *reason;
	} bad[] = {
		{"smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24", "only 5 fields"},
		{"smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24 V extra", "\"V\": not an IPv4"},
		{"smtp *:25 127.0.0.1:10125 both 10.0.9.0/24 V", "mode \"both\": expected proxy or peer"},
		{"smtp *:25 *:10125 proxy 10.0.9.0/24 V", "\"*:10125\": expected IPV4:PORT or [IPV6]:PORT"},
		{"smtp *:0 127.0.0.1:1 proxy 10.0.9.0/24 V", "\"*:0\": expected a port 1-65535"},
		{"smtp *:65536 127.0.0.1:1 proxy 10.0.9.0/24 V", "port 1-65535"},
		{"smtp *:025 127.0.0.1:1 proxy 10.0.9.0/24 V", "port 1-65535"},
		{"smtp 25 127.0.0.1:1 proxy 10.0.9.0/24 V", "\"25\": expected ADDRESS:PORT"},
		{"smtp ::1:25 127.0.0.1:1 proxy 10.0.9.0/24 V", "expected *:PORT, IPV4:PORT or [IPV6]:PORT"},
		{"smtp localhost:25 127.0.0.1:1 proxy 10.0.9.0/24 V", "IPV4:PORT"},
		{"smtp *:25 127.0.0.1:1 proxy 10.0.9.0/24,bogus V", "\"bogus\": not an IPv4"},
		{"smtp *:25 127.0.0.1:1 proxy 10.0.9.0/24 V=1", "expected names"},
		{"sm/tp *:25 127.0.0.1:1 proxy 10.0.9.0/24 V", "expected names"},
		{"averyveryveryveryverylongnamethatdoesnotfit *:25 127.0.0.1:1 proxy 10.0.9.0/24 V", "longer than 31"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		sb_reset(&why);
		assert_int_equal(gate_conf_parse_line(bad[i].line, &cf, &why), -1);
		if (!strstr(why.buf, bad[i].reason))
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].line, why.buf, bad[i].reason);
	}
	char longline[1100];
	memset(longline, 'a', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	sb_reset(&why);
	assert_int_equal(gate_conf_parse_line(longline, &cf, &why), -1);
	assert_non_null(strstr(why.buf, "line longer than"));
	sb_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netlist_match),
		cmocka_unit_test(test_netlist_bad),
		cmocka_unit_test(test_proxy_v1),
		cmocka_unit_test(test_proxy_v1_malformed),
		cmocka_unit_test(test_proxy_v2),
		cmocka_unit_test(test_proxy_v2_malformed),
		cmocka_unit_test(test_proxy_v1_write),
		cmocka_unit_test(test_gate_conf_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
