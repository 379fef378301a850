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

/* What proc_run_capture returns for a child it had to stop at the deadline. */
#define PROC_TIMED_OUT (-2)

/* Runs argv[0] (PATH search) with stdin /dev/null and stdout and stderr
 * both appended to out, of which at most max bytes are kept (the rest is
 * read and dropped). A child still running at deadline_ms (now_ms() time)
 * gets SIGTERM, and SIGKILL 5 s later. Returns as proc_run does, or
 * PROC_TIMED_OUT. Needs SIGCHLD not ignored (see proc_wait_until). */
int proc_run_capture(char *const argv[], struct strbuf *out, size_t max, int64_t deadline_ms);

/* proc_run_capture with in_fd (-1: /dev/null) as the child's stdin: a file
 * root opened, read by a program that runs as another user (sa-learn). */
int proc_run_capture_in(char *const argv[], int in_fd, struct strbuf *out, size_t max,
			int64_t deadline_ms);

/* As root: becomes nobody (groups dropped), fatal (EXIT_SYSTEM) if that
 * fails; as anyone else: nothing. For daemons whose sockets are open. */
void proc_drop_to_nobody(void);

/* Milliseconds on the monotonic clock. */
int64_t now_ms(void);

/* Waits for child pid until deadline_ms (now_ms() time), killing it then.
 * Returns its status as proc_run does, or -1 if it was killed or lost.
 * Works with SIGCHLD blocked, as in init (sigtimedwait sleeps on it);
 * other children that exit meanwhile are left for their owner to reap. */
int proc_wait_until(pid_t pid, int64_t deadline_ms);

#endif
