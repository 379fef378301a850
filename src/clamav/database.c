/* The signature database check and `mtactl clamav-wait`.
 *
 * clamd refuses to start without a database ("No supported database files
 * found") and exits; restarted by init with backoff, that was four log
 * lines every 30 s for as long as the database was missing. So clamd's
 * service is this waiter, chain-loading clamd (as s6's tools chain-load the
 * next program): it watches the directory and execs clamd, which keeps the
 * pid init knows, once a database is there. Meanwhile `mtactl health` says
 * unhealthy (it looks at the directory) and amavis answers 4xx for want of
 * a scanner, so mail waits in the queue. The directory going away is fatal
 * (init restarts the waiter). */
#include "clamav/clamav.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/inotify.h"
#include "common/log.h"

/* A database arrives as several files (freshclam renames them in one by
 * one, an operator copies them): look once things have been quiet. */
#define SETTLE_MS 2000

bool clamav_database_present(const char *dir)
{
	static const char *const kinds[] = {".cvd", ".cld", ".hdb", ".hsb", ".ndb", ".ldb", ".cdb",
					    ".mdb", ".msb", ".hdu", ".ndu", ".ldu", ".yar", ".yara"};
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');
		for (size_t i = 0; dot && i < ARRAY_LEN(kinds) && !found; i++)
			found = !strcmp(dot, kinds[i]);
	}
	closedir(d);
	return found;
}

static void on_database_event(const struct inotify_event *ev, void *dir)
{
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		fatalx(EXIT_SYSTEM, "%s went away", (const char *)dir);
}

static void wait_for_database(const char *dir)
{
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "inotify_init1");
	if (inotify_add_watch(fd, dir, IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF |
					       IN_MOVE_SELF) < 0)
		fatal(EXIT_SYSTEM, "watching %s", dir);
	/* A file may have come between the caller's look and the watch. */
	bool pending = clamav_database_present(dir);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, pending ? SETTLE_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_SYSTEM, "poll");
		}
		if (n == 0) {
			if (clamav_database_present(dir))
				break;
			pending = false;
			continue;
		}
		if (inotify_read_events(fd, on_database_event, (void *)dir) < 0)
			fatal(EXIT_SYSTEM, "reading inotify events");
		pending = true; /* any event, a queue overflow too, means "look again" */
	}
	if (close(fd) < 0)
		log_warn("closing the inotify descriptor");
}

int clamav_wait_main(int argc, char **argv)
{
	log_set_name("clamav-wait");
	if (argc < 3 || argv[2][0] != '/') {
		log_warnx("usage: mtactl clamav-wait DIR /PATH/TO/PROGRAM [ARGS...]");
		return EXIT_USAGE;
	}
	const char *dir = argv[1];
	if (!clamav_database_present(dir)) {
		/* config said so at start ("clamd starts once there is one"). */
		wait_for_database(dir);
		log_info("signature database found in %s; starting %s", dir, argv[2]);
	}
	execv(argv[2], argv + 2);
	fatal(EXIT_SYSTEM, "exec %s", argv[2]);
}
