/* `mtactl acme extract` installs this host's certificate from ACME_FILE
 * once; `mtactl acme watch` (a supervised service) does it again whenever
 * the file changes, then runs ACME_POSTHOOK and reloads Dovecot. The
 * directory is watched, not the file, so a file replaced by rename (as
 * Traefik writes it) is seen; a queue overflow means "look again". */
#include "acme/acme.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/inotify.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/vars.h"

/* Traefik may write several times in a row; act once things settle. */
#define SETTLE_MS 500

static const char *acme_file(void)
{
	return var_env(V_ACME_FILE);
}

static int update_for_this_host(void)
{
	char host[HOST_NAME_MAX + 1];
	if (gethostname(host, sizeof host) < 0)
		fatal(EXIT_SYSTEM, "gethostname");
	host[HOST_NAME_MAX] = '\0';
	const char *dot = strchr(host, '.');
	return acme_update(acme_file(), host, dot && dot[1] ? dot + 1 : NULL);
}

static void after_install(void)
{
	const char *hook = var_env(V_ACME_POSTHOOK);
	if (*hook) {
		char *argv[] = {"/bin/sh", "-c", (char *)hook, NULL};
		int rc = proc_run(argv, NULL);
		if (rc != 0)
			log_warnx("ACME_POSTHOOK \"%s\" failed (exit %d)", hook, rc);
	}
	if (path_exists("/run/dovecot/master.pid")) {
		char *argv[] = {"doveadm", "reload", NULL};
		int rc = proc_run(argv, NULL);
		if (rc != 0)
			log_warnx("doveadm reload failed (exit %d)", rc);
	}
}

struct acme_events {
	const char *dir, *base;
	bool *pending;
};

static void on_acme_event(const struct inotify_event *ev, void *ctx)
{
	struct acme_events *a = ctx;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		fatalx(EXIT_SYSTEM, "%s went away; restarting the watch", a->dir);
	if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && !strcmp(ev->name, a->base)))
		*a->pending = true;
}

static int watch(void)
{
	const char *file = acme_file();
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		fatalx(EXIT_USAGE, "ACME_FILE=\"%s\": expected an absolute path in a directory", file);
	*slash = '\0';
	const char *base = slash + 1;
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "inotify_init1");
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
		fatal(EXIT_SYSTEM, "watching %s", dir);
	log_info("watching %s", file);
	/* A change may have happened between the start-up extraction and now. */
	if (update_for_this_host() == 1)
		after_install();
	bool pending = false;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, pending ? SETTLE_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_SYSTEM, "poll");
		}
		if (n == 0) {
			pending = false;
			if (update_for_this_host() == 1)
				after_install();
			continue;
		}
		struct acme_events ev = {.dir = dir, .base = base, .pending = &pending};
		if (inotify_read_events(fd, on_acme_event, &ev) < 0)
			fatal(EXIT_SYSTEM, "reading inotify events");
	}
}

int acme_main(int argc, char **argv)
{
	log_set_name("acme");
	if (argc == 2 && !strcmp(argv[1], "extract"))
		return update_for_this_host() < 0 ? EXIT_FAIL : EXIT_OK;
	if (argc == 2 && !strcmp(argv[1], "watch"))
		return watch();
	log_warnx("usage: mtactl acme extract|watch");
	return EXIT_USAGE;
}
