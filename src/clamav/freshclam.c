/* `mtactl freshclam`: a supervised service that runs freshclam (once, not
 * as a daemon) at start and then at intervals, with its output captured.
 *
 * A failed run is one warning, "update failed (cannot resolve the database
 * mirror's name); next try in 5 min", and the pause doubles after each
 * failure in a row, up to 4 h. A good run waits a day divided by Checks of
 * freshclam.conf (the file on the volume, hand edits included). A good run
 * says so in one notice when a database changed, and on the first good
 * run and the first after failures; otherwise it is silent. freshclam's
 * own lines go to syslog at debug level (SYSLOG_LEVEL=7 shows them).
 * freshclam tells clamd to reload after an update (NotifyClamd in
 * freshclam.conf); clamd's SelfCheck catches what that misses.
 *
 * Stopping: SIGTERM keeps its default action, ending this process at any
 * point; freshclam, in the same process group, gets init's SIGTERM too.
 * Nothing here is fatal but a failing clock or sleep (init restarts it). */
#include "clamav/clamav.h"
#include "clamav/freshclam.h"

#include <errno.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/filters.h"

#define FRESHCLAM_PROGRAM "/usr/bin/freshclam"
/* A run that has not ended by then is stuck (freshclam.conf sets no
 * receive timeout); main.cvd is 160 MB, so be generous. */
#define RUN_BUDGET_MS (60 * 60 * 1000)
#define OUTPUT_MAX (256 * 1024)
#define DAY_S (24u * 3600u)

unsigned freshclam_retry_s(unsigned failures)
{
	if (failures == 0)
		return 0;
	unsigned s = FRESHCLAM_RETRY_FIRST_S;
	for (unsigned i = 1; i < failures && s < FRESHCLAM_RETRY_MAX_S; i++)
		s *= 2;
	return s < FRESHCLAM_RETRY_MAX_S ? s : FRESHCLAM_RETRY_MAX_S;
}

/* The value of a "Checks N" line, or 0 when the line is not one or N is
 * not 1 to 50 (freshclam.conf(5); freshclam's option parser: leading
 * blanks skipped, # starts a comment line, the name is case-sensitive). */
static unsigned checks_on_line(const char *p, const char *end)
{
	static const char key[] = "Checks";
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) <= sizeof key - 1 || memcmp(p, key, sizeof key - 1) != 0)
		return 0;
	p += sizeof key - 1;
	if (*p != ' ' && *p != '\t')
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	bool quoted = p < end && *p == '"';
	p += quoted;
	unsigned v = 0;
	int digits = 0;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
		v = v * 10 + (unsigned)(*p - '0');
	if (quoted && (p >= end || *p++ != '"'))
		return 0;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return digits && p == end && v >= 1 && v <= 50 ? v : 0;
}

unsigned freshclam_interval_s(const char *conf, size_t len)
{
	unsigned checks = FRESHCLAM_DEFAULT_CHECKS;
	const char *end = conf ? conf + len : NULL;
	for (const char *line = conf; line && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		unsigned v = checks_on_line(line, nl ? nl : end);
		if (v)
			checks = v;
		line = nl ? nl + 1 : NULL;
	}
	return DAY_S / checks;
}

void freshclam_duration(unsigned seconds, char *buf, size_t size)
{
	unsigned h = seconds / 3600, min = seconds % 3600 / 60;
	if (seconds < 60)
		snprintf(buf, size, "%u s", seconds);
	else if (h == 0)
		snprintf(buf, size, "%u min", min);
	else if (min == 0)
		snprintf(buf, size, "%u h", h);
	else
		snprintf(buf, size, "%u h %u min", h, min);
}

static void sleep_s(unsigned seconds)
{
	struct timespec ts = {.tv_sec = seconds, .tv_nsec = 0};
	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			fatal(EXIT_SYSTEM, "nanosleep");
}

/* freshclam's lines, for SYSLOG_LEVEL=7 (the receiver drops them else). */
static void log_output_debug(const struct strbuf *out)
{
	const char *end = out->buf + out->len;
	for (const char *line = out->buf; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		int n = (int)((nl ? nl : end) - line);
		if (n > 0)
			syslog(LOG_DEBUG, "%.*s", n, line);
		line = nl ? nl + 1 : end;
	}
}

static unsigned interval_from_conf(void)
{
	struct strbuf conf;
	sb_init(&conf);
	if (file_read(FRESHCLAM_CONF, &conf, 1 << 20) < 0)
		log_warn("reading %s; checking every %u h", FRESHCLAM_CONF,
			 DAY_S / FRESHCLAM_DEFAULT_CHECKS / 3600);
	unsigned s = freshclam_interval_s(conf.buf, conf.len);
	sb_free(&conf);
	return s;
}

/* One notice after a good run, when there is news: a database changed, or
 * this is the first good run (what the service started with), or the
 * first after failures (the warnings are over). */
static void report_good_run(const struct strbuf *out, bool first, unsigned failures)
{
	struct freshclam_report r;
	freshclam_report_parse(out->buf, out->len, &r);
	if (!r.updated && !first && !failures)
		return;
	char list[256], outdated[64] = "";
	freshclam_report_list(&r, r.updated, list, sizeof list);
	if (*r.recommended)
		snprintf(outdated, sizeof outdated, " (freshclam recommends ClamAV %s)", r.recommended);
	log_info("ClamAV database %s%s%s%s%s", r.updated ? "updated" : "up to date", *list ? ": " : "",
		 list, failures ? " (updates work again)" : "", outdated);
}

int freshclam_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("freshclam");
	if (argc != 1) {
		log_warnx("usage: mtactl freshclam");
		return EXIT_USAGE;
	}
	openlog("freshclam", LOG_PID, LOG_MAIL);
	char *run[] = {FRESHCLAM_PROGRAM, "--stdout", "--config-file=" FRESHCLAM_CONF, NULL};
	unsigned failures = 0;
	bool first = true;
	for (;;) {
		struct strbuf out;
		sb_init(&out);
		int status = proc_run_capture(run, &out, OUTPUT_MAX, now_ms() + RUN_BUDGET_MS);
		log_output_debug(&out);
		unsigned pause;
		if (status == 0) {
			report_good_run(&out, first, failures);
			first = false;
			failures = 0;
			pause = interval_from_conf();
		} else {
			char cause[160], when[32];
			freshclam_cause(status, out.buf, out.len, cause, sizeof cause);
			pause = freshclam_retry_s(++failures);
			freshclam_duration(pause, when, sizeof when);
			log_warnx("update failed (%s); next try in %s", cause, when);
		}
		sb_free(&out);
		sleep_s(pause);
	}
}
