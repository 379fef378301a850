/* The hold queue as a quarantine (rspamd image): reading `postqueue -j` and
 * X-Quarantine, `mtactl quarantine ls` and `release`. The queue is Postfix's
 * own: it is read only through postqueue and postcat, and changed only
 * through postsuper, so nothing here races Postfix over its files. */
#include "quarantine/hold.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/proc.h"
#include "quarantine/quarantine.h"
#include "queue/postqueue.h"

#define QUEUE_LISTING_MAX (64u << 20) /* bytes of postqueue -j read */
#define HEADERS_MAX (64u * 1024)      /* bytes of postcat -h read */
#define TOOL_TIMEOUT_MS 30000

void hold_list_init(struct hold_list *l)
{
	memset(l, 0, sizeof *l);
}

void hold_list_free(struct hold_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		strlist_free(&l->msg[i].rcpts);
	free(l->msg);
	hold_list_init(l);
}

const struct hold_msg *hold_list_find(const struct hold_list *l, const char *id)
{
	for (size_t i = 0; i < l->len; i++)
		if (!strcmp(l->msg[i].id, id))
			return &l->msg[i];
	return NULL;
}

/* An envelope address fit for a DSN header and a sendmail argument: no
 * control characters (no header injection), not an option. */
static bool address_ok(const char *a)
{
	size_t n = strlen(a);
	if (n >= HOLD_ADDR_MAX || a[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f || a[i] == '<' || a[i] == '>')
			return false;
	return true;
}

static int by_arrival(const void *a, const void *b)
{
	const struct hold_msg *x = a, *y = b;
	return x->arrival < y->arrival ? -1 : x->arrival > y->arrival ? 1 : strcmp(x->id, y->id);
}

/* One postqueue -j object: true and *m filled when it is a held message. */
static bool parse_msg(json_t *o, struct hold_msg *m)
{
	const char *queue = json_string_value(json_object_get(o, "queue_name"));
	const char *id = json_string_value(json_object_get(o, "queue_id"));
	const char *sender = json_string_value(json_object_get(o, "sender"));
	json_t *rcpts = json_object_get(o, "recipients");
	if (!queue || strcmp(queue, "hold") || !id || !postqueue_id_ok(id) || !sender ||
	    !address_ok(sender) || !json_is_array(rcpts))
		return false;
	memset(m, 0, sizeof *m);
	snprintf(m->id, sizeof m->id, "%s", id);
	/* showq prints the null sender as empty_address_recipient's default,
	 * MAILER-DAEMON; a real sender always has a domain (Postfix appends
	 * myorigin to a bare local part), so that name alone is the null one. */
	if (strcasecmp(sender, "MAILER-DAEMON"))
		snprintf(m->sender, sizeof m->sender, "%s", sender);
	json_t *t = json_object_get(o, "arrival_time");
	m->arrival = json_is_integer(t) ? (long long)json_integer_value(t) : 0;
	t = json_object_get(o, "message_size");
	m->size = json_is_integer(t) ? (long long)json_integer_value(t) : 0;
	strlist_init(&m->rcpts);
	size_t i;
	json_t *r;
	json_array_foreach(rcpts, i, r) {
		const char *a = json_string_value(json_object_get(r, "address"));
		if (a && *a && address_ok(a) && m->rcpts.len < HOLD_RCPT_MAX)
			strlist_add(&m->rcpts, a, strlen(a));
	}
	return true;
}

struct parsing {
	struct hold_list *out;
	size_t added;
};

static void on_msg(json_t *o, void *ctx)
{
	struct parsing *p = ctx;
	struct hold_list *out = p->out;
	struct hold_msg m;
	if (!parse_msg(o, &m))
		return;
	if (out->len == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct hold_msg *grown = reallocarray(out->msg, cap, sizeof *grown);
		if (!grown)
			fatal(EXIT_SYSTEM, "out of memory");
		out->msg = grown;
		out->cap = cap;
	}
	out->msg[out->len++] = m;
	p->added++;
}

size_t hold_parse_queue(const char *json_lines, size_t len, struct hold_list *out)
{
	struct parsing p = {.out = out, .added = 0};
	postqueue_each(json_lines, len, on_msg, &p);
	if (out->len > 1)
		qsort(out->msg, out->len, sizeof *out->msg, by_arrival);
	return p.added;
}

/* Copies the next blank-separated word of *p into dst (truncated). */
static void next_word(const char **p, char *dst, size_t size)
{
	const char *s = *p + strspn(*p, " \t");
	size_t n = strcspn(s, " \t");
	snprintf(dst, size, "%.*s", (int)n, s);
	*p = s + n;
}

bool hold_parse_xquarantine(const char *value, struct xquarantine *x)
{
	static const char *const kinds[] = {"virus", "spam", "banned", "badh", "dmarc"};
	memset(x, 0, sizeof *x);
	const char *p = value;
	next_word(&p, x->kind, sizeof x->kind);
	next_word(&p, x->destiny, sizeof x->destiny);
	p += strspn(p, " \t");
	snprintf(x->detail, sizeof x->detail, "%s", p);
	for (char *c = x->detail; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?'; /* the DSN's text and report are US-ASCII */
	bool kind_ok = false;
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		kind_ok = kind_ok || !strcmp(x->kind, kinds[i]);
	if (kind_ok && (!strcmp(x->destiny, "D_DISCARD") || !strcmp(x->destiny, "D_BOUNCE")))
		return true;
	memset(x, 0, sizeof *x);
	return false;
}

void hold_reason(const char *value, char *dst, size_t size)
{
	struct xquarantine x;
	if (!hold_parse_xquarantine(value, &x))
		snprintf(dst, size, "%s", *value ? value : "held");
	else if (snprintf(dst, size, "%s%s%s", x.kind, x.detail[0] ? " " : "", x.detail) >= (int)size && size > 4)
		memcpy(dst + size - 4, "...", 4); /* visibly cut, not silently */
}

int hold_read_queue(struct hold_list *out)
{
	char *argv[] = {"postqueue", "-j", NULL};
	struct strbuf text;
	sb_init(&text);
	/* stderr is captured too: a warning line is no JSON and is skipped. */
	int rc = proc_run_capture(argv, &text, QUEUE_LISTING_MAX, now_ms() + TOOL_TIMEOUT_MS);
	if (rc == 0)
		hold_parse_queue(text.buf, text.len, out);
	else
		log_warnx("postqueue -j failed (%d): %.*s", rc, (int)strcspn(text.buf, "\n"), text.buf);
	sb_free(&text);
	return rc == 0 ? 0 : -1;
}

int hold_read_headers(const char *id, struct strbuf *out)
{
	if (!postqueue_id_ok(id))
		return -1;
	char *argv[] = {"postcat", "-h", "-q", (char *)id, NULL};
	size_t start = out->len;
	int rc = proc_run_capture(argv, out, HEADERS_MAX, now_ms() + TOOL_TIMEOUT_MS);
	if (rc != 0) {
		out->len = start; /* "postcat: fatal: open queue file": released meanwhile */
		out->buf[start] = '\0';
	}
	return rc == 0 ? 0 : -1;
}

/* "<a>, <b>" for the listing (truncated there anyway). */
static void join_rcpts(const struct strlist *r, char *dst, size_t size)
{
	size_t n = 0;
	dst[0] = '\0';
	for (size_t i = 0; i < r->len && n + 1 < size; i++) {
		int w = snprintf(dst + n, size - n, "%s<%s>", i ? ", " : "", r->item[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int hold_ls(void)
{
	struct hold_list q;
	hold_list_init(&q);
	if (hold_read_queue(&q) < 0)
		return EXIT_SYSTEM;
	quarantine_print_heading();
	struct strbuf headers;
	sb_init(&headers);
	for (size_t i = 0; i < q.len; i++) {
		const struct hold_msg *m = &q.msg[i];
		struct quarantine_entry e;
		char sender[HOLD_ADDR_MAX + 2], rcpts[512], reason[256];
		sb_reset(&headers);
		/* A message released meanwhile has no headers: listed bare. */
		(void)hold_read_headers(m->id, &headers);
		quarantine_parse(headers.buf, headers.len, "", &e);
		snprintf(sender, sizeof sender, "<%s>", m->sender);
		join_rcpts(&m->rcpts, rcpts, sizeof rcpts);
		hold_reason(e.xquarantine, reason, sizeof reason);
		quarantine_print_row((time_t)m->arrival, m->size, sender, rcpts, e.subject, reason, m->id);
	}
	sb_free(&headers);
	printf("%zu message%s in hold queue\n", q.len, q.len == 1 ? "" : "s");
	hold_list_free(&q);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SYSTEM;
}

/* postsuper -H takes it off hold; postqueue -i delivers it now rather than
 * at the next queue run. (postsuper writes to stderr only on a terminal,
 * so its exit status is all there is to read; the id was just seen held.) */
static bool release_one(const char *id, struct strbuf *out)
{
	char *unhold[] = {"postsuper", "-H", (char *)id, NULL};
	char *deliver[] = {"postqueue", "-i", (char *)id, NULL};
	sb_reset(out);
	if (proc_run_capture(unhold, out, 4096, now_ms() + TOOL_TIMEOUT_MS) != 0) {
		log_warnx("%s: postsuper -H failed: %.*s", id, (int)strcspn(out->buf, "\n"), out->buf);
		return false;
	}
	sb_reset(out);
	if (proc_run_capture(deliver, out, 4096, now_ms() + TOOL_TIMEOUT_MS) != 0)
		log_warnx("%s: released, but postqueue -i failed (delivered at the next queue run): %.*s", id,
			  (int)strcspn(out->buf, "\n"), out->buf);
	return true;
}

int hold_release(int n, char **ids)
{
	struct hold_list q;
	hold_list_init(&q);
	if (hold_read_queue(&q) < 0)
		return EXIT_SYSTEM;
	int rc = EXIT_OK;
	struct strbuf out;
	sb_init(&out);
	for (int i = 0; i < n; i++) {
		if (!postqueue_id_ok(ids[i]) || !hold_list_find(&q, ids[i])) {
			log_warnx("%.80s: no such message in the hold queue (see mtactl quarantine ls)", ids[i]);
			rc = EXIT_FAIL;
		} else if (release_one(ids[i], &out)) {
			printf("%s: released, delivering now\n", ids[i]);
		} else {
			rc = EXIT_FAIL;
		}
	}
	sb_free(&out);
	hold_list_free(&q);
	return fflush(stdout) == 0 ? rc : EXIT_SYSTEM;
}
