#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"

/* A child of PID 1 inherits a blocked signal mask; give it a clean one. */
static void child_reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL); /* fails for KILL/STOP and invalid numbers: fine */
}

/* Forks and execs argv[0] with stdin in_fd (-1: /dev/null); with a pipe,
 * stdout (and with both, stderr too) goes into it, whose write end the
 * parent closes. Returns the pid, or -1 with errno (the pipe closed). */
static pid_t spawn(char *const argv[], int in_fd, int pipefd[2], bool both)
{
	if (pipefd && pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		if (pipefd) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		errno = err;
		return -1;
	}
	if (pid == 0) {
		child_reset_signals();
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		if (in >= 0 && dup2(in, STDIN_FILENO) < 0)
			_exit(127);
		if (pipefd && (dup2(pipefd[1], STDOUT_FILENO) < 0 ||
			       (both && dup2(pipefd[1], STDERR_FILENO) < 0)))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pipefd)
		close(pipefd[1]);
	return pid;
}

int proc_run(char *const argv[], struct strbuf *out)
{
	int pipefd[2] = {-1, -1};
	pid_t pid = spawn(argv, -1, out ? pipefd : NULL, false);
	if (pid < 0)
		return -1;
	if (out) {
		char buf[8192];
		for (;;) {
			ssize_t n = read(pipefd[0], buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			sb_add(out, buf, (size_t)n);
		}
		close(pipefd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return EXIT_SIGNAL + WTERMSIG(status);
}

/* How long a child stopped at its deadline gets between SIGTERM and SIGKILL. */
#define CAPTURE_TERM_GRACE_MS 5000

int proc_run_capture(char *const argv[], struct strbuf *out, size_t max, int64_t deadline_ms)
{
	return proc_run_capture_in(argv, -1, out, max, deadline_ms);
}

int proc_run_capture_in(char *const argv[], int in_fd, struct strbuf *out, size_t max,
			int64_t deadline_ms)
{
	int pipefd[2];
	pid_t pid = spawn(argv, in_fd, pipefd, true);
	if (pid < 0)
		return -1;
	bool timed_out = false;
	for (;;) {
		int64_t left = deadline_ms - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break; /* cannot read on; the wait below still bounds the child */
		if (n == 0)
			continue;
		char buf[8192];
		ssize_t r = read(pipefd[0], buf, sizeof buf);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break; /* end of output: every writer is gone */
		if (out->len < max)
			sb_add(out, buf, (size_t)r < max - out->len ? (size_t)r : max - out->len);
	}
	close(pipefd[0]);
	if (timed_out) {
		if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
			log_warn("stopping %s", argv[0]);
		/* Killed at the end of the grace if need be; reaped either way. */
		(void)proc_wait_until(pid, now_ms() + CAPTURE_TERM_GRACE_MS);
		return PROC_TIMED_OUT;
	}
	int rc = proc_wait_until(pid, deadline_ms);
	return rc < 0 && now_ms() >= deadline_ms ? PROC_TIMED_OUT : rc;
}

int64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal(EXIT_SYSTEM, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int proc_wait_until(pid_t pid, int64_t deadline_ms)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* Blocked, SIGCHLD stays pending for sigtimedwait to wake on. */
	sigprocmask(SIG_BLOCK, &chld, &old);
	int rc = -1;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SIGNAL + WTERMSIG(status);
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		int64_t left = deadline_ms - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		sigtimedwait(&chld, NULL, &ts);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void proc_drop_to_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");
	if (getuid() != 0 || !pw)
		return;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		fatal(EXIT_SYSTEM, "dropping privileges to nobody");
}
