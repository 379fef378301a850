/* Entry and exit hooks: executable files in a directory, run in name order,
 * each waited for within a deadline. */
#ifndef MTACTL_INIT_HOOKS_H
#define MTACTL_INIT_HOOKS_H

#include <stdint.h>

#define ENTRY_HOOK_DIR "/etc/docker/entry.d"
#define EXIT_HOOK_DIR "/etc/docker/exit.d"

/* Runs every hook; returns 0 when all exited 0, else the first failing
 * hook's status (a hook past the deadline is killed and counts as failed).
 * A missing directory is no hooks. */
int hooks_run(const char *dir, int64_t deadline_ms);

#endif
