/* The service table. A service is enabled when its program is installed,
 * so one binary serves all three images. */
#include "init/services.h"

#include <stdio.h>

#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"

static const char *const syslog_argv[] = {"/usr/local/bin/mtactl", "syslog", NULL};
/* start-fg keeps master in the foreground and runs Postfix's own checks
 * (create-missing queue directories) first. */
static const char *const postfix_argv[] = {"/usr/sbin/postfix", "start-fg", NULL};

struct service_def {
	const char *name;
	const char *const *argv;
	bool wants_devlog; /* gets the /dev/log socket as fd 3 */
};

static const struct service_def table[] = {
	{"syslog", syslog_argv, true},
	{"postfix", postfix_argv, false},
};

size_t services_enabled(struct service *out, size_t max, int devlog_fd)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(table) && n < max; i++) {
		if (!path_exists(table[i].argv[0]))
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
