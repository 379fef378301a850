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

#include "gate/netlist.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netlist_match),
		cmocka_unit_test(test_netlist_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
