/* `mtactl razor-register`: registers the Razor identity RAZOR_REGISTRATION
 * ("user:password", either part may be empty for the server to assign) in
 * amavis's Razor home, once: with an identity there already it does
 * nothing (the old image re-registered at every configuration run).
 * Offline it gives up after a bounded time; mail never waits for it. */
#include "spamd/learn.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"

#define RAZOR_TIMEOUT_MS 60000

/* Runs razor-admin as the amavis user, within the time limit. */
static int razor_admin(const struct passwd *pw, char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
		    setenv("HOME", pw->pw_dir, 1) < 0)
			_exit(126);
		execv("/usr/bin/razor-admin", argv);
		_exit(127);
	}
	return proc_wait_until(pid, now_ms() + RAZOR_TIMEOUT_MS);
}

int razor_register_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("razor");
	const char *reg = getenv("RAZOR_REGISTRATION");
	struct passwd *pw = getpwnam("amavis");
	if (argc != 1 || !reg || !strchr(reg, ':') || !pw) {
		log_warnx("usage: RAZOR_REGISTRATION=user:password mtactl razor-register (full image)");
		return EXIT_USAGE;
	}
	char home[512], identity[600], home_opt[600], user_opt[300], pass_opt[300];
	snprintf(home, sizeof home, "%s/.razor", pw->pw_dir);
	snprintf(identity, sizeof identity, "%s/identity", home);
	if (path_exists(identity)) {
		log_info("a Razor identity exists in %s; not registering again", home);
		return EXIT_OK;
	}
	const char *colon = strchr(reg, ':');
	snprintf(home_opt, sizeof home_opt, "-home=%s", home);
	snprintf(user_opt, sizeof user_opt, "-user=%.*s", (int)(colon - reg), reg);
	snprintf(pass_opt, sizeof pass_opt, "-pass=%s", colon + 1);
	char *create[] = {"razor-admin", home_opt, "-create", NULL};
	/* razor-admin takes a password only with a user; with neither the
	 * server assigns both. */
	char *reg_argv[6] = {"razor-admin", home_opt, "-register"};
	size_t n = 3;
	if (colon > reg) {
		reg_argv[n++] = user_opt;
		if (colon[1])
			reg_argv[n++] = pass_opt;
	}
	reg_argv[n] = NULL;
	int rc = razor_admin(pw, create);
	if (rc == 0)
		rc = razor_admin(pw, reg_argv);
	if (rc != 0)
		log_warnx("Razor registration failed (exit %d); Razor checks still run anonymously", rc);
	else
		log_info("registered the Razor identity in %s", home);
	return EXIT_OK;
}
