/* The backup manifest: rendering and the strict parser (see manifest.h).
 * Every line is "KEYWORD FIELD..." with single spaces; paths and link
 * targets are percent-encoded (bytes outside '!'..'~' and '%' itself as
 * %XX, upper-case), so a file name with a space or a newline stays one
 * field. Only the canonical encoding is accepted: one text, one meaning. */
#include "backup/manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"

#define MANIFEST_MAGIC "mtactl-backup 1"
#define FIELDS_MAX 8

static const char *const count_names[MF_COUNTS] = {
	[MF_QUEUE] = "queue", [MF_MAILBOX] = "mailbox", [MF_QUARANTINE] = "quarantine", [MF_DKIM] = "dkim",
};

const char *manifest_count_name(enum mf_count c)
{
	return c < MF_COUNTS ? count_names[c] : "?";
}

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof *m);
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		free(m->e[i].target);
	}
	free(m->e);
	manifest_init(m);
}

struct mf_entry *manifest_add(struct manifest *m, enum mf_kind kind, const char *path, const char *target)
{
	m->e = grow_array(m->e, &m->cap, m->n, sizeof *m->e);
	struct mf_entry *e = &m->e[m->n++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->path = xstrdup(path);
	e->target = target ? xstrdup(target) : NULL;
	return e;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct mf_entry *)a)->path, ((const struct mf_entry *)b)->path);
}

void manifest_sort(struct manifest *m)
{
	if (m->n > 1)
		qsort(m->e, m->n, sizeof *m->e, by_path);
}

const struct mf_entry *manifest_find(const struct manifest *m, const char *path)
{
	struct mf_entry key = {.path = (char *)path};
	return m->n ? bsearch(&key, m->e, m->n, sizeof *m->e, by_path) : NULL;
}

int manifest_path_ok(const char *path)
{
	if (!*path || *path == '/')
		return 0;
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

static int needs_escape(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%';
}

static void add_encoded(struct strbuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (needs_escape(*p))
			sb_addf(out, "%%%02X", *p);
		else
			sb_addc(out, (char)*p);
	}
}

void manifest_render(const struct manifest *m, struct strbuf *out)
{
	sb_adds(out, MANIFEST_MAGIC "\n");
	for (int c = 0; c < MF_COUNTS; c++)
		sb_addf(out, "count %s %llu\n", count_names[c], m->count[c]);
	for (size_t i = 0; i < m->n; i++) {
		const struct mf_entry *e = &m->e[i];
		switch (e->kind) {
		case MF_FILE:
			sb_addf(out, "f %04o %lu %lu %llu %lld %s ", e->mode, e->uid, e->gid, e->size, e->mtime,
				e->sha256);
			add_encoded(out, e->path);
			break;
		case MF_DIR:
			sb_addf(out, "d %04o %lu %lu ", e->mode, e->uid, e->gid);
			add_encoded(out, e->path);
			break;
		case MF_LINK:
			sb_addf(out, "l %lu %lu ", e->uid, e->gid);
			add_encoded(out, e->path);
			sb_addc(out, ' ');
			add_encoded(out, e->target ? e->target : "");
			break;
		}
		sb_addc(out, '\n');
	}
	sb_addf(out, "end %zu\n", m->n);
}

/* --- parsing ---------------------------------------------------------------- */

struct field {
	const char *p;
	size_t len;
};

/* Splits a line at single spaces; -1 on an empty field or too many. */
static int split(const char *line, size_t len, struct field *f, size_t max)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || n == max)
			return -1;
		f[n].p = line + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	return (int)n;
}

static int field_is(const struct field *f, const char *word)
{
	return f->len == strlen(word) && !memcmp(f->p, word, f->len);
}

/* Canonical decimal: digits only, no leading zero but "0", at most max. */
static int parse_decimal(const struct field *f, unsigned long long max, unsigned long long *out)
{
	if (f->len == 0 || f->len > 20 || (f->len > 1 && f->p[0] == '0'))
		return -1;
	unsigned long long v = 0;
	for (size_t i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		unsigned d = (unsigned)(f->p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_id(const struct field *f, unsigned long *out)
{
	unsigned long long v;
	if (parse_decimal(f, UINT_MAX, &v) < 0)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* Exactly four octal digits, as rendered. */
static int parse_mode(const struct field *f, unsigned *out)
{
	if (f->len != 4)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < 4; i++) {
		if (f->p[i] < '0' || f->p[i] > '7')
			return -1;
		v = v * 8 + (unsigned)(f->p[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_sha256(const struct field *f, char out[65])
{
	if (f->len != 64)
		return -1;
	for (size_t i = 0; i < 64; i++) {
		char c = f->p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[64] = '\0';
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a canonical percent-encoded field into a new string; NULL if bad. */
static char *decode(const struct field *f)
{
	char *out = malloc(f->len + 1);
	if (!out)
		fatal(EXIT_SYSTEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < f->len; i++) {
		unsigned char c = (unsigned char)f->p[i];
		if (c == '%') {
			if (i + 2 >= f->len)
				goto bad;
			int hi = hex_value(f->p[i + 1]), lo = hex_value(f->p[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi * 16 + lo);
			if (c == '\0' || !needs_escape(c))
				goto bad;
			i += 2;
		} else if (needs_escape(c)) {
			goto bad;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int parse_entry(struct manifest *m, const struct field *f, int nf, const char **err)
{
	enum mf_kind kind;
	int want;
	if (field_is(&f[0], "f"))
		kind = MF_FILE, want = 8;
	else if (field_is(&f[0], "d"))
		kind = MF_DIR, want = 5;
	else if (field_is(&f[0], "l"))
		kind = MF_LINK, want = 5;
	else
		return *err = "unknown record (expected f, d, l, count or end)", -1;
	if (nf != want)
		return *err = "wrong number of fields", -1;
	unsigned mode = 0;
	unsigned long uid, gid;
	int at = kind == MF_LINK ? 1 : 2;
	if (kind != MF_LINK && parse_mode(&f[1], &mode) < 0)
		return *err = "bad mode (expected four octal digits)", -1;
	if (parse_id(&f[at], &uid) < 0 || parse_id(&f[at + 1], &gid) < 0)
		return *err = "bad owner (expected numeric uid and gid)", -1;
	unsigned long long size = 0, mtime = 0;
	char sha[65] = "";
	if (kind == MF_FILE) {
		if (parse_decimal(&f[4], ULLONG_MAX, &size) < 0)
			return *err = "bad size", -1;
		if (parse_decimal(&f[5], LLONG_MAX, &mtime) < 0)
			return *err = "bad mtime", -1;
		if (parse_sha256(&f[6], sha) < 0)
			return *err = "bad sha256 (expected 64 lower-case hex digits)", -1;
	}
	const struct field *pf = &f[kind == MF_FILE ? 7 : kind == MF_DIR ? 4 : 3];
	char *path = decode(pf);
	if (!path || !manifest_path_ok(path)) {
		free(path);
		return *err = "bad path (percent-encoded, relative, without . or .. parts)", -1;
	}
	char *target = NULL;
	if (kind == MF_LINK && !(target = decode(&f[4]))) {
		free(path);
		return *err = "bad link target", -1;
	}
	if (m->n && strcmp(m->e[m->n - 1].path, path) >= 0) {
		free(path);
		free(target);
		return *err = "entries out of order or repeated", -1;
	}
	struct mf_entry *e = manifest_add(m, kind, path, target);
	free(path);
	free(target);
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	e->size = size;
	e->mtime = (long long)mtime;
	memcpy(e->sha256, sha, sizeof sha);
	return 0;
}

/* Every entry's parent is a directory entry: restore never writes through
 * a link or into a directory it was not told about. */
static const char *check_parents(const struct manifest *m, size_t *bad)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *slash = strrchr(m->e[i].path, '/');
		if (!slash)
			continue;
		size_t n = (size_t)(slash - m->e[i].path);
		char *parent = malloc(n + 1);
		if (!parent)
			fatal(EXIT_SYSTEM, "out of memory");
		memcpy(parent, m->e[i].path, n);
		parent[n] = '\0';
		const struct mf_entry *p = manifest_find(m, parent);
		free(parent);
		if (!p || p->kind != MF_DIR) {
			*bad = i;
			return "the parent directory of this entry is not a directory of the manifest";
		}
	}
	return NULL;
}

int manifest_parse(const char *text, size_t len, struct manifest *m, struct strbuf *why)
{
	size_t lineno = 0, pos = 0;
	int counts = 0;
	bool ended = false;
	const char *err = NULL;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		lineno++;
		if (!nl) {
			err = "no newline at the end";
			goto fail;
		}
		const char *line = text + pos;
		size_t ll = (size_t)(nl - line);
		pos += ll + 1;
		if (ended) {
			err = "text after the end line";
			goto fail;
		}
		if (lineno == 1) {
			if (ll != strlen(MANIFEST_MAGIC) || memcmp(line, MANIFEST_MAGIC, ll)) {
				err = "not a backup manifest (expected \"" MANIFEST_MAGIC "\")";
				goto fail;
			}
			continue;
		}
		struct field f[FIELDS_MAX];
		int nf = split(line, ll, f, FIELDS_MAX);
		if (nf < 1) {
			err = "empty field or too many fields";
			goto fail;
		}
		if (field_is(&f[0], "count")) {
			unsigned long long v;
			if (counts >= MF_COUNTS || m->n || nf != 3 || !field_is(&f[1], count_names[counts]) ||
			    parse_decimal(&f[2], ULLONG_MAX, &v) < 0) {
				err = "bad count line (expected count queue|mailbox|quarantine|dkim N, in this order)";
				goto fail;
			}
			m->count[counts++] = v;
		} else if (field_is(&f[0], "end")) {
			unsigned long long v;
			if (counts != MF_COUNTS || nf != 2 || parse_decimal(&f[1], ULLONG_MAX, &v) < 0 || v != m->n) {
				err = "bad end line (expected end and the number of entries, after the four count lines)";
				goto fail;
			}
			ended = true;
		} else if (counts != MF_COUNTS) {
			err = "entry before the four count lines";
			goto fail;
		} else if (parse_entry(m, f, nf, &err) < 0) {
			goto fail;
		}
	}
	if (!ended) {
		err = lineno ? "no end line (the backup did not finish?)" : "empty manifest";
		lineno++;
		goto fail;
	}
	size_t bad;
	if ((err = check_parents(m, &bad))) {
		sb_addf(why, "%s: %s", m->e[bad].path, err);
		return -1;
	}
	return 0;
fail:
	sb_addf(why, "line %zu: %s", lineno, err);
	return -1;
}
