/* mtactl restore DIR: a backup written back into a fresh volume on /srv
 * before its first start (docker run --rm -v new:/srv -v bk:/backup IMAGE
 * mtactl restore /backup/NAME). The backup is verified first; the volume
 * must be fresh: the seeding unlock file still there (Docker copies the
 * image's /srv with it into a new named volume), no container on it, no
 * queue, mailbox, DKIM key or quarantine item. Either check failing exits
 * 100 with one line and nothing written. Entries are written in manifest
 * order (parents first), each file to a temporary name and renamed, with
 * the owner, mode and mtime of the original (Dovecot takes a maildir
 * message's received date from its mtime). The unlock file stays, so the
 * first start writes the configuration from that container's environment
 * and keeps the restored DKIM keys. A failure midway exits 111: the
 * volume is partly restored and must be made anew. */
#include "backup/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "backup/copy.h"
#include "backup/verify.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/vars.h"

#define SRV "/srv"
#define TMP_SUFFIX ".mtactl-restore"
#define POSTSUPER_TIMEOUT_MS 120000

/* Where a used volume shows it: these directories hold something. */
static const char *const used_when_not_empty[] = {
	"var/spool/postfix/maildrop", "var/spool/postfix/incoming", "var/spool/postfix/active",
	"var/spool/postfix/deferred", "var/spool/postfix/hold", "var/mail", "var/db/dkim",
	"var/amavis/quarantine",
};

/* The first regular file or non-directory below path, or any entry when
 * any is set; its path goes to found. False when there is none. */
static bool holds_something(const char *path, bool any, char *found, size_t size, int depth)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool hit = false;
	struct dirent *de;
	while (!hit && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[PATH_MAX];
		if (path_join(child, sizeof child, path, de->d_name) < 0)
			continue;
		struct stat st;
		if (lstat(child, &st) < 0)
			continue;
		if (any || !S_ISDIR(st.st_mode)) {
			hit = snprintf(found, size, "%s", child) >= 0;
		} else if (depth < 8) {
			hit = holds_something(child, any, found, size, depth + 1);
		}
	}
	closedir(d);
	return hit;
}

/* Why srv is not a fresh volume, or NULL. */
static const char *volume_used(const char *srv, const char *unlock, char *found, size_t size)
{
	if (!path_exists(unlock)) {
		snprintf(found, size, "%s", unlock);
		return "it has been started (the unlock file is gone)";
	}
	char lock[PATH_MAX];
	if (path_join(lock, sizeof lock, srv, "etc/mtactl/volume.lock") == 0) {
		int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
			close(fd);
			if (held) {
				snprintf(found, size, "%s", lock);
				return "a container is running on it";
			}
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(used_when_not_empty); i++) {
		char dir[PATH_MAX];
		bool any = !strcmp(used_when_not_empty[i], "var/mail");
		if (path_join(dir, sizeof dir, srv, used_when_not_empty[i]) == 0 &&
		    holds_something(dir, any, found, size, 0))
			return "it holds mail or keys";
	}
	return NULL;
}

static int restore_dir(const char *dst, const struct mf_entry *e)
{
	struct stat st;
	if (lstat(dst, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(dst) < 0)
		return -1;
	if (mkdir(dst, 0700) < 0 && errno != EEXIST)
		return -1;
	return lchown(dst, (uid_t)e->uid, (gid_t)e->gid) < 0 || chmod(dst, e->mode) < 0 ? -1 : 0;
}

static int restore_file(const char *src, const char *dst, const struct mf_entry *e)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, dst) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		int err = errno;
		close(in);
		errno = err;
		return -1;
	}
	struct copy_result r;
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)e->mtime}};
	int rc = copy_stream(in, out, false, &r);
	if (rc == 0 && (r.size != e->size || strcmp(r.sha256, e->sha256))) {
		errno = EIO; /* changed after the verification */
		rc = -1;
	}
	if (rc == 0 && (fchown(out, (uid_t)e->uid, (gid_t)e->gid) < 0 || fchmod(out, e->mode) < 0 ||
			futimens(out, times) < 0))
		rc = -1;
	int err = errno;
	close(in);
	if (close(out) < 0 && rc == 0) {
		err = errno;
		rc = -1;
	}
	if (rc == 0 && rename(tmp, dst) < 0) {
		err = errno;
		rc = -1;
	}
	if (rc < 0)
		unlink(tmp);
	errno = err;
	return rc;
}

static int restore_link(const char *dst, const struct mf_entry *e)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, dst) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((unlink(tmp) < 0 && errno != ENOENT) || symlink(e->target, tmp) < 0)
		return -1;
	if (lchown(tmp, (uid_t)e->uid, (gid_t)e->gid) < 0 || rename(tmp, dst) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

static int apply(const char *dir, const char *srv, const struct manifest *m)
{
	char data[PATH_MAX];
	if (path_join(data, sizeof data, dir, MANIFEST_DATA) < 0)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct mf_entry *e = &m->e[i];
		char src[PATH_MAX], dst[PATH_MAX];
		if (path_join(src, sizeof src, data, e->path) < 0 || path_join(dst, sizeof dst, srv, e->path) < 0) {
			log_warnx("%s: path too long", e->path);
			return -1;
		}
		int rc = e->kind == MF_DIR ? restore_dir(dst, e) : e->kind == MF_FILE ? restore_file(src, dst, e)
									      : restore_link(dst, e);
		if (rc < 0) {
			log_warn("restoring %s", dst);
			return -1;
		}
	}
	int fd = open(srv, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 || syncfs(fd) < 0 ? -1 : 0;
	if (rc < 0)
		log_warn("syncing %s", srv);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* With short queue ids (Postfix's default) a queue file's name is made
 * from its inode number; restored files have other inodes, and
 * postsuper(1) says to run -s after restoring a queue from backup. */
static int queue_rename(void)
{
	if (!path_exists("/usr/sbin/postsuper"))
		return 0;
	char *argv[] = {"/usr/sbin/postsuper", "-s", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, 4096, now_ms() + POSTSUPER_TIMEOUT_MS);
	if (rc != 0)
		log_warnx("postsuper -s failed (%d): %s", rc, out.buf);
	sb_free(&out);
	return rc == 0 ? 0 : -1;
}

int restore_run(const char *dir, const char *srv, const char *unlock)
{
	struct stat st;
	if (dir[0] != '/' || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warnx("DIR \"%s\" is not a directory given by its absolute path (expected a backup "
			  "made by `mtactl backup`, e.g. /backup/2026-12-03)", dir);
		return EXIT_USAGE;
	}
	struct manifest m;
	manifest_init(&m);
	int rc = backup_load(dir, &m);
	if (rc != EXIT_OK)
		goto out;
	unsigned long bad = backup_check(dir, &m);
	if (bad) {
		log_warnx("%s does not match its manifest (%lu problem%s above); nothing restored", dir, bad,
			  bad == 1 ? "" : "s");
		rc = EXIT_USAGE;
		goto out;
	}
	char found[PATH_MAX];
	const char *why = volume_used(srv, unlock, found, sizeof found);
	if (why) {
		log_warnx("%s is not a fresh volume: %s (%s); restore goes only into a new volume before "
			  "its first start; nothing changed", srv, why, found);
		rc = EXIT_USAGE;
		goto out;
	}
	if (apply(dir, srv, &m) < 0 || (!strcmp(srv, SRV) && queue_rename() < 0)) {
		log_warnx("restore stopped: %s is partly restored; restore into a new volume", srv);
		rc = EXIT_SYSTEM;
		goto out;
	}
	if (printf("restore: %zu entries from %s into %s: queue %llu, mailbox %llu, quarantine %llu, "
		   "dkim %llu; start the server on this volume\n", m.n, dir, srv, m.count[MF_QUEUE],
		   m.count[MF_MAILBOX], m.count[MF_QUARANTINE], m.count[MF_DKIM]) < 0 ||
	    fflush(stdout) == EOF)
		rc = EXIT_SYSTEM;
out:
	manifest_free(&m);
	return rc;
}

int restore_main(int argc, char **argv)
{
	log_set_name("restore");
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mtactl restore DIR\n");
		return EXIT_USAGE;
	}
	return restore_run(argv[1], SRV, var_env(V_DOCKER_UNLOCK_FILE));
}
