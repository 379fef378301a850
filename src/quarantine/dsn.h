/* The delivery status notification (RFC 3464) that quarantine-bounce sends
 * to the envelope sender of a message held with destiny D_BOUNCE. */
#ifndef MTACTL_QUARANTINE_DSN_H
#define MTACTL_QUARANTINE_DSN_H

#include <stddef.h>
#include <time.h>

#include "common/strbuf.h"
#include "quarantine/hold.h"

struct dsn_input {
	const char *hostname;          /* myhostname: Reporting-MTA, From */
	const struct hold_msg *msg;    /* envelope: id, sender, recipients, arrival */
	const struct xquarantine *why;
	const char *headers;           /* the original header section (postcat -h) */
	size_t headers_len;
	time_t now;
};

/* Renders the whole message (LF line ends, as sendmail takes it): a
 * multipart/report with a short text, message/delivery-status (one block
 * per recipient, Action: failed, Status: 5.7.1) and text/rfc822-headers
 * of the original, never its body. Pure. */
void dsn_compose(const struct dsn_input *in, struct strbuf *out);

#endif
