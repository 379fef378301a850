/* rspamd's workers, options, logging, actions, redis, and the Postfix side.
 * Files in override.d replace Debian's settings key by key (priority 10);
 * local.d merges into them (arrays would be appended, so lists go to
 * override.d). */
#include "rspamd/rspamd.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "config/filters.h"
#include "outbound/outbound.h"

struct rspamd_file *rspamd_file_add(struct rspamd_files *f, const char *path, mode_t mode)
{
	if (f->len >= RSPAMD_FILES_MAX)
		fatalx(EXIT_SYSTEM, "rspamd: more than %d files", RSPAMD_FILES_MAX);
	struct rspamd_file *file = &f->item[f->len++];
	file->path = path;
	file->mode = mode;
	sb_init(&file->text);
	size_t len = strlen(path);
	bool lua = len > 4 && !strcmp(path + len - 4, ".lua");
	sb_addf(&file->text, "%s Written by `mtactl config` from the environment; edits are lost.\n",
		lua ? "--" : "#");
	return file;
}

void rspamd_files_free(struct rspamd_files *f)
{
	for (size_t i = 0; i < f->len; i++)
		sb_free(&f->item[i].text);
	f->len = 0;
}

bool rspamd_destiny_holds(const char *destiny)
{
	return !strcmp(destiny, "D_DISCARD") || !strcmp(destiny, "D_BOUNCE");
}

static void render_workers(int cores, const char *password_hash, bool web, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/worker-normal.inc", 0644)->text;
	sb_addf(t, "# One scanner per core: each is event-driven and fills a core by itself;\n"
		   "# more only add a copy of the rules (and hyperscan database) in memory.\n"
		   "count = %d;\n"
		   "# Loopback only: the proxy worker is its one client.\n"
		   "bind_socket = \"" RSPAMD_NORMAL_ADDR "\";\n"
		   "mime = true;\n",
		cores < 1 ? 1 : cores);

	t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/worker-proxy.inc", 0644)->text;
	sb_adds(t, "# Postfix's milter: a UNIX socket that the postfix user may open (clamd's\n"
		   "# socket is the same; nothing outside the container reaches it).\n"
		   "bind_socket = \"" RSPAMD_MILTER_SOCKET " mode=0666\";\n"
		   "milter = yes;\n"
		   "# One proxy multiplexes all SMTP sessions; the scanning is upstream.\n"
		   "count = 1;\n"
		   "# Above task_timeout (options.inc), so a scan ends on rspamd's own clock\n"
		   "# first; a stuck scanner is given up on, and Postfix tempfails the mail.\n"
		   "timeout = 8s;\n"
		   "max_retries = 1;\n"
		   "upstream \"local\" {\n  default = yes;\n  self_scan = no;\n  hosts = \"" RSPAMD_NORMAL_ADDR "\";\n}\n"
		   "# Rejections are rejections (the 5xx carries the reason); holding is the\n"
		   "# quarantine action's job (force_actions.conf).\n"
		   "discard_on_reject = false;\n"
		   "quarantine_on_reject = false;\n"
		   "reject_message = \"Message refused as spam\";\n"
		   "spam_header = \"X-Spam\";\n");

	t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/worker-controller.inc", 0600)->text;
	sb_adds(t, "count = 1;\n"
		   "# root's rspamc (learning, mtactl) uses the socket; rspamd lets a UNIX\n"
		   "# socket in without a password, so it is root's and rspamd's only.\n"
		   "bind_socket = \"" RSPAMD_CONTROLLER_SOCKET " mode=0600\";\n");
	if (web)
		sb_addf(t, "# RSPAMD_PASSWORD is set: the web interface, always behind the password.\n"
			   "bind_socket = \"*:%d\";\n", RSPAMD_CONTROLLER_PORT);
	sb_addf(t, "# Debian ships password = \"q1\": replaced, for reading and for changes.\n"
		   "password = \"%s\";\n"
		   "enable_password = \"%s\";\n"
		   "# No address skips the password (Debian trusts 127.0.0.1, which behind\n"
		   "# Docker's proxy is every client): 0.0.0.0 is never a source address.\n"
		   "secure_ip = \"0.0.0.0/32\";\n"
		   "static_dir = \"${WWWDIR}\";\n",
		password_hash, password_hash);

	t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/worker-fuzzy.inc", 0644)->text;
	sb_adds(t, "# No fuzzy storage: nothing here feeds it, and it would cost a process.\n"
		   "count = -1;\n");
}

static void render_options(struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/options.inc", 0644)->text;
	sb_adds(t, "# Every SMTP reply within 5 s even when the resolver drops every query: a\n"
		   "# query gives up after 1 s and one retry, and a whole scan after 4 s.\n"
		   "dns {\n  timeout = 1s;\n  sockets = 16;\n  retransmits = 1;\n}\n"
		   "task_timeout = 4s;\n"
		   "# A scan cut short by that limit is answered 4xx (the sender retries):\n"
		   "# otherwise a message could pass before clamd had answered.\n"
		   "soft_reject_on_timeout = true;\n"
		   "# Only this host is local (signed, not scored as inbound): Debian's list\n"
		   "# holds the private ranges, and behind Docker every client is in one.\n"
		   "local_addrs = [\"127.0.0.0/8\", \"::1\"];\n");
}

/* LOG_LEVEL is amavis's 0..5; rspamd's levels, quietest first. */
static const char *log_level(const struct settings *s)
{
	static const char *const levels[] = {"error", "warning", "notice", "info", "info", "debug"};
	long n = strtol(s->value[V_LOG_LEVEL], NULL, 10);
	return levels[n < 0 ? 0 : n > 5 ? 5 : n];
}

static void render_logging(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/logging.inc", 0644)->text;
	sb_addf(t, "# To mtactl's syslog (facility mail), so it shows in `docker logs` as the\n"
		   "# other daemons do; LOG_LEVEL 0 (the default) is errors only.\n"
		   "type = \"syslog\";\n"
		   "facility = \"LOG_MAIL\";\n"
		   "level = \"%s\";\n",
		log_level(s));
}

/* amavis's levels: tag (headers), tag2 (flag and subject), kill (destiny). */
static void render_actions(const struct settings *s, struct rspamd_files *out)
{
	const char *tag2 = s->value[V_SA_TAG2_LEVEL_DEFLT], *kill = s->value[V_SA_KILL_LEVEL_DEFLT];
	const char *spam = s->value[V_FINAL_SPAM_DESTINY];
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_OVERRIDE_DIR "/actions.conf", 0644)->text;
	sb_addf(t, "# SA_TAG2_LEVEL_DEFLT: Subject \"***SPAM*** \" (X-Spam-Flag comes from\n"
		   "# milter_headers.conf, as do the X-Spam-* headers of SA_TAG_LEVEL_DEFLT).\n"
		   "rewrite_subject = %s;\n"
		   "subject = \"***SPAM*** %%s\";\n"
		   "# Our headers say it; rspamd's own X-Spam: Yes would be a second flag.\n"
		   "add_header = null;\n"
		   "# No greylisting: amavis did none, and it delays every new sender.\n"
		   "greylist = null;\n",
		tag2);
	sb_addf(t, "# SA_KILL_LEVEL_DEFLT with FINAL_SPAM_DESTINY=%s.\n", spam);
	sb_addf(t, "reject = %s;\n", !strcmp(spam, "D_REJECT") ? kill : "null");
	/* rspamd 3.4 knows "quarantine" only when it is defined: the milter's
	 * quarantine (Postfix's hold queue) for force_actions.conf and, with
	 * D_DISCARD or D_BOUNCE, from the kill level on. */
	sb_adds(t, "# Held in Postfix's hold queue (force_actions.conf uses it too).\n"
		   "quarantine {\n  milter = \"quarantine\";\n");
	if (rspamd_destiny_holds(spam))
		sb_addf(t, "  score = %s;\n}\n", kill);
	else
		sb_adds(t, "  flags = [\"no_threshold\"];\n}\n");
}

static void render_redis(struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/redis.conf", 0644)->text;
	sb_adds(t, "# Bayes, history, DMARC report data: redis on its UNIX socket only.\n"
		   "servers = \"" REDIS_SOCKET "\";\n"
		   "timeout = 1s;\n");

	t = &rspamd_file_add(out, REDIS_CONF, 0644)->text;
	sb_adds(t, "# No TCP at all: rspamd reaches redis on the UNIX socket, and a network\n"
		   "# port is what protected-mode would warn about.\n"
		   "port 0\n"
		   "protected-mode no\n"
		   "unixsocket " REDIS_SOCKET "\n"
		   "# Group redis (_rspamd is a member) and nobody else.\n"
		   "unixsocketperm 770\n"
		   "daemonize no\n"
		   "supervised no\n"
		   "# On the volume, so Bayes and the DMARC report data survive recreation.\n"
		   "dir " REDIS_DATA_DIR "\n"
		   "dbfilename dump.rdb\n"
		   "save 3600 1 300 100 60 10000\n"
		   "stop-writes-on-bgsave-error no\n"
		   "# Small hosts: a few MB of Bayes tokens; expiring keys go first.\n"
		   "maxmemory 64mb\n"
		   "maxmemory-policy volatile-ttl\n"
		   "databases 1\n"
		   "# Warnings to stdout (docker logs); its start-up chatter is notice level.\n"
		   "loglevel warning\n"
		   "logfile \"\"\n"
		   "always-show-logo no\n");
}

void rspamd_render(const struct settings *s, int cores, const char *password_hash,
		   struct rspamd_files *out)
{
	out->len = 0;
	render_workers(cores, password_hash, *s->value[V_RSPAMD_PASSWORD] != '\0', out);
	render_options(out);
	render_logging(s, out);
	render_actions(s, out);
	render_redis(out);
	rspamd_render_modules(s, out);
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_DIR "/rspamd.local.lua", 0644)->text;
	rspamd_render_lua(s, t);
}

void rspamd_services(const struct settings *s, struct strbuf *out)
{
	/* Both as their users from the start (setpriv), with their supplementary
	 * groups: _rspamd reaches redis's socket through group redis. */
	/* quiet: redis logs only to stdout, and at its quietest level still
	 * prints its start banner and the host's overcommit advice; a redis
	 * that fails shows as the service restarting. */
	sb_adds(out, "redis quiet /usr/bin/setpriv --reuid=redis --regid=redis --init-groups "
		     "/usr/bin/redis-server " REDIS_CONF "\n");
	/* rspamd loads its redis scripts (DMARC reporting's among them) when
	 * its workers start: only once redis answers. */
	sb_adds(out, "rspamd - /usr/local/bin/mtactl socket-wait " REDIS_SOCKET " 30 "
		     "/usr/bin/setpriv --reuid=_rspamd --regid=_rspamd --init-groups "
		     "/usr/bin/rspamd -f -c " RSPAMD_DIR "/rspamd.conf\n");
	filters_clamav_services(s, out);
	/* D_BOUNCE: one DSN per held message (src/quarantine/bounce_watch.c). */
	sb_adds(out, "quarantine-bounce - /usr/local/bin/mtactl quarantine-bounce\n");
	/* DMARC_REPORTS=yes: rspamadm dmarc_report once a day (src/dmarc/). */
	if (!strcmp(s->value[V_DMARC_REPORTS], "yes"))
		sb_adds(out, "dmarc-reports - /usr/local/bin/mtactl dmarc-reports\n");
	filters_srs_service(s, out);
	outbound_services(s, out);
}

void rspamd_postfix_params(const struct settings *s, struct params *p)
{
	(void)s;
	/* Mail from outside and mail submitted on this host alike. */
	params_set(p, "smtpd_milters", "unix:" RSPAMD_MILTER_SOCKET);
	params_set(p, "non_smtpd_milters", "unix:" RSPAMD_MILTER_SOCKET);
	/* rspamd down or stuck: 4xx, the mail waits at the sender (or in
	 * maildrop); nothing passes unscanned. */
	params_set(p, "milter_default_action", "tempfail");
	params_set(p, "milter_protocol", "6");
	/* The queue id, the sender, the client and the SASL login: rspamd needs
	 * {auth_authen} to sign (and not score) our users' mail. */
	params_set(p, "milter_mail_macros", "i {mail_addr} {client_addr} {client_name} {auth_authen}");
	/* The proxy answers the early stages at once; the end of data waits for
	 * the scan, which rspamd ends after task_timeout (4 s). The limits are
	 * for a dead rspamd, not a slow one. */
	params_set(p, "milter_connect_timeout", "5s");
	params_set(p, "milter_command_timeout", "5s");
	params_set(p, "milter_content_timeout", "15s");
}
