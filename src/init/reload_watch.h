/* PID 1's part of the live reload (reload/reload.h): an inotify watch of
 * the list files and their directories, a short settling time, and one
 * `mtactl config --reload` child at a time, so that a slow or crashing
 * reload never holds up the supervisor. SIGHUP asks for a reload too. */
#ifndef MTACTL_INIT_RELOAD_WATCH_H
#define MTACTL_INIT_RELOAD_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "reload/reload.h"

struct reload_watch {
	int fd;                   /* inotify; -1 when no list comes from a file */
	pid_t child;              /* the running reload, or 0 */
	bool pending;             /* a change (or SIGHUP) waits for its reload */
	bool again;               /* a change came while the child ran */
	int64_t due_ms, first_ms; /* when the pending reload starts; its first event */
	int64_t child_deadline_ms;
	size_t nfiles;
	struct {
		char path[PATH_MAX];
		char base[NAME_MAX + 1];
		int file_wd;      /* the file itself: a bind-mounted file is seen only so */
	} files[RELOAD_LISTS];
};

/* Sets up the watches of every list file the environment names. */
void reload_watch_start(struct reload_watch *w);
/* The descriptor to poll for POLLIN (-1: none; poll ignores it). */
int reload_watch_fd(const struct reload_watch *w);
/* Reads the inotify events waiting on the descriptor. */
void reload_watch_events(struct reload_watch *w);
/* SIGHUP: reload now, even without a change seen. */
void reload_watch_request(struct reload_watch *w);
/* The poll timeout (ms, -1 for none) shortened to the watcher's next deadline. */
int reload_watch_timeout(const struct reload_watch *w, int timeout);
/* Starts a due reload; stops one that ran past its budget. */
void reload_watch_tick(struct reload_watch *w);
/* Returns true when pid was the reload child (then it is handled here). */
bool reload_watch_reaped(struct reload_watch *w, pid_t pid, int status);

#endif
