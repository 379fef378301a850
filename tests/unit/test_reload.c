/* What a reload counts as added, removed and changed between two
 * renderings of a table (its one log line): keyed lines, comments, blank
 * lines, CR LF, duplicates and empty tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reload/reload.h"

static void expect(const char *old, const char *new, char key_end, size_t total, size_t added,
		   size_t removed, size_t changed)
{
	struct reload_diff d;
	reload_diff_lines(old, new, key_end, &d);
	assert_int_equal(d.total, total);
	assert_int_equal(d.added, added);
	assert_int_equal(d.removed, removed);
	assert_int_equal(d.changed, changed);
}

static void test_mailboxes(void **state)
{
	(void)state;
	expect("", "", ' ', 0, 0, 0, 0);
	expect("", "a@x.io a@x.io\n", ' ', 1, 1, 0, 0);
	expect("a@x.io a@x.io\nb@x.io b@x.io\n", "", ' ', 0, 0, 2, 0);
	/* order does not matter, a changed mailbox path is a change */
	expect("a@x.io a\nb@x.io b\n", "b@x.io b\nc@x.io c\na@x.io A/\n", ' ', 3, 1, 0, 1);
	/* comments, blank lines and CR LF are not entries */
	expect("# head\n\na@x.io a\r\n", "a@x.io a\n\n# other\n", ' ', 1, 0, 0, 0);
	/* no newline at the end; a key that is a prefix of another */
	expect("ab x", "a x\nab x", ' ', 2, 1, 0, 0);
}

static void test_logins_and_rules(void **state)
{
	(void)state;
	expect("u:{PLAIN}old\n", "u:{PLAIN}new\n", ':', 1, 0, 0, 1);
	expect("u:{PLAIN}x\n", "v:{PLAIN}x\n", ':', 1, 1, 1, 0);
	/* regexp rules are keyed by the whole line: duplicates count each */
	expect("/a/ x\n/a/ x\n", "/a/ x\n/b/ y\n", '\0', 2, 1, 1, 0);
	/* a line without the key character is its own key */
	expect("nocolon\n", "nocolon\n", ':', 1, 0, 0, 0);
}

static void test_ten_thousand(void **state)
{
	(void)state;
	size_t n = 10000, size = n * 32;
	char *old = malloc(size), *new = malloc(size + 64);
	assert_non_null(old);
	assert_non_null(new);
	size_t o = 0, w = 0;
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(old + o, size - o, "u%05zu@x.io u%05zu\n", n - i, n - i);
		w += (size_t)snprintf(new + w, size + 64 - w, "u%05zu@x.io u%05zu\n", i, i);
	}
	/* old holds 1..10000, new 0..9999 */
	expect(old, new, ' ', n, 1, 1, 0);
	free(old);
	free(new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailboxes),
		cmocka_unit_test(test_logins_and_rules),
		cmocka_unit_test(test_ten_thousand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
