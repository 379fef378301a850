/* Reading a backup DIR: its manifest, and every copy checked against it.
 * Shared by `backup --verify` and `restore` (which verifies first). */
#ifndef MTACTL_BACKUP_VERIFY_H
#define MTACTL_BACKUP_VERIFY_H

#include "backup/manifest.h"

/* Reads and parses DIR/manifest into m (initialised by the caller).
 * EXIT_OK, or EXIT_USAGE having logged one line naming the problem. */
int backup_load(const char *dir, struct manifest *m);
/* Checks every file of m in DIR/data (size and SHA-256) and that DIR/data
 * holds nothing else; logs one line per problem. Returns their count. */
unsigned long backup_check(const char *dir, const struct manifest *m);

#endif
