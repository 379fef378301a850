/* Online backup and restore of everything under /srv that matters:
 * configuration, DKIM keys, the Postfix queue, quarantine, mailboxes,
 * Bayes/redis data. `mtactl backup DIR` copies while mail flows (queue
 * first, then mailboxes, then the rest) and writes DIR/manifest last;
 * `mtactl backup --verify DIR` checks every copy against it; `mtactl
 * restore DIR` fills a fresh volume before its first start. */
#ifndef MTACTL_BACKUP_H
#define MTACTL_BACKUP_H

int backup_main(int argc, char **argv);
int restore_main(int argc, char **argv);

/* The same on other roots (the commands use "/srv"), for tests. Each
 * returns an exit code of common/exitcode.h and logs why. backup_run
 * needs dir to exist and be empty (backup_main checks the argument). */
int backup_run(const char *srv, const char *dir);
/* EXIT_OK when every copy matches the manifest, EXIT_FAIL naming each one
 * that does not, EXIT_USAGE when there is no valid manifest. */
int backup_verify(const char *dir);
/* unlock: the seeding file whose presence marks a volume never started. */
int restore_run(const char *dir, const char *srv, const char *unlock);

#endif
