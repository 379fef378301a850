/* The metrics: the log classifier fed lines as Debian's Postfix and
 * amavis write them (and awkward ones), METRICS_LISTEN's parser, the
 * shared counter file, init's status lines and the rendered scrape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/counters.h"
#include "metrics/gauges.h"
#include "metrics/listen.h"
#include "metrics/logcount.h"
#include "metrics/render.h"

static struct logcount_hits classify(const char *line)
{
	struct logcount_hits h;
	logcount_classify(line, strlen(line), &h);
	return h;
}

static void assert_one(const char *line, enum counter_id id)
{
	struct logcount_hits h = classify(line);
	if (h.n != 1 || h.id[0] != id)
		fail_msg("%s: %zu hits, first %d, expected counter %d", line, h.n, h.n ? (int)h.id[0] : -1,
			 (int)id);
}

static void assert_none(const char *line)
{
	struct logcount_hits h = classify(line);
	if (h.n != 0 || h.delay_ms != -1)
		fail_msg("%s: %zu hits, delay %lld, expected none", line, h.n, (long long)h.delay_ms);
}

static void test_received_by_port(void **state)
{
	(void)state;
	assert_one("postfix/smtpd[101]: 4Qx3Zl1Xyz: client=unknown[172.18.0.1]", C_RECEIVED_25);
	assert_one("postfix/submission/smtpd[7]: 3F1A2B: client=c[10.0.0.2], sasl_method=PLAIN, sasl_username=u",
		   C_RECEIVED_587);
	assert_one("postfix/smtps/smtpd[7]: 3F1A2B: client=c[10.0.0.2]", C_RECEIVED_465);
	assert_one("postfix/pickup[55]: 9AB12: uid=0 from=<root>", C_RECEIVED_LOCAL);
	/* mail back from amavis and the SRS loop was counted when it arrived */
	assert_none("postfix/reinject/smtpd[9]: 4A: client=localhost[127.0.0.1]");
	assert_none("postfix/srs/smtpd[9]: 4A: client=localhost[127.0.0.1]");
	assert_none("postfix/smtpd[101]: connect from unknown[172.18.0.1]");
	assert_none("postfix/smtpd[101]: NOQUEUE: client=x");
}

static void test_deliveries(void **state)
{
	(void)state;
	struct logcount_hits h = classify(
		"postfix/virtual[130]: 4Qx3Zl: to=<info@example.com>, relay=virtual, delay=1.25, "
		"delays=0.05/0.01/0/1.2, dsn=2.0.0, status=sent (delivered to maildir)");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], C_DELIVERED_VIRTUAL);
	assert_int_equal(h.delay_ms, 1250);
	h = classify("postfix/relay/smtp[3]: 4A: to=<a@b.test>, relay=sink[172.18.0.3]:25, delay=2462, "
		     "delays=2462/0/0/0, dsn=2.0.0, status=sent (250 ok)");
	assert_int_equal(h.id[0], C_DELIVERED_RELAY);
	assert_int_equal(h.delay_ms, 2462000);
	assert_one("postfix/lmtp[3]: 4A: to=<a@b>, relay=private/transport, delay=0.09, dsn=2.0.0, status=sent (ok)",
		   C_DELIVERED_LMTP);
	assert_one("postfix/local[3]: 4A: to=<root@h>, orig_to=<root>, relay=local, delay=0, status=sent (delivered to mailbox)",
		   C_DELIVERED_LOCAL);
	/* the hand-over to amavis is a hop, not a delivery; its failures count */
	assert_none("postfix/amavis/lmtp[5]: 4A: to=<a@b>, relay=127.0.0.1[127.0.0.1]:10024, delay=3.1, "
		    "dsn=2.0.0, status=sent (250 2.0.0 from MTA)");
	assert_one("postfix/amavis/lmtp[5]: 4A: to=<a@b>, relay=none, delay=3, dsn=4.4.1, status=deferred (connect refused)",
		   C_DEFERRED);
	assert_one("postfix/smtp[5]: 4A: to=<a@b>, relay=none, delay=30, dsn=4.4.1, status=deferred (timeout)",
		   C_DEFERRED);
	assert_one("postfix/smtp[5]: 4A: to=<a@b>, relay=mx[1.2.3.4]:25, delay=1, dsn=5.1.1, status=bounced (user unknown)",
		   C_BOUNCED);
	assert_one("postfix/qmgr[5]: 4A: from=<a@b>, status=expired, returned to sender", C_BOUNCED);
	assert_none("postfix/qmgr[5]: 4A: from=<a@b>, size=300, nrcpt=1 (queue active)");
	/* a delay that is no number is left out of the histogram, the delivery counted */
	h = classify("postfix/smtp[5]: 4A: to=<a@b>, delay=x, status=sent (ok)");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.delay_ms, -1);
}

static void test_rejects(void **state)
{
	(void)state;
	assert_one("postfix/smtpd[1]: NOQUEUE: reject: RCPT from c[1.2.3.4]: 550 5.1.1 <x@example.com>: "
		   "Recipient address rejected: User unknown in virtual mailbox table; from=<a@b> to=<x@example.com>",
		   C_REJECT_UNKNOWN_USER);
	assert_one("postfix/smtpd[1]: NOQUEUE: reject: RCPT from c[1.2.3.4]: 454 4.7.1 <x@other.test>: "
		   "Relay access denied; from=<a@b> to=<x@other.test>",
		   C_REJECT_RELAY_DENIED);
	assert_one("postfix/smtpd[1]: 4A: milter-reject: END-OF-MESSAGE from c[1.2.3.4]: 5.7.1 "
		   "Rejected by DMARC policy for spam.test; from=<a@b>",
		   C_REJECT_DMARC);
	assert_one("postfix/cleanup[1]: 4A: milter-reject: END-OF-MESSAGE from c[1.2.3.4]: 5.7.1 Spam message rejected",
		   C_REJECT_SPAM);
	assert_one("postfix/smtpd[1]: 4A: milter-reject: END-OF-MESSAGE from c: 5.7.1 Virus found: Eicar",
		   C_REJECT_VIRUS);
	assert_one("postfix/smtpd[1]: NOQUEUE: reject: MAIL from c[1.2.3.4]: 552 5.3.4 Message size exceeds fixed limit",
		   C_REJECT_SIZE);
	assert_one("postfix/smtpd[1]: warning: Connection rate limit exceeded: 31 from c[1.2.3.4] for service smtp",
		   C_REJECT_RATE);
	assert_one("postfix/postscreen[1]: NOQUEUE: reject: RCPT from [1.2.3.4]:5: 550 5.7.1 Service unavailable",
		   C_REJECT_OTHER);
	assert_none("postfix/smtpd[1]: warning: hostname x does not resolve to address 1.2.3.4");
}

static void test_sasl_tls(void **state)
{
	(void)state;
	assert_one("postfix/submission/smtpd[8]: warning: unknown[172.18.0.1]: SASL PLAIN authentication failed: "
		   "UGFzc3dvcmQ6", C_SASL_FAILED);
	assert_one("postfix/smtpd[8]: Anonymous TLS connection established from c[1.2.3.4]: TLSv1.3 with cipher "
		   "TLS_AES_256_GCM_SHA384 (256/256 bits)", C_TLS_IN_13);
	assert_one("postfix/smtps/smtpd[8]: Untrusted TLS connection established from c[1.2.3.4]: TLSv1.2 with cipher x",
		   C_TLS_IN_12);
	assert_one("postfix/smtp[8]: Verified TLS connection established to mx.test[1.2.3.4]:25: TLSv1.3 with cipher x",
		   C_TLS_OUT_13);
	assert_one("postfix/smtp[8]: Trusted TLS connection established to mx.test[1.2.3.4]:25: TLSv1 with cipher x",
		   C_TLS_OUT_10);
	assert_one("postfix/smtpd[8]: Anonymous TLS connection established from c[1.2.3.4]: SSLv3 with cipher x",
		   C_TLS_IN_OTHER);
}

static void test_amavis_verdicts(void **state)
{
	(void)state;
	assert_one("amavis[77]: (00077-01) Passed CLEAN {RelayedInbound}, [172.18.0.1]:40000 <a@b> -> <info@example.com>",
		   C_VERDICT_CLEAN);
	assert_one("amavis[77]: (00077-02) Blocked SPAM {DiscardedInbound,Quarantined}, <a@b> -> <c@d>", C_VERDICT_SPAM);
	assert_one("amavis[77]: (00077-02) Passed SPAMMY {RelayedTaggedInbound}, <a@b> -> <c@d>", C_VERDICT_SPAM);
	assert_one("amavis[77]: (00077-03) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,Quarantined}, <a@b>",
		   C_VERDICT_VIRUS);
	assert_one("amavis[77]: (00077-04) Blocked BANNED (multipart/mixed | application/octet-stream,.exe) {x}",
		   C_VERDICT_BANNED);
	assert_one("amavis[77]: (00077-05) Passed BAD-HEADER-7 {RelayedInbound}, <a@b>", C_VERDICT_BAD_HEADER);
	assert_none("amavis[77]: (00077-05) Passed UNCHECKED {RelayedInbound}");
	assert_none("amavis[77]: perl=5.036000, user=, EUID: 110 (110)");
	assert_none("amavisd[77]: (00077-01) Passed CLEAN {RelayedInbound}");
}

static void test_awkward(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"", "postfix/", "postfix/:", "postfix/smtpd[", "postfix/smtpd[1]", "postfix/smtpd[1]:",
		"postfix/smtpd[1]: ", "postfix/smtpd[1]: A:", "postfix/smtp: A: to=<", "amavis[1]: (",
		"amavis[1]: (1) Passed", "amavis[1]: (1) Passed CLEAN", "postfix/smtp[1]: A: to=<a>, status=",
		"postfix/smtp[1]: A: to=<a>, delay=99999999999999999999, status=bounced",
		"postfix/smtpd[1]: TLS connection established from x: TLSv1.",
	};
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		struct logcount_hits h = classify(lines[i]);
		assert_true(h.n <= LOGCOUNT_HITS_MAX);
	}
	assert_none("postfix/smtp: A: to=<");
	/* not NUL-terminated: the classifier reads only len bytes */
	char buf[] = "postfix/smtpd[1]: 4A: client=x";
	struct logcount_hits h;
	logcount_classify(buf, strlen("postfix/smtpd[1]: 4A: cli"), &h);
	assert_int_equal(h.n, 0);
}

static void test_listen(void **state)
{
	(void)state;
	struct metrics_addr a;
	struct strbuf why;
	sb_init(&why);
	assert_true(metrics_listen_parse(":9154", &a, &why));
	assert_true(a.any);
	assert_int_equal(a.port, 9154);
	assert_true(metrics_listen_parse("127.0.0.1:9154", &a, &why));
	assert_false(a.any);
	assert_true(metrics_listen_parse("[::1]:65535", &a, &why));
	assert_int_equal(why.len, 0);
	static const char *const bad[] = {":99999", "nonsense", ":0", ":", "9154", "host.test:9154",
					  "[::1:9154", "1.2.3.4:", ":25", ":587", ":11334", ":24", ":-1",
					  ":9154x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		sb_reset(&why);
		if (metrics_listen_parse(bad[i], &a, &why))
			fail_msg("%s accepted", bad[i]);
		assert_true(why.len > 0);
	}
	sb_reset(&why);
	assert_false(check_metrics_listen(":25", &why));
	assert_non_null(strstr(why.buf, "not 25"));
	sb_free(&why);
}

static void test_counter_file(void **state)
{
	(void)state;
	char path[] = "/tmp/mtactl-counters-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old layout", 10), 10);
	close(fd);
	assert_null(counters_open_ro(path)); /* another layout is not read */
	struct counters *rw = counters_open_rw(path);
	assert_non_null(rw);
	const struct counters *ro = counters_open_ro(path);
	assert_non_null(ro);
	struct logcount_hits h = classify("postfix/smtp[5]: 4A: to=<a@b>, relay=mx[1.2.3.4]:25, delay=0.3, "
					  "dsn=2.0.0, status=sent (ok)");
	logcount_apply(rw, &h);
	logcount_apply(rw, &h);
	assert_int_equal(counter_get(ro, C_DELIVERED_SMTP), 2);
	assert_int_equal(counter_get(ro, C_DELAY_BUCKET_FIRST + 2), 2); /* le 0.5 */
	assert_int_equal(counter_get(ro, C_DELAY_SUM_MS), 600);
	/* a restarted receiver finds the counts where they were */
	counters_close(rw);
	rw = counters_open_rw(path);
	assert_int_equal(counter_get(rw, C_DELIVERED_SMTP), 2);

	struct gauges g = {.queue = {0, 1, 5, -1}, .quarantine = 2, .cert_not_after = 1.8e9, .clamav_db_age = -1};
	gauges_parse_services("syslog up 10 0\npostfix backoff 0 3\nold up 5\nbad\nfreshclam done 0 0\n", &g);
	assert_int_equal(g.services, 4);
	assert_false(g.service[1].up);
	assert_int_equal(g.service[1].restarts, 3);
	assert_true(g.service[2].up);
	struct strbuf out;
	sb_init(&out);
	metrics_render(ro, &g, &out);
	static const char *const expected[] = {
		"# TYPE mta_messages_delivered_total counter\n",
		"mta_messages_delivered_total{transport=\"smtp\"} 2\n",
		"mta_messages_received_total{port=\"587\"} 0\n",
		"mta_delivery_delay_seconds_bucket{le=\"0.25\"} 0\n",
		"mta_delivery_delay_seconds_bucket{le=\"0.5\"} 2\n",
		"mta_delivery_delay_seconds_bucket{le=\"+Inf\"} 2\n",
		"mta_delivery_delay_seconds_sum 0.600\n",
		"mta_delivery_delay_seconds_count 2\n",
		"mta_queue_messages{queue=\"deferred\"} 5\n",
		"mta_quarantine_messages 2\n",
		"mta_tls_cert_not_after_timestamp_seconds 1800000000\n",
		"mta_service_up{service=\"postfix\"} 0\n",
		"mta_service_restarts_total{service=\"postfix\"} 3\n",
	};
	for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
		if (!strstr(out.buf, expected[i]))
			fail_msg("missing %s in:\n%s", expected[i], out.buf);
	assert_null(strstr(out.buf, "queue=\"hold\""));
	assert_null(strstr(out.buf, "clamav"));
	sb_reset(&out);
	metrics_render(NULL, &g, &out); /* before the receiver made the file */
	assert_null(strstr(out.buf, "mta_messages"));
	assert_non_null(strstr(out.buf, "mta_queue_messages"));
	sb_free(&out);
	counters_close(rw);
	counters_close(ro);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_received_by_port),
		cmocka_unit_test(test_deliveries),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_sasl_tls),
		cmocka_unit_test(test_amavis_verdicts),
		cmocka_unit_test(test_awkward),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_counter_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
