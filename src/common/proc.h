/* Running helper programs (postconf, postmap, hooks) without a shell, so
 * values from the environment are never word-split or glob-expanded. */
#ifndef MTACTL_PROC_H
#define MTACTL_PROC_H

#include "common/strbuf.h"

/* Runs argv[0] (PATH search) and waits. stdout is appended to out when out
 * is not NULL, else inherited; stdin is /dev/null. Returns the exit status
 * (0-255), 128+signal if killed, or -1 with errno if it could not start. */
int proc_run(char *const argv[], struct strbuf *out);

#endif
