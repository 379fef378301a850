#include "health/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clamav/clamav.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/filters.h"
#include "config/proxy.h"
#include "health/probe.h"
#include "init/service.h"
#include "init/services.h"
#include "init/volume_lock.h"
#include "rspamd/rspamd.h"

#define SMTP_PORT 25
#define PROBE_TIMEOUT_MS 5000

bool health_services_ok(const char *status_text, struct strbuf *why)
{
	bool ok = true;
	int lines = 0;
	for (const char *line = status_text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char name[64], state[16];
		int pid;
		char buf[128];
		if (len < sizeof buf) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (sscanf(buf, "%63s %15s %d", name, state, &pid) == 3) {
				lines++;
				if (!strcmp(state, "done")) {
					/* a start-up task that has finished */
				} else if (strcmp(state, "up") != 0) {
					sb_addf(why, "%s is %s\n", name, state);
					ok = false;
				} else if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
					sb_addf(why, "%s (pid %d) is gone\n", name, pid);
					ok = false;
				}
			}
		}
		line += len + (nl ? 1 : 0);
	}
	if (lines == 0) {
		sb_adds(why, "no services are supervised\n");
		ok = false;
	}
	return ok;
}

/* PROXY mode: GATE_CONF has an smtp listener, and port 25 is the gate's,
 * which refuses loopback; Postfix itself listens behind it. */
static bool gate_has_smtp(void)
{
	struct strbuf text;
	sb_init(&text);
	bool found = false;
	if (file_read(GATE_CONF, &text, 1 << 16) == 0)
		for (const char *line = text.buf; line && *line && !found;) {
			found = !strncmp(line, "smtp ", 5);
			const char *nl = strchr(line, '\n');
			line = nl ? nl + 1 : NULL;
		}
	sb_free(&text);
	return found;
}

static bool smtp_banner_ok(struct strbuf *why)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SMTP_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!gate_has_smtp())
		return probe_smtp((struct sockaddr *)&sa, sizeof sa, false, PROBE_TIMEOUT_MS, "port 25", why);
	/* Postfix's internal listener, with the PROXY v1 line the gate sends. */
	char header[96], what[64];
	snprintf(header, sizeof header, "PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", PROXY_SMTP_PORT,
		 SMTP_PORT);
	snprintf(what, sizeof what, PROXY_BACKEND_ADDR ":%d (PROXY)", PROXY_SMTP_PORT);
	sa.sin_port = htons(PROXY_SMTP_PORT);
	return probe_smtp_proxied((struct sockaddr *)&sa, sizeof sa, false, header, PROBE_TIMEOUT_MS, what,
				  why);
}

/* Does the status file ("name state pid" lines) list this service? */
static bool status_lists(const char *status, const char *name)
{
	size_t len = strlen(name);
	for (const char *line = status; line;) {
		if (!strncmp(line, name, len) && line[len] == ' ')
			return true;
		const char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

int health_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("health");
	if (argc != 1) {
		log_warnx("usage: mtactl health");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* A standby (init/volume_lock.h) is what a start-first rolling update
	 * waits for before it stops the old container: healthy, doing nothing. */
	if (path_exists(STANDBY_FILE)) {
		printf("healthy (standby: another container uses the volume on /srv; this one starts "
		       "when it stops)\n");
		return EXIT_OK;
	}
	struct strbuf status, why;
	sb_init(&status);
	sb_init(&why);
	bool ok;
	if (file_read(STATUS_FILE, &status, 1 << 16) < 0) {
		sb_addf(&why, "%s: %s (is init running?)\n", STATUS_FILE, strerror(errno));
		ok = false;
	} else {
		ok = health_services_ok(status.buf, &why);
	}
	/* clamd's service is up while it waits for a database (clamav-wait),
	 * but mail is not scanned, so it waits: not healthy. */
	if (status_lists(status.buf, "clamd") && !clamav_database_present(CLAMAV_DB_DIR)) {
		sb_adds(&why, "clamav: no signature database in " CLAMAV_DB_DIR " yet; mail waits\n");
		ok = false;
	}
	ok = smtp_banner_ok(&why) && ok;
	/* A live amavis or clamd process is not enough: mail waits in the
	 * queue when they no longer answer (hung on a scanner, out of memory). */
	if (status_lists(status.buf, "amavis"))
		ok = probe_smtp_unix(AMAVIS_INBOUND_SOCKET, true, PROBE_TIMEOUT_MS, &why) && ok;
	/* rspamd: the milter Postfix asks (its proxy worker) and the scanner
	 * behind it (a normal worker); until both answer, mail gets 4xx. */
	if (status_lists(status.buf, "rspamd")) {
		struct sockaddr_in scanner = {.sin_family = AF_INET, .sin_port = htons(RSPAMD_NORMAL_PORT)};
		scanner.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = probe_milter(RSPAMD_MILTER_SOCKET, PROBE_TIMEOUT_MS, &why) && ok;
		ok = probe_rspamd_ping((struct sockaddr *)&scanner, sizeof scanner, PROBE_TIMEOUT_MS,
				       "rspamd " RSPAMD_NORMAL_ADDR, &why) && ok;
	}
	if (status_lists(status.buf, "clamd") && clamav_database_present(CLAMAV_DB_DIR))
		ok = probe_clamd(CLAMD_SOCKET, PROBE_TIMEOUT_MS, &why) && ok;
	if (ok)
		printf("healthy\n");
	else
		printf("unhealthy: %s", why.buf);
	sb_free(&status);
	sb_free(&why);
	return ok ? EXIT_OK : EXIT_FAIL;
}
