/* Classifying log lines into counters. The lines are those of Debian's
 * daemons as this image configures them:
 *   Postfix: "postfix/SERVICE/PROGRAM[pid]: ..." where SERVICE is master.cf's
 *     syslog_name (submission, smtps, relay, amavis, reinject, srs,
 *     srs-forward; none for port 25 and the default transports), see
 *     config/postfix_master.c;
 *   amavis: "amavis[pid]: (id) Passed CLEAN {...}, ..." (log_level 0);
 * Anything else counts nothing. The input is a datagram from any local
 * process: it is read with bounded lengths only and never trusted to hold
 * a NUL, a field or a number. */
#include "metrics/logcount.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "common/common.h"

struct text {
	const char *p;
	size_t len;
};

static bool starts(struct text t, const char *prefix)
{
	size_t n = strlen(prefix);
	return t.len >= n && !memcmp(t.p, prefix, n);
}

static bool equals(struct text t, const char *s)
{
	return t.len == strlen(s) && !memcmp(t.p, s, t.len);
}

static const char *find(struct text t, const char *needle)
{
	return memmem(t.p, t.len, needle, strlen(needle));
}

static struct text after(struct text t, const char *at, size_t skip)
{
	size_t off = (size_t)(at - t.p) + skip;
	return (struct text){t.p + off, t.len - off};
}

static void hit(struct logcount_hits *h, enum counter_id id)
{
	if (h->n < LOGCOUNT_HITS_MAX)
		h->id[h->n++] = id;
}

/* A queue id (short hex or long base-52 form) and ": ", or NOQUEUE. */
static bool skip_queue_id(struct text *t)
{
	size_t i = 0;
	while (i < t->len && i < 32 && isalnum((unsigned char)t->p[i]))
		i++;
	if (i == 0 || t->len - i < 2 || t->p[i] != ':' || t->p[i + 1] != ' ')
		return false;
	t->p += i + 2;
	t->len -= i + 2;
	return true;
}

/* "TLSv1.3 with cipher" after "established from|to HOST: " */
static enum counter_id tls_version(struct text t, enum counter_id base)
{
	const char *v = find(t, ": TLSv1");
	if (!v)
		return base + 4;
	struct text rest = after(t, v, strlen(": TLSv1"));
	if (starts(rest, " ") || starts(rest, ".0 "))
		return base;
	if (starts(rest, ".1 "))
		return base + 1;
	if (starts(rest, ".2 "))
		return base + 2;
	if (starts(rest, ".3 "))
		return base + 3;
	return base + 4;
}

/* What a reject reply says it refuses; the order matters (a DMARC or
 * virus reply may also say "spam"). */
static enum counter_id reject_class(struct text t)
{
	static const struct {
		const char *needle;
		enum counter_id id;
	} classes[] = {
		{"User unknown", C_REJECT_UNKNOWN_USER},
		{"Recipient address rejected: undeliverable", C_REJECT_UNKNOWN_USER},
		{"Relay access denied", C_REJECT_RELAY_DENIED},
		{"DMARC", C_REJECT_DMARC},
		{"irus", C_REJECT_VIRUS},
		{"nfected", C_REJECT_VIRUS},
		{"pam", C_REJECT_SPAM},
		{"size exceeds", C_REJECT_SIZE},
		{"too large", C_REJECT_SIZE},
		{"rate limit", C_REJECT_RATE},
		{"too many", C_REJECT_RATE},
	};
	for (size_t i = 0; i < ARRAY_LEN(classes); i++)
		if (find(t, classes[i].needle))
			return classes[i].id;
	return C_REJECT_OTHER;
}

/* "delay=12.34," as milliseconds; -1 when it is not there or not a number. */
static int64_t parse_delay(struct text t)
{
	const char *d = find(t, ", delay=");
	if (!d)
		return -1;
	struct text n = after(t, d, strlen(", delay="));
	int64_t ms = 0;
	size_t i = 0;
	for (; i < n.len && i < 9 && isdigit((unsigned char)n.p[i]); i++)
		ms = ms * 10 + (n.p[i] - '0');
	if (i == 0)
		return -1;
	ms *= 1000;
	if (i < n.len && n.p[i] == '.') {
		int64_t scale = 100;
		for (i++; i < n.len && isdigit((unsigned char)n.p[i]); i++, scale /= 10)
			ms += (n.p[i] - '0') * scale;
	}
	return ms;
}

static enum counter_id transport_of(struct text service, struct text program, bool *hop)
{
	*hop = false;
	if (service.len) {
		/* the hand-over to amavis and the SRS loop are hops, not deliveries */
		if (equals(service, "amavis") || equals(service, "srs-forward")) {
			*hop = true;
			return C_DELIVERED_OTHER;
		}
		return equals(service, "relay") ? C_DELIVERED_RELAY : C_DELIVERED_OTHER;
	}
	static const struct {
		const char *name;
		enum counter_id id;
	} agents[] = {
		{"smtp", C_DELIVERED_SMTP},       {"lmtp", C_DELIVERED_LMTP},
		{"local", C_DELIVERED_LOCAL},     {"virtual", C_DELIVERED_VIRTUAL},
		{"pipe", C_DELIVERED_PIPE},       {"discard", C_DELIVERED_DISCARD},
	};
	for (size_t i = 0; i < ARRAY_LEN(agents); i++)
		if (equals(program, agents[i].name))
			return agents[i].id;
	return C_DELIVERED_OTHER;
}

/* "QID: to=<...>, ..., delay=N, ..., status=WORD" of any Postfix program. */
static bool postfix_delivery(struct text service, struct text program, struct text t,
			     struct logcount_hits *h)
{
	if (!starts(t, "to=<") && !starts(t, "from=<"))
		return false;
	const char *st = find(t, ", status=");
	if (!st)
		return false;
	struct text status = after(t, st, strlen(", status="));
	if (starts(status, "sent ") || starts(status, "sent,") || equals(status, "sent")) {
		bool hop;
		enum counter_id id = transport_of(service, program, &hop);
		if (!hop) {
			hit(h, id);
			h->delay_ms = parse_delay(t);
		}
	} else if (starts(status, "deferred")) {
		hit(h, C_DEFERRED);
	} else if (starts(status, "bounced") || starts(status, "expired")) {
		hit(h, C_BOUNCED);
	}
	return true;
}

static void postfix_smtpd(struct text service, struct text t, struct logcount_hits *h)
{
	if (starts(t, "warning: ")) {
		if (find(t, ": SASL ") && find(t, "authentication failed"))
			hit(h, C_SASL_FAILED);
		else if (find(t, "limit exceeded"))
			hit(h, C_REJECT_RATE);
		return;
	}
	const char *tls = find(t, "TLS connection established from ");
	if (tls) {
		hit(h, tls_version(after(t, tls, 0), C_TLS_IN_10));
		return;
	}
	struct text rest = t;
	if (!skip_queue_id(&rest))
		return;
	if (starts(rest, "client=") && !starts(t, "NOQUEUE: ")) {
		if (!service.len)
			hit(h, C_RECEIVED_25);
		else if (equals(service, "submission"))
			hit(h, C_RECEIVED_587);
		else if (equals(service, "smtps"))
			hit(h, C_RECEIVED_465);
		/* reinject and srs: mail coming back from a hop, counted once already */
	} else if (starts(rest, "reject: ") || starts(rest, "milter-reject: ")) {
		hit(h, reject_class(rest));
	}
}

static void postfix_line(struct text tag, struct text t, struct logcount_hits *h)
{
	struct text name = {tag.p + strlen("postfix/"), tag.len - strlen("postfix/")};
	const char *slash = memrchr(name.p, '/', name.len);
	struct text service = {name.p, slash ? (size_t)(slash - name.p) : 0};
	struct text program = slash ? after(name, slash, 1) : name;
	if (equals(program, "smtpd") || equals(program, "postscreen")) {
		postfix_smtpd(service, t, h);
		return;
	}
	const char *tls = find(t, "TLS connection established to ");
	if (tls) {
		hit(h, tls_version(after(t, tls, 0), C_TLS_OUT_10));
		return;
	}
	struct text rest = t;
	if (!skip_queue_id(&rest))
		return;
	if (equals(program, "pickup")) {
		if (starts(rest, "uid="))
			hit(h, C_RECEIVED_LOCAL);
		return;
	}
	if (equals(program, "cleanup")) {
		if (starts(rest, "reject: ") || starts(rest, "milter-reject: "))
			hit(h, reject_class(rest));
		return;
	}
	postfix_delivery(service, program, rest, h);
}

/* "(12345-01) Passed CLEAN {RelayedInbound}, ..." */
static void amavis_line(struct text t, struct logcount_hits *h)
{
	if (!starts(t, "("))
		return;
	const char *close = memchr(t.p, ')', t.len < 40 ? t.len : 40);
	if (!close)
		return;
	struct text rest = after(t, close, 1);
	if (starts(rest, " Passed "))
		rest = after(rest, rest.p, strlen(" Passed "));
	else if (starts(rest, " Blocked "))
		rest = after(rest, rest.p, strlen(" Blocked "));
	else
		return;
	static const struct {
		const char *word;
		enum counter_id id;
	} verdicts[] = {
		{"CLEAN", C_VERDICT_CLEAN},     {"SPAMMY", C_VERDICT_SPAM},
		{"SPAM", C_VERDICT_SPAM},       {"INFECTED", C_VERDICT_VIRUS},
		{"BANNED", C_VERDICT_BANNED},   {"BAD-HEADER", C_VERDICT_BAD_HEADER},
	};
	for (size_t i = 0; i < ARRAY_LEN(verdicts); i++) {
		size_t n = strlen(verdicts[i].word);
		if (starts(rest, verdicts[i].word) && rest.len > n &&
		    (rest.p[n] == ' ' || rest.p[n] == '-' || rest.p[n] == ',')) {
			hit(h, verdicts[i].id);
			return;
		}
	}
}

void logcount_classify(const char *body, size_t len, struct logcount_hits *out)
{
	out->n = 0;
	out->delay_ms = -1;
	/* the tag runs to "[" (a pid follows) or ": " */
	size_t i = 0;
	while (i < len && i < 64 && body[i] != '[' && body[i] != ':' && body[i] != ' ')
		i++;
	struct text tag = {body, i};
	if (i < len && body[i] == '[') {
		while (i < len && body[i] != ']')
			i++;
		i++;
	}
	if (i >= len || len - i < 2 || body[i] != ':' || body[i + 1] != ' ')
		return;
	struct text t = {body + i + 2, len - i - 2};
	if (starts(tag, "postfix/") && tag.len > strlen("postfix/"))
		postfix_line(tag, t, out);
	else if (equals(tag, "amavis"))
		amavis_line(t, out);
}

void logcount_apply(struct counters *m, const struct logcount_hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		counter_add(m, h->id[i], 1);
	if (h->delay_ms < 0)
		return;
	size_t b = 0;
	while (b < DELAY_BUCKETS && (uint64_t)h->delay_ms > delay_bucket_ms[b])
		b++;
	counter_add(m, C_DELAY_BUCKET_FIRST + b, 1);
	counter_add(m, C_DELAY_COUNT, 1);
	counter_add(m, C_DELAY_SUM_MS, (uint64_t)h->delay_ms);
}
