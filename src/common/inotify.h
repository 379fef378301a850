/* Reading inotify(7) events, for the watchers (acme, clamav-wait,
 * filter-watch): one read of the descriptor, one call per event. */
#ifndef MTACTL_COMMON_INOTIFY_H
#define MTACTL_COMMON_INOTIFY_H

#include <sys/inotify.h>

typedef void inotify_event_fn(const struct inotify_event *ev, void *ctx);

/* Reads what is waiting on fd (at most a buffer's worth; poll again for
 * the rest) and calls fn for each event. Returns 0 (also when interrupted
 * or, on a non-blocking fd, when nothing was there), or -1 with errno. */
int inotify_read_events(int fd, inotify_event_fn *fn, void *ctx);

#endif
