/* Running helper programs (postconf, postmap, hooks) without a shell, so
 * values from the environment are never word-split or glob-expanded. */
#ifndef MTACTL_PROC_H
#define MTACTL_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "common/strbuf.h"

/* Runs argv[0] (PATH search) and waits. stdout is appended to out when out
 * is not NULL, else inherited; stdin is /dev/null. Returns the exit status
 * (0-255), 128+signal if killed, or -1 with errno if it could not start. */
int proc_run(char *const argv[], struct strbuf *out);
/* proc_run with a deadline (now_ms() time; -1 for none): a child still
 * running then is killed and -1 returned. */
int proc_run_until(char *const argv[], struct strbuf *out, int64_t deadline_ms);

/* Milliseconds on the monotonic clock. */
int64_t now_ms(void);

/* Waits for child pid until deadline_ms (now_ms() time), killing it then.
 * Returns its status as proc_run does, or -1 if it was killed or lost.
 * Works with SIGCHLD blocked, as in init (sigtimedwait sleeps on it);
 * other children that exit meanwhile are left for their owner to reap. */
int proc_wait_until(pid_t pid, int64_t deadline_ms);

#endif
