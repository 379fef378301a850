/* Composes the DSN of a quarantined D_BOUNCE message (RFC 3464, RFC 6522):
 *   multipart/report; report-type=delivery-status
 *     text/plain               what was found; the message was not delivered
 *     message/delivery-status  per recipient: Action failed, Status 5.7.1
 *     text/rfc822-headers      the original's header section, never the
 *                              body (it may hold the virus)
 * Auto-Submitted: auto-replied (RFC 3834) so responders stay quiet; the
 * caller sends it with the null envelope sender so it is never bounced. */
#include "quarantine/dsn.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"

/* RFC 5322 date-time in UTC; the C locale gives English names. */
static void rfc5322_date(time_t t, char *dst, size_t size)
{
	struct tm tm;
	dst[0] = '\0';
	if (gmtime_r(&t, &tm))
		strftime(dst, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static const char *what_was_found(const char *kind)
{
	static const char *const texts[][2] = {
		{"virus", "a virus was found in it"},
		{"spam", "it was classified as spam"},
		{"banned", "it contains an attachment of a banned type"},
		{"badh", "its header is malformed"},
		{"dmarc", "it failed the DMARC policy of the sender's domain"},
	};
	for (size_t i = 0; i < ARRAY_LEN(texts); i++)
		if (!strcmp(kind, texts[i][0]))
			return texts[i][1];
	return "the content filter blocked it";
}

/* The original header section, made safe to embed: CRs dropped, every line
 * ending in LF, and lines that are neither a field nor a continuation (a
 * would-be boundary "--...") left out, so the sender's headers cannot end
 * our MIME parts early. Returns whether any byte is 8-bit. */
static bool add_headers(struct strbuf *out, const char *h, size_t len)
{
	bool eight = false;
	for (size_t pos = 0; pos < len;) {
		const char *line = h + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* end of the header section */
		const char *colon = memchr(line, ':', n);
		bool cont = line[0] == ' ' || line[0] == '\t';
		if (!cont && (!colon || colon == line || line[0] == '-'))
			continue;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];
			if (c == '\r' || c == '\0')
				continue;
			eight = eight || c >= 0x80;
			sb_addc(out, (char)c);
		}
		sb_addc(out, '\n');
	}
	return eight;
}

void dsn_compose(const struct dsn_input *in, struct strbuf *out)
{
	const struct hold_msg *m = in->msg;
	char now[64], arrival[64], boundary[128];
	rfc5322_date(in->now, now, sizeof now);
	rfc5322_date((time_t)m->arrival, arrival, sizeof arrival);
	/* Unique per message and report; no header line can equal it (see
	 * add_headers). */
	snprintf(boundary, sizeof boundary, "%s.%lld/%.60s", m->id, (long long)in->now, in->hostname);

	struct strbuf headers;
	sb_init(&headers);
	bool eight = add_headers(&headers, in->headers, in->headers_len);

	sb_addf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", in->hostname);
	sb_addf(out, "To: <%s>\n", m->sender);
	sb_addf(out, "Subject: Undelivered Mail Returned to Sender (%s)\n", in->why->kind);
	sb_addf(out, "Date: %s\n", now);
	sb_addf(out, "Message-ID: <%s.%lld.quarantine@%s>\n", m->id, (long long)in->now, in->hostname);
	sb_adds(out, "Auto-Submitted: auto-replied\n");
	sb_adds(out, "MIME-Version: 1.0\n");
	sb_addf(out, "Content-Type: multipart/report; report-type=delivery-status;\n"
		     "\tboundary=\"%s\"\n", boundary);
	sb_addf(out, "Content-Transfer-Encoding: %s\n\n", eight ? "8bit" : "7bit");
	sb_adds(out, "This is a MIME-encapsulated message.\n\n");

	/* The human part. */
	sb_addf(out, "--%s\nContent-Description: Notification\n"
		     "Content-Type: text/plain; charset=us-ascii\n\n", boundary);
	sb_addf(out, "This is the mail system at host %s.\n\n", in->hostname);
	sb_addf(out, "Your message was not delivered to its recipients: %s%s%s%s.\n",
		what_was_found(in->why->kind), in->why->detail[0] ? " (" : "", in->why->detail,
		in->why->detail[0] ? ")" : "");
	sb_adds(out, "It is held in quarantine; the recipients were not given it.\n\n");
	sb_adds(out, "The headers of your message are attached; its body is not returned.\n\n");
	for (size_t i = 0; i < m->rcpts.len; i++)
		sb_addf(out, "<%s>: not delivered\n", m->rcpts.item[i]);
	sb_adds(out, "\n");

	/* The machine-readable part (RFC 3464 section 2). */
	sb_addf(out, "--%s\nContent-Description: Delivery report\n"
		     "Content-Type: message/delivery-status\n\n", boundary);
	sb_addf(out, "Reporting-MTA: dns; %s\n", in->hostname);
	sb_addf(out, "X-Postfix-Queue-ID: %s\n", m->id);
	sb_addf(out, "X-Postfix-Sender: rfc822; %s\n", m->sender);
	if (arrival[0] && m->arrival > 0)
		sb_addf(out, "Arrival-Date: %s\n", arrival);
	for (size_t i = 0; i < m->rcpts.len; i++) {
		sb_addf(out, "\nFinal-Recipient: rfc822; %s\n", m->rcpts.item[i]);
		sb_adds(out, "Action: failed\nStatus: 5.7.1\n");
		sb_addf(out, "Diagnostic-Code: smtp; 554 5.7.1 Message quarantined: %s%s%s\n", in->why->kind,
			in->why->detail[0] ? " " : "", in->why->detail);
	}
	sb_adds(out, "\n");

	sb_addf(out, "--%s\nContent-Description: Undelivered Message Headers\n"
		     "Content-Type: text/rfc822-headers\n", boundary);
	if (eight)
		sb_adds(out, "Content-Transfer-Encoding: 8bit\n");
	sb_adds(out, "\n");
	sb_add(out, headers.buf, headers.len);
	sb_addf(out, "\n--%s--\n", boundary);
	sb_free(&headers);
}
