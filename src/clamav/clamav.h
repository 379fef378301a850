/* ClamAV glue of the full image: whether a signature database is there,
 * `mtactl clamav-wait` (clamd starts once there is one) and `mtactl
 * freshclam` (the supervised updater, freshclam.h). */
#ifndef MTACTL_CLAMAV_CLAMAV_H
#define MTACTL_CLAMAV_CLAMAV_H

#include <stdbool.h>

#define CLAMAV_DB_DIR "/var/lib/clamav"

/* Does dir hold a ClamAV signature database (*.cvd, *.cld or a local
 * signature file)? Without one clamd does not start and mail waits. */
bool clamav_database_present(const char *dir);

/* `mtactl clamav-wait DIR PROGRAM [ARGS...]`: execs PROGRAM once DIR holds
 * a signature database (at once when it does already). */
int clamav_wait_main(int argc, char **argv);

/* `mtactl freshclam`: runs freshclam now and then, see freshclam.h. */
int freshclam_main(int argc, char **argv);

#endif
