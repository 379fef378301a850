/* Lists the quarantine as a table: date, size, sender, recipients, subject,
 * reason, file; newest last. The file names it prints are what
 * amavisd-release takes. */
#include "quarantine/quarantine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "quarantine/hold.h"

#define HEADER_MAX (64 * 1024)

/* Copies a header value: folded lines joined, white space runs made one
 * space, control characters dropped, at most size-1 bytes. */
static void copy_value(char *dst, size_t size, const char *v, size_t len)
{
	size_t n = 0;
	bool space = false;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = n > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (space && n + 2 < size)
			dst[n++] = ' ';
		space = false;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
}

static bool field_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && line[n] == ':' && !strncasecmp(line, name, n);
}

void quarantine_parse(const char *text, size_t len, const char *name, struct quarantine_entry *e)
{
	memset(e, 0, sizeof *e);
	char to[512] = "", blocked[512] = "";
	const char *p = text, *end = text + (len > HEADER_MAX ? HEADER_MAX : len);
	while (p < end) {
		/* One logical header line: continuation lines start with blanks. */
		const char *start = p;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
		}
		size_t line_len = (size_t)(p - start);
		if (line_len <= 2 && (start[0] == '\n' || start[0] == '\r'))
			break; /* the blank line: end of the header */
		const char *colon = memchr(start, ':', line_len);
		if (!colon)
			continue;
		const char *v = colon + 1;
		size_t vlen = line_len - (size_t)(v - start);
		if (field_is(start, line_len, "Date"))
			copy_value(e->date, sizeof e->date, v, vlen);
		else if (field_is(start, line_len, "X-Envelope-From"))
			copy_value(e->sender, sizeof e->sender, v, vlen);
		else if (field_is(start, line_len, "X-Envelope-To"))
			copy_value(to, sizeof to, v, vlen);
		else if (field_is(start, line_len, "X-Envelope-To-Blocked"))
			copy_value(blocked, sizeof blocked, v, vlen);
		else if (field_is(start, line_len, "Subject"))
			copy_value(e->subject, sizeof e->subject, v, vlen);
		else if (field_is(start, line_len, "X-Amavis-Alert") && !e->reason[0])
			copy_value(e->reason, sizeof e->reason, v, vlen);
		else if (field_is(start, line_len, "X-Quarantine") && !e->xquarantine[0])
			copy_value(e->xquarantine, sizeof e->xquarantine, v, vlen);
	}
	snprintf(e->recipients, sizeof e->recipients, "%s", blocked[0] ? blocked : to);
	if (!e->reason[0]) {
		static const char *const kinds[][2] = {
			{"virus-", "virus"}, {"spam-", "spam"}, {"banned-", "banned"}, {"badh-", "bad header"}};
		for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
			if (!strncmp(name, kinds[i][0], strlen(kinds[i][0])))
				snprintf(e->reason, sizeof e->reason, "%s", kinds[i][1]);
	}
}

void quarantine_print_heading(void)
{
	printf("%-16s %8s  %-28s %-28s %-30s %-24s %s\n", "DATE", "SIZE", "SENDER", "RECIPIENTS", "SUBJECT",
	       "REASON", "FILE");
}

void quarantine_print_row(time_t when, long long size, const char *sender, const char *recipients,
			  const char *subject, const char *reason, const char *file)
{
	char date[32] = "";
	struct tm tm;
	if (localtime_r(&when, &tm))
		strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
	printf("%-16s %8lld  %-28.28s %-28.28s %-30.30s %-24.24s %s\n", date, size, sender, recipients,
	       subject, reason, file);
}

struct listed {
	char name[256];
	time_t mtime;
	off_t size;
};

static int by_time(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime ? 1 : strcmp(x->name, y->name);
}

static int list(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		log_warn("%s", dir);
		return EXIT_SYSTEM;
	}
	struct listed *files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof files->name)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct listed *grown = reallocarray(files, cap, sizeof *files);
			if (!grown)
				fatal(EXIT_SYSTEM, "out of memory");
			files = grown;
		}
		snprintf(files[n].name, sizeof files[n].name, "%s", de->d_name);
		files[n].mtime = st.st_mtime;
		files[n].size = st.st_size;
		n++;
	}
	closedir(d);
	qsort(files, n, sizeof *files, by_time);
	quarantine_print_heading();
	struct strbuf text;
	sb_init(&text);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		sb_reset(&text);
		/* The header is all this needs; a file that vanished meanwhile
		 * (released) is skipped. */
		if (file_read(path, &text, HEADER_MAX) < 0 && errno != EFBIG)
			continue;
		struct quarantine_entry e;
		quarantine_parse(text.buf, text.len, files[i].name, &e);
		quarantine_print_row(files[i].mtime, (long long)files[i].size, e.sender, e.recipients,
				     e.subject, e.reason, files[i].name);
	}
	sb_free(&text);
	free(files);
	printf("%zu message%s in %s\n", n, n == 1 ? "" : "s", dir);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SYSTEM;
}

/* amavis is there (the full image): its quarantine; else the hold queue. */
static bool has_amavis(void)
{
	return path_exists("/usr/sbin/amavisd") || path_exists("/usr/sbin/amavisd-new");
}

/* The SMTP reply amavisd-release prints ("250 2.0.0 Ok, id=..., from MTA
 * ...: queued as ..."); amavisd-release exits 0 whatever the reply says. */
static const char *release_reply(const char *out, int *len)
{
	for (const char *p = out; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (p[0] >= '2' && p[0] <= '5' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    (p[3] == ' ' || p[3] == '-')) {
			*len = (int)strcspn(p, "\n");
			return p;
		}
	}
	*len = (int)strcspn(out, "\n");
	return out;
}

/* amavisd-release, one file at a time so each gets its own line. */
static int amavis_release(int n, char **files)
{
	int rc = EXIT_OK;
	struct strbuf out;
	sb_init(&out);
	for (int i = 0; i < n; i++) {
		char *argv[] = {"amavisd-release", files[i], NULL};
		sb_reset(&out);
		int st = proc_run_capture(argv, &out, 4096, now_ms() + 120000);
		int len;
		const char *reply = release_reply(out.buf, &len);
		if (st == 0 && reply[0] == '2') {
			printf("%s: released (%.*s)\n", files[i], len > 200 ? 200 : len, reply);
		} else if (st < 0) {
			log_warn("%s: not released: amavisd-release did not run", files[i]);
			rc = EXIT_FAIL;
		} else {
			log_warnx("%s: not released: %.*s", files[i], len > 200 ? 200 : len, reply);
			rc = EXIT_FAIL;
		}
	}
	sb_free(&out);
	return fflush(stdout) == 0 ? rc : EXIT_SYSTEM;
}

int quarantine_main(int argc, char **argv)
{
	log_set_name("quarantine");
	bool amavis = has_amavis();
	if (argc == 2 && !strcmp(argv[1], "ls"))
		return amavis ? list(QUARANTINE_PATH) : hold_ls();
	if (argc >= 3 && !strcmp(argv[1], "release"))
		return amavis ? amavis_release(argc - 2, argv + 2) : hold_release(argc - 2, argv + 2);
	log_warnx("usage: mtactl quarantine ls | release %s...", amavis ? "FILE" : "QUEUE_ID");
	return EXIT_USAGE;
}

int amavis_ls_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("amavis-ls");
	if (argc != 1) {
		log_warnx("usage: amavis-ls");
		return EXIT_USAGE;
	}
	return has_amavis() ? list(QUARANTINE_PATH) : hold_ls();
}
