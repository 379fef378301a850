/* The list files' watch in PID 1. Directories are watched, not only the
 * files: Docker and Kubernetes replace a secret by renaming into place
 * (Kubernetes swaps a `..data` symlink to a new timestamped directory, so
 * the file's own name gets no event at all), and an editor writes a new
 * file and renames it. The file itself is watched as well, because a file
 * bind-mounted alone (docker run -v /host/boxes:/lists/boxes) changes on
 * the host under its host directory, which the container cannot watch.
 * inotify is not trusted as complete: a queue overflow means "reload".
 *
 * Nothing here is fatal: without inotify the lists still reload on SIGHUP. */
#include "init/reload_watch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/inotify.h"
#include "common/log.h"
#include "common/proc.h"

/* Writers often replace a file in several steps (write, rename, remove the
 * old directory): act once they are done, but never wait longer than
 * SETTLE_MAX_MS after the first event while changes keep coming. */
#define SETTLE_MS 300
#define SETTLE_MAX_MS 2000
/* A reload that takes longer is stuck (10,000 mailboxes take well under 1 s). */
#define CHILD_BUDGET_MS 60000
#define RETRY_MS 1000

#define DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
#define FILE_EVENTS (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

/* (Re)watches the file itself; after a rename the path is another inode. */
static void watch_file(struct reload_watch *w, size_t i)
{
	int wd = inotify_add_watch(w->fd, w->files[i].path, FILE_EVENTS);
	int old = w->files[i].file_wd;
	if (old >= 0 && old != wd && inotify_rm_watch(w->fd, old) < 0 && errno != EINVAL)
		log_warn("inotify_rm_watch %s", w->files[i].path);
	w->files[i].file_wd = wd; /* -1 while the file is missing: the reload says so */
}

static void add_file(struct reload_watch *w, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash || !slash[1])
		return; /* the config step has refused it already */
	size_t i = w->nfiles;
	int n = snprintf(w->files[i].path, sizeof w->files[i].path, "%s", path);
	int b = snprintf(w->files[i].base, sizeof w->files[i].base, "%s", slash + 1);
	if (n < 0 || (size_t)n >= sizeof w->files[i].path || b < 0 || (size_t)b >= sizeof w->files[i].base)
		return;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (inotify_add_watch(w->fd, dir, DIR_EVENTS | IN_ONLYDIR) < 0) {
		log_warn("watching %s for changes of %s (SIGHUP still reloads it)", dir, path);
		return;
	}
	w->files[i].file_wd = -1;
	watch_file(w, i);
	w->nfiles++;
}

void reload_watch_start(struct reload_watch *w)
{
	*w = (struct reload_watch){.fd = -1};
	const char *paths[RELOAD_LISTS];
	size_t n = 0;
	for (size_t i = 0; i < RELOAD_LISTS; i++)
		if ((paths[n] = reload_list_file(reload_list_vars[i])) != NULL)
			n++;
	if (!n)
		return;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_warn("inotify_init1: list files reload on SIGHUP only");
		return;
	}
	for (size_t i = 0; i < n; i++)
		add_file(w, paths[i]);
}

int reload_watch_fd(const struct reload_watch *w)
{
	return w->fd;
}

static void mark_pending(struct reload_watch *w, int64_t settle_ms)
{
	int64_t now = now_ms();
	if (!w->pending) {
		w->pending = true;
		w->first_ms = now;
	}
	w->due_ms = now + settle_ms;
	if (w->due_ms > w->first_ms + SETTLE_MAX_MS)
		w->due_ms = w->first_ms + SETTLE_MAX_MS;
}

static void on_event(const struct inotify_event *ev, void *ctx)
{
	struct reload_watch *w = ctx;
	bool hit = (ev->mask & IN_Q_OVERFLOW) != 0;
	for (size_t i = 0; i < w->nfiles && !hit; i++) {
		if (ev->wd == w->files[i].file_wd)
			hit = true;
		/* `..data` and its timestamped directories: a Kubernetes swap */
		else if (ev->len && (!strcmp(ev->name, w->files[i].base) || !strncmp(ev->name, "..", 2)))
			hit = true;
	}
	if (hit)
		mark_pending(w, SETTLE_MS);
}

void reload_watch_events(struct reload_watch *w)
{
	if (w->fd < 0)
		return;
	if (inotify_read_events(w->fd, on_event, w) < 0)
		log_warn("reading inotify events of the list files");
	for (size_t i = 0; i < w->nfiles; i++)
		watch_file(w, i);
}

void reload_watch_request(struct reload_watch *w)
{
	log_info("SIGHUP: reloading the list files");
	mark_pending(w, 0);
}

int reload_watch_timeout(const struct reload_watch *w, int timeout)
{
	int64_t deadline;
	if (w->child)
		deadline = w->child_deadline_ms;
	else if (w->pending)
		deadline = w->due_ms;
	else
		return timeout;
	int64_t left = deadline - now_ms();
	int mine = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
	return timeout < 0 || mine < timeout ? mine : timeout;
}

static void spawn(struct reload_watch *w)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("fork for the reload; trying again");
		w->pending = true;
		w->first_ms = w->due_ms = now_ms() + RETRY_MS;
		return;
	}
	if (pid == 0) {
		/* init blocks every signal it reads from its signalfd */
		sigset_t none;
		sigemptyset(&none);
		if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			_exit(EXIT_SYSTEM);
		char *argv[] = {"mtactl", "config", "--reload", NULL};
		execv("/proc/self/exe", argv);
		_exit(EXIT_SYSTEM);
	}
	w->child = pid;
	w->child_deadline_ms = now_ms() + CHILD_BUDGET_MS;
}

void reload_watch_tick(struct reload_watch *w)
{
	int64_t now = now_ms();
	if (w->child) {
		if (now >= w->child_deadline_ms && kill(w->child, SIGKILL) == 0) {
			log_warnx("reload: still running after %d s, killed", CHILD_BUDGET_MS / 1000);
			w->child_deadline_ms = now + CHILD_BUDGET_MS;
		}
		return;
	}
	if (w->pending && now >= w->due_ms) {
		w->pending = false;
		spawn(w);
	}
}

bool reload_watch_reaped(struct reload_watch *w, pid_t pid, int status)
{
	if (!w->child || pid != w->child)
		return false;
	w->child = 0;
	/* EXIT_USAGE: the reload logged the refused value itself. */
	if (WIFEXITED(status) && (WEXITSTATUS(status) == EXIT_OK || WEXITSTATUS(status) == EXIT_USAGE))
		return true;
	if (WIFSIGNALED(status))
		log_warnx("reload: killed by signal %d; the next change or SIGHUP tries again", WTERMSIG(status));
	else
		log_warnx("reload: failed (exit %d); the next change or SIGHUP tries again", WEXITSTATUS(status));
	return true;
}
