/* mtactl backup DIR: an online, consistent copy of /srv (see backup.h).
 *
 * Order and why: the Postfix queue first, then the mailboxes, then the
 * rest. A message that leaves the queue while the queue is copied was
 * delivered, so the mailbox copy that follows has it. Queue files move
 * between incoming/active/deferred/hold by rename(2) and are complete only
 * with their owner-execute bit set (Postfix's mail_stream_finish), so the
 * queue is walked until a whole pass finds nothing new (at least twice, at
 * most QUEUE_PASSES_MAX), the union taken by queue id, and every file read
 * from an open descriptor: a rename mid-copy changes nothing. Maildir
 * files are immutable and only renamed (new/ -> cur/, flags after ':'),
 * so a maildir is walked the same way keyed by the name before ':'. mbox
 * files are appended in place: copied under a shared fcntl lock, the lock
 * Postfix's virtual(8) and Dovecot take to write. Dovecot's index files
 * are left out: Dovecot rebuilds them from the mail.
 *
 * Failures: bad arguments exit 100 before anything is written; a file
 * that cannot be copied fails the backup (111) without a manifest, so an
 * incomplete backup can never be restored or pass --verify. */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/copy.h"
#include "backup/manifest.h"
#include "backup/snapshot.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"

#define SRV "/srv"
#define QUEUE_ROOT "var/spool/postfix"
#define MAIL_ROOT "var/mail"
#define QUEUE_PASSES_MAX 5
#define MAILDIR_PASSES_MAX 5
#define MBOX_LOCK_WAIT_MS 30000
#define DEPTH_MAX 48

struct job {
	const char *srv;
	char data[PATH_MAX];   /* DIR/data */
	struct manifest m;
	void *recorded;        /* tsearch set of the paths in m */
	unsigned long long bytes;
	unsigned files;
	bool failed;
};

/* The queues a message lives in, in the order mail moves through them. */
static const char *const queue_dirs[] = {"maildrop", "incoming", "active", "deferred", "hold"};

/* Directories whose content is left out: run-time state (sockets, pid
 * files, amavis's scratch space) and what is fetched again (ClamAV). */
static const char *const skip_contents[] = {
	QUEUE_ROOT "/pid", QUEUE_ROOT "/private", QUEUE_ROOT "/public",
	"var/lib/amavis/tmp", "var/lib/clamav", "var/lib/rspamd/tmp",
};

/* PID 1's lock of the volume (init/volume_lock.h): restore makes it anew. */
static const char *const skip_files[] = {"etc/mtactl/volume.lock"};

static int by_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* True if key was in the set already; else adds a copy. */
static bool set_seen(void **set, const char *key)
{
	if (tfind(key, set, by_str))
		return true;
	char *copy = strdup(key);
	if (!copy || !tsearch(copy, set, by_str))
		fatal(EXIT_SYSTEM, "out of memory");
	return false;
}

static bool in_list(const char *rel, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rel, list[i]))
			return true;
	return false;
}

static bool under(const char *rel, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(rel, dir, n) && rel[n] == '/';
}

/* rspamd's compiled hyperscan caches (tens of MB): the config step seeds
 * them from the image at every start (rspamd/hscache.c) and rspamd compiles
 * whatever else it misses, so they are not data. */
static bool is_rspamd_cache(const char *rel, const char *name)
{
	static const char *const suffixes[] = {".hs", ".hsmp", ".hsmc"};
	if (!under(rel, "var/lib/rspamd"))
		return false;
	const char *dot = strrchr(name, '.');
	return dot && in_list(dot, suffixes, ARRAY_LEN(suffixes));
}

static void fail(struct job *j, const char *what, const char *rel)
{
	log_warn("%s %s/%s", what, j->srv, rel);
	j->failed = true;
}

static void record_dir(struct job *j, const char *rel, const struct stat *st)
{
	if (!*rel || set_seen(&j->recorded, rel))
		return;
	struct mf_entry *e = manifest_add(&j->m, MF_DIR, rel, NULL);
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	char dst[PATH_MAX];
	if (path_join(dst, sizeof dst, j->data, rel) < 0 || mkdir_p(dst, 0700) < 0)
		fail(j, "creating the copy of", rel);
}

static void record_link(struct job *j, const char *rel, const struct stat *st)
{
	char src[PATH_MAX], target[PATH_MAX];
	if (set_seen(&j->recorded, rel))
		return;
	if (path_join(src, sizeof src, j->srv, rel) < 0) {
		fail(j, "path too long:", rel);
		return;
	}
	ssize_t n = readlink(src, target, sizeof target - 1);
	if (n < 0) {
		if (errno != ENOENT)
			fail(j, "reading the link", rel);
		return;
	}
	target[n] = '\0';
	struct mf_entry *e = manifest_add(&j->m, MF_LINK, rel, target);
	e->uid = st->st_uid;
	e->gid = st->st_gid;
}

/* Opens a regular file to copy: 1 with *fd and *st, 0 when it is gone or
 * no longer a regular file (moved, delivered, replaced), -1 on error. */
static int open_source(struct job *j, const char *rel, int *fd, struct stat *st)
{
	char src[PATH_MAX];
	if (path_join(src, sizeof src, j->srv, rel) < 0) {
		fail(j, "path too long:", rel);
		return -1;
	}
	*fd = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 0;
		fail(j, "opening", rel);
		return -1;
	}
	if (fstat(*fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(*fd);
		return 0;
	}
	return 1;
}

/* Copies the open file to DIR/data/rel and adds it to the manifest. */
static int copy_open(struct job *j, const char *rel, int fd, const struct stat *st, bool mbox,
		     struct copy_result *r)
{
	char dst[PATH_MAX];
	if (path_join(dst, sizeof dst, j->data, rel) < 0 || make_parents(dst, 0700) < 0) {
		fail(j, "creating the copy of", rel);
		return -1;
	}
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		fail(j, "creating the copy of", rel);
		return -1;
	}
	if (copy_stream(fd, out, mbox, r) < 0 || close(out) < 0) {
		fail(j, "copying", rel);
		unlink(dst);
		return -1;
	}
	set_seen(&j->recorded, rel);
	struct mf_entry *e = manifest_add(&j->m, MF_FILE, rel, NULL);
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = r->size;
	e->mtime = (long long)st->st_mtime;
	memcpy(e->sha256, r->sha256, sizeof e->sha256);
	j->bytes += r->size;
	j->files++;
	return 0;
}

/* Opens and copies rel; 1 copied, 0 gone meanwhile, -1 failed. */
static int copy_file(struct job *j, const char *rel, struct copy_result *r)
{
	int fd;
	struct stat st;
	int rc = open_source(j, rel, &fd, &st);
	if (rc <= 0)
		return rc;
	rc = copy_open(j, rel, fd, &st, false, r);
	close(fd);
	return rc < 0 ? -1 : 1;
}

/* Lists a directory: calls fn for each entry with its lstat. */
typedef void entry_fn(struct job *j, const char *rel, const char *name, const struct stat *st, void *arg);

static void each_entry(struct job *j, const char *rel, entry_fn *fn, void *arg)
{
	char src[PATH_MAX];
	if (path_join(src, sizeof src, j->srv, rel) < 0) {
		fail(j, "path too long:", rel);
		return;
	}
	DIR *d = opendir(src);
	if (!d) {
		if (errno != ENOENT)
			fail(j, "reading the directory", rel);
		return;
	}
	struct stat st;
	if (fstat(dirfd(d), &st) == 0)
		record_dir(j, rel, &st);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				fail(j, "reading the directory", rel);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[PATH_MAX];
		if (path_join(child, sizeof child, rel, de->d_name) < 0) {
			fail(j, "path too long:", rel);
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				fail(j, "examining", child);
			continue;
		}
		fn(j, child, de->d_name, &st, arg);
	}
	closedir(d);
}

static int depth_of(const char *rel)
{
	int n = 0;
	for (; *rel; rel++)
		n += *rel == '/';
	return n;
}

/* --- the queue ------------------------------------------------------------ */

struct queue_pass {
	void **ids;
	unsigned news;
	bool moved;
};

static void queue_entry(struct job *j, const char *rel, const char *name, const struct stat *st, void *arg)
{
	struct queue_pass *qp = arg;
	if (S_ISDIR(st->st_mode)) {
		if (depth_of(rel) < DEPTH_MAX)
			each_entry(j, rel, queue_entry, qp);
		return;
	}
	if (!S_ISREG(st->st_mode) || tfind(name, qp->ids, by_str))
		return;
	if (!(st->st_mode & S_IXUSR))
		return; /* still being written: not acknowledged to its sender yet */
	struct copy_result r;
	int rc = copy_file(j, rel, &r);
	if (rc == 0)
		qp->moved = true;
	if (rc == 1) {
		set_seen(qp->ids, name);
		qp->news++;
		j->m.count[MF_QUEUE]++;
	}
}

static void backup_queue(struct job *j)
{
	void *ids = NULL;
	int pass;
	for (pass = 0; pass < QUEUE_PASSES_MAX; pass++) {
		struct queue_pass qp = {.ids = &ids};
		for (size_t i = 0; i < ARRAY_LEN(queue_dirs); i++) {
			char rel[PATH_MAX];
			if (path_join(rel, sizeof rel, QUEUE_ROOT, queue_dirs[i]) == 0)
				each_entry(j, rel, queue_entry, &qp);
		}
		/* A file moved backwards (deferred -> active) during a pass is
		 * seen by the next one: stop only after a pass found nothing. */
		if (pass > 0 && !qp.news && !qp.moved)
			break;
	}
	if (pass == QUEUE_PASSES_MAX)
		log_warnx("the queue kept changing over %d passes; messages that left it meanwhile "
			  "are in the mailbox copy", QUEUE_PASSES_MAX);
	tdestroy(ids, free);
}

/* --- mailboxes ---------------------------------------------------------------- */

/* Dovecot's indexes and caches (rebuilt from the mail) and dot-locks. */
static bool mail_file_skipped(const char *name)
{
	size_t n = strlen(name);
	return !strncmp(name, "dovecot.index", 13) || !strncmp(name, "dovecot.list.index", 18) ||
	       (n > 5 && !strcmp(name + n - 5, ".lock"));
}

static bool is_dir_at(struct job *j, const char *rel, const char *sub)
{
	char path[PATH_MAX], r[PATH_MAX];
	struct stat st;
	return path_join(r, sizeof r, rel, sub) == 0 && path_join(path, sizeof path, j->srv, r) == 0 &&
	       lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct maildir_pass {
	void **keys;
	bool moved;
};

static void maildir_entry(struct job *j, const char *rel, const char *name, const struct stat *st, void *arg)
{
	struct maildir_pass *mp = arg;
	if (!S_ISREG(st->st_mode))
		return;
	char key[NAME_MAX + 1];
	size_t n = strcspn(name, ":");
	if (n > NAME_MAX)
		n = NAME_MAX;
	memcpy(key, name, n);
	key[n] = '\0';
	if (tfind(key, mp->keys, by_str))
		return;
	struct copy_result r;
	int rc = copy_file(j, rel, &r);
	if (rc == 0)
		mp->moved = true;
	if (rc == 1) {
		set_seen(mp->keys, key);
		j->m.count[MF_MAILBOX]++;
	}
}

static void backup_maildir(struct job *j, const char *rel)
{
	void *keys = NULL;
	for (int pass = 0; pass < MAILDIR_PASSES_MAX; pass++) {
		struct maildir_pass mp = {.keys = &keys};
		static const char *const subs[] = {"new", "cur"};
		for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
			char sub[PATH_MAX];
			if (path_join(sub, sizeof sub, rel, subs[i]) == 0)
				each_entry(j, sub, maildir_entry, &mp);
		}
		if (!mp.moved)
			break;
	}
	tdestroy(keys, free);
	/* tmp/ holds deliveries in progress: not acknowledged yet. */
	char tmp[PATH_MAX], src[PATH_MAX];
	struct stat st;
	if (path_join(tmp, sizeof tmp, rel, "tmp") == 0 && path_join(src, sizeof src, j->srv, tmp) == 0 &&
	    lstat(src, &st) == 0 && S_ISDIR(st.st_mode))
		record_dir(j, tmp, &st);
}

/* Waits (bounded) for a shared lock: a writer holds an exclusive one. */
static void mbox_lock(struct job *j, int fd, const char *rel)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	int64_t until = now_ms() + MBOX_LOCK_WAIT_MS;
	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if ((errno != EAGAIN && errno != EACCES) || now_ms() >= until) {
			log_warn("locking %s/%s; copied without the lock", j->srv, rel);
			return;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void mail_entry(struct job *j, const char *rel, const char *name, const struct stat *st, void *arg)
{
	bool in_maildir = *(bool *)arg;
	if (S_ISLNK(st->st_mode)) {
		record_link(j, rel, st);
	} else if (S_ISDIR(st->st_mode)) {
		if (in_maildir && (!strcmp(name, "new") || !strcmp(name, "cur") || !strcmp(name, "tmp")))
			return;
		if (depth_of(rel) >= DEPTH_MAX)
			return;
		bool maildir = is_dir_at(j, rel, "new") && is_dir_at(j, rel, "cur");
		if (maildir)
			backup_maildir(j, rel);
		each_entry(j, rel, mail_entry, &maildir);
	} else if (S_ISREG(st->st_mode) && !mail_file_skipped(name)) {
		int fd;
		struct stat fst;
		if (open_source(j, rel, &fd, &fst) <= 0)
			return;
		bool mbox = name[0] != '.' && strncmp(name, "dovecot", 7) && strcmp(name, "subscriptions");
		if (mbox)
			mbox_lock(j, fd, rel);
		struct copy_result r;
		if (copy_open(j, rel, fd, &fst, mbox, &r) == 0 && mbox)
			j->m.count[MF_MAILBOX] += r.mbox_messages;
		close(fd);
	}
}

static void backup_mail(struct job *j)
{
	bool maildir = is_dir_at(j, MAIL_ROOT, "new") && is_dir_at(j, MAIL_ROOT, "cur");
	if (maildir)
		backup_maildir(j, MAIL_ROOT);
	each_entry(j, MAIL_ROOT, mail_entry, &maildir);
}

/* --- everything else ------------------------------------------------------------ */

static bool done_already(const char *rel)
{
	if (!strcmp(rel, MAIL_ROOT) || under(rel, MAIL_ROOT))
		return true;
	for (size_t i = 0; i < ARRAY_LEN(queue_dirs); i++) {
		char q[PATH_MAX];
		if (path_join(q, sizeof q, QUEUE_ROOT, queue_dirs[i]) == 0 && (!strcmp(rel, q) || under(rel, q)))
			return true;
	}
	return false;
}

static void rest_entry(struct job *j, const char *rel, const char *name, const struct stat *st, void *arg)
{
	(void)arg;
	if (done_already(rel))
		return;
	if (S_ISLNK(st->st_mode)) {
		record_link(j, rel, st);
	} else if (S_ISDIR(st->st_mode)) {
		if (in_list(rel, skip_contents, ARRAY_LEN(skip_contents))) {
			record_dir(j, rel, st);
			return;
		}
		if (depth_of(rel) < DEPTH_MAX)
			each_entry(j, rel, rest_entry, NULL);
	} else if (S_ISREG(st->st_mode) && !in_list(rel, skip_files, ARRAY_LEN(skip_files)) &&
		   !is_rspamd_cache(rel, name)) {
		struct copy_result r;
		if (copy_file(j, rel, &r) != 1)
			return;
		size_t n = strlen(name);
		if (under(rel, "var/amavis/quarantine") && name[0] != '.')
			j->m.count[MF_QUARANTINE]++;
		if (under(rel, "var/db/dkim") && n > 12 && !strcmp(name + n - 12, ".privkey.pem"))
			j->m.count[MF_DKIM]++;
	}
}

/* --- the command -------------------------------------------------------------------- */

static int write_manifest(struct job *j, const char *dir)
{
	manifest_sort(&j->m);
	struct strbuf text;
	sb_init(&text);
	manifest_render(&j->m, &text);
	char path[PATH_MAX];
	int rc = path_join(path, sizeof path, dir, MANIFEST_NAME);
	if (rc == 0)
		rc = file_write_atomic(path, text.buf, text.len, 0600);
	sb_free(&text);
	if (rc < 0) {
		log_warn("writing %s/%s", dir, MANIFEST_NAME);
		return -1;
	}
	/* The copies were written without a fsync each; one syncfs makes them
	 * durable together before anyone relies on the backup. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		log_warn("syncing %s", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int backup_run(const char *srv, const char *dir)
{
	struct job j = {.srv = srv};
	manifest_init(&j.m);
	if (path_join(j.data, sizeof j.data, dir, MANIFEST_DATA) < 0 || mkdir(j.data, 0700) < 0) {
		log_warn("creating %s/%s", dir, MANIFEST_DATA);
		return EXIT_SYSTEM;
	}
	int64_t t0 = now_ms();
	backup_queue(&j);
	backup_mail(&j);
	snapshot_databases(srv);
	each_entry(&j, "", rest_entry, NULL);
	int rc = EXIT_OK;
	if (j.failed) {
		log_warnx("backup incomplete: no manifest written, %s cannot be restored", dir);
		rc = EXIT_SYSTEM;
	} else if (write_manifest(&j, dir) < 0) {
		rc = EXIT_SYSTEM;
	} else if (printf("backup: %zu entries, %u files, %llu bytes in %lld ms into %s: queue %llu, "
			  "mailbox %llu, quarantine %llu, dkim %llu\n",
			  j.m.n, j.files, j.bytes, (long long)(now_ms() - t0), dir, j.m.count[MF_QUEUE],
			  j.m.count[MF_MAILBOX], j.m.count[MF_QUARANTINE], j.m.count[MF_DKIM]) < 0 ||
		   fflush(stdout) == EOF) {
		rc = EXIT_SYSTEM;
	}
	tdestroy(j.recorded, free);
	manifest_free(&j.m);
	return rc;
}

/* DIR must be absolute, neither inside /srv nor holding it, and new or an
 * empty directory. Returns EXIT_OK having made it, or EXIT_USAGE. */
static int prepare_dir(const char *dir)
{
	if (dir[0] != '/') {
		log_warnx("DIR \"%s\" is not an absolute path (expected e.g. /backup/2026-12-03)", dir);
		return EXIT_USAGE;
	}
	char parent[PATH_MAX], real[PATH_MAX];
	if (path_join(parent, sizeof parent, dir, "") < 0) {
		log_warnx("DIR \"%s\" is too long", dir);
		return EXIT_USAGE;
	}
	struct stat st;
	bool exists = stat(dir, &st) == 0;
	if (exists && !S_ISDIR(st.st_mode)) {
		log_warnx("DIR \"%s\" exists and is not a directory (expected a new or empty directory)", dir);
		return EXIT_USAGE;
	}
	if (!exists) {
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!realpath(exists ? dir : parent, real)) {
		log_warnx("DIR \"%s\": its parent directory %s does not exist (expected a mounted backup "
			  "volume, e.g. -v backups:/backup)", dir, parent);
		return EXIT_USAGE;
	}
	size_t n = strlen(real), s = strlen(SRV);
	bool inside = !strncmp(real, SRV, s) && (real[s] == '/' || real[s] == '\0');
	bool holds = !strncmp(SRV, real, n) && (n == 1 || SRV[n] == '/' || SRV[n] == '\0');
	if (inside || holds) {
		log_warnx("DIR \"%s\" is %s " SRV ": the backup would copy itself (expected a directory on "
			  "another volume, e.g. /backup/2026-12-03)", dir, inside ? "inside" : "above");
		return EXIT_USAGE;
	}
	if (exists) {
		DIR *d = opendir(dir);
		if (!d) {
			log_warn("reading %s", dir);
			return EXIT_SYSTEM;
		}
		struct dirent *de;
		bool empty = true;
		while (empty && (de = readdir(d)))
			empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		closedir(d);
		if (!empty) {
			log_warnx("DIR \"%s\" is not empty (expected a new or empty directory: one backup "
				  "a directory)", dir);
			return EXIT_USAGE;
		}
	} else if (mkdir(dir, 0700) < 0) {
		log_warn("creating %s", dir);
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

int backup_main(int argc, char **argv)
{
	log_set_name("backup");
	if (argc == 3 && !strcmp(argv[1], "--verify"))
		return backup_verify(argv[2]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mtactl backup DIR | mtactl backup --verify DIR\n");
		return EXIT_USAGE;
	}
	int rc = prepare_dir(argv[1]);
	return rc == EXIT_OK ? backup_run(SRV, argv[1]) : rc;
}
