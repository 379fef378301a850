#include "common/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

int fd_write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		size_t n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		if (n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || fd_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return fsync_parent(path);
}

int file_read(const char *path, struct strbuf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[8192];
	size_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		sb_add(out, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof p) {
		errno = len ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(p, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		p[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

bool path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int copy_file(const char *from, const char *to, const struct stat *st)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0) {
		int err = errno;
		close(in);
		errno = err;
		return -1;
	}
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = (int)n;
			break;
		}
		if (fd_write_all(out, buf, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	int err = errno;
	if (rc == 0 && fchown(out, st->st_uid, st->st_gid) < 0)
		rc = -1, err = errno;
	if (rc == 0 && fchmod(out, st->st_mode & 07777) < 0)
		rc = -1, err = errno;
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = -1, err = errno;
	errno = err;
	return rc;
}

/* Ends a readdir loop (errno cleared before each readdir): a readdir error
 * fails it too; closes d and keeps errno for the caller. */
static int end_readdir(DIR *d, int rc)
{
	if (rc == 0 && errno)
		rc = -1;
	int err = errno;
	closedir(d);
	errno = err;
	return rc;
}

int copy_tree(const char *from, const char *to)
{
	struct stat st;
	if (lstat(from, &st) < 0)
		return -1;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(from, target, sizeof target - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		return symlink(target, to);
	}
	if (S_ISREG(st.st_mode))
		return copy_file(from, to, &st);
	if (!S_ISDIR(st.st_mode))
		return 0; /* sockets, fifos: nothing worth seeding */
	if (mkdir(to, st.st_mode & 07777) < 0 && errno != EEXIST)
		return -1;
	if (lchown(to, st.st_uid, st.st_gid) < 0 || chmod(to, st.st_mode & 07777) < 0)
		return -1;
	DIR *d = opendir(from);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char a[PATH_MAX], b[PATH_MAX];
		int na = snprintf(a, sizeof a, "%s/%s", from, e->d_name);
		int nb = snprintf(b, sizeof b, "%s/%s", to, e->d_name);
		if (na < 0 || nb < 0 || (size_t)na >= sizeof a || (size_t)nb >= sizeof b) {
			errno = ENAMETOOLONG;
			rc = -1;
			break;
		}
		if (path_exists(b))
			continue; /* never overwrite what an operator put there */
		rc = copy_tree(a, b);
	}
	return end_readdir(d, rc);
}

static int remove_at(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			break;
		}
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || remove_at(sub) < 0 || unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
			rc = -1;
	}
	return end_readdir(d, rc);
}

int remove_tree_contents(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	return remove_at(fd);
}

int file_backdate(const char *path)
{
	struct timespec times[2];
	if (clock_gettime(CLOCK_REALTIME, &times[0]) < 0)
		return -1;
	times[0].tv_sec -= 2;
	times[1] = times[0];
	return utimensat(AT_FDCWD, path, times, 0);
}
