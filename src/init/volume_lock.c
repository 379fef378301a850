/* flock, not fcntl locks: they belong to the open file, so they are
 * released when PID 1 dies however it dies, and they work across
 * containers because both mounts of a volume are one inode on one kernel.
 * A volume on a network file system between hosts is not covered (flock
 * there is per host on most of them); the docs say so. */
#include "init/volume_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"

#define RETRY_MS 250
#define REMIND_MS (5 * 60 * 1000)

static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, 0755);
}

static int open_lock(const char *path)
{
	if (make_parent(path) < 0)
		fatal(EXIT_SYSTEM, "creating the directory of %s", path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "opening %s", path);
	return fd;
}

/* True when a stop signal is waiting; other signals are dropped (nothing
 * runs yet: no child to reap, nothing to reload). */
static bool stop_requested(int sigfd)
{
	struct signalfd_siginfo si;
	bool stop = false;
	for (;;) {
		ssize_t n = read(sigfd, &si, sizeof si);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof si)
			return stop;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT)
			stop = true;
	}
}

static void standby_mark(const char *path, bool on)
{
	if (on) {
		static const char text[] = "waiting for the volume on /srv: another container uses it\n";
		if (make_parent(path) < 0 || file_write_atomic(path, text, sizeof text - 1, 0644) < 0)
			log_warn("writing %s", path);
	} else if (unlink(path) < 0 && errno != ENOENT) {
		log_warn("removing %s", path);
	}
}

bool volume_lock_wait(int sigfd, const char *lock_path, const char *standby_path)
{
	int fd = open_lock(lock_path);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return true; /* fd stays open: the lock lasts as long as this process */
	if (errno != EWOULDBLOCK)
		fatal(EXIT_SYSTEM, "locking %s", lock_path);
	log_info("another container is running on this volume (/srv), as in a start-first rolling "
		 "update; waiting for it to stop before starting (healthy as a standby meanwhile)");
	standby_mark(standby_path, true);
	int64_t started = now_ms(), remind = started + REMIND_MS;
	for (;;) {
		struct pollfd p = {.fd = sigfd, .events = POLLIN};
		int n = poll(&p, 1, RETRY_MS);
		if (n < 0 && errno != EINTR)
			fatal(EXIT_SYSTEM, "poll");
		if (n > 0 && stop_requested(sigfd)) {
			log_info("stopped while waiting for the volume; nothing was started");
			standby_mark(standby_path, false);
			close(fd);
			return false;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK)
			fatal(EXIT_SYSTEM, "locking %s", lock_path);
		if (now_ms() >= remind) {
			log_warnx("still waiting for the other container on this volume (%lld s): two "
				  "containers must not share /srv",
				  (long long)((now_ms() - started) / 1000));
			remind = now_ms() + REMIND_MS;
		}
	}
	standby_mark(standby_path, false);
	log_info("the volume is free after %lld s; starting", (long long)((now_ms() - started) / 1000));
	return true;
}
