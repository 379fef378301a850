/* The configuration step: validate the environment, and when the volume is
 * unlocked (first start, FORCE_CONFIG, or an empty /srv) write Postfix's
 * files. Returns an exit code from common/exitcode.h; on EXIT_USAGE nothing
 * was written. */
#ifndef MTACTL_CONFIG_ENGINE_H
#define MTACTL_CONFIG_ENGINE_H

/* Optional services the configuration enabled, "name flags program args"
 * per line, read by init at every start (the configuration may be locked). */
#define SERVICES_DIR "/srv/etc/mtactl"
#define SERVICES_FILE SERVICES_DIR "/services"

#include <stdbool.h>
#include <sys/types.h>

#include "config/postfix.h"

int config_run(void);
int config_main(int argc, char **argv);

/* The engine's pieces that the live reload (reload/) applies again to
 * the list variables. Failures are fatal (EXIT_SYSTEM). */
enum image config_this_image(void);
void config_host_facts(enum image image, struct postfix_host *host);
/* Replaces one lookup table atomically (lmdb: compiled into a temp, then renamed). */
void config_write_map(const struct postfix_map *m);
/* Replaces a file that root and group read (it holds passwords). */
void config_write_file_group(const char *path, const struct strbuf *text, mode_t mode, const char *group);
void config_make_mailbox_dirs(const struct settings *s, const struct postfix_host *host);
/* Logs each line of lines (the one-line errors of settings_load). */
void config_log_lines(const char *prefix, const struct strbuf *lines, bool as_warning);

#endif
