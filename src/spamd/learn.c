/* inotify on both folders, no polling; a rescan at start and after a
 * queue overflow picks up whatever arrived unseen. */
#include "spamd/learn.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/vars.h"
#include "learn/learn.h"

static const char *const kinds[] = {"spam", "ham"};

static void learn_one(const char *dir, const char *kind, const char *name)
{
	size_t len = strlen(name);
	if (name[0] == '.' || (len > 7 && !strcmp(name + len - 7, ".failed")))
		return;
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s/%s", dir, kind, name) >= (int)sizeof path ||
	    stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	/* kopano's file may be readable by its own user only: learn_file opens
	 * it as root and the learner reads it on stdin. */
	struct strbuf why;
	sb_init(&why);
	enum learn_result r = learn_file(kind, path, &why);
	if (r != LEARN_FAILED) {
		if (r == LEARN_LEARNED)
			log_info("learned %s as %s", path, kind);
		else
			log_info("%s was already learned as %s", path, kind);
		if (unlink(path) < 0)
			log_warn("removing %s", path);
		sb_free(&why);
		return;
	}
	char failed[PATH_MAX + 8];
	snprintf(failed, sizeof failed, "%s.failed", path);
	log_warnx("learning %s as %s failed (%s); kept as %s", path, kind, why.buf, failed);
	sb_free(&why);
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
			learn_one(dir, kinds[k], names.buf + off);
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
						learn_one(dir, kinds[k], ev->name);
			}
			p += sizeof *ev + ev->len;
		}
	}
}
