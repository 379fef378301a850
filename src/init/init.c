/* PID 1: take the volume (init/volume_lock.h), configure, run entry hooks, start the services and keep them up;
 * on SIGTERM or SIGINT run exit hooks and stop everything within Docker's
 * 10 s stop timeout, exiting 0; on SIGHUP, or when a list file changes,
 * reload the lists (init/reload_watch.h). One loop (after tini): every
 * signal is blocked and read from a signalfd; timers are the poll timeout. */
#include "init/init.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "config/engine.h"
#include "config/vars.h"
#include "init/hooks.h"
#include "init/reload_watch.h"
#include "init/services.h"
#include "init/volume_lock.h"
#include "outbound/outbound.h"

#define DEVLOG_PATH "/dev/log"
#define ENTRY_HOOK_BUDGET_MS 300000
#define EXIT_HOOK_BUDGET_MS 2500
#define STOP_BUDGET_MS 9000

struct init {
	struct service svc[SERVICES_MAX];
	size_t nsvc;
	int sigfd;
	bool stopping;
	struct reload_watch reload; /* the list files (init/reload_watch.h) */
};

/* The socket is made here, not by the syslog service, so it exists before
 * any service logs and survives a restart of the receiver (datagrams wait
 * in the socket buffer meanwhile). */
static int devlog_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, DEVLOG_PATH, sizeof DEVLOG_PATH);
	if (unlink(DEVLOG_PATH) < 0 && errno != ENOENT)
		fatal(EXIT_SYSTEM, "unlink %s", DEVLOG_PATH);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fatal(EXIT_SYSTEM, "bind %s", DEVLOG_PATH);
	if (chmod(DEVLOG_PATH, 0666) < 0)
		fatal(EXIT_SYSTEM, "chmod %s", DEVLOG_PATH);
	int size = 1 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
		log_warn("SO_RCVBUF on %s", DEVLOG_PATH);
	return fd;
}

static struct service *service_by_pid(struct init *in, pid_t pid)
{
	for (size_t i = 0; i < in->nsvc; i++)
		if (in->svc[i].pid == pid)
			return &in->svc[i];
	return NULL;
}

/* Reaps every child that has exited: services and adopted orphans. */
static void reap(struct init *in)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		struct service *s = service_by_pid(in, pid);
		if (s)
			svc_event(s, EV_EXIT, status);
		else
			reload_watch_reaped(&in->reload, pid, status);
	}
}

static void fire_timers(struct init *in)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < in->nsvc; i++) {
		struct service *s = &in->svc[i];
		if ((s->state == SVC_BACKOFF || s->state == SVC_STOPPING) && s->deadline_ms <= now)
			svc_event(s, EV_TIMER, 0);
	}
}

static int next_timeout(const struct init *in)
{
	int64_t best = -1, now = now_ms();
	for (size_t i = 0; i < in->nsvc; i++) {
		const struct service *s = &in->svc[i];
		if (s->state != SVC_BACKOFF && s->state != SVC_STOPPING)
			continue;
		int64_t left = s->deadline_ms > now ? s->deadline_ms - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best < 0 ? -1 : (int)(best > 60000 ? 60000 : best);
}

/* Handles what the signalfd says; returns false when it is time to stop. */
static bool handle_signals(struct init *in)
{
	struct signalfd_siginfo si;
	bool keep_running = true;
	for (;;) {
		ssize_t n = read(in->sigfd, &si, sizeof si);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof si)
			break;
		if (si.ssi_signo == SIGCHLD)
			reap(in);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT) {
			log_info("received signal %u, stopping", si.ssi_signo);
			keep_running = false;
		} else if (si.ssi_signo == SIGHUP) {
			reload_watch_request(&in->reload);
		}
	}
	return keep_running;
}

static bool any_group_alive(const struct service *s)
{
	return s->state != SVC_DOWN || svc_group_alive(s);
}

/* Stops services last-started first, each until its group is gone, within
 * the overall budget; whatever is left at the end is killed. */
static void stop_all(struct init *in, int64_t deadline_ms)
{
	for (size_t i = in->nsvc; i-- > 0;) {
		struct service *s = &in->svc[i];
		svc_event(s, EV_STOP, 0);
		services_write_status(in->svc, in->nsvc);
		while (any_group_alive(s) && now_ms() < deadline_ms) {
			int timeout = next_timeout(in);
			int64_t left = deadline_ms - now_ms();
			if (timeout < 0 || timeout > 100)
				timeout = 100; /* orphans in the group are reaped, not signalled to us by pid */
			if (timeout > left)
				timeout = (int)left;
			struct pollfd p = {.fd = in->sigfd, .events = POLLIN};
			if (poll(&p, 1, timeout) > 0)
				handle_signals(in);
			reap(in);
			fire_timers(in);
			if (s->state == SVC_STOPPING && !s->pid && !svc_group_alive(s))
				s->state = SVC_DOWN;
		}
		if (any_group_alive(s)) {
			log_warnx("%s: did not stop in time, killing it", s->name);
			if (s->pgid > 0)
				kill(-s->pgid, SIGKILL);
		}
	}
	reap(in);
}

/* Every service inherits bounded resolver time-outs (glibc reads
 * RES_OPTIONS, Postfix imports it): glibc's default of 5 s times 2 tries
 * per name held the SMTP greeting 10 s (the client's PTR) and Razor 20 s
 * when the resolver dropped every query. trust-ad: glibc passes the AD bit
 * of an answer on only with it, and DANE needs it (RFC 7672 2.1.1). */
static void set_resolver_options(void)
{
	const char *options = var_env(V_RES_OPTIONS);
	char value[512];
	int n = snprintf(value, sizeof value, "%s%s", options, strstr(options, "trust-ad") ? "" : " trust-ad");
	if (n < 0 || (size_t)n >= sizeof value || setenv("RES_OPTIONS", value, 1) < 0)
		log_warn("setenv RES_OPTIONS");
}

static int run_command(char **argv)
{
	execvp(argv[0], argv);
	fatal(EXIT_SYSTEM, "exec %s", argv[0]);
}

int init_main(int argc, char **argv)
{
	/* `docker run IMAGE some command` runs that command instead. */
	if (argc > 1)
		return run_command(argv + 1);

	log_set_name("init");
	struct init in = {.sigfd = -1, .reload = {.fd = -1}};
	sigset_t all;
	sigemptyset(&all);
	sigaddset(&all, SIGCHLD);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGQUIT);
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &all, NULL) < 0)
		fatal(EXIT_SYSTEM, "sigprocmask");
	in.sigfd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	if (in.sigfd < 0)
		fatal(EXIT_SYSTEM, "signalfd");
	/* Outside a container (tests), adopt orphans as PID 1 would. */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");

	/* Asks the resolver whether it validates DNSSEC while the config step
	 * runs; the answer sets the outbound TLS level once the configuration
	 * is there, without holding up the services. */
	struct outbound_level level;
	outbound_level_start(&level);

	/* Before anything writes to /srv: a second container on this volume
	 * waits here until the first one has stopped. */
	if (!volume_lock_wait(in.sigfd, VOLUME_LOCK_FILE, STANDBY_FILE))
		return EXIT_OK;

	log_set_name("config");
	int rc = config_run();
	log_set_name("init");
	if (rc != EXIT_OK)
		return rc;
	rc = hooks_run(ENTRY_HOOK_DIR, now_ms() + ENTRY_HOOK_BUDGET_MS);
	if (rc != 0) {
		log_warnx("an entry hook failed; not starting services");
		return rc;
	}

	set_resolver_options();
	outbound_resolver_prepare();
	outbound_level_go(&level);

	int devlog = devlog_open();
	in.nsvc = services_enabled(in.svc, SERVICES_MAX, devlog);
	for (size_t i = 0; i < in.nsvc; i++)
		svc_event(&in.svc[i], EV_START, 0);
	services_write_status(in.svc, in.nsvc);
	reload_watch_start(&in.reload);

	bool running = true;
	while (running) {
		struct pollfd p[2] = {{.fd = in.sigfd, .events = POLLIN},
				      {.fd = reload_watch_fd(&in.reload), .events = POLLIN}};
		int n = poll(p, 2, reload_watch_timeout(&in.reload, next_timeout(&in)));
		if (n < 0 && errno != EINTR)
			fatal(EXIT_SYSTEM, "poll");
		if (n > 0 && p[0].revents)
			running = handle_signals(&in);
		if (n > 0 && p[1].revents)
			reload_watch_events(&in.reload);
		reload_watch_tick(&in.reload);
		fire_timers(&in);
		services_write_status(in.svc, in.nsvc);
	}

	int64_t stop_deadline = now_ms() + STOP_BUDGET_MS;
	if (hooks_run(EXIT_HOOK_DIR, now_ms() + EXIT_HOOK_BUDGET_MS) != 0)
		log_warnx("an exit hook failed; stopping anyway");
	stop_all(&in, stop_deadline);
	log_info("all services stopped");
	return EXIT_OK;
}
