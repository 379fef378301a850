/* A supervised service: a small state machine (after s6) driven by the
 * init loop. Each service runs in its own process group so that stopping
 * it reaches every process it started (postfix start-fg runs master as a
 * child of a shell), and it is down only when that group is empty. */
#ifndef MTACTL_INIT_SERVICE_H
#define MTACTL_INIT_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/proc.h"

enum svc_state { SVC_DOWN, SVC_UP, SVC_BACKOFF, SVC_STOPPING, SVC_DONE, SVC_STATE_COUNT };
enum svc_event { EV_START, EV_EXIT, EV_TIMER, EV_STOP, SVC_EVENT_COUNT };

struct service {
	const char *name;
	const char *const *argv;
	int pass_fd;           /* dup2'ed to fd 3 in the child when >= 0 */
	bool quiet;            /* stdout to /dev/null: it logs through syslog too */
	bool once;             /* a task, not a daemon: done when it exits */
	enum svc_state state;
	pid_t pid;             /* the process we started, 0 when none */
	pid_t pgid;            /* its process group, kept until the group is gone */
	int64_t started_ms;
	int64_t deadline_ms;   /* BACKOFF: restart time; STOPPING: SIGKILL time */
	unsigned backoff_ms;
	int last_status;       /* as from waitpid */
	unsigned restarts;     /* starts after the first, for the metrics */
};

const char *svc_state_name(enum svc_state st);
/* Feeds one event; logs the transition ("postfix: up -> backoff (exit 1)"). */
void svc_event(struct service *s, enum svc_event ev, int status);
/* True while any process of the service's group is alive. */
bool svc_group_alive(const struct service *s);

#endif
