/* `mtactl config --reload`: applies the list files again without a
 * restart. The whole environment is validated as at start (settings_load,
 * the same one-line errors); on any error nothing is touched. Then only the
 * tables the four lists make are compared with what is installed and the
 * changed ones replaced, each atomically:
 *
 * - virt-users, virt-aliases (lmdb): compiled into a temp and renamed, so
 *   Postfix never sees half a table; its daemons notice a changed lmdb
 *   table before they accept the next connection or request and restart
 *   (smtpd's pre_accept: "table ... has changed -- restarting"), so no
 *   reload is needed and no connection is refused.
 * - regexp-aliases: Postfix reads regexp tables once per process and never
 *   looks again: `postfix reload` (its master keeps the listening sockets,
 *   old processes finish their sessions).
 * - virt-passwd (Dovecot passwd-file): Dovecot's auth process stats it at
 *   every lookup and reads it again when mtime or size differ; mtime has a
 *   resolution of one second, so a change within the same second gets a
 *   later mtime (see bump_mtime).
 * - main.cf: only when a table appears or goes empty (main.cf names only
 *   tables that hold something), with `postconf -e`, then `postfix reload`.
 *
 * Failures of the system (postmap, rename) are fatal: the caller (init's
 * watcher) logs the exit status and the next change tries again. */
#include "reload/reload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/dovecot.h"
#include "config/engine.h"
#include "config/postfix.h"
#include "config/settings.h"

/* Two reloads (init's and one by hand with docker exec) never interleave. */
#define RELOAD_LOCK "/run/mtactl/reload.lock"
#define PASSWD_FILE DOVECOT_DIR "/virt-passwd"
#define POSTFIX_RELOAD_BUDGET_MS 30000

const enum var_id reload_list_vars[RELOAD_LISTS] = {V_MAIL_BOXES, V_MAIL_ALIASES, V_REGEX_ALIAS,
						    V_SMTPD_SASL_CLIENTAUTH};

bool reload_any_list_file(void)
{
	for (int i = 0; i < RELOAD_LISTS; i++)
		if (reload_list_file(reload_list_vars[i]))
			return true;
	return false;
}

const char *reload_list_file(enum var_id id)
{
	const char *direct = getenv(var_table[id].name);
	if (direct && *direct)
		return NULL;
	char name[96];
	int n = snprintf(name, sizeof name, "%s_FILE", var_table[id].name);
	if (n < 0 || (size_t)n >= sizeof name)
		return NULL;
	const char *path = getenv(name);
	return path && *path ? path : NULL;
}

/* One list and the file its rendering is installed as. */
struct target {
	enum var_id var;
	const char *noun;       /* what an entry is, for the log line */
	char key_end;           /* entries are keyed up to this character */
	int map;                /* index in the Postfix maps, or -1: Dovecot's passwd-file */
	char path[PATH_MAX];
	const struct strbuf *text;
	struct strbuf old;
	bool managed, changed;
	struct reload_diff diff;
};

static void path_of(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size)
		fatalx(EXIT_SYSTEM, "path too long: %s/%s", dir, name);
}

/* The installed text; a missing file is an empty table. */
static void read_installed(const char *path, struct strbuf *out)
{
	if (file_read(path, out, 64 << 20) == 0)
		return;
	if (errno != ENOENT)
		fatal(EXIT_SYSTEM, "reading %s", path);
	sb_reset(out);
}

static int take_lock(void)
{
	if (mkdir_p("/run/mtactl", 0755) < 0)
		fatal(EXIT_SYSTEM, "creating /run/mtactl");
	int fd = open(RELOAD_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "opening %s", RELOAD_LOCK);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			fatal(EXIT_SYSTEM, "locking %s", RELOAD_LOCK);
	return fd;
}

/* Dovecot compares whole seconds: a file replaced within the second of the
 * previous one, at the same size, would look unchanged to it. */
static void bump_mtime(const char *path, const struct stat *before)
{
	struct stat now;
	if (stat(path, &now) < 0)
		fatal(EXIT_SYSTEM, "stat %s", path);
	if (now.st_mtim.tv_sec > before->st_mtim.tv_sec)
		return;
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = before->st_mtim.tv_sec + 1}};
	if (utimensat(AT_FDCWD, path, times, 0) < 0)
		fatal(EXIT_SYSTEM, "setting the time of %s", path);
}

/* The installed values of main.cf's map lists and SASL type, one a line. */
static void installed_params(struct strbuf lines[3])
{
	char *argv[] = {"postconf", "-h", "virtual_mailbox_maps", "virtual_alias_maps", "smtpd_sasl_type", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run(argv, &out);
	if (rc != 0)
		fatalx(EXIT_SYSTEM, "postconf -h failed (exit %d)", rc);
	const char *line = out.buf;
	for (int i = 0; i < 3; i++) {
		size_t len = strcspn(line, "\n");
		sb_add(&lines[i], line, len);
		line += len + (line[len] ? 1 : 0);
	}
	sb_free(&out);
}

/* main.cf's map lists as the new tables need them: "name=value" arguments
 * for postconf -e. A list the operator sets (VIRTUAL_ALIAS_MAPS=...) is
 * theirs. Returns whether SASL was active in the installed main.cf. */
static bool main_cf_edits(const struct settings *s, const struct postfix_host *host,
			  const struct postfix_map maps[MAP_COUNT], struct strlist *edits)
{
	static const char *const names[2] = {"virtual_mailbox_maps", "virtual_alias_maps"};
	static const char *const vars[2] = {"VIRTUAL_MAILBOX_MAPS", "VIRTUAL_ALIAS_MAPS"};
	struct strbuf installed[3];
	for (int i = 0; i < 3; i++)
		sb_init(&installed[i]);
	installed_params(installed);
	struct params p = {0};
	struct tls_setup no_tls = {0};
	postfix_main_params(s, host, maps, &no_tls, &p);
	for (int i = 0; i < 2; i++) {
		const char *own = getenv(vars[i]);
		const char *want = params_get(&p, names[i]);
		if ((own && *own) || !want || !strcmp(want, installed[i].buf))
			continue;
		struct strbuf arg;
		sb_init(&arg);
		sb_addf(&arg, "%s=%s", names[i], want);
		strlist_add(edits, arg.buf, arg.len);
		sb_free(&arg);
	}
	bool sasl_was_active = !strcmp(installed[2].buf, "dovecot");
	params_free(&p);
	for (int i = 0; i < 3; i++)
		sb_free(&installed[i]);
	return sasl_was_active;
}

static void edit_main_cf(const struct strlist *edits)
{
	char *argv[8] = {"postconf", "-e"};
	size_t n = 2;
	for (size_t i = 0; i < edits->len && n < ARRAY_LEN(argv) - 1; i++)
		argv[n++] = edits->item[i];
	argv[n] = NULL;
	int rc = proc_run(argv, NULL);
	if (rc != 0)
		fatalx(EXIT_SYSTEM, "postconf -e failed (exit %d)", rc);
	/* Postfix's programs wait until main.cf is a second old (engine.c). */
	if (file_backdate(POSTFIX_DIR "/main.cf") < 0)
		log_warn("setting the time of %s", POSTFIX_DIR "/main.cf");
}

/* Postfix reload, where running; its own words only when it fails. */
static bool postfix_reload(void)
{
	char *argv[] = {"postfix", "reload", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, 4096, now_ms() + POSTFIX_RELOAD_BUDGET_MS);
	if (rc != 0)
		log_warnx("postfix reload failed (exit %d): %.*s; the new tables are in place and "
			  "apply when Postfix starts", rc, (int)strcspn(out.buf, "\n"), out.buf);
	sb_free(&out);
	return rc == 0;
}

/* Submission (465/587) and Dovecot's passdb list are decided at start. */
static void warn_needs_restart(const struct settings *s, bool sasl_was_active, const struct target *passwd)
{
	const char *name = var_table[V_SMTPD_SASL_CLIENTAUTH].name;
	if (settings_sasl_active(s) != sasl_was_active) {
		log_warnx("%s_FILE: submission on 465/587 %s only after a restart (with FORCE_CONFIG=1 "
			  "on a configured volume)", name, sasl_was_active ? "closes" : "opens");
		return;
	}
	if (!passwd->managed || !s->sasl_file)
		return;
	struct strbuf conf;
	sb_init(&conf);
	if (file_read(DOVECOT_DIR "/dovecot.conf", &conf, 1 << 20) == 0 && !strstr(conf.buf, PASSWD_FILE))
		log_warnx("%s_FILE: Dovecot checks these logins only after a restart (with "
			  "FORCE_CONFIG=1 on a configured volume)", name);
	sb_free(&conf);
}

static void describe(const struct target *t, const struct settings *s, struct strbuf *line)
{
	sb_addf(line, "%s%s%s: %zu %s", line->len ? "; " : "", var_table[t->var].name,
		s->from_file[t->var] ? "_FILE" : "", t->diff.total, t->noun);
	if (t->changed)
		sb_addf(line, " (+%zu -%zu ~%zu)", t->diff.added, t->diff.removed, t->diff.changed);
}

static void targets_init(struct target t[RELOAD_LISTS], const struct settings *s,
			 const struct postfix_map maps[MAP_COUNT], bool passwd_managed)
{
	static const struct {
		const char *noun;
		char key_end;
		int map;
	} kinds[RELOAD_LISTS] = {
		{"mailboxes", ' ', MAP_USERS},
		{"aliases", ' ', MAP_ALIASES},
		{"rules", '\0', MAP_REGEX_ALIASES},
		{"logins", ':', -1},
	};
	for (int i = 0; i < RELOAD_LISTS; i++) {
		t[i] = (struct target){.var = reload_list_vars[i], .noun = kinds[i].noun,
				       .key_end = kinds[i].key_end, .map = kinds[i].map};
		sb_init(&t[i].old);
		if (t[i].map >= 0) {
			path_of(t[i].path, sizeof t[i].path, POSTFIX_DIR, maps[t[i].map].name);
			t[i].text = &maps[t[i].map].text;
			t[i].managed = true;
		} else {
			snprintf(t[i].path, sizeof t[i].path, "%s", PASSWD_FILE);
			t[i].text = &s->passwd_file;
			t[i].managed = passwd_managed;
		}
		if (!t[i].managed)
			continue;
		read_installed(t[i].path, &t[i].old);
		t[i].changed = strcmp(t[i].old.buf, t[i].text->buf) != 0;
		reload_diff_lines(t[i].old.buf, t[i].text->buf, t[i].key_end, &t[i].diff);
	}
}

/* Writes what changed; returns whether Postfix must be told. */
static bool install(struct target t[RELOAD_LISTS], const struct settings *s, const struct postfix_host *host,
		    const struct postfix_map maps[MAP_COUNT], bool identity_changed, const struct strlist *edits)
{
	bool tell_postfix = edits->len > 0;
	for (int i = 0; i < RELOAD_LISTS; i++) {
		if (!t[i].changed)
			continue;
		if (t[i].map < 0) {
			struct stat before = {0};
			if (stat(t[i].path, &before) < 0 && errno != ENOENT)
				fatal(EXIT_SYSTEM, "stat %s", t[i].path);
			config_write_file_group(t[i].path, t[i].text, 0640, "dovecot");
			bump_mtime(t[i].path, &before);
			continue;
		}
		config_write_map(&maps[t[i].map]);
		if (strcmp(maps[t[i].map].type, "lmdb") != 0)
			tell_postfix = true;
		if (t[i].map == MAP_USERS)
			config_make_mailbox_dirs(s, host);
	}
	if (identity_changed)
		config_write_map(&maps[MAP_USERS_IDENTITY]);
	if (edits->len)
		edit_main_cf(edits);
	return tell_postfix;
}

static bool identity_map_changed(const struct postfix_map *identity)
{
	char path[PATH_MAX];
	path_of(path, sizeof path, POSTFIX_DIR, identity->name);
	struct strbuf old;
	sb_init(&old);
	read_installed(path, &old);
	bool changed = strcmp(old.buf, identity->text.buf) != 0;
	sb_free(&old);
	return changed;
}

int reload_lists(enum reload_when when)
{
	int64_t started = now_ms();
	int lock = take_lock();
	char hostname[HOST_NAME_MAX + 1];
	if (gethostname(hostname, sizeof hostname) < 0)
		fatal(EXIT_SYSTEM, "gethostname");
	hostname[HOST_NAME_MAX] = '\0';
	enum image image = config_this_image();
	struct settings s;
	struct strbuf errors, warnings;
	sb_init(&errors);
	sb_init(&warnings);
	int rc = EXIT_OK;
	if (!settings_load(&s, env_get_process, NULL, hostname, image, &errors, &warnings)) {
		config_log_lines("", &errors, false);
		log_info("changes refused: the lists in use stay as they were");
		rc = EXIT_USAGE;
		goto out;
	}
	struct postfix_host host;
	config_host_facts(image, &host);
	struct postfix_map maps[MAP_COUNT];
	postfix_maps_render(&s, &host, maps);
	bool passwd_managed = image_has_dovecot(image) && dovecot_wanted(&s) && dovecot_passwd_file_used(&s);
	struct target t[RELOAD_LISTS];
	targets_init(t, &s, maps, passwd_managed);
	bool identity_changed = identity_map_changed(&maps[MAP_USERS_IDENTITY]);
	struct strlist edits;
	strlist_init(&edits);
	bool sasl_was_active = main_cf_edits(&s, &host, maps, &edits);
	bool any = identity_changed || edits.len;
	for (int i = 0; i < RELOAD_LISTS; i++)
		any = any || t[i].changed;

	struct strbuf line;
	sb_init(&line);
	for (int i = 0; i < RELOAD_LISTS; i++)
		if (t[i].managed && (t[i].changed || *s.value[t[i].var]))
			describe(&t[i], &s, &line);
	if (any) {
		config_log_lines("", &warnings, true);
		bool tell_postfix = install(t, &s, &host, maps, identity_changed, &edits);
		if (t[RELOAD_LISTS - 1].changed)
			warn_needs_restart(&s, sasl_was_active, &t[RELOAD_LISTS - 1]);
		bool reloaded = tell_postfix && when == RELOAD_LIVE && postfix_reload();
		log_info("%s%s in %lld ms", line.len ? line.buf : "the tables", reloaded ? "; Postfix reloaded" : "",
			 (long long)(now_ms() - started));
	} else if (when == RELOAD_LIVE) {
		log_info("nothing changed%s%s", line.len ? ": " : "", line.buf);
	}
	sb_free(&line);
	strlist_free(&edits);
	for (int i = 0; i < RELOAD_LISTS; i++)
		sb_free(&t[i].old);
	postfix_maps_free(maps);
	settings_free(&s);
out:
	sb_free(&errors);
	sb_free(&warnings);
	if (close(lock) < 0)
		log_warn("closing %s", RELOAD_LOCK);
	return rc;
}
