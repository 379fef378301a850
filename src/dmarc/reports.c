/* The daily DMARC report run (see reports.h). */
#include "dmarc/reports.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/vars.h"

/* rspamadm loads rspamd's whole configuration, then mails each report
 * through the local Postfix; a run that takes longer is stuck. */
#define RUN_TIMEOUT_MS (15 * 60 * 1000)
#define OUTPUT_MAX 65536
#define SUMMARY "Reporting collection has finished "

time_t dmarc_next_run(time_t now)
{
	time_t next = now - now % 86400 + DMARC_RUN_AT;
	return next > now ? next : next + 86400;
}

bool dmarc_parse_summary(const char *output, struct dmarc_summary *out)
{
	const char *p = strstr(output, SUMMARY);
	if (!p)
		return false;
	struct dmarc_summary s;
	int used = 0;
	if (sscanf(p + strlen(SUMMARY), "%d dates processed, %d reports: %d completed, %d failed%n",
		   &s.dates, &s.reports, &s.sent, &s.failed, &used) != 4 || used == 0 ||
	    s.dates < 0 || s.reports < 0 || s.sent < 0 || s.failed < 0)
		return false;
	*out = s;
	return true;
}

/* The last non-empty line of output, printable and bounded, into line. */
static void last_line(const char *output, char *line, size_t size)
{
	const char *end = output + strlen(output);
	while (end > output && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > output && start[-1] != '\n')
		start--;
	size_t n = 0;
	for (const char *p = start; p < end && n + 1 < size; p++)
		line[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	line[n] = '\0';
	if (n == 0)
		snprintf(line, size, "no output");
}

/* YYYYMMDD of today + days_back ago in the container's time zone, the
 * dates rspamd files its DMARC data under. */
static int local_date(time_t now, int days_back, char *out, size_t size)
{
	struct tm tm;
	if (!localtime_r(&now, &tm))
		return -1;
	tm.tm_mday -= days_back;
	tm.tm_hour = 12; /* away from a DST change at midnight */
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || !localtime_r(&t, &tm))
		return -1;
	return strftime(out, size, "%Y%m%d", &tm) ? 0 : -1;
}

/* One rspamadm run; one log line. Returns 0 when every report went out. */
static int run_once(bool now_mode)
{
	char yesterday[16], today[16];
	time_t now = time(NULL);
	if (now_mode && (local_date(now, 1, yesterday, sizeof yesterday) < 0 ||
			 local_date(now, 0, today, sizeof today) < 0)) {
		log_warnx("cannot work out today's date");
		return EXIT_SYSTEM;
	}
	/* As rspamd's user, so that nothing it writes ends up owned by root. */
	const char *user = getpwnam("_rspamd") ? "--reuid=_rspamd" : NULL;
	char *argv[12];
	size_t n = 0;
	if (user) {
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = (char *)user;
		argv[n++] = "--regid=_rspamd";
		argv[n++] = "--init-groups"; /* group redis: its socket */
	}
	argv[n++] = RSPAMADM_PATH;
	argv[n++] = "dmarc_report";
	if (now_mode) {
		argv[n++] = yesterday;
		argv[n++] = today;
	}
	argv[n] = NULL;
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, OUTPUT_MAX, now_ms() + RUN_TIMEOUT_MS);
	struct dmarc_summary s;
	int code = EXIT_OK;
	if (rc == 0 && dmarc_parse_summary(out.buf, &s)) {
		if (s.failed > 0) {
			log_warnx("DMARC reports: %d sent, %d failed (see the mail log)", s.sent, s.failed);
			code = EXIT_FAIL;
		} else {
			log_info("DMARC reports: %d sent for %d domain%s", s.sent, s.reports,
				 s.reports == 1 ? "" : "s");
		}
	} else if (rc == 0 && strstr(out.buf, "No reports for ")) {
		/* rspamadm's answer when no domain sent us mail with a rua= */
		log_info("DMARC reports: none to send");
	} else {
		char line[256];
		last_line(out.buf, line, sizeof line);
		if (rc == PROC_TIMED_OUT)
			log_warnx("rspamadm dmarc_report gave no answer in %d s; stopped",
				  RUN_TIMEOUT_MS / 1000);
		else
			log_warnx("rspamadm dmarc_report failed (exit %d): %s", rc, line);
		code = EXIT_SYSTEM;
	}
	sb_free(&out);
	return code;
}

int dmarc_reports_main(int argc, char **argv)
{
	log_set_name("dmarc-reports");
	bool now_mode = argc == 2 && !strcmp(argv[1], "--now");
	if (argc > 2 || (argc == 2 && !now_mode)) {
		fprintf(stderr, "usage: mtactl dmarc-reports [--now]\n");
		return EXIT_USAGE;
	}
	if (!path_exists(RSPAMADM_PATH)) {
		log_warnx("DMARC reports are sent by rspamd: the rspamd image only (no %s)", RSPAMADM_PATH);
		return EXIT_USAGE;
	}
	const char *enabled = var_env(V_DMARC_REPORTS);
	if (strcmp(enabled, "yes")) {
		log_warnx("DMARC_REPORTS is \"%s\", not yes: rspamd collects no report data", enabled);
		return EXIT_USAGE;
	}
	if (now_mode)
		return run_once(true);
	log_info("sending DMARC aggregate reports daily at %02d:%02d UTC", DMARC_RUN_AT / 3600,
		 DMARC_RUN_AT / 60 % 60);
	for (;;) {
		struct timespec at = {.tv_sec = dmarc_next_run(time(NULL))};
		int err;
		while ((err = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL)) == EINTR)
			;
		if (err)
			fatalx(EXIT_SYSTEM, "clock_nanosleep: %s", strerror(err));
		(void)run_once(false);
	}
}
