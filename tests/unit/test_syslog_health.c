/* The syslog datagram parser, line format and demotion of amavis's
 * start-up chatter, and the health check's reading of the supervisor's
 * status file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "health/health.h"
#include "syslog/syslog.h"

static const char *line_of(const char *dgram, size_t len, struct strbuf *out, int *severity)
{
	struct syslog_msg m;
	syslog_parse(dgram, len, &m);
	sb_reset(out);
	syslog_format(&m, out);
	if (severity)
		*severity = m.severity;
	return out->buf;
}

#define LINE(s, sev) line_of((s), strlen(s), &out, (sev))

static void test_syslog_postfix_datagram(void **state)
{
	(void)state;
	struct strbuf out;
	sb_init(&out);
	int sev;
	assert_string_equal(LINE("<22>Nov 25 15:42:17 postfix/smtpd[106]: connect from x", &sev),
			    "mail.info postfix/smtpd[106]: connect from x\n");
	assert_int_equal(sev, 6);
	assert_string_equal(LINE("<20>Nov  5 05:02:07 postfix/qmgr[9]: warning: w\n", &sev),
			    "mail.warning postfix/qmgr[9]: warning: w\n");
	assert_int_equal(sev, 4);
	assert_string_equal(LINE("<191>debug", &sev), "local7.debug debug\n");
	sb_free(&out);
}

static void test_syslog_awkward(void **state)
{
	(void)state;
	struct strbuf out;
	sb_init(&out);
	int sev;
	/* No PRI, bad PRI, overflowing PRI: user.notice, text kept (RFC 3164 4.3.3). */
	assert_string_equal(LINE("plain text", &sev), "user.notice plain text\n");
	assert_string_equal(LINE("<>x", &sev), "user.notice <>x\n");
	assert_string_equal(LINE("<999>x", &sev), "user.notice <999>x\n");
	assert_string_equal(LINE("<192>x", &sev), "user.notice <192>x\n");
	assert_string_equal(LINE("<12345678", &sev), "user.notice <12345678\n");
	assert_string_equal(LINE("", &sev), "user.notice \n");
	assert_string_equal(LINE("<3>", &sev), "kern.err \n");
	/* Control characters cannot forge a second log line. */
	assert_string_equal(LINE("<14>a\nmail.emerg fake\x1b[31m", &sev),
			    "user.info a\\x0amail.emerg fake\\x1b[31m\n");
	/* Embedded NUL and trailing NUL/newlines. */
	const char nul[] = "<14>a\0b\n\0";
	assert_string_equal(line_of(nul, sizeof nul - 1, &out, &sev), "user.info a\\x00b\n");
	sb_free(&out);
}

static int demoted(const char *dgram)
{
	struct syslog_msg m;
	syslog_parse(dgram, strlen(dgram), &m);
	syslog_demote(&m);
	return m.severity;
}

static void test_syslog_demote(void **state)
{
	(void)state;
	/* amavis's start-up chatter at notice goes to info ... */
	assert_int_equal(demoted("<21>Dec  1 21:24:07 amavis[12]: perl=5.036000, user=, EUID: 997 (997)"), 6);
	assert_int_equal(demoted("<21>amavis[12]: Net::Server: Group Not Defined.  Defaulting to EGID '997 997'"), 6);
	assert_int_equal(demoted("<21>amavis[7]: Net::Server: User Not Defined.  Defaulting to EUID '997'"), 6);
	assert_int_equal(demoted("<21>amavis: No $altermime,         not using it"), 6);
	/* ... and nothing else: its other lines, other programs, other levels. */
	assert_int_equal(demoted("<21>amavis[12]: starting. /usr/sbin/amavisd at mx1.example.com"), 5);
	assert_int_equal(demoted("<21>amavis[12]: (00125-02) Passed CLEAN {RelayedInbound}"), 5);
	assert_int_equal(demoted("<21>amavisd[12]: perl=5.036000"), 5);
	assert_int_equal(demoted("<21>xamavis[12]: perl=5.036000"), 5);
	assert_int_equal(demoted("<21>postfix[12]: perl="), 5);
	assert_int_equal(demoted("<19>amavis[12]: perl=5.036000"), 3);
	assert_int_equal(demoted("<22>amavis[12]: perl=5.036000"), 6);
	/* Awkward shapes of the tag. */
	assert_int_equal(demoted("<21>amavis[]: perl="), 5);
	assert_int_equal(demoted("<21>amavis[12x]: perl="), 5);
	assert_int_equal(demoted("<21>amavis[12]:perl="), 5);
	assert_int_equal(demoted("<21>amavis[12]: perl"), 5);
	assert_int_equal(demoted("<21>amavis[12"), 5);
	assert_int_equal(demoted("<21>amavis"), 5);
	assert_int_equal(demoted("<21>"), 5);
	assert_int_equal(demoted(""), 5);
}

static void test_health_status(void **state)
{
	(void)state;
	struct strbuf why;
	sb_init(&why);
	char text[128];
	snprintf(text, sizeof text, "syslog up %d\npostfix up %d\n", (int)getpid(), (int)getppid());
	assert_true(health_services_ok(text, &why));
	assert_int_equal(why.len, 0);

	assert_false(health_services_ok("syslog up 1\npostfix backoff 0\n", &why));
	assert_non_null(strstr(why.buf, "postfix is backoff"));
	sb_reset(&why);
	assert_false(health_services_ok("postfix up 0\n", &why));
	assert_non_null(strstr(why.buf, "gone"));
	sb_reset(&why);
	assert_false(health_services_ok("", &why));
	assert_non_null(strstr(why.buf, "no services"));
	sb_reset(&why);
	assert_false(health_services_ok("garbage\n\n", &why));
	sb_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syslog_postfix_datagram),
		cmocka_unit_test(test_syslog_awkward),
		cmocka_unit_test(test_syslog_demote),
		cmocka_unit_test(test_health_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
