/* The service table. A service is enabled when its program is installed
 * (so one binary serves all three images) and, for optional ones, when the
 * configuration asks for it. */
#include "init/services.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/engine.h"

static const char *const syslog_argv[] = {"/usr/local/bin/mtactl", "syslog", NULL};
/* start-fg keeps master in the foreground and runs Postfix's own checks
 * (create-missing queue directories) first. */
static const char *const postfix_argv[] = {"/usr/sbin/postfix", "start-fg", NULL};
static const char *const dovecot_argv[] = {"/usr/sbin/dovecot", "-F", NULL};
static const char *const acme_argv[] = {"/usr/local/bin/mtactl", "acme", "watch", NULL};

static bool always(void)
{
	return true;
}

/* Listed in the services file the configuration step wrote. */
static bool configured(const char *name)
{
	struct strbuf text;
	sb_init(&text);
	bool found = false;
	if (file_read(SERVICES_FILE, &text, 4096) == 0) {
		for (char *line = strtok(text.buf, "\n"); line && !found; line = strtok(NULL, "\n"))
			found = !strcmp(line, name);
	}
	sb_free(&text);
	return found;
}

static bool dovecot_enabled(void)
{
	return configured("dovecot");
}

/* ACME_FILE set and its directory there (a volume shared with Traefik). */
static bool acme_enabled(void)
{
	const char *file = getenv("ACME_FILE");
	if (!file)
		file = "/acme/acme.json";
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (!*file || n < 0 || (size_t)n >= sizeof dir || !slash || slash == dir)
		return false;
	*slash = '\0';
	return path_exists(dir) && path_exists("/usr/sbin/dovecot");
}

struct service_def {
	const char *name;
	const char *const *argv;
	bool (*enabled)(void);
	bool wants_devlog; /* gets the /dev/log socket as fd 3 */
};

static const struct service_def table[] = {
	{"syslog", syslog_argv, always, true},
	{"dovecot", dovecot_argv, dovecot_enabled, false},
	{"postfix", postfix_argv, always, false},
	{"acme", acme_argv, acme_enabled, false},
};

size_t services_enabled(struct service *out, size_t max, int devlog_fd)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(table) && n < max; i++) {
		if (!path_exists(table[i].argv[0]) || !table[i].enabled())
			continue;
		out[n] = (struct service){
			.name = table[i].name,
			.argv = table[i].argv,
			.pass_fd = table[i].wants_devlog ? devlog_fd : -1,
			.state = SVC_DOWN,
		};
		n++;
	}
	return n;
}

void services_write_status(const struct service *svc, size_t n)
{
	struct strbuf text;
	sb_init(&text);
	for (size_t i = 0; i < n; i++)
		sb_addf(&text, "%s %s %d\n", svc[i].name, svc_state_name(svc[i].state), (int)svc[i].pid);
	if (mkdir_p("/run/mtactl", 0755) < 0 ||
	    file_write_atomic(STATUS_FILE, text.buf, text.len, 0644) < 0)
		log_warn("writing %s", STATUS_FILE);
	sb_free(&text);
}
