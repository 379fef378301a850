/* What the learners' answers mean (mtactl learn, spamd-learn) and the
 * DMARC report run's schedule and summary line (mtactl dmarc-reports). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "dmarc/reports.h"
#include "learn/learn.h"

static void test_rspamc_answers(void **state)
{
	(void)state;
	/* rspamc 3.4 learn_spam: learned, known, controller down */
	assert_int_equal(learn_classify(LEARN_RSPAMC, 0,
					"Results for file: stdin (0.052 seconds)\nsuccess = true;\n"
					"filename = \"stdin\";\nscan_time = 0.052;\n"),
			 LEARN_LEARNED);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 0,
					"Results for file: stdin (0.012 seconds)\nerror = \"<x2@b.test> "
					"has been already learned as spam, ignore it\";\n"),
			 LEARN_ALREADY);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 1, "HTTP error: 208, <x> has been already "
							  "learned as ham, ignore it\n"),
			 LEARN_ALREADY);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 1,
					"rspamc: cannot connect to /run/rspamd/controller.sock: "
					"No such file or directory\n"),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 0, "success = false;\n"), LEARN_FAILED);
	/* rspamc 3.4 exits 0 here too */
	assert_int_equal(learn_classify(LEARN_RSPAMC, 0,
					"Results for file: stdin (0.012 seconds)\nerror = \"<x1@b.test> "
					"contains less tokens than required for bayes classifier: 4 < 11\";\n"
					"filename = \"stdin\";\nscan_time = 0.012000;\n"),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 1, "success = true;\n"), LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_RSPAMC, 0, ""), LEARN_FAILED);
}

static void test_sa_learn_answers(void **state)
{
	(void)state;
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 0,
					"Learned tokens from 1 message(s) (1 message(s) examined)\n"),
			 LEARN_LEARNED);
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 0,
					"Learned tokens from 0 message(s) (1 message(s) examined)\n"),
			 LEARN_ALREADY);
	/* nothing readable: not "already" */
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 0,
					"Learned tokens from 0 message(s) (0 message(s) examined)\n"),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 1,
					"archive-iterator: no access to /x\n"
					"Learned tokens from 0 message(s) (0 message(s) examined)\n"),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 0, "Learned tokens from x message(s)"),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_SA_LEARN, 0, "Learned tokens from 1 message(s) ("),
			 LEARN_FAILED);
	assert_int_equal(learn_classify(LEARN_NONE, 0, "success = true;"), LEARN_FAILED);
}

static void test_next_run(void **state)
{
	(void)state;
	const time_t day = 1764633600; /* 2025-12-02 00:00:00 UTC */
	assert_int_equal(dmarc_next_run(day), day + DMARC_RUN_AT);
	assert_int_equal(dmarc_next_run(day + DMARC_RUN_AT - 1), day + DMARC_RUN_AT);
	/* at the run time itself: the next day's (the run just happened) */
	assert_int_equal(dmarc_next_run(day + DMARC_RUN_AT), day + 86400 + DMARC_RUN_AT);
	assert_int_equal(dmarc_next_run(day + 86399), day + 86400 + DMARC_RUN_AT);
}

static void test_summary(void **state)
{
	(void)state;
	struct dmarc_summary s = {-1, -1, -1, -1};
	assert_true(dmarc_parse_summary(
		"2025-12-02 00:20:01 #77(main) <abcdef>; lua; dmarc_report.lua:701: Reporting collection "
		"has finished 2 dates processed, 3 reports: 2 completed, 1 failed\n",
		&s));
	assert_int_equal(s.dates, 2);
	assert_int_equal(s.reports, 3);
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.failed, 1);
	assert_true(dmarc_parse_summary("Reporting collection has finished 0 dates processed, "
					"0 reports: 0 completed, 0 failed",
					&s));
	assert_int_equal(s.reports, 0);
	assert_false(dmarc_parse_summary("dmarc reporting is not enabled, exiting\n", &s));
	assert_false(dmarc_parse_summary("Reporting collection has finished 1 dates processed", &s));
	assert_false(dmarc_parse_summary("Reporting collection has finished -1 dates processed, "
					 "0 reports: 0 completed, 0 failed",
					 &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rspamc_answers),
		cmocka_unit_test(test_sa_learn_answers),
		cmocka_unit_test(test_next_run),
		cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
