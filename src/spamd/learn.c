/* inotify on both folders, no polling; a rescan at start and after a
 * queue overflow picks up whatever arrived unseen. */
#include "spamd/learn.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/vars.h"

static const char *const kinds[] = {"spam", "ham"};

/* sa-learn as the amavis user, with amavis's home (its Bayes database). */
static int sa_learn(const char *kind, const char *file)
{
	struct passwd *pw = getpwnam("amavis");
	if (!pw) {
		log_warnx("no amavis user");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char opt[16];
		snprintf(opt, sizeof opt, "--%s", kind);
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
		    setenv("HOME", pw->pw_dir, 1) < 0)
			_exit(126);
		execl("/usr/bin/sa-learn", "sa-learn", opt, file, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void learn_file(const char *dir, const char *kind, const char *name)
{
	size_t len = strlen(name);
	if (name[0] == '.' || (len > 7 && !strcmp(name + len - 7, ".failed")))
		return;
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s/%s", dir, kind, name) >= (int)sizeof path ||
	    stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	/* kopano's file is readable by its own user; amavis must read it too. */
	if (chmod(path, st.st_mode | 0444) < 0)
		log_warn("chmod %s", path);
	int rc = sa_learn(kind, path);
	if (rc == 0) {
		log_info("learned %s as %s", path, kind);
		if (unlink(path) < 0)
			log_warn("removing %s", path);
		return;
	}
	char failed[PATH_MAX + 8];
	snprintf(failed, sizeof failed, "%s.failed", path);
	log_warnx("sa-learn --%s %s failed (exit %d); kept as %s", kind, path, rc, failed);
	if (rename(path, failed) < 0)
		log_warn("renaming %s", path);
}

static void rescan(const char *dir)
{
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		char sub[PATH_MAX];
		snprintf(sub, sizeof sub, "%s/%s", dir, kinds[k]);
		DIR *d = opendir(sub);
		if (!d)
			continue;
		struct dirent *de;
		/* Names first, then learning: learn_file changes the directory. */
		struct strbuf names;
		sb_init(&names);
		while ((de = readdir(d)))
			sb_addf(&names, "%s%c", de->d_name, '\0');
		closedir(d);
		for (size_t off = 0; off < names.len; off += strlen(names.buf + off) + 1)
			learn_file(dir, kinds[k], names.buf + off);
		sb_free(&names);
	}
}

int spamd_learn_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("spamd-learn");
	if (argc != 1) {
		log_warnx("usage: mtactl spamd-learn");
		return EXIT_USAGE;
	}
	const char *dir = var_env(V_KOPANO_SPAMD_LIB);
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "inotify_init1");
	int wd[ARRAY_LEN(kinds)];
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		char sub[PATH_MAX];
		snprintf(sub, sizeof sub, "%s/%s", dir, kinds[k]);
		if (mkdir_p(sub, 0777) < 0)
			fatal(EXIT_SYSTEM, "creating %s", sub);
		wd[k] = inotify_add_watch(fd, sub, IN_CLOSE_WRITE | IN_MOVED_TO);
		if (wd[k] < 0)
			fatal(EXIT_SYSTEM, "watching %s", sub);
	}
	log_info("learning from %s/spam and %s/ham", dir, dir);
	rescan(dir);
	for (;;) {
		char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t len = read(fd, buf, sizeof buf);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_SYSTEM, "reading inotify events");
		}
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				rescan(dir);
			} else if (ev->len) {
				for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
					if (ev->wd == wd[k])
						learn_file(dir, kinds[k], ev->name);
			}
			p += sizeof *ev + ev->len;
		}
	}
}
