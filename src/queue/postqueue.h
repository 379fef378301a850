/* Reading Postfix's queue the supported way, shared by filter-watch and
 * the hold-queue quarantine: `postqueue -j` output, queue ids, and whether
 * Postfix's master runs (postqueue needs it). */
#ifndef MTACTL_QUEUE_POSTQUEUE_H
#define MTACTL_QUEUE_POSTQUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Calls fn for every line of `postqueue -j` output that is a JSON object
 * (one message); other lines (warnings, junk) are skipped. The object is
 * freed after the call. Pure. */
typedef void postqueue_msg_fn(json_t *msg, void *ctx);
void postqueue_each(const char *json_lines, size_t len, postqueue_msg_fn *fn, void *ctx);

/* A queue id as Postfix makes them (letters and digits, at most 64): safe
 * as a file name and as a program argument. */
bool postqueue_id_ok(const char *id);

/* Postfix's master runs (its pid file names a live "master"): postqueue
 * would otherwise log "mail system is down" warnings. */
bool postfix_up(void);

#endif
