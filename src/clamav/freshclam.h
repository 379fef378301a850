/* `mtactl freshclam`, the signature updater: it runs `freshclam` (not its
 * daemon, whose every retry logged a dozen WARNING and ERROR lines) now
 * and then with the output captured. A failed run is one warning with the
 * cause in a few words and the next try comes after a growing pause; a run
 * that changed the database is one notice. These are its pure parts, fed
 * freshclam's output (bytes from the network's error messages, not
 * trusted: only fixed words and checked tokens come out of it). */
#ifndef MTACTL_CLAMAV_FRESHCLAM_H
#define MTACTL_CLAMAV_FRESHCLAM_H

#include <stdbool.h>
#include <stddef.h>

#define FRESHCLAM_RETRY_FIRST_S 300u   /* 5 min after the first failure, */
#define FRESHCLAM_RETRY_MAX_S 14400u   /* doubling up to 4 h */
#define FRESHCLAM_DEFAULT_CHECKS 12u   /* freshclam.conf(5)'s Checks default */

/* Seconds to wait after the failures-th failed run in a row (0 for none). */
unsigned freshclam_retry_s(unsigned failures);
/* Seconds between checks after a good run: a day divided by freshclam.conf's
 * Checks (1 to 50, the last one given; FRESHCLAM_DEFAULT_CHECKS else). */
unsigned freshclam_interval_s(const char *conf, size_t len);
/* "45 s", "5 min", "2 h", "1 h 20 min". */
void freshclam_duration(unsigned seconds, char *buf, size_t size);

/* Why a run failed, in a few words: from the messages freshclam printed,
 * else from its exit status (its fc_error_t code, 128+signal, 127 or -1:
 * could not run it, PROC_TIMED_OUT). */
void freshclam_cause(int status, const char *out, size_t len, char *buf, size_t size);

#define FRESHCLAM_DB_MAX 8

struct freshclam_db {
	char name[24];     /* "daily", or a custom database's file name */
	unsigned version;  /* 0 when freshclam gave none (custom databases) */
	bool updated;      /* this run changed it */
};

/* What a good run says about the databases. */
struct freshclam_report {
	struct freshclam_db db[FRESHCLAM_DB_MAX];
	size_t n;
	bool updated;           /* any database changed */
	char recommended[24];   /* ClamAV version freshclam recommends over this one, or "" */
};

void freshclam_report_parse(const char *out, size_t len, struct freshclam_report *r);
/* "daily 27012, main 62": the databases that changed, or all (only_updated
 * false); "" when there are none. */
void freshclam_report_list(const struct freshclam_report *r, bool only_updated, char *buf,
			   size_t size);

#endif
