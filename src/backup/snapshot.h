/* Databases that a daemon writes in place are brought to a consistent
 * file on disk before backup copies them: SpamAssassin's Bayes (sa-learn
 * --sync folds the journal in) and redis (BGSAVE, waited for). */
#ifndef MTACTL_BACKUP_SNAPSHOT_H
#define MTACTL_BACKUP_SNAPSHOT_H

/* Each step runs only where its data and program are there (full: Bayes,
 * rspamd: redis). A failure is a warning: the files are copied as they
 * are, which is the last consistent state the daemon wrote. */
void snapshot_databases(const char *srv);

#endif
