/* inotify on the socket's directory, no polling: each creation or move in
 * it is a reason to try connecting again; the time-out bounds the wait. */
#include "init/socket_wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/proc.h"

static bool accepts(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path) >= (int)sizeof sa.sun_path)
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* Waits until path accepts or the deadline passes; true when it accepts. */
static bool wait_accepting(const char *path, int64_t deadline)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir || !strrchr(dir, '/'))
		return accepts(path);
	*strrchr(dir, '/') = '\0';
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		log_warn("inotify_init1");
		return accepts(path);
	}
	/* The directory may not exist yet (made by the other service): then
	 * only the time-out and the final attempt remain. */
	if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0 && errno != ENOENT)
		log_warn("watching %s", dir);
	bool ok;
	while (!(ok = accepts(path))) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		/* A socket file appears at bind(), before listen(): a connection
		 * refused then gets another try a little later. */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)(left < 200 ? left : 200));
		if (n < 0 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (n > 0 && read(fd, buf, sizeof buf) > 0)
			; /* the events only say: look again */
	}
	close(fd);
	return ok;
}

int socket_wait_main(int argc, char **argv)
{
	log_set_name("socket-wait");
	char *end = NULL;
	long seconds = argc >= 4 ? strtol(argv[2], &end, 10) : 0;
	if (argc < 4 || argv[1][0] != '/' || !end || *end || seconds < 1 || seconds > 600 ||
	    argv[3][0] != '/') {
		log_warnx("usage: mtactl socket-wait /PATH/OF/SOCKET SECONDS /PATH/TO/PROGRAM [ARGS...]");
		return EXIT_USAGE;
	}
	if (!wait_accepting(argv[1], now_ms() + seconds * 1000))
		log_warnx("%s does not accept connections after %ld s; starting %s anyway", argv[1], seconds,
			  argv[3]);
	execv(argv[3], argv + 3);
	fatal(EXIT_SYSTEM, "exec %s", argv[3]);
}
