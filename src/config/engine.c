/* Orchestrates the config step. Order matters for "nothing half-written":
 * everything is validated and rendered in memory first; only then are files
 * replaced, each atomically, lookup tables before main.cf, which is written
 * last because it is what makes Postfix use the new tables. */
#include "config/engine.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "config/postfix.h"

extern char **environ;

/* The package's pristine files, copied at build time, seed an empty /srv
 * (a bind mount of an empty host directory gets no image content). */
#define DIST_DIR "/usr/share/mtactl/dist"

static const char *const persisted_dirs[] = {"/etc/postfix", "/var/spool/postfix", "/var/mail"};

static void path_join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s%s", a, b);
	if (n < 0 || (size_t)n >= size)
		fatalx(EXIT_SYSTEM, "path too long: %s%s", a, b);
}

/* Copies what is missing under /srv from the image's pristine copy.
 * Returns true when the Postfix configuration itself had to be seeded. */
static bool seed_missing_dirs(void)
{
	bool seeded_config = false;
	if (!path_exists(DIST_DIR))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(persisted_dirs); i++) {
		char src[PATH_MAX], dst[PATH_MAX], parent[PATH_MAX];
		path_join(src, sizeof src, DIST_DIR, persisted_dirs[i]);
		path_join(dst, sizeof dst, "/srv", persisted_dirs[i]);
		if (path_exists(dst))
			continue;
		path_join(parent, sizeof parent, dst, "");
		*strrchr(parent, '/') = '\0';
		if (mkdir_p(parent, 0755) < 0 || copy_tree(src, dst) < 0)
			fatal(EXIT_SYSTEM, "seeding %s from %s", dst, src);
		log_info("seeded %s from the image", dst);
		if (!strcmp(persisted_dirs[i], "/etc/postfix"))
			seeded_config = true;
	}
	return seeded_config;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every main.cf parameter name this Postfix knows, sorted. */
static void read_postconf_names(struct strlist *out)
{
	struct strbuf text;
	sb_init(&text);
	char *argv[] = {"postconf", "-d", "-H", NULL};
	int rc = proc_run(argv, &text);
	if (rc != 0)
		fatalx(EXIT_SYSTEM, "postconf -d -H failed (exit %d)", rc);
	for (char *line = text.buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len)
			strlist_add(out, line, len);
		line += len + (nl ? 1 : 0);
	}
	sb_free(&text);
	qsort(out->item, out->len, sizeof *out->item, cmp_strp);
}

static void host_facts(struct postfix_host *host)
{
	struct passwd *pw = getpwnam("postfix");
	if (!pw)
		fatalx(EXIT_SYSTEM, "no postfix user in /etc/passwd");
	host->uid = pw->pw_uid;
	host->gid = pw->pw_gid;
	host->ipv6 = path_exists("/proc/net/if_inet6");
}

static void write_file(const char *path, const struct strbuf *text, mode_t mode)
{
	if (file_write_atomic(path, text->buf, text->len, mode) < 0)
		fatal(EXIT_SYSTEM, "writing %s", path);
}

/* Writes NAME.new, compiles it with postmap, then renames both into place
 * (compiled table first), so Postfix never sees a half-built table. */
static void write_map(const struct postfix_map *m)
{
	char path[PATH_MAX], tmp[PATH_MAX], db[PATH_MAX], tmpdb[PATH_MAX];
	path_join(path, sizeof path, POSTFIX_DIR "/", m->name);
	mode_t mode = m->secret ? 0600 : 0644;
	if (strcmp(m->type, "lmdb") != 0) {
		write_file(path, &m->text, mode);
		return;
	}
	path_join(tmp, sizeof tmp, path, ".new");
	path_join(db, sizeof db, path, ".lmdb");
	path_join(tmpdb, sizeof tmpdb, tmp, ".lmdb");
	write_file(tmp, &m->text, mode);
	char arg[PATH_MAX + 8];
	path_join(arg, sizeof arg, "lmdb:", tmp);
	char *argv[] = {"postmap", arg, NULL};
	int rc = proc_run(argv, NULL);
	if (rc != 0)
		fatalx(EXIT_SYSTEM, "postmap %s failed (exit %d)", arg, rc);
	if (chmod(tmpdb, mode) < 0 || rename(tmpdb, db) < 0 || rename(tmp, path) < 0)
		fatal(EXIT_SYSTEM, "installing %s", db);
}

/* Parent directories of mbox files and maildirs, owned by the delivery user. */
static void make_mailbox_dirs(const struct settings *s, const struct postfix_host *host)
{
	if (*s->value[V_VIRTUAL_TRANSPORT])
		return;
	for (size_t i = 0; i < s->boxes.len; i++) {
		char dir[PATH_MAX];
		path_join(dir, sizeof dir, MAILBOX_BASE "/", s->boxes.item[i].path);
		size_t len = strlen(dir);
		if (dir[len - 1] == '/')
			dir[len - 1] = '\0'; /* virtual(8) makes the maildir itself */
		*strrchr(dir, '/') = '\0';
		if (!strcmp(dir, MAILBOX_BASE))
			continue;
		if (mkdir_p(dir, 0750) < 0)
			fatal(EXIT_SYSTEM, "creating %s", dir);
		/* chown each level below the base: mkdir -p made them as root */
		for (size_t c = strlen(MAILBOX_BASE) + 1;; c++) {
			char saved = dir[c];
			if (saved != '/' && saved != '\0')
				continue;
			dir[c] = '\0';
			if (chown(dir, (uid_t)host->uid, (gid_t)host->gid) < 0)
				fatal(EXIT_SYSTEM, "chown %s", dir);
			dir[c] = saved;
			if (!saved)
				break;
		}
	}
}

static void log_lines(const char *prefix, const struct strbuf *lines, bool as_warning)
{
	for (const char *line = lines->buf; *line;) {
		const char *nl = strchr(line, '\n');
		int len = (int)(nl ? nl - line : (long)strlen(line));
		if (as_warning)
			log_warnx("%s%.*s", prefix, len, line);
		else
			log_info("%s%.*s", prefix, len, line);
		line += len + (nl ? 1 : 0);
	}
}

/* Validates and, when asked to, writes. */
static int configure(bool write)
{
	char hostname[HOST_NAME_MAX + 1];
	if (gethostname(hostname, sizeof hostname) < 0)
		fatal(EXIT_SYSTEM, "gethostname");
	hostname[HOST_NAME_MAX] = '\0';

	struct settings s;
	struct strbuf errors, warnings;
	sb_init(&errors);
	sb_init(&warnings);
	bool ok = settings_load(&s, env_get_process, NULL, hostname, &errors, &warnings);
	if (!ok) {
		log_lines("", &errors, false);
		log_info("configuration refused: nothing was changed");
		settings_free(&s);
		sb_free(&errors);
		sb_free(&warnings);
		return EXIT_USAGE;
	}
	if (!write) {
		log_lines("", &warnings, true);
		settings_free(&s);
		sb_free(&errors);
		sb_free(&warnings);
		return EXIT_OK;
	}

	struct postfix_host host;
	host_facts(&host);
	struct strlist known;
	strlist_init(&known);
	read_postconf_names(&known);

	struct postfix_map maps[MAP_COUNT];
	postfix_maps_render(&s, maps);
	struct params params = {0};
	postfix_main_params(&s, &host, maps, &params);
	struct strbuf unknown;
	sb_init(&unknown);
	ok = postfix_generic_params(environ, &known, &params, &errors, &unknown);
	if (!ok) {
		log_lines("", &errors, false);
		log_info("configuration refused: nothing was changed");
	} else {
		log_lines("", &warnings, true);
		log_lines("ignoring unknown variable ", &unknown, true);
		struct strbuf main_cf, master_cf;
		sb_init(&main_cf);
		sb_init(&master_cf);
		postfix_main_render(&params, &main_cf);
		postfix_master_render(&s, &master_cf);
		for (int i = 0; i < MAP_COUNT; i++)
			if (maps[i].text.len)
				write_map(&maps[i]);
		make_mailbox_dirs(&s, &host);
		write_file(POSTFIX_DIR "/master.cf", &master_cf, 0644);
		write_file(POSTFIX_DIR "/main.cf", &main_cf, 0644);
		sb_free(&main_cf);
		sb_free(&master_cf);
	}
	params_free(&params);
	postfix_maps_free(maps);
	strlist_free(&known);
	sb_free(&unknown);
	settings_free(&s);
	sb_free(&errors);
	sb_free(&warnings);
	return ok ? EXIT_OK : EXIT_USAGE;
}

/* On a locked volume only the variables applied at every start count. */
static int check_every_start_vars(void)
{
	struct strbuf errors;
	sb_init(&errors);
	for (int i = 0; i < VAR_COUNT; i++) {
		const char *v = getenv(var_table[i].name);
		if ((var_table[i].flags & VAR_EVERY_START) && v && *v)
			var_validate(&var_table[i], v, &errors);
	}
	log_lines("", &errors, false);
	int rc = errors.len ? EXIT_USAGE : EXIT_OK;
	sb_free(&errors);
	return rc;
}

int config_run(void)
{
	const char *unlock = getenv("DOCKER_UNLOCK_FILE");
	if (!unlock || !*unlock)
		unlock = var_table[V_DOCKER_UNLOCK_FILE].def;
	const char *force = getenv("FORCE_CONFIG");
	bool forced = force && *force;

	bool seeded = seed_missing_dirs();
	bool unlocked = path_exists(unlock) || forced || seeded ||
			!path_exists(POSTFIX_DIR "/main.cf");
	if (!unlocked) {
		int rc = check_every_start_vars();
		if (rc != EXIT_OK)
			return rc;
		log_info("configuration kept from the volume; environment changes are ignored "
			 "(set FORCE_CONFIG=1 to write it again)");
		return EXIT_OK;
	}
	int rc = configure(true);
	if (rc != EXIT_OK)
		return rc;
	if (unlink(unlock) < 0 && errno != ENOENT)
		fatal(EXIT_SYSTEM, "removing %s", unlock);
	log_info("configuration written from the environment%s", forced ? " (FORCE_CONFIG)" : "; locking it");
	return EXIT_OK;
}

int config_main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--check"))
		return configure(false);
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl config [--check]\n");
		return EXIT_USAGE;
	}
	return config_run();
}
