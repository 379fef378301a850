/* Parsers and syntax checks of the list-valued variables, fed good and
 * awkward input: empty, spaces, missing parts, overlong, non-ASCII, twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

#define S(s) (s), strlen(s)

static void test_domains_syntax(void **state)
{
	(void)state;
	assert_true(is_domain(S("example.com")));
	assert_true(is_domain(S("a-b.example.co.uk")));
	assert_true(is_domain(S("localhost")));
	assert_true(is_domain(S("xn--bcher-kva.example")));
	assert_false(is_domain(S("")));
	assert_false(is_domain(S("bad_domain!")));
	assert_false(is_domain(S("-lead.example.com")));
	assert_false(is_domain(S("trail-.example.com")));
	assert_false(is_domain(S("a..b")));
	assert_false(is_domain(S(".example.com")));
	assert_false(is_domain(S("example.com.")));
	assert_false(is_domain(S("bücher.example")));
	assert_false(is_domain(S("exa mple.com")));
	char label[70];
	memset(label, 'a', 64);
	memcpy(label + 64, ".com", 5);
	assert_false(is_domain(S(label))); /* a 64-character label */
	char longname[300];
	for (int i = 0; i < 290; i += 2)
		memcpy(longname + i, "a.", 2);
	memcpy(longname + 290, "com", 4);
	assert_false(is_domain(S(longname))); /* over 253 */
}

static void test_address_syntax(void **state)
{
	(void)state;
	assert_true(is_address(S("info@example.com")));
	assert_true(is_address(S("first.last+tag@example.com")));
	assert_true(is_address(S("o'brien@example.com")));
	assert_false(is_address(S("not-an-address")));
	assert_false(is_address(S("@example.com")));
	assert_false(is_address(S("info@")));
	assert_false(is_address(S(".info@example.com")));
	assert_false(is_address(S("in..fo@example.com")));
	assert_false(is_address(S("in fo@example.com")));
	assert_false(is_address(S("info@exa_mple.com")));
	assert_false(is_address(S("jörg@example.com")));
	assert_false(is_address(S("a\"b@example.com")));
	char local[80];
	memset(local, 'a', 65);
	memcpy(local + 65, "@example.com", 13);
	assert_false(is_address(S(local)));
}

static void test_mailbox_path(void **state)
{
	(void)state;
	assert_true(is_mailbox_path(S("info")));
	assert_true(is_mailbox_path(S("example.com/info/")));
	assert_true(is_mailbox_path(S("receiver/inbox")));
	assert_true(is_mailbox_path(S("a@example.com")));
	assert_false(is_mailbox_path(S("")));
	assert_false(is_mailbox_path(S("/etc/passwd")));
	assert_false(is_mailbox_path(S("../etc")));
	assert_false(is_mailbox_path(S("a/../../etc")));
	assert_false(is_mailbox_path(S("a/./b")));
	assert_false(is_mailbox_path(S("a//b")));
	assert_false(is_mailbox_path(S("a b")));
	assert_false(is_mailbox_path(S("a;rm")));
	assert_false(is_mailbox_path(S("/")));
}

static void test_uint(void **state)
{
	(void)state;
	unsigned long v;
	assert_true(is_uint("10240000", 0x7fffffffUL, &v));
	assert_int_equal(v, 10240000);
	assert_true(is_uint("0", 10, &v));
	assert_false(is_uint("", 10, &v));
	assert_false(is_uint("-5", 100, &v));
	assert_false(is_uint("abc", 100, &v));
	assert_false(is_uint("10MB", 100, &v));
	assert_false(is_uint(" 1", 100, &v));
	assert_false(is_uint("2147483648", 0x7fffffffUL, &v));
	assert_false(is_uint("99999999999999999999999", 0x7fffffffUL, &v));
}

static void test_parse_domains(void **state)
{
	(void)state;
	struct strlist l;
	struct strbuf why;
	sb_init(&why);
	strlist_init(&l);
	assert_true(parse_domains("  Example.COM   other.org ", &l, &why));
	assert_int_equal(l.len, 2);
	assert_string_equal(l.item[0], "example.com");
	assert_string_equal(l.item[1], "other.org");
	strlist_free(&l);
	assert_false(parse_domains("example.com EXAMPLE.com", &l, &why));
	assert_non_null(strstr(why.buf, "twice"));
	strlist_free(&l);
	sb_reset(&why);
	assert_false(parse_domains("   ", &l, &why));
	strlist_free(&l);
	sb_reset(&why);
	assert_false(parse_domains("bad_domain!", &l, &why));
	assert_non_null(strstr(why.buf, "bad_domain!"));
	strlist_free(&l);
	sb_free(&why);
}

static void test_parse_mailboxes(void **state)
{
	(void)state;
	struct mailbox_list l = {0};
	struct strbuf why;
	sb_init(&why);
	assert_true(parse_mailboxes("Info@Example.com sales@example.com:sales/inbox\tbox@example.com:box/",
				    &l, &why));
	assert_int_equal(l.len, 3);
	assert_string_equal(l.item[0].address, "info@example.com");
	assert_string_equal(l.item[0].path, "Info@Example.com");
	assert_string_equal(l.item[1].path, "sales/inbox");
	assert_string_equal(l.item[2].path, "box/");
	mailbox_list_free(&l);

	assert_true(parse_mailboxes("", &l, &why));
	assert_int_equal(l.len, 0);

	const char *bad[] = {"not-an-address", "a@example.com:../etc", "a@example.com:/abs",
			     "a@example.com:", ":box", "a@example.com a@EXAMPLE.com",
			     "a@example.com:x y"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		assert_false(parse_mailboxes(bad[i], &l, &why));
		assert_true(why.len > 0);
		mailbox_list_free(&l);
	}
	sb_free(&why);
}

static void test_parse_aliases(void **state)
{
	(void)state;
	struct alias_list l = {0};
	struct strbuf why;
	sb_init(&why);
	assert_true(parse_aliases("root:info,info@example.com postmaster:root abuse@other.org:x@gmail.com",
				  "example.com", &l, &why));
	assert_int_equal(l.len, 3);
	assert_string_equal(l.item[0].address, "root@example.com");
	assert_int_equal(l.item[0].targets.len, 2);
	assert_string_equal(l.item[0].targets.item[0], "info@example.com");
	assert_string_equal(l.item[1].targets.item[0], "root@example.com");
	assert_string_equal(l.item[2].address, "abuse@other.org");
	alias_list_free(&l);

	/* A catch-all: "@domain", lower-cased; its targets are qualified as usual. */
	assert_true(parse_aliases("@Other.ORG:info root:info @example.com:a@other.org,b", "example.com", &l,
				  &why));
	assert_int_equal(l.len, 3);
	assert_string_equal(l.item[0].address, "@other.org");
	assert_true(alias_is_catchall(&l.item[0]));
	assert_false(alias_is_catchall(&l.item[1]));
	assert_string_equal(l.item[0].targets.item[0], "info@example.com");
	assert_string_equal(l.item[2].targets.item[1], "b@example.com");
	assert_true(aliases_catch_all(&l, "other.org"));
	assert_true(aliases_catch_all(&l, "EXAMPLE.com"));
	assert_false(aliases_catch_all(&l, "example.org"));
	assert_false(aliases_catch_all(&l, "root"));
	alias_list_free(&l);
	assert_false(aliases_catch_all(&l, "example.com")); /* empty list */

	const char *bad[] = {"noseparator", "x:", ":y", "x:a,,b", "x:a, b", "r oot:a",
			     "root:a root:b", "x:bad@@example.com", "x:a@exa_mple.com",
			     "@:x", "@bad_domain!:x", "@@example.com:x", "@example.com.:x",
			     "x:@example.com", "@example.com:a @EXAMPLE.com:b", "@ex ample.com:x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		assert_false(parse_aliases(bad[i], "example.com", &l, &why));
		assert_true(why.len > 0);
		alias_list_free(&l);
	}
	sb_free(&why);
}

static void test_parse_relay(void **state)
{
	(void)state;
	struct relay r = {0};
	struct strbuf why;
	sb_init(&why);
	assert_true(parse_relay("[smtp.example.com]:587 user:p@ss:word", &r, &why));
	assert_string_equal(r.host, "[smtp.example.com]:587");
	assert_string_equal(r.user, "user");
	assert_string_equal(r.password, "p@ss:word");
	relay_free(&r);
	assert_true(parse_relay("  relay.example.com  ", &r, &why));
	assert_string_equal(r.host, "relay.example.com");
	assert_null(r.user);
	relay_free(&r);
	assert_true(parse_relay("relay:25 u:", &r, &why));
	assert_string_equal(r.password, "");
	relay_free(&r);

	const char *bad[] = {"", "host:port user", "relay.example.com user", "[relay:25 u:p",
			     "relay:0 u:p", "relay:99999", "[relay]x u:p", "relay :p",
			     "relay u\x01:p"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		assert_false(parse_relay(bad[i], &r, &why));
		assert_null(r.host);
	}
	sb_free(&why);
}

static void test_regexp_table(void **state)
{
	(void)state;
	struct strbuf why;
	sb_init(&why);
	assert_true(check_regexp_table("/^(.+)[+-].*@(.+)$/ $1@$2", &why));
	assert_true(check_regexp_table("/([^+]+)[+-].*@(.+)/ $1@$2\n# comment\n\n/^a@b$/i c@d\n", &why));
	assert_true(check_regexp_table("if /@example\\.com$/\n/^x@/ y@example.com\nendif", &why));
	assert_true(check_regexp_table("!/^a/ b", &why));
	const char *bad[] = {"/(unclosed/ x", "/abc x", "abc def", "/abc/", "/abc/q x",
			     "if /a/\n/b/ c", "endif", "/[z-a]/ x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		assert_false(check_regexp_table(bad[i], &why));
		assert_true(why.len > 0);
	}
	sb_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domains_syntax),  cmocka_unit_test(test_address_syntax),
		cmocka_unit_test(test_mailbox_path),    cmocka_unit_test(test_uint),
		cmocka_unit_test(test_parse_domains),   cmocka_unit_test(test_parse_mailboxes),
		cmocka_unit_test(test_parse_aliases),   cmocka_unit_test(test_parse_relay),
		cmocka_unit_test(test_regexp_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
