/* One container at a time on /srv. Swarm's start-first update (and
 * Kubernetes, or an operator by mistake) can start a second container on
 * the same volume while the first still runs: two Postfix masters on one
 * queue, two Dovecots on one mailbox index. PID 1 holds an exclusive lock
 * on the volume for its life; a second one waits for it as a standby. */
#ifndef MTACTL_INIT_VOLUME_LOCK_H
#define MTACTL_INIT_VOLUME_LOCK_H

#include <stdbool.h>

#define VOLUME_LOCK_FILE "/srv/etc/mtactl/volume.lock"
/* Exists while init waits for the lock: `mtactl health` says "standby". */
#define STANDBY_FILE "/run/mtactl/standby"

/* Takes the lock (kept open, close-on-exec, until the process ends),
 * waiting as long as another process holds it. Reads signals from sigfd
 * meanwhile: false when SIGTERM/SIGINT/SIGQUIT came first (stop, nothing
 * started). lock_path/standby_path: the defines above outside tests. */
bool volume_lock_wait(int sigfd, const char *lock_path, const char *standby_path);

#endif
