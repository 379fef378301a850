/* The hold queue as quarantine (rspamd image): postqueue -j lines,
 * X-Quarantine, the listing's reason, and the DSN quarantine-bounce sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "quarantine/dsn.h"
#include "quarantine/hold.h"
#include "quarantine/quarantine.h"
#include "queue/postqueue.h"

static size_t parse(const char *text, struct hold_list *l)
{
	hold_list_free(l);
	hold_list_init(l);
	return hold_parse_queue(text, strlen(text), l);
}

static void test_queue_hold_only_sorted(void **state)
{
	(void)state;
	struct hold_list l;
	hold_list_init(&l);
	const char *q =
		"{\"queue_name\": \"hold\", \"queue_id\": \"B2\", \"arrival_time\": 200, \"message_size\": 335, "
		"\"forced_expire\": false, \"sender\": \"s@example.com\", \"recipients\": "
		"[{\"address\": \"a@example.com\"}, {\"address\": \"b@example.com\"}]}\n"
		"{\"queue_name\": \"deferred\", \"queue_id\": \"C3\", \"arrival_time\": 1, \"sender\": \"x@y\", "
		"\"recipients\": [{\"address\": \"r@y\", \"delay_reason\": \"timeout\"}]}\n"
		"{\"queue_name\": \"hold\", \"queue_id\": \"A1\", \"arrival_time\": 100, \"message_size\": 9, "
		"\"sender\": \"MAILER-DAEMON\", \"recipients\": [{\"address\": \"c@example.com\"}]}";
	assert_int_equal(parse(q, &l), 2);
	assert_string_equal(l.msg[0].id, "A1"); /* oldest first; no trailing newline needed */
	assert_string_equal(l.msg[0].sender, ""); /* showq's name for the null sender */
	assert_int_equal(l.msg[0].arrival, 100);
	assert_string_equal(l.msg[1].id, "B2");
	assert_int_equal(l.msg[1].size, 335);
	assert_int_equal(l.msg[1].rcpts.len, 2);
	assert_string_equal(l.msg[1].rcpts.item[1], "b@example.com");
	assert_non_null(hold_list_find(&l, "B2"));
	assert_null(hold_list_find(&l, "C3"));
	hold_list_free(&l);
}

static void test_queue_awkward(void **state)
{
	(void)state;
	struct hold_list l;
	hold_list_init(&l);
	assert_int_equal(parse("", &l), 0);
	assert_int_equal(parse("\n\nnot json\n[1]\n\"s\"\n{}\n", &l), 0);
	/* ids that could be options or paths, senders that could inject a
	 * header or an option: never passed on */
	assert_int_equal(parse("{\"queue_name\":\"hold\",\"queue_id\":\"-f\",\"sender\":\"\",\"recipients\":[]}\n"
			       "{\"queue_name\":\"hold\",\"queue_id\":\"../x\",\"sender\":\"\",\"recipients\":[]}\n"
			       "{\"queue_name\":\"hold\",\"queue_id\":\"A\",\"sender\":\"a@b\\nBcc: x@y\",\"recipients\":[]}\n"
			       "{\"queue_name\":\"hold\",\"queue_id\":\"B\",\"sender\":\"-oQ/tmp\",\"recipients\":[]}\n"
			       "{\"queue_name\":\"hold\",\"queue_id\":\"C\",\"sender\":\"s@x\"}\n", &l), 0);
	/* a bad recipient is left out, the message stays */
	assert_int_equal(parse("{\"queue_name\":\"hold\",\"queue_id\":\"D\",\"sender\":\"s@x\",\"recipients\":"
			       "[{\"address\":\"r\\r\\n@x\"},{\"address\":7},{},{\"address\":\"ok@x\"}],"
			       "\"arrival_time\":\"soon\",\"message_size\":-1}", &l), 1);
	assert_int_equal(l.msg[0].rcpts.len, 1);
	assert_string_equal(l.msg[0].rcpts.item[0], "ok@x");
	assert_int_equal(l.msg[0].arrival, 0);
	/* the empty sender too is the null sender; one with a domain is not */
	assert_int_equal(parse("{\"queue_name\":\"hold\",\"queue_id\":\"E\",\"sender\":\"\",\"recipients\":[]}\n"
			       "{\"queue_name\":\"hold\",\"queue_id\":\"F\",\"sender\":\"mailer-daemon@x\",\"recipients\":[]}",
			       &l), 2);
	assert_string_equal(l.msg[0].sender, "");
	assert_string_equal(l.msg[1].sender, "mailer-daemon@x");
	hold_list_free(&l);
	assert_true(postqueue_id_ok("8737E2C2991"));
	assert_false(postqueue_id_ok(""));
	assert_false(postqueue_id_ok("8737E2C2991 "));
}

static void test_xquarantine(void **state)
{
	(void)state;
	struct xquarantine x;
	assert_true(hold_parse_xquarantine("virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)", &x));
	assert_string_equal(x.kind, "virus");
	assert_string_equal(x.destiny, "D_BOUNCE");
	assert_string_equal(x.detail, "CLAM_VIRUS(Eicar-Signature)");
	assert_true(hold_parse_xquarantine("  spam   D_DISCARD   score=1003.2 (GTUBE) ", &x));
	assert_string_equal(x.detail, "score=1003.2 (GTUBE) ");
	assert_true(hold_parse_xquarantine("dmarc D_BOUNCE", &x));
	assert_string_equal(x.detail, "");
	assert_true(hold_parse_xquarantine("banned D_BOUNCE f\xc3\xa4il.exe", &x));
	assert_string_equal(x.detail, "f??il.exe"); /* the DSN is US-ASCII */
	assert_false(hold_parse_xquarantine("", &x));
	assert_false(hold_parse_xquarantine("virus", &x));
	assert_false(hold_parse_xquarantine("virus D_PASS x", &x));
	assert_false(hold_parse_xquarantine("worm D_BOUNCE x", &x));
	assert_false(hold_parse_xquarantine("virusD_BOUNCE", &x));
	assert_string_equal(x.kind, "");

	char reason[24];
	hold_reason("virus D_BOUNCE CLAM_VIRUS(Eicar)", reason, sizeof reason);
	assert_string_equal(reason, "virus CLAM_VIRUS(Eicar)");
	hold_reason("spam D_DISCARD score=1003.2 and a long tail", reason, sizeof reason);
	assert_string_equal(reason, "spam score=1003.2 an...");
	hold_reason("", reason, sizeof reason);
	assert_string_equal(reason, "held");
	hold_reason("something else", reason, sizeof reason);
	assert_string_equal(reason, "something else");
}

/* The header as postcat -h prints it: X-Quarantine folded, found. */
static void test_header_xquarantine(void **state)
{
	(void)state;
	static const char h[] = "Received: by mx1\n\tid 1; now\nSubject: hi\n"
				"X-Quarantine: virus D_BOUNCE\n  CLAM_VIRUS(Eicar)\n"
				"X-Quarantine: spam D_DISCARD forged second\n";
	struct quarantine_entry e;
	quarantine_parse(h, sizeof h - 1, "", &e);
	assert_string_equal(e.xquarantine, "virus D_BOUNCE CLAM_VIRUS(Eicar)");
	assert_string_equal(e.subject, "hi");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_dsn(void **state)
{
	(void)state;
	struct hold_msg m = {.id = "8737E2C2991", .arrival = 1796181266, .size = 335, .sender = "s@client.test"};
	strlist_init(&m.rcpts);
	strlist_add(&m.rcpts, "a@example.com", 13);
	strlist_add(&m.rcpts, "b@example.com", 13);
	struct xquarantine x;
	assert_true(hold_parse_xquarantine("virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)", &x));
	static const char h[] = "Received: by mx1\r\n\tid 1\r\nSubject: hi\r\n"
				"--8737E2C2991.1796181300/mx1.example.com--\r\n"
				"no colon line\r\nX-Quarantine: virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)\r\n"
				"\r\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR body\r\n";
	struct dsn_input in = {.hostname = "mx1.example.com", .msg = &m, .why = &x, .headers = h,
			       .headers_len = sizeof h - 1, .now = 1796181300};
	struct strbuf out;
	sb_init(&out);
	dsn_compose(&in, &out);
	const char *d = out.buf;
	assert_non_null(strstr(d, "From: Mail Delivery System <MAILER-DAEMON@mx1.example.com>\n"));
	assert_non_null(strstr(d, "To: <s@client.test>\n"));
	assert_non_null(strstr(d, "\nAuto-Submitted: auto-replied\n"));
	assert_non_null(strstr(d, "Content-Type: multipart/report; report-type=delivery-status;\n"
				  "\tboundary=\"8737E2C2991.1796181300/mx1.example.com\"\n"));
	assert_non_null(strstr(d, "\nDate: Wed, 02 Dec 2026 03:15:00 +0000\n")); /* not the local zone, not a locale */
	assert_non_null(strstr(d, "a virus was found in it (CLAM_VIRUS(Eicar-Signature))"));
	assert_non_null(strstr(d, "\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx1.example.com\n"));
	assert_non_null(strstr(d, "\nArrival-Date: Wed, 02 Dec 2026 03:14:26 +0000\n"));
	assert_non_null(strstr(d, "\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.7.1\n"
				  "Diagnostic-Code: smtp; 554 5.7.1 Message quarantined: virus CLAM_VIRUS(Eicar-Signature)\n"));
	assert_non_null(strstr(d, "\n\nFinal-Recipient: rfc822; b@example.com\n"));
	assert_int_equal(count(d, "Action: failed"), 2);
	assert_non_null(strstr(d, "Content-Type: text/rfc822-headers\n\nReceived: by mx1\n\tid 1\nSubject: hi\n"
				  "X-Quarantine: virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)\n\n"
				  "--8737E2C2991.1796181300/mx1.example.com--\n"));
	/* the body never, the sender's would-be boundary and junk lines never */
	assert_null(strstr(d, "EICAR"));
	assert_null(strstr(d, "no colon"));
	assert_int_equal(count(d, "\n--8737E2C2991.1796181300/mx1.example.com--"), 1);
	assert_int_equal(count(d, "\n--8737E2C2991.1796181300/mx1.example.com\n"), 3);
	assert_null(strchr(d, '\r'));
	assert_non_null(strstr(d, "Content-Transfer-Encoding: 7bit\n"));

	/* 8-bit headers: declared, not mangled */
	static const char h8[] = "Subject: gr\xc3\xbc\xc3\x9f""e\n";
	in.headers = h8;
	in.headers_len = sizeof h8 - 1;
	sb_reset(&out);
	dsn_compose(&in, &out);
	assert_non_null(strstr(out.buf, "Content-Transfer-Encoding: 8bit\n"));
	assert_non_null(strstr(out.buf, "Subject: gr\xc3\xbc\xc3\x9f""e\n"));
	sb_free(&out);
	strlist_free(&m.rcpts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_hold_only_sorted),
		cmocka_unit_test(test_queue_awkward),
		cmocka_unit_test(test_xquarantine),
		cmocka_unit_test(test_header_xquarantine),
		cmocka_unit_test(test_dsn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
