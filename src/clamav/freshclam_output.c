/* Reading freshclam's output: why a run failed, and which databases a good
 * run found or fetched. The messages are libfreshclam's (ClamAV 1.x,
 * libfreshclam.c and libfreshclam_internal.c) and curl's error texts;
 * whatever else the output holds is ignored, and nothing of it is copied
 * out but tokens of a checked alphabet. Pure; never fails. */
#include "clamav/freshclam.h"

#include <stdio.h>

#include "common/common.h"
#include "common/proc.h"

/* The first entry (in this order, most telling first) whose marker occurs
 * anywhere in the output names the cause. freshclam's DNS check failing
 * ("Can't query current.cvd.clamav.net") is not one: it falls back to
 * HTTP, whose failure is the one that counts. */
static const struct {
	const char *marker;
	const char *cause;
} markers[] = {
	{"error code 403", "the database mirror refuses this host (HTTP 403)"},
	{"error code 429", "rate limited by the database mirror (HTTP 429)"},
	{"Couldn't resolve proxy", "cannot resolve the proxy's name"},
	{"Could not resolve proxy", "cannot resolve the proxy's name"},
	{"Couldn't resolve host", "cannot resolve the database mirror's name"},
	{"Could not resolve host", "cannot resolve the database mirror's name"},
	{"Connection refused", "the database mirror refuses connections"},
	{"Couldn't connect to server", "cannot connect to the database mirror"},
	{"Failed to connect", "cannot connect to the database mirror"},
	{"timed out", "the database mirror did not answer in time"},
	{"Timeout was reached", "the database mirror did not answer in time"},
	{"SSL certificate problem", "the database mirror's certificate is not trusted"},
	{"SSL", "TLS with the database mirror failed"},
	{"enough disk space", "no space left for the database"},
	{"No space left", "no space left for the database"},
	{"must be writable", "cannot write to the database directory"},
	{"Verification: ", "a downloaded database failed verification"},
	{"Database test FAILED", "a downloaded database failed its test"},
	{"file not found", "a file is missing on the database mirror (HTTP 404)"},
	{"Unexpected response", "unexpected HTTP answer from the database mirror"},
	{"Can't open/parse the config file", "cannot read freshclam.conf"},
};

/* freshclam's exit status is its fc_error_t (libfreshclam.h). */
static const char *const exit_causes[] = {
	[2] = "freshclam could not start (its configuration?)",
	[3] = "the database directory is missing",
	[4] = "cannot write a database file",
	[5] = "cannot connect to the database mirror",
	[6] = "the database mirror sent an empty file",
	[7] = "the database mirror sent a broken database",
	[8] = "a downloaded database failed its test",
	[9] = "error in freshclam.conf",
	[10] = "cannot use the database directory",
	[11] = "cannot download from the database mirror",
	[12] = "the database mirror is not up to date yet",
	[13] = "freshclam cannot write its log",
	[14] = "the update failed",
	[15] = "freshclam ran out of memory",
	[16] = "freshclam was run with bad arguments",
	[17] = "the database mirror refuses this host (HTTP 403)",
	[18] = "rate limited by the database mirror (HTTP 429)",
};

static const char *find(const char *out, size_t len, const char *marker)
{
	return out && len ? memmem(out, len, marker, strlen(marker)) : NULL;
}

/* After a 429 or 403 freshclam does not try again before a time it keeps
 * in freshclam.dat ("You are [still] on cool-down until after: DATE"). */
static bool cool_down(const char *out, size_t len, char *buf, size_t size)
{
	static const char marker[] = "cool-down until after: ";
	const char *p = find(out, len, marker);
	if (!p)
		return false;
	p += sizeof marker - 1;
	const char *end = out + len;
	char date[48];
	size_t n = 0;
	for (; p < end && *p != '\n' && *p != '\r' && n < sizeof date - 1; p++)
		if (*p >= 0x20 && *p < 0x7f)
			date[n++] = *p;
	while (n > 0 && date[n - 1] == ' ')
		n--;
	date[n] = '\0';
	snprintf(buf, size, "the database mirror asked to wait; freshclam will not try before %s",
		 n ? date : "its cool-down ends");
	return true;
}

void freshclam_cause(int status, const char *out, size_t len, char *buf, size_t size)
{
	if (!size)
		return;
	if (cool_down(out, len, buf, size))
		return;
	for (size_t i = 0; i < ARRAY_LEN(markers); i++)
		if (find(out, len, markers[i].marker)) {
			snprintf(buf, size, "%s", markers[i].cause);
			return;
		}
	if (status == PROC_TIMED_OUT)
		snprintf(buf, size, "freshclam ran too long and was stopped");
	else if (status == -1 || status == 127)
		snprintf(buf, size, "cannot run freshclam");
	else if (status >= 0 && (size_t)status < ARRAY_LEN(exit_causes) && exit_causes[status])
		snprintf(buf, size, "%s", exit_causes[status]);
	else if (status > 128 && status < 128 + 65)
		snprintf(buf, size, "freshclam was killed by signal %d", status - 128);
	else
		snprintf(buf, size, "freshclam exit %d", status);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The word (of name_char) that ends right before pos in [line, pos). */
static bool word_before(const char *line, const char *pos, char *buf, size_t size)
{
	const char *start = pos;
	while (start > line && name_char(start[-1]))
		start--;
	size_t n = (size_t)(pos - start);
	if (n == 0 || n >= size)
		return false;
	memcpy(buf, start, n);
	buf[n] = '\0';
	return true;
}

/* Digits at p (before end) as a version; 0 when there are none. */
static unsigned version_at(const char *p, const char *end)
{
	unsigned v = 0;
	for (int digits = 0; p < end && *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
		v = v * 10 + (unsigned)(*p - '0');
	return v;
}

static void note(struct freshclam_report *r, const char *name, unsigned version, bool updated)
{
	/* An official database is named without its .cvd/.cld in the list. */
	char base[sizeof r->db[0].name];
	snprintf(base, sizeof base, "%s", name);
	size_t n = strlen(base);
	if (version && n > 4 && (!strcmp(base + n - 4, ".cvd") || !strcmp(base + n - 4, ".cld") ||
				 !strcmp(base + n - 4, ".cud")))
		base[n - 4] = '\0';
	struct freshclam_db *d = NULL;
	for (size_t i = 0; i < r->n && !d; i++)
		if (!strcmp(r->db[i].name, base))
			d = &r->db[i];
	if (!d) {
		if (r->n == FRESHCLAM_DB_MAX)
			return;
		d = &r->db[r->n++];
		snprintf(d->name, sizeof d->name, "%s", base);
		d->updated = false;
	}
	d->version = version;
	d->updated = d->updated || updated;
	r->updated = r->updated || updated;
}

static void parse_line(const char *line, const char *end, struct freshclam_report *r)
{
	static const char updated[] = " updated (version: ";
	static const char current[] = " database is up-to-date (version: ";
	static const char recommended[] = "Recommended version: ";
	size_t len = (size_t)(end - line);
	char name[sizeof r->db[0].name];
	const char *p;
	if ((p = memmem(line, len, updated, sizeof updated - 1)) && word_before(line, p, name, sizeof name))
		note(r, name, version_at(p + sizeof updated - 1, end), true);
	else if ((p = memmem(line, len, current, sizeof current - 1)) &&
		 word_before(line, p, name, sizeof name))
		note(r, name, version_at(p + sizeof current - 1, end), false);
	if ((p = memmem(line, len, recommended, sizeof recommended - 1))) {
		p += sizeof recommended - 1;
		size_t n = 0;
		while (p < end && n < sizeof r->recommended - 1 && (name_char(*p) || *p == '+' || *p == '~'))
			r->recommended[n++] = *p++;
		r->recommended[n] = '\0';
	}
}

void freshclam_report_parse(const char *out, size_t len, struct freshclam_report *r)
{
	memset(r, 0, sizeof *r);
	const char *end = out ? out + len : NULL;
	for (const char *line = out; line && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl ? nl : end;
		parse_line(line, stop, r);
		line = nl ? nl + 1 : NULL;
	}
}

void freshclam_report_list(const struct freshclam_report *r, bool only_updated, char *buf,
			   size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct freshclam_db *d = &r->db[i];
		if (only_updated && !d->updated)
			continue;
		char item[48];
		if (d->version)
			snprintf(item, sizeof item, "%s%s %u", used ? ", " : "", d->name, d->version);
		else
			snprintf(item, sizeof item, "%s%s", used ? ", " : "", d->name);
		int n = snprintf(buf + used, size - used, "%s", item);
		if (n < 0 || (size_t)n >= size - used) {
			buf[used] = '\0'; /* what fits, whole items only */
			return;
		}
		used += (size_t)n;
	}
}
