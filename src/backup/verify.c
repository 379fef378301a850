/* `mtactl backup --verify DIR`, and the checks restore runs first: the
 * manifest must parse, every file it lists must be in DIR/data with its
 * size and SHA-256, and DIR/data must hold nothing it does not list. Each
 * problem is one line naming the file. */
#include "backup/verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/copy.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"

/* A manifest of 256 MB lists some two million files. */
#define MANIFEST_MAX (256u << 20)
#define DEPTH_MAX 64

int backup_load(const char *dir, struct manifest *m)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof path, dir, MANIFEST_NAME) < 0) {
		log_warnx("DIR \"%s\" is too long", dir);
		return EXIT_USAGE;
	}
	struct strbuf text, why;
	sb_init(&text);
	if (file_read(path, &text, MANIFEST_MAX) < 0) {
		log_warn("%s: no readable manifest (expected a directory that `mtactl backup` completed)", path);
		sb_free(&text);
		return EXIT_USAGE;
	}
	sb_init(&why);
	int rc = manifest_parse(text.buf, text.len, m, &why) < 0 ? EXIT_USAGE : EXIT_OK;
	if (rc != EXIT_OK)
		log_warnx("%s: %s", path, why.buf);
	sb_free(&why);
	sb_free(&text);
	return rc;
}

static unsigned long check_file(const char *data, const struct mf_entry *e)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof path, data, e->path) < 0) {
		log_warnx("%s/%s: path too long", data, e->path);
		return 1;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		log_warnx("%s: missing from the backup (the manifest lists it)", path);
		return 1;
	}
	struct copy_result r;
	int rc = copy_stream(fd, -1, false, &r);
	int err = errno;
	close(fd);
	if (rc < 0) {
		errno = err;
		log_warn("%s: reading", path);
		return 1;
	}
	if (r.size != e->size) {
		log_warnx("%s: changed since the backup (%llu bytes, the manifest says %llu)", path, r.size,
			  e->size);
		return 1;
	}
	if (strcmp(r.sha256, e->sha256)) {
		log_warnx("%s: changed since the backup (sha256 %s, the manifest says %s)", path, r.sha256,
			  e->sha256);
		return 1;
	}
	return 0;
}

/* What DIR/data holds that the manifest does not list (rel: below data). */
static unsigned long check_extra(const char *data, const char *rel, const struct manifest *m, int depth)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof path, data, rel) < 0)
		return 1;
	DIR *d = opendir(path);
	if (!d) {
		log_warn("%s: reading", path);
		return 1;
	}
	unsigned long bad = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[PATH_MAX];
		if (path_join(child, sizeof child, rel, de->d_name) < 0) {
			bad++;
			continue;
		}
		const struct mf_entry *e = manifest_find(m, child);
		struct stat st;
		bool is_dir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		if (!e || (e->kind == MF_DIR) != is_dir || e->kind == MF_LINK) {
			log_warnx("%s/%s: not in the manifest (added to the backup afterwards?)", data, child);
			bad++;
		} else if (is_dir && depth < DEPTH_MAX) {
			bad += check_extra(data, child, m, depth + 1);
		}
	}
	closedir(d);
	return bad;
}

unsigned long backup_check(const char *dir, const struct manifest *m)
{
	char data[PATH_MAX];
	if (path_join(data, sizeof data, dir, MANIFEST_DATA) < 0)
		return 1;
	unsigned long bad = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].kind == MF_FILE)
			bad += check_file(data, &m->e[i]);
	return bad + check_extra(data, "", m, 0);
}

int backup_verify(const char *dir)
{
	struct manifest m;
	manifest_init(&m);
	int rc = backup_load(dir, &m);
	if (rc == EXIT_OK) {
		unsigned long bad = backup_check(dir, &m);
		if (bad) {
			log_warnx("%s: %lu problem%s: this backup does not match its manifest", dir, bad,
				  bad == 1 ? "" : "s");
			rc = EXIT_FAIL;
		} else if (printf("backup: %s verified: %zu entries; queue %llu, mailbox %llu, quarantine %llu, "
				  "dkim %llu\n", dir, m.n, m.count[MF_QUEUE], m.count[MF_MAILBOX],
				  m.count[MF_QUARANTINE], m.count[MF_DKIM]) < 0 || fflush(stdout) == EOF) {
			rc = EXIT_SYSTEM;
		}
	}
	manifest_free(&m);
	return rc;
}
