/* Orchestrates the config step. Order matters for "nothing half-written":
 * everything is validated and rendered in memory first; only then are files
 * replaced, each atomically, lookup tables before main.cf, which is written
 * last because it is what makes Postfix use the new tables. */
#include "config/engine.h"

#include <errno.h>
#include <grp.h>
#include <openssl/evp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme.h"
#include "authres/authres.h"
#include "clamav/clamav.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "config/dovecot.h"
#include "config/filters.h"
#include "config/postfix.h"
#include "config/proxy.h"
#include "dkim/dkim.h"
#include "outbound/outbound.h"
#include "reload/reload.h"
#include "rspamd/hscache.h"
#include "rspamd/password.h"
#include "rspamd/rspamd.h"
#include "tls/tls.h"

extern char **environ;

/* The package's pristine files, copied at build time, seed an empty /srv
 * (a bind mount of an empty host directory gets no image content). */
#define DIST_DIR "/usr/share/mtactl/dist"

/* Everything under /srv (the Dockerfile links the usual paths there);
 * a directory whose package is not in this image has no pristine copy. */
static const char *const persisted_dirs[] = {
	"/etc/postfix", "/var/spool/postfix", "/var/mail", "/var/lib/postfix", "/etc/dovecot",
	"/var/lib/dovecot", "/etc/ssl/postfix",
	"/etc/amavis", "/var/amavis", "/var/lib/amavis", "/var/db/dkim", "/etc/clamav",
	"/var/lib/clamav", "/etc/spamassassin", "/etc/postsrsd",
	"/etc/rspamd", "/var/lib/rspamd", "/etc/redis", "/var/lib/redis"};

/* Self-signed or operator-provided files at the old image's paths. */
#define TLS_DIR "/etc/ssl/postfix"
#define TLS_CERT TLS_DIR "/cert.pem"
#define TLS_KEY TLS_DIR "/priv_key.pem"
#define SELF_SIGNED_DAYS 365

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
		if (path_exists(dst) || !path_exists(src))
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

/* The setting names a program lists, one per line ("name" or "name =
 * value"; nested blocks of doveconf are skipped), sorted for bsearch. */
static void read_setting_names(char **argv, struct strlist *out)
{
	struct strbuf text;
	sb_init(&text);
	int rc = proc_run(argv, &text);
	if (rc != 0)
		fatalx(EXIT_SYSTEM, "%s %s failed (exit %d)", argv[0], argv[1], rc);
	int depth = 0;
	for (char *line = text.buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		size_t name = strcspn(line, " =\n");
		if (depth == 0 && name > 0 && name <= len && line[0] != '#')
			strlist_add(out, line, name);
		for (size_t i = 0; i < len; i++)
			depth += line[i] == '{' ? 1 : line[i] == '}' ? -1 : 0;
		line += len + (nl ? 1 : 0);
	}
	sb_free(&text);
	qsort(out->item, out->len, sizeof *out->item, cmp_strp);
}

/* Which image this is, by what is installed. */
enum image config_this_image(void)
{
	if (path_exists("/usr/sbin/amavisd-new") || path_exists("/usr/sbin/amavisd"))
		return IMAGE_FULL;
	if (path_exists("/usr/bin/rspamd"))
		return IMAGE_RSPAMD;
	return path_exists("/usr/sbin/dovecot") ? IMAGE_BASE : IMAGE_MINI;
}

/* The image that last wrote the configuration on this volume. A volume
 * moved to another image (full to rspamd, say) is configured again: the
 * old main.cf would send mail to filters that are not installed here. */
#define IMAGE_MARK "/srv/etc/mtactl/image"

static bool image_changed(enum image image, char *previous, size_t size)
{
	struct strbuf text;
	sb_init(&text);
	if (file_read(IMAGE_MARK, &text, 64) == 0) {
		text.buf[strcspn(text.buf, "\n")] = '\0';
		snprintf(previous, size, "%s", text.buf);
	} else if (file_read(POSTFIX_DIR "/main.cf", &text, 1 << 20) == 0 &&
		   strstr(text.buf, "lmtp-amavis:")) {
		/* configured before the image was recorded: only full sends mail to amavis */
		snprintf(previous, size, "%s", image_name(IMAGE_FULL));
	}
	sb_free(&text);
	return *previous && strcmp(previous, image_name(image)) != 0;
}

static void mark_image(enum image image)
{
	struct strbuf text;
	sb_init(&text);
	sb_addf(&text, "%s\n", image_name(image));
	if (mkdir_p("/srv/etc/mtactl", 0755) < 0 || file_write_atomic(IMAGE_MARK, text.buf, text.len, 0644) < 0)
		fatal(EXIT_SYSTEM, "writing %s", IMAGE_MARK);
	sb_free(&text);
}

static bool domain_of(const char *hostname, const char **domain)
{
	const char *dot = strchr(hostname, '.');
	*domain = dot && dot[1] ? dot + 1 : NULL;
	return *domain != NULL;
}

/* Which certificate inbound TLS uses: the operator's files, else this
 * host's from ACME_FILE, else files already at the old image's paths, else
 * (when TLS is asked for or Dovecot needs it) a new self-signed one. */
static void plan_tls(const struct settings *s, bool dovecot, struct tls_setup *tls)
{
	/* Certificate and key variables, in the order Dovecot prefers them;
	 * a chain file holds the key first, then the certificates. */
	static const enum var_id explicit_pairs[][2] = {
		{V_SMTPD_TLS_CERT_FILE, V_SMTPD_TLS_KEY_FILE},
		{V_SMTPD_TLS_ECCERT_FILE, V_SMTPD_TLS_ECKEY_FILE},
		{V_SMTPD_TLS_DCERT_FILE, V_SMTPD_TLS_DKEY_FILE},
		{V_SMTPD_TLS_CHAIN_FILES, V_SMTPD_TLS_CHAIN_FILES},
	};
	memset(tls, 0, sizeof *tls);
	for (size_t i = 0; i < ARRAY_LEN(explicit_pairs) && !tls->enabled; i++) {
		if (*s->value[explicit_pairs[i][0]]) {
			tls->enabled = tls->explicit_files = true;
			tls->cert = s->value[explicit_pairs[i][0]];
			tls->key = s->value[explicit_pairs[i][1]];
		}
	}
	if (tls->enabled)
		return;
	const char *acme = s->value[V_ACME_FILE], *domain;
	domain_of(s->hostname, &domain);
	if (*acme && path_exists(acme) && acme_update(acme, s->hostname, domain) >= 0) {
		*tls = (struct tls_setup){.enabled = true, .cert = ACME_CERT, .key = ACME_KEY};
		return;
	}
	bool wanted = !strcmp(s->value[V_SMTPD_USE_TLS], "yes") || dovecot;
	struct strbuf why;
	sb_init(&why);
	bool usable = tls_check_pair(TLS_CERT, TLS_KEY, &why);
	sb_free(&why);
	if (!usable && wanted) {
		if (mkdir_p(TLS_DIR, 0755) < 0)
			fatal(EXIT_SYSTEM, "creating %s", TLS_DIR);
		if (tls_make_self_signed(TLS_CERT, TLS_KEY, s->hostname, SELF_SIGNED_DAYS) < 0)
			fatalx(EXIT_SYSTEM, "no certificate for TLS");
		log_info("made a self-signed certificate for %s in %s", s->hostname, TLS_CERT);
		usable = true;
	}
	if (usable)
		*tls = (struct tls_setup){.enabled = true, .cert = TLS_CERT, .key = TLS_KEY};
}

void config_host_facts(enum image image, struct postfix_host *host)
{
	host->image = image;
	/* full and rspamd: PostSRSd and the SRS loop; amavis only in full */
	host->filters = image == IMAGE_FULL || image == IMAGE_RSPAMD;
	host->filter_children = filters_amavis_children();
	host->rspamd = image == IMAGE_RSPAMD;
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

/* A file that an unprivileged daemon of group reads (it holds a password). */
void config_write_file_group(const char *path, const struct strbuf *text, mode_t mode, const char *group)
{
	struct group *g = getgrnam(group);
	if (!g)
		fatalx(EXIT_SYSTEM, "no %s group in /etc/group", group);
	write_file(path, text, mode);
	if (chown(path, 0, g->gr_gid) < 0)
		fatal(EXIT_SYSTEM, "chown %s", path);
}

/* Writes NAME.new, compiles it with postmap, then renames both into place
 * (compiled table first), so Postfix never sees a half-built table. */
void config_write_map(const struct postfix_map *m)
{
	char path[PATH_MAX], tmp[PATH_MAX], db[PATH_MAX], tmpdb[PATH_MAX];
	path_join(path, sizeof path, POSTFIX_DIR "/", m->name);
	mode_t mode = m->mode;
	if (m->group_postfix)
		config_write_file_group(path, &m->text, mode, "postfix");
	if (strcmp(m->type, "lmdb") != 0) {
		if (!m->group_postfix)
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
void config_make_mailbox_dirs(const struct settings *s, const struct postfix_host *host)
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

void config_log_lines(const char *prefix, const struct strbuf *lines, bool as_warning)
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

/* A client in mynetworks may relay. Behind NAT or Docker's userland proxy
 * every client looks local, so say so when mynetworks holds more than
 * loopback and single hosts. */
static void warn_wide_mynetworks(const char *mynetworks)
{
	char *copy = strdup(mynetworks);
	if (!copy)
		fatal(EXIT_SYSTEM, "out of memory");
	char *save = NULL;
	for (char *net = strtok_r(copy, " ,\t\n", &save); net; net = strtok_r(NULL, " ,\t\n", &save)) {
		bool loopback = !strncmp(net, "127.", 4) || !strncmp(net, "[::1]", 5) ||
				!strncmp(net, "[::ffff:127.", 12);
		const char *slash = strchr(net, '/');
		bool host_only = !slash || !strcmp(slash, "/32") || !strcmp(slash, "/128");
		if (!loopback && !host_only)
			log_warnx("mynetworks includes %s: every client there may relay mail through "
				  "this server without authenticating", net);
	}
	free(copy);
}

/* The same on a configured volume (main.cf is old: postconf does not wait). */
static void warn_wide_mynetworks_configured(void)
{
	struct strbuf value;
	sb_init(&value);
	char *argv[] = {"postconf", "-h", "mynetworks", NULL};
	if (proc_run(argv, &value) == 0)
		warn_wide_mynetworks(value.buf);
	sb_free(&value);
}

/* Writes what Dovecot needs; adds it to the services init starts. */
static void write_dovecot(const struct settings *s, const struct postfix_host *host,
			  const struct tls_setup *tls, const char *generic, struct strbuf *services)
{
	if (dovecot_wanted(s)) {
		struct dovecot_files f;
		dovecot_render(s, host, tls, generic, &f);
		if (dovecot_passwd_file_used(s))
			config_write_file_group(DOVECOT_DIR "/virt-passwd", &f.passwd, 0640, "dovecot");
		if (!settings_sasl_active(s))
			log_warnx("Dovecot holds the mailboxes but no login method is set "
				  "(SMTPD_SASL_CLIENTAUTH, LDAP, MySQL or IMAP): mail is delivered, "
				  "nobody can read it over IMAP/POP3 yet");
		if (s->sasl_ldap)
			write_file(DOVECOT_DIR "/ldap-passdb.conf.ext", &f.ldap_passdb, 0600);
		if (s->sasl_mysql)
			write_file(DOVECOT_DIR "/sql-passdb.conf.ext", &f.sql_passdb, 0600);
		write_file(DOVECOT_DIR "/dovecot.conf", &f.conf, 0644);
		dovecot_files_free(&f);
		sb_adds(services, "dovecot - /usr/sbin/dovecot -F\n");
	}
}

/* 32 random bytes, base64: the SRS secret, made once and kept. */
static void ensure_srs_secret(void)
{
	if (path_exists(POSTSRSD_SECRET))
		return;
	unsigned char raw[32];
	char b64[64];
	if (getentropy(raw, sizeof raw) < 0)
		fatal(EXIT_SYSTEM, "getentropy");
	EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
	struct strbuf text;
	sb_init(&text);
	sb_addf(&text, "%s\n", b64);
	if (mkdir_p("/etc/postsrsd", 0755) < 0)
		fatal(EXIT_SYSTEM, "creating /etc/postsrsd");
	write_file(POSTSRSD_SECRET, &text, 0600);
	sb_free(&text);
}

/* Every MAIL_DOMAIN's key, made or imported once (full and rspamd). */
static void install_dkim_keys(const struct settings *s)
{
	struct strbuf given, why;
	sb_init(&given);
	sb_init(&why);
	bool have_key = *s->value[V_DKIM_PRIVATEKEY] &&
			dkim_key_pem_from_value(s->value[V_DKIM_PRIVATEKEY], &given, &why);
	unsigned long bits = 2048;
	is_uint(s->value[V_DKIM_KEYBITS], 4096, &bits);
	for (size_t i = 0; i < s->domains.len; i++)
		if (dkim_install(s->domains.item[i], s->value[V_DKIM_SELECTOR], (int)bits,
				 have_key ? given.buf : NULL) < 0)
			fatalx(EXIT_SYSTEM, "no DKIM key for %s", s->domains.item[i]);
	sb_free(&given);
	sb_free(&why);
}

/* The full image: amavis, SpamAssassin, ClamAV, DKIM keys, PostSRSd. */
static void write_filters(const struct settings *s, const struct postfix_host *host,
			  struct strbuf *services)
{
	struct filter_files f;
	filters_render(s, host->filter_children, &f);
	write_file(AMAVIS_CONF, &f.amavis, 0644);
	write_file(SPAMASSASSIN_CONF, &f.spamassassin, 0644);
	write_file(CLAMD_CONF, &f.clamd, 0644);
	write_file(FRESHCLAM_CONF, &f.freshclam, 0644);
	write_file(POLICYD_SPF_CONF, &f.policyd_spf, 0644);
	filter_files_free(&f);
	struct strbuf milter_conf, checks;
	authres_render(s, &milter_conf, &checks);
	if (milter_conf.len)
		write_file(AUTHMILTER_CONF, &milter_conf, 0644);
	if (checks.len)
		write_file(AUTHRES_QUARANTINE_CHECKS, &checks, 0644);
	sb_free(&milter_conf);
	sb_free(&checks);
	install_dkim_keys(s);
	ensure_srs_secret();
	outbound_write_files(s);
	filters_services(s, services);
}

/* The rspamd image: rspamd, redis, clamd, DKIM keys, PostSRSd. */
static void write_rspamd(const struct settings *s, struct strbuf *services)
{
	struct strbuf hash;
	sb_init(&hash);
	if (!rspamd_password_hash(s->value[V_RSPAMD_PASSWORD], &hash))
		fatalx(EXIT_SYSTEM, "rspamadm pw failed: no rspamd controller password");
	struct rspamd_files files;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	rspamd_render(s, cores < 1 ? 1 : cores > 16 ? 16 : (int)cores, hash.buf, &files);
	explicit_bzero(hash.buf, hash.len);
	sb_free(&hash);
	if (mkdir_p(RSPAMD_LOCAL_DIR, 0755) < 0 || mkdir_p(RSPAMD_OVERRIDE_DIR, 0755) < 0)
		fatal(EXIT_SYSTEM, "creating %s", RSPAMD_DIR);
	for (size_t i = 0; i < files.len; i++) {
		write_file(files.item[i].path, &files.item[i].text, files.item[i].mode);
		/* the controller's file holds the password hash: rspamd's only */
		if (files.item[i].mode == 0600 && !strncmp(files.item[i].path, RSPAMD_DIR, strlen(RSPAMD_DIR))) {
			struct passwd *pw = getpwnam("_rspamd");
			if (!pw || chown(files.item[i].path, pw->pw_uid, pw->pw_gid) < 0)
				fatal(EXIT_SYSTEM, "chown %s", files.item[i].path);
		}
	}
	rspamd_files_free(&files);
	struct filter_files f; /* of full's files, clamd's and freshclam's */
	filters_render(s, 1, &f);
	write_file(CLAMD_CONF, &f.clamd, 0644);
	write_file(FRESHCLAM_CONF, &f.freshclam, 0644);
	filter_files_free(&f);
	install_dkim_keys(s);
	ensure_srs_secret();
	outbound_write_files(s);
	rspamd_services(s, services);
}

static void write_services(const struct strbuf *services)
{
	if (mkdir_p(SERVICES_DIR, 0755) < 0)
		fatal(EXIT_SYSTEM, "creating %s", SERVICES_DIR);
	write_file(SERVICES_FILE, services, 0600);
}

/* The gate's listeners (PROXY mode, network LMTP); without any, no file,
 * and init does not start the gate. */
static void write_gate_conf(const struct settings *s)
{
	struct strbuf text;
	sb_init(&text);
	proxy_gate_render(s, &text);
	if (text.len)
		write_file(GATE_CONF, &text, 0644);
	else if (unlink(GATE_CONF) < 0 && errno != ENOENT)
		fatal(EXIT_SYSTEM, "removing %s", GATE_CONF);
	sb_free(&text);
}

/* Validates and, when asked to, writes. Everything that can refuse the
 * input runs before the first file is touched. */
static int configure(bool write)
{
	char hostname[HOST_NAME_MAX + 1];
	if (gethostname(hostname, sizeof hostname) < 0)
		fatal(EXIT_SYSTEM, "gethostname");
	hostname[HOST_NAME_MAX] = '\0';

	enum image image = config_this_image();
	struct settings s;
	struct strbuf errors, warnings, unknown, dovecot_generic;
	sb_init(&errors);
	sb_init(&warnings);
	sb_init(&unknown);
	sb_init(&dovecot_generic);
	struct strlist postfix_names, dovecot_names;
	strlist_init(&postfix_names);
	strlist_init(&dovecot_names);
	struct params generic = {0};

	bool ok = settings_load(&s, env_get_process, NULL, hostname, image, &errors, &warnings);
	if (ok) { /* the generic rules are checked by --check too */
		char *postconf[] = {"postconf", "-d", "-H", NULL};
		read_setting_names(postconf, &postfix_names);
		ok = postfix_generic_params(environ, &postfix_names, &generic, &errors, &unknown);
		if (image_has_dovecot(image)) {
			char *doveconf[] = {"doveconf", "-d", NULL};
			read_setting_names(doveconf, &dovecot_names);
			ok = dovecot_generic_settings(environ, &dovecot_names, &dovecot_generic, &errors,
						      &unknown) && ok;
		}
	}
	if (!ok) {
		config_log_lines("", &errors, false);
		log_info("configuration refused: nothing was changed");
	} else if (write) {
		config_log_lines("", &warnings, true);
		config_log_lines("ignoring unknown variable ", &unknown, true);
		struct postfix_host host;
		config_host_facts(image, &host);
		struct tls_setup tls;
		plan_tls(&s, image_has_dovecot(image) && dovecot_wanted(&s), &tls);
		struct postfix_map maps[MAP_COUNT];
		postfix_maps_render(&s, &host, maps);
		struct params params = {0};
		postfix_main_params(&s, &host, maps, &tls, &params);
		for (size_t i = 0; i < generic.len; i++)
			params_set(&params, generic.item[i].name, generic.item[i].value);
		struct strbuf main_cf, master_cf;
		sb_init(&main_cf);
		sb_init(&master_cf);
		postfix_main_render(&params, &main_cf);
		warn_wide_mynetworks(params_get(&params, "mynetworks"));
		postfix_master_render(&s, &host, &master_cf);
		for (int i = 0; i < MAP_COUNT; i++)
			if (maps[i].text.len)
				config_write_map(&maps[i]);
		config_make_mailbox_dirs(&s, &host);
		struct strbuf services;
		sb_init(&services);
		if (image_has_dovecot(image))
			write_dovecot(&s, &host, &tls, dovecot_generic.buf, &services);
		if (image == IMAGE_RSPAMD)
			write_rspamd(&s, &services);
		else if (image == IMAGE_FULL)
			write_filters(&s, &host, &services);
		write_services(&services);
		write_gate_conf(&s);
		sb_free(&services);
		write_file(POSTFIX_DIR "/master.cf", &master_cf, 0644);
		write_file(POSTFIX_DIR "/main.cf", &main_cf, 0644);
		/* Postfix's programs wait until main.cf is a second old before
		 * reading it (a guard against half-saved edits); it is complete. */
		if (file_backdate(POSTFIX_DIR "/main.cf") < 0)
			log_warn("setting the time of %s", POSTFIX_DIR "/main.cf");
		mark_image(image);
		sb_free(&main_cf);
		sb_free(&master_cf);
		params_free(&params);
		postfix_maps_free(maps);
	} else {
		config_log_lines("", &warnings, true);
	}
	params_free(&generic);
	strlist_free(&postfix_names);
	strlist_free(&dovecot_names);
	settings_free(&s);
	sb_free(&errors);
	sb_free(&warnings);
	sb_free(&unknown);
	sb_free(&dovecot_generic);
	return ok ? EXIT_OK : EXIT_USAGE;
}

/* The ACME certificate is not kept on the volume: take it anew at every
 * start, before the services read it. */
static void refresh_acme(void)
{
	const char *acme = var_env(V_ACME_FILE);
	char hostname[HOST_NAME_MAX + 1];
	const char *domain;
	if (!*acme || !path_exists(acme) || gethostname(hostname, sizeof hostname) < 0)
		return;
	hostname[HOST_NAME_MAX] = '\0';
	domain_of(hostname, &domain);
	acme_update(acme, hostname, domain);
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
	config_log_lines("", &errors, false);
	int rc = errors.len ? EXIT_USAGE : EXIT_OK;
	sb_free(&errors);
	return rc;
}

/* Directories the daemons need at every start, owned by their users: run
 * directories are not on the volume, and a volume from another image may
 * have other ids (the old image's MIGRATE_CONFIG fix 1, done always). */
static void prepare_runtime_dirs(void)
{
	/* Run state of the previous start (pid files, sockets) survives in
	 * the container's /run after a kill; a daemon that finds its old pid
	 * now taken by another process refuses to start (amavis does). */
	static const char *const run_dirs[] = {"/run/amavis", "/run/clamav", "/run/dovecot",
					       "/run/mtactl", "/run/rspamd", "/run/redis"};
	for (size_t i = 0; i < ARRAY_LEN(run_dirs); i++)
		if (remove_tree_contents(run_dirs[i]) < 0)
			fatal(EXIT_SYSTEM, "clearing %s", run_dirs[i]);
	static const struct {
		const char *path, *user;
		mode_t mode;
	} dirs[] = {
		{"/run/amavis", "amavis", 0755},       {"/run/clamav", "clamav", 0755},
		{"/var/lib/amavis", "amavis", 0750},   {"/var/lib/amavis/tmp", "amavis", 0750},
		{"/var/amavis/quarantine", "amavis", 0750}, {"/var/lib/clamav", "clamav", 0755},
		{"/var/lib/mta-sts", "_mta-sts", 0750}, /* the MTA-STS policy cache */
		/* Postfix makes it when it starts; quarantine-bounce watches it first. */
		{"/var/spool/postfix/hold", "postfix", 0700},
		/* rspamd's sockets (the milter's is mode 0666) and data; redis's */
		{"/run/rspamd", "_rspamd", 0755},      {"/var/lib/rspamd", "_rspamd", 0750},
		{"/run/redis", "redis", 0750},          {"/var/lib/redis", "redis", 0750},
	};
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		struct passwd *pw = getpwnam(dirs[i].user);
		if (!pw)
			continue; /* that package is not in this image */
		if (mkdir_p(dirs[i].path, dirs[i].mode) < 0 ||
		    chown(dirs[i].path, pw->pw_uid, pw->pw_gid) < 0)
			fatal(EXIT_SYSTEM, "preparing %s", dirs[i].path);
	}
}

int config_run(void)
{
	const char *unlock = var_env(V_DOCKER_UNLOCK_FILE);
	const char *force = getenv("FORCE_CONFIG");
	bool forced = force && *force;

	bool seeded = seed_missing_dirs();
	prepare_runtime_dirs();
	rspamd_hs_cache_seed();
	const char *clamd = getenv("CLAMAV_DAEMON");
	if (path_exists("/usr/sbin/clamd") && !(clamd && !strcmp(clamd, "no")) &&
	    !clamav_database_present(CLAMAV_DB_DIR))
		log_warnx("ClamAV has no signature database in " CLAMAV_DB_DIR " yet: clamd starts "
			  "once there is one, and mail waits until then (in the queue, or at the "
			  "sender after a 4xx reply), never delivered unscanned");
	char previous[32] = "";
	bool moved = image_changed(config_this_image(), previous, sizeof previous);
	bool unlocked = path_exists(unlock) || forced || seeded || moved ||
			!path_exists(POSTFIX_DIR "/main.cf");
	if (moved)
		log_info("this volume was configured by the %s image: writing the configuration "
			 "of the %s image from the environment", previous, image_name(config_this_image()));
	if (!unlocked) {
		int rc = check_every_start_vars();
		if (rc != EXIT_OK)
			return rc;
		refresh_acme();
		/* The list files are applied at every start, as they are live:
		 * a change made while the container was stopped is not lost. */
		if (reload_any_list_file() && reload_lists(RELOAD_AT_START) != EXIT_OK)
			return EXIT_USAGE;
		warn_wide_mynetworks_configured();
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
	if (argc == 2 && !strcmp(argv[1], "--reload")) {
		log_set_name("reload");
		return reload_lists(RELOAD_LIVE);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl config [--check|--reload]\n");
		return EXIT_USAGE;
	}
	return config_run();
}
