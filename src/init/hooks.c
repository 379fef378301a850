#include "init/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "init/service.h"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int hooks_run(const char *dir, int64_t deadline_ms)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		return errno == ENOENT ? 0 : (log_warn("reading %s", dir), EXIT_SYSTEM);
	int result = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		bool runnable = len > 0 && (size_t)len < sizeof path && names[i]->d_name[0] != '.' &&
				stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
		free(names[i]);
		if (!runnable || result != 0)
			continue;
		log_info("running hook %s", path);
		pid_t pid = fork();
		if (pid < 0) {
			log_warn("fork for %s", path);
			result = EXIT_SYSTEM;
			continue;
		}
		if (pid == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execl(path, path, (char *)NULL);
			log_warn("exec %s", path);
			_exit(127);
		}
		int rc = proc_wait_until(pid, deadline_ms);
		if (rc != 0) {
			log_warnx("hook %s failed (%s %d)", path, rc < 0 ? "timed out," : "exit", rc);
			result = rc < 0 ? EXIT_SYSTEM : rc;
		}
	}
	free(names);
	return result;
}
