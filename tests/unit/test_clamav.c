/* The ClamAV glue's pure parts: the database check, freshclam's retry
 * pauses and check interval, and the reading of its output (cause of a
 * failure, databases of a good run), fed awkward input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clamav/clamav.h"
#include "clamav/freshclam.h"
#include "common/fileio.h"
#include "common/proc.h"

/* What freshclam 1.4.3 printed in the image with no network (--stdout). */
static const char offline[] =
	"ClamAV update process started at Tue Dec  1 21:26:38 2026\n"
	"WARNING: Can't query current.cvd.clamav.net\n"
	"WARNING: Invalid DNS reply. Falling back to HTTP mode.\n"
	"Trying to retrieve CVD header from https://database.clamav.net/daily.cvd\n"
	"WARNING: remote_cvdhead: Download failed (6) WARNING:  Message: Couldn't resolve host name\n"
	"WARNING: Failed to get daily database version information from server: https://database.clamav.net\n"
	"ERROR: check_for_new_database_version: Failed to find daily database using server https://database.clamav.net.\n"
	"Giving up on https://database.clamav.net...\n"
	"ERROR: Update failed for database: daily\n"
	"ERROR: Database update process failed: HTTP GET failed\n"
	"ERROR: Update failed.\n";

/* A good run, made of libfreshclam's message formats (with a log time
 * prefix, as LogTime yes gives). */
static const char updated[] =
	"ClamAV update process started at Tue Dec  1 21:26:38 2026\n"
	"daily database available for update (local version: 27011, remote version: 27012)\n"
	"Tue Dec  1 21:26:40 2026 -> daily.cld updated (version: 27012, sigs: 2070573, f-level: 90, builder: raynman)\n"
	"main database is up-to-date (version: 62, sigs: 6647427, f-level: 90, builder: sigmgr)\n"
	"bytecode database is up-to-date (version: 335, sigs: 86, f-level: 90, builder: raynman)\n"
	"WARNING: Your ClamAV installation is OUTDATED!\n"
	"WARNING: Local version: 1.4.3 Recommended version: 1.5.1\n"
	"Clamd successfully notified about the update.\n";

#define CAUSE(status, text) cause_of((status), (text), &buf[0], sizeof buf)

static const char *cause_of(int status, const char *text, char *buf, size_t size)
{
	freshclam_cause(status, text, text ? strlen(text) : 0, buf, size);
	return buf;
}

static void test_retry_pauses(void **state)
{
	(void)state;
	assert_int_equal(freshclam_retry_s(0), 0);
	assert_int_equal(freshclam_retry_s(1), 300);
	assert_int_equal(freshclam_retry_s(2), 600);
	assert_int_equal(freshclam_retry_s(3), 1200);
	assert_int_equal(freshclam_retry_s(6), 9600);
	assert_int_equal(freshclam_retry_s(7), FRESHCLAM_RETRY_MAX_S);
	assert_int_equal(freshclam_retry_s(1000), FRESHCLAM_RETRY_MAX_S);
	assert_int_equal(freshclam_retry_s(UINT_MAX), FRESHCLAM_RETRY_MAX_S);
	/* Never shorter than the one before. */
	for (unsigned f = 1; f < 100; f++)
		assert_true(freshclam_retry_s(f + 1) >= freshclam_retry_s(f));
}

static unsigned interval(const char *conf)
{
	return freshclam_interval_s(conf, conf ? strlen(conf) : 0);
}

static void test_check_interval(void **state)
{
	(void)state;
	const unsigned def = 24 * 3600 / FRESHCLAM_DEFAULT_CHECKS;
	assert_int_equal(interval(NULL), def);
	assert_int_equal(interval(""), def);
	assert_int_equal(interval("DatabaseOwner clamav\nChecks 24\nNotifyClamd x\n"), 3600);
	assert_int_equal(interval("  Checks\t12"), 7200);
	assert_int_equal(interval("Checks \"6\"\r\n"), 4 * 3600);
	assert_int_equal(interval("Checks 50\n"), 1728);
	assert_int_equal(interval("Checks 24\nChecks 2\n"), 12 * 3600);  /* the last wins */
	assert_int_equal(interval("Checks 24\nChecks 0\n"), 3600);       /* a bad one is skipped */
	/* Not a Checks line, or a bad value: freshclam's default. */
	const char *bad[] = {"# Checks 1", "checks 1", "ChecksX 1", "Checks", "Checks ", "Checks 0",
			     "Checks 51", "Checks 1000", "Checks 24x", "Checks -3", "Checks \"6",
			     "Checks 6\"", "Checks 2 4", "XChecks 1", "Checks\n1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(interval(bad[i]), def);
	/* Length-bounded: the text after len does not count, a NUL inside does not stop it. */
	assert_int_equal(freshclam_interval_s("Checks 12", 8), 24 * 3600);
	assert_int_equal(freshclam_interval_s("x\0\nChecks 3", 11), 8 * 3600);
}

static void test_duration(void **state)
{
	(void)state;
	char buf[32];
	const struct {
		unsigned s;
		const char *text;
	} cases[] = {{0, "0 s"}, {59, "59 s"}, {60, "1 min"}, {300, "5 min"}, {3599, "59 min"},
		     {3600, "1 h"}, {3661, "1 h 1 min"}, {4800, "1 h 20 min"}, {14400, "4 h"},
		     {UINT_MAX, "1193046 h 28 min"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		freshclam_duration(cases[i].s, buf, sizeof buf);
		assert_string_equal(buf, cases[i].text);
	}
	char tiny[4];
	freshclam_duration(4800, tiny, sizeof tiny);
	assert_string_equal(tiny, "1 h");
}

static void test_cause_from_output(void **state)
{
	(void)state;
	char buf[160];
	assert_string_equal(CAUSE(11, offline), "cannot resolve the database mirror's name");
	assert_string_equal(CAUSE(11, "Download failed (7)  Message: Failed to connect to "
				      "database.clamav.net port 443 after 3 ms: Couldn't connect to server\n"),
			    "cannot connect to the database mirror");
	assert_string_equal(CAUSE(5, "Message: Connection timed out after 30001 milliseconds\n"),
			    "the database mirror did not answer in time");
	assert_string_equal(CAUSE(11, "Message: SSL certificate problem: unable to get local issuer\n"),
			    "the database mirror's certificate is not trusted");
	assert_string_equal(CAUSE(11, "Message: Could not resolve proxy: proxy.example\n"),
			    "cannot resolve the proxy's name");
	assert_string_equal(CAUSE(17, "WARNING: FreshClam received error code 403 from the ClamAV "
				      "Content Delivery Network (CDN).\n"),
			    "the database mirror refuses this host (HTTP 403)");
	assert_string_equal(CAUSE(14, "ERROR: buildcld: Can't add daily.cfg to new daily.cld - please "
				      "check if there is enough disk space available\n"),
			    "no space left for the database");
	/* The cool-down says more than the 429 that caused it. */
	assert_string_equal(CAUSE(18, "WARNING: FreshClam received error code 429 from the ClamAV CDN.\n"
				      "WARNING: You are on cool-down until after: 2026-12-02 01:26:38\n"),
			    "the database mirror asked to wait; freshclam will not try before "
			    "2026-12-02 01:26:38");
	/* Its date is copied printable only, bounded, without the line end. */
	assert_string_equal(CAUSE(18, "still on cool-down until after: 2026\x1b[31m-12-02  \r\nnext"),
			    "the database mirror asked to wait; freshclam will not try before 2026[31m-12-02");
	assert_string_equal(CAUSE(18, "on cool-down until after: "),
			    "the database mirror asked to wait; freshclam will not try before its "
			    "cool-down ends");
	CAUSE(18, "cool-down until after: 0123456789012345678901234567890123456789012345678901234567890");
	assert_true(strlen(buf) < sizeof buf);
	assert_null(strchr(buf, '\n'));
}

static void test_cause_from_status(void **state)
{
	(void)state;
	char buf[160];
	assert_string_equal(CAUSE(11, NULL), "cannot download from the database mirror");
	assert_string_equal(CAUSE(11, ""), "cannot download from the database mirror");
	assert_string_equal(CAUSE(2, "ERROR: Can't open/parse the config file /etc/clamav/freshclam.conf\n"),
			    "cannot read freshclam.conf");
	assert_string_equal(CAUSE(2, "nothing known"), "freshclam could not start (its configuration?)");
	assert_string_equal(CAUSE(127, ""), "cannot run freshclam");
	assert_string_equal(CAUSE(-1, NULL), "cannot run freshclam");
	assert_string_equal(CAUSE(PROC_TIMED_OUT, ""), "freshclam ran too long and was stopped");
	assert_string_equal(CAUSE(128 + 9, ""), "freshclam was killed by signal 9");
	assert_string_equal(CAUSE(1, ""), "freshclam exit 1");   /* FC_UPTODATE is exit 0 */
	assert_string_equal(CAUSE(19, ""), "freshclam exit 19");
	assert_string_equal(CAUSE(128, ""), "freshclam exit 128");
	assert_string_equal(CAUSE(-7, ""), "freshclam exit -7");
	/* Small buffers are filled, terminated and never overrun. */
	char tiny[8] = "xxxxxxx";
	freshclam_cause(11, offline, sizeof offline - 1, tiny, sizeof tiny);
	assert_string_equal(tiny, "cannot ");
	freshclam_cause(11, offline, sizeof offline - 1, tiny, 1);
	assert_string_equal(tiny, "");
	freshclam_cause(11, offline, sizeof offline - 1, tiny, 0);
}

static void test_report(void **state)
{
	(void)state;
	struct freshclam_report r;
	char list[256];
	freshclam_report_parse(updated, sizeof updated - 1, &r);
	assert_true(r.updated);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.recommended, "1.5.1");
	freshclam_report_list(&r, true, list, sizeof list);
	assert_string_equal(list, "daily 27012");
	freshclam_report_list(&r, false, list, sizeof list);
	assert_string_equal(list, "daily 27012, main 62, bytecode 335");
	/* Whole items only when the buffer is short. */
	freshclam_report_list(&r, false, list, 21);
	assert_string_equal(list, "daily 27012, main 62");
	freshclam_report_list(&r, false, list, 20);
	assert_string_equal(list, "daily 27012");
	freshclam_report_list(&r, false, list, 5);
	assert_string_equal(list, "");

	/* Nothing updated; a custom database (no version); the same database twice. */
	static const char mixed[] =
		"daily database is up-to-date (version: 27012, sigs: 1)\n"
		"local.ndb updated (version: custom database, sigs: 3)\n"
		"daily.cvd updated (version: 27013, sigs: 2)\n";
	freshclam_report_parse(mixed, sizeof mixed - 1, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.recommended, "");
	freshclam_report_list(&r, false, list, sizeof list);
	assert_string_equal(list, "daily 27013, local.ndb");

	static const char none[] = "daily database is up-to-date (version: 27012, sigs: 1)\n";
	freshclam_report_parse(none, sizeof none - 1, &r);
	assert_false(r.updated);
	freshclam_report_list(&r, true, list, sizeof list);
	assert_string_equal(list, "");

	/* Awkward: no name, a name too long, odd bytes, more databases than fit, nothing. */
	static const char odd[] =
		" updated (version: 1)\n"
		"a_database_name_much_too_long_to_keep updated (version: 2)\n"
		"\xff\x01" "bad updated (version: 3)\n"
		"x\x7f updated (version: 4)\n"
		"huge updated (version: 99999999999999)\n"
		"Recommended version: \n";
	freshclam_report_parse(odd, sizeof odd - 1, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.db[0].name, "bad");
	assert_string_equal(r.db[1].name, "huge");
	assert_int_equal(r.db[1].version, 999999999);
	struct strbuf many;
	sb_init(&many);
	for (int i = 0; i < 20; i++)
		sb_addf(&many, "db%d database is up-to-date (version: %d)\n", i, i);
	freshclam_report_parse(many.buf, many.len, &r);
	assert_int_equal(r.n, FRESHCLAM_DB_MAX);
	sb_free(&many);
	freshclam_report_parse(NULL, 0, &r);
	assert_int_equal(r.n, 0);
	freshclam_report_parse(offline, sizeof offline - 1, &r);
	assert_int_equal(r.n, 0);
	assert_false(r.updated);
}

static void test_database_present(void **state)
{
	(void)state;
	char dir[] = "/tmp/mtactl-clamav-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[PATH_MAX];
	assert_false(clamav_database_present(dir));
	snprintf(path, sizeof path, "%s/freshclam.dat", dir);
	assert_int_equal(file_write_atomic(path, "x", 1, 0644), 0);
	assert_false(clamav_database_present(dir));
	char other[PATH_MAX];
	snprintf(other, sizeof other, "%s/e2e-eicar.hdb", dir);
	assert_int_equal(file_write_atomic(other, "x", 1, 0644), 0);
	assert_true(clamav_database_present(dir));
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_false(clamav_database_present(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_pauses),
		cmocka_unit_test(test_check_interval),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_cause_from_output),
		cmocka_unit_test(test_cause_from_status),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_database_present),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
