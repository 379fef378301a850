/* `mtactl filter-watch`: mail that Postfix deferred because the content
 * filter was not answering (starting, restarting after a crash, clamd
 * still loading) is retried as soon as the filter answers again, instead
 * of at Postfix's next queue run minutes later. */
#ifndef MTACTL_QUEUE_FILTER_WATCH_H
#define MTACTL_QUEUE_FILTER_WATCH_H

#include <stddef.h>

#include "config/parse.h"

/* From `postqueue -j` output (one JSON object a line), adds to ids the
 * queue id of every deferred message with a recipient whose delay_reason
 * contains one of the matches; returns how many it added. Lines that are
 * not such objects are skipped. Pure. */
size_t queue_waiting_for(const char *json_lines, size_t len, const char *const *matches,
			 size_t nmatch, struct strlist *ids);

int filter_watch_main(int argc, char **argv);

#endif
