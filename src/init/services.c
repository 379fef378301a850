/* The service table. A service is enabled when its program is installed
 * (so one binary serves all three images) and, for optional ones, when the
 * configuration asks for it. */
#include "init/services.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authres/authres.h"
#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/engine.h"
#include "config/proxy.h"
#include "config/vars.h"
#include "learn/learn.h"
#include "outbound/outbound.h"
#include "rspamd/rspamd.h"

static const char *const syslog_argv[] = {"/usr/local/bin/mtactl", "syslog", NULL};
/* start-fg keeps master in the foreground and runs Postfix's own checks
 * (create-missing queue directories) first. */
static const char *const postfix_argv[] = {"/usr/sbin/postfix", "start-fg", NULL};
/* rspamd image: port 25 opens once rspamd's milter socket accepts (rspamd's
 * main process binds it before its workers run; Postfix's connection waits
 * in the backlog), so a peer that sends at the first answer is not told
 * 451 only because Postfix started a second before rspamd. Bounded: after
 * 30 s Postfix starts anyway and mail gets 4xx until rspamd answers. */
static const char *const postfix_after_milter_argv[] = {
	"/usr/local/bin/mtactl", "socket-wait", RSPAMD_MILTER_SOCKET, "30", "/usr/sbin/postfix", "start-fg", NULL};
/* full image: the same wait for authmilter (python, about a second to
 * bind), else the first mail after a start passes without our
 * Authentication-Results and smtpd warns that the milter is missing. */
static const char *const postfix_after_authmilter_argv[] = {
	"/usr/local/bin/mtactl", "socket-wait", AUTHMILTER_SOCKET, "30", "/usr/sbin/postfix", "start-fg", NULL};
static const char *const acme_argv[] = {"/usr/local/bin/mtactl", "acme", "watch", NULL};
static const char *const spamd_learn_argv[] = {"/usr/local/bin/mtactl", "spamd-learn", NULL};
/* PROXY mode and the network LMTP: the trust-checking relay in front of
 * Postfix's and Dovecot's loopback listeners (GATE_CONF). It opens the
 * public ports once Postfix's master has bound its listeners (it binds
 * every master.cf service in one pass at start; anvil's socket is one of
 * them), so the balancer's first health checks are not refused by a
 * backend that is not listening yet. Bounded like Postfix's own wait. */
static const char *const gate_argv[] = {
	"/usr/local/bin/mtactl", "socket-wait", "/var/spool/postfix/private/anvil", "60",
	"/usr/local/bin/mtactl", "gate", NULL};
/* METRICS_LISTEN: the Prometheus endpoint (src/metrics/). */
static const char *const metrics_argv[] = {"/usr/local/bin/mtactl", "metrics", NULL};
/* DNS_RESOLVER=unbound: every service's resolver, so it starts first. */
static const char *const unbound_argv[] = {"/usr/sbin/unbound", "-d", "-p", "-c", UNBOUND_CONF, NULL};

static bool always(void)
{
	return true;
}

static bool has_rspamd(void)
{
	return path_exists("/usr/bin/rspamd");
}

/* The services the configuration step chose, one "name flags program
 * args..." line each (flags: "-"; "quiet": stdout to /dev/null; "once": a
 * task run at start, not restarted). The text stays for the life of init;
 * the argv point into it. */
static struct {
	char text[4096];
	const char *argv[SERVICES_MAX][16];
	const char *name[SERVICES_MAX];
	bool quiet[SERVICES_MAX], once[SERVICES_MAX];
	size_t n;
} configured;

static bool configured_has(const char *name)
{
	for (size_t i = 0; i < configured.n; i++)
		if (!strcmp(configured.name[i], name))
			return true;
	return false;
}

static void read_configured(void)
{
	int fd = open(SERVICES_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* a mini image, or nothing optional */
	ssize_t len = read(fd, configured.text, sizeof configured.text - 1);
	close(fd);
	if (len < 0) {
		log_warn("reading %s", SERVICES_FILE);
		return;
	}
	configured.text[len] = '\0';
	char *save_line = NULL;
	for (char *line = strtok_r(configured.text, "\n", &save_line);
	     line && configured.n < SERVICES_MAX; line = strtok_r(NULL, "\n", &save_line)) {
		char *save = NULL;
		const char **argv = configured.argv[configured.n];
		configured.name[configured.n] = strtok_r(line, " ", &save);
		const char *flags = strtok_r(NULL, " ", &save);
		configured.quiet[configured.n] = flags && !strcmp(flags, "quiet");
		configured.once[configured.n] = flags && !strcmp(flags, "once");
		size_t argc = 0;
		for (char *w = strtok_r(NULL, " ", &save); w && argc < 15; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		argv[argc] = NULL;
		if (argc > 0)
			configured.n++;
	}
}

/* ACME_FILE set and its directory there (a volume shared with Traefik). */
static bool acme_enabled(void)
{
	const char *file = var_env(V_ACME_FILE);
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (!*file || n < 0 || (size_t)n >= sizeof dir || !slash || slash == dir)
		return false;
	*slash = '\0';
	return path_exists(dir) && path_exists("/usr/sbin/dovecot");
}

/* KOPANO_SPAMD_LIB exists (shared with kopano) on an image with a learner
 * (rspamc in rspamd, sa-learn in full). */
static bool spamd_learn_enabled(void)
{
	const char *dir = var_env(V_KOPANO_SPAMD_LIB);
	return *dir && path_exists(dir) && learn_backend() != LEARN_NONE;
}

static bool gate_enabled(void)
{
	return path_exists(GATE_CONF);
}

static bool unbound_enabled(void)
{
	return !strcmp(var_env(V_DNS_RESOLVER), "unbound");
}

static bool authmilter_configured(void)
{
	return configured_has("authmilter");
}

static bool plain_postfix(void)
{
	return !has_rspamd() && !authmilter_configured();
}

static bool metrics_enabled(void)
{
	return *var_env(V_METRICS_LISTEN) != '\0';
}

struct service_def {
	const char *name;
	const char *const *argv;
	bool (*enabled)(void);
	bool wants_devlog; /* gets the /dev/log socket as fd 3 */
};

/* Configured services start between syslog and postfix, so that
 * Dovecot's auth socket and amavis are there when Postfix accepts mail. */
static const struct service_def before[] = {
	{"syslog", syslog_argv, always, true},
	{"unbound", unbound_argv, unbound_enabled, false},
};
static const struct service_def after[] = {
	{"postfix", postfix_argv, plain_postfix, false},
	{"postfix", postfix_after_milter_argv, has_rspamd, false},
	{"postfix", postfix_after_authmilter_argv, authmilter_configured, false},
	/* After Postfix, so stopped before it: the balancer sees the port
	 * close and moves on while Postfix finishes what the gate relays. */
	{"gate", gate_argv, gate_enabled, false},
	{"acme", acme_argv, acme_enabled, false},
	{"spamd-learn", spamd_learn_argv, spamd_learn_enabled, false},
	/* Last: up once what it reports on is, stopped first. */
	{"metrics", metrics_argv, metrics_enabled, false},
};

static size_t add_from(const struct service_def *defs, size_t ndefs, struct service *out, size_t n,
		       size_t max, int devlog_fd)
{
	for (size_t i = 0; i < ndefs && n < max; i++) {
		if (!path_exists(defs[i].argv[0]) || !defs[i].enabled())
			continue;
		out[n++] = (struct service){
			.name = defs[i].name,
			.argv = defs[i].argv,
			.pass_fd = defs[i].wants_devlog ? devlog_fd : -1,
			.state = SVC_DOWN,
		};
	}
	return n;
}

size_t services_enabled(struct service *out, size_t max, int devlog_fd)
{
	size_t n = add_from(before, ARRAY_LEN(before), out, 0, max, devlog_fd);
	read_configured();
	for (size_t i = 0; i < configured.n && n < max; i++) {
		if (!path_exists(configured.argv[i][0])) {
			log_warnx("%s: %s is not installed; not starting it", configured.name[i],
				  configured.argv[i][0]);
			continue;
		}
		out[n++] = (struct service){
			.name = configured.name[i],
			.argv = configured.argv[i],
			.pass_fd = -1,
			.quiet = configured.quiet[i],
			.once = configured.once[i],
			.state = SVC_DOWN,
		};
	}
	return add_from(after, ARRAY_LEN(after), out, n, max, devlog_fd);
}

void services_write_status(const struct service *svc, size_t n)
{
	struct strbuf text;
	sb_init(&text);
	for (size_t i = 0; i < n; i++)
		sb_addf(&text, "%s %s %d %u\n", svc[i].name, svc_state_name(svc[i].state), (int)svc[i].pid,
			svc[i].restarts);
	if (mkdir_p("/run/mtactl", 0755) < 0 ||
	    file_write_atomic(STATUS_FILE, text.buf, text.len, 0644) < 0)
		log_warn("writing %s", STATUS_FILE);
	sb_free(&text);
}
