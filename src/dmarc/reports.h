/* `mtactl dmarc-reports [--now]` (rspamd image, DMARC_REPORTS=yes): sends
 * the DMARC aggregate reports rspamd's dmarc module collected in redis, by
 * running `rspamadm dmarc_report`. As a service it sleeps until 00:20 UTC
 * (clock_nanosleep on the wall clock: no polling, and a clock change is
 * followed) and reports the day before; --now reports yesterday and today
 * so far at once (operators, tests). One log line per run. */
#ifndef MTACTL_DMARC_REPORTS_H
#define MTACTL_DMARC_REPORTS_H

#include <stdbool.h>
#include <time.h>

#define RSPAMADM_PATH "/usr/bin/rspamadm"
/* Seconds after midnight UTC of the daily run. rspamadm then reports
 * "yesterday" in the container's time zone (TZ), as rspamd dates its data,
 * a day that is over by then wherever TZ points. */
#define DMARC_RUN_AT (20 * 60)

/* The first run time (Unix seconds) strictly after now. */
time_t dmarc_next_run(time_t now);

/* The counts in rspamadm's summary line ("Reporting collection has
 * finished 1 dates processed, 2 reports: 2 completed, 0 failed"). */
struct dmarc_summary {
	int dates, reports, sent, failed;
};
/* Finds and parses the summary line in rspamadm's output. */
bool dmarc_parse_summary(const char *output, struct dmarc_summary *out);

int dmarc_reports_main(int argc, char **argv);

#endif
