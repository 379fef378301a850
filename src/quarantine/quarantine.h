/* The amavis quarantine: one file per blocked message, the message with
 * amavis's X-Envelope-*, X-Quarantine-ID and X-Amavis-Alert headers. */
#ifndef MTACTL_QUARANTINE_QUARANTINE_H
#define MTACTL_QUARANTINE_QUARANTINE_H

#include <stddef.h>
#include <time.h>

#include "common/strbuf.h"

#define QUARANTINE_PATH "/var/amavis/quarantine"

struct quarantine_entry {
	char date[64];
	char sender[256];
	char recipients[512]; /* X-Envelope-To-Blocked, else X-Envelope-To */
	char subject[256];
	char reason[256];     /* X-Amavis-Alert, else the kind from the file name */
	char xquarantine[256]; /* X-Quarantine (rspamd's hold queue), the first one */
};

/* Reads the header section of a quarantined message (folded lines joined,
 * control characters dropped, every field bounded). name is the file name,
 * whose prefix (virus-, spam-, banned-, badh-) says what kind it is. */
void quarantine_parse(const char *text, size_t len, const char *name, struct quarantine_entry *e);

/* The column heading and one row of the listing, shared by the amavis
 * quarantine and the hold queue so both read the same. */
void quarantine_print_heading(void);
void quarantine_print_row(time_t when, long long size, const char *sender, const char *recipients,
			  const char *subject, const char *reason, const char *file);

/* `mtactl quarantine ls|release` and `amavis-ls`: amavis's quarantine when
 * the image has amavis, else Postfix's hold queue. */
int quarantine_main(int argc, char **argv);
int amavis_ls_main(int argc, char **argv);

#endif
