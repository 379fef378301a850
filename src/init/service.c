/* The transition table of a service and the actions behind it. Crashes
 * restart with exponential backoff (1 s doubling to 30 s), reset once a run
 * lasted long enough to count as healthy. */
#include "init/service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#include "common/common.h"
#include "common/log.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 30000u
#define HEALTHY_RUN_MS 10000
#define STOP_GRACE_MS 6000

const char *svc_state_name(enum svc_state st)
{
	static const char *const names[SVC_STATE_COUNT] = {
		[SVC_DOWN] = "down", [SVC_UP] = "up", [SVC_BACKOFF] = "backoff",
		[SVC_STOPPING] = "stopping", [SVC_DONE] = "done"};
	return names[st];
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "status %d", status);
}

static void child_exec(const struct service *s)
{
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || setsid() < 0)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (s->pass_fd >= 0 && dup2(s->pass_fd, 3) < 0)
		_exit(127);
	if (s->quiet) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
	}
	execvp(s->argv[0], (char *const *)s->argv);
	log_warn("%s: exec %s", s->name, s->argv[0]);
	_exit(127);
}

static enum svc_state spawn(struct service *s)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("%s: fork", s->name);
		s->deadline_ms = now_ms() + s->backoff_ms;
		return SVC_BACKOFF;
	}
	if (pid == 0)
		child_exec(s);
	s->pid = pid;
	s->pgid = pid;
	s->started_ms = now_ms();
	return SVC_UP;
}

static enum svc_state on_start(struct service *s, int status)
{
	(void)status;
	s->backoff_ms = BACKOFF_MIN_MS;
	return spawn(s);
}

static enum svc_state on_up_exit(struct service *s, int status)
{
	s->last_status = status;
	s->pid = 0;
	if (s->once)
		return SVC_DONE;
	/* Whatever the leader left behind goes too, so the restart is clean. */
	if (svc_group_alive(s))
		kill(-s->pgid, SIGTERM);
	if (now_ms() - s->started_ms >= HEALTHY_RUN_MS)
		s->backoff_ms = BACKOFF_MIN_MS;
	s->deadline_ms = now_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	return SVC_BACKOFF;
}

static enum svc_state on_backoff_timer(struct service *s, int status)
{
	(void)status;
	if (svc_group_alive(s)) {
		/* The old group still holds on (e.g. a listening socket): wait. */
		kill(-s->pgid, SIGKILL);
		s->deadline_ms = now_ms() + 200;
		return SVC_BACKOFF;
	}
	s->restarts++;
	return spawn(s);
}

static enum svc_state on_up_stop(struct service *s, int status)
{
	(void)status;
	if (kill(-s->pgid, SIGTERM) < 0 && errno != ESRCH)
		log_warn("%s: kill", s->name);
	s->deadline_ms = now_ms() + STOP_GRACE_MS;
	return SVC_STOPPING;
}

static enum svc_state on_stopping_exit(struct service *s, int status)
{
	s->last_status = status;
	s->pid = 0;
	return svc_group_alive(s) ? SVC_STOPPING : SVC_DOWN;
}

static enum svc_state on_stopping_timer(struct service *s, int status)
{
	(void)status;
	if (svc_group_alive(s)) {
		log_warnx("%s: still running after %d ms, sending SIGKILL", s->name, STOP_GRACE_MS);
		kill(-s->pgid, SIGKILL);
	}
	s->deadline_ms = now_ms() + 1000;
	return s->pid ? SVC_STOPPING : SVC_DOWN;
}

static enum svc_state on_backoff_stop(struct service *s, int status)
{
	(void)status;
	if (svc_group_alive(s))
		kill(-s->pgid, SIGKILL);
	return SVC_DOWN;
}

typedef enum svc_state transition_fn(struct service *s, int status);

static transition_fn *const transitions[SVC_STATE_COUNT][SVC_EVENT_COUNT] = {
	[SVC_DOWN][EV_START] = on_start,
	[SVC_UP][EV_EXIT] = on_up_exit,
	[SVC_UP][EV_STOP] = on_up_stop,
	[SVC_BACKOFF][EV_TIMER] = on_backoff_timer,
	[SVC_BACKOFF][EV_STOP] = on_backoff_stop,
	[SVC_STOPPING][EV_EXIT] = on_stopping_exit,
	[SVC_STOPPING][EV_TIMER] = on_stopping_timer,
};

void svc_event(struct service *s, enum svc_event ev, int status)
{
	transition_fn *fn = transitions[s->state][ev];
	if (!fn)
		return; /* e.g. a stray timer: nothing to do in this state */
	enum svc_state from = s->state;
	s->state = fn(s, status);
	if (s->state == from && ev != EV_EXIT)
		return;
	char why[48] = "";
	if (ev == EV_EXIT)
		describe_status(status, why, sizeof why);
	if (s->state == SVC_BACKOFF && from == SVC_UP)
		log_info("%s: %s -> %s (%s), restart in %u ms", s->name, svc_state_name(from),
			 svc_state_name(s->state), why, (unsigned)(s->deadline_ms - now_ms()));
	else if (s->state == SVC_UP)
		log_info("%s: %s -> up (pid %d)", s->name, svc_state_name(from), (int)s->pid);
	else
		log_info("%s: %s -> %s%s%s%s", s->name, svc_state_name(from), svc_state_name(s->state),
			 *why ? " (" : "", why, *why ? ")" : "");
}

bool svc_group_alive(const struct service *s)
{
	return s->pgid > 0 && (kill(-s->pgid, 0) == 0 || errno == EPERM);
}
