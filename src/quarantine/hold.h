/* The quarantine of the rspamd image: Postfix's hold queue. rspamd's milter
 * holds a quarantined message and adds one header to it,
 *   X-Quarantine: <kind> <destiny> <detail>
 * (kind virus|spam|banned|badh|dmarc, destiny D_DISCARD|D_BOUNCE), which is
 * what the listing shows as the reason and what quarantine-bounce reads. */
#ifndef MTACTL_QUARANTINE_HOLD_H
#define MTACTL_QUARANTINE_HOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/parse.h"

#define HOLD_DIR "/var/spool/postfix/hold"
#define HOLD_ADDR_MAX 256
#define HOLD_RCPT_MAX 1000 /* recipients kept per message; more are left out */

/* One message of the hold queue, as `postqueue -j` describes it. */
struct hold_msg {
	char id[65];
	long long arrival;          /* seconds since the epoch */
	long long size;
	char sender[HOLD_ADDR_MAX]; /* "" for the null sender (MAILER-DAEMON in postqueue -j) */
	struct strlist rcpts;
};

struct hold_list {
	struct hold_msg *msg;
	size_t len;
	size_t cap;
};

void hold_list_init(struct hold_list *l);
void hold_list_free(struct hold_list *l);
/* The message with this queue id, or NULL. */
const struct hold_msg *hold_list_find(const struct hold_list *l, const char *id);

/* From `postqueue -j` output (one JSON object a line), adds every message
 * of queue_name "hold" to out, sorted by arrival time then id; returns how
 * many. Lines that are not such objects, queue ids that are not plain
 * letters and digits, and addresses with control characters (which would
 * end up in a DSN's header) are skipped. Pure. */
size_t hold_parse_queue(const char *json_lines, size_t len, struct hold_list *out);

struct xquarantine {
	char kind[16];     /* virus, spam, banned, badh, dmarc */
	char destiny[16];  /* D_DISCARD, D_BOUNCE */
	char detail[200];  /* may be empty */
};

/* Splits an X-Quarantine value (already unfolded, controls dropped).
 * false, and x emptied, when the kind or the destiny is not one of ours. */
bool hold_parse_xquarantine(const char *value, struct xquarantine *x);

/* The listing's REASON: "kind detail" (or the raw value if malformed). */
void hold_reason(const char *value, char *dst, size_t size);

/* Runs `postqueue -j` and adds the hold queue to out: 0, or -1 (logged)
 * when Postfix cannot say. */
int hold_read_queue(struct hold_list *out);
/* Appends the header section of held message id (`postcat -h -q`) to out:
 * 0, or -1 when it is gone or unreadable. */
int hold_read_headers(const char *id, struct strbuf *out);

/* `mtactl quarantine ls` and `release` on the hold queue. */
int hold_ls(void);
int hold_release(int n, char **ids);

#endif
