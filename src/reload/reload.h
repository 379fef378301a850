/* Live reload of the list variables that come from files (MAIL_BOXES_FILE,
 * MAIL_ALIASES_FILE, REGEX_ALIAS_FILE, SMTPD_SASL_CLIENTAUTH_FILE): init
 * watches the files (init/reload_watch.h) and runs `mtactl config
 * --reload`, which validates the whole environment as the config step does
 * and replaces only the tables those lists make. */
#ifndef MTACTL_RELOAD_RELOAD_H
#define MTACTL_RELOAD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/vars.h"

#define RELOAD_LISTS 4
/* The variables whose NAME_FILE is watched and reloaded, in log order. */
extern const enum var_id reload_list_vars[RELOAD_LISTS];

/* The path NAME_FILE names when the list comes from that file (NAME itself
 * unset or empty, as settings_load reads it), else NULL. */
const char *reload_list_file(enum var_id id);

/* Whether any of them does. */
bool reload_any_list_file(void);

enum reload_when {
	RELOAD_LIVE,     /* services run: one line also when nothing changed, Postfix reloaded */
	RELOAD_AT_START, /* the config step on a configured volume: quiet when unchanged */
};

/* Re-reads the lists, and when they pass every check of the config step,
 * replaces the tables that changed (each atomically), adjusts main.cf's
 * map lists when a table appears or goes empty, and reloads Postfix only
 * where it does not notice a changed table itself. Logs one line. Returns
 * EXIT_OK, or EXIT_USAGE with the config step's error lines logged and
 * nothing changed. */
int reload_lists(enum reload_when when);

/* What changed between two renderings of a table: lines keyed by the text
 * up to the first key_end ('\0': the whole line); blank lines and '#'
 * comments do not count. */
struct reload_diff {
	size_t total;   /* entries of the new text */
	size_t added, removed, changed;
};
void reload_diff_lines(const char *old_text, const char *new_text, char key_end, struct reload_diff *d);

#endif
