/* The shared counter file: created (mode 0644, root's) by the syslog
 * receiver before it drops privileges, mapped MAP_SHARED so that the
 * metrics service sees each increment at its next scrape. Failing to map
 * is not fatal to the receiver: logging goes on, uncounted. */
#include "metrics/counters.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

const uint32_t delay_bucket_ms[DELAY_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	300000, 900000, 3600000, 14400000, 86400000,
};

struct counters *counters_open_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_warn("metrics: opening %s", path);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_size != (off_t)sizeof(struct counters) &&
				   (ftruncate(fd, 0) < 0 || ftruncate(fd, sizeof(struct counters)) < 0))) {
		log_warn("metrics: sizing %s", path);
		close(fd);
		return NULL;
	}
	void *p = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_warn("metrics: mapping %s", path);
		return NULL;
	}
	struct counters *m = p;
	if (m->magic != COUNTERS_MAGIC || m->count != COUNTER_COUNT) {
		memset(m, 0, sizeof *m);
		m->count = COUNTER_COUNT;
		m->magic = COUNTERS_MAGIC;
	}
	return m;
}

const struct counters *counters_open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size != (off_t)sizeof(struct counters)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	void *p = mmap(NULL, sizeof(struct counters), PROT_READ, MAP_SHARED, fd, 0);
	int saved = errno;
	close(fd);
	errno = saved;
	if (p == MAP_FAILED)
		return NULL;
	const struct counters *m = p;
	if (m->magic != COUNTERS_MAGIC || m->count != COUNTER_COUNT) {
		munmap(p, sizeof(struct counters));
		errno = EINVAL;
		return NULL;
	}
	return m;
}

void counters_close(const struct counters *m)
{
	if (m && munmap((void *)m, sizeof(struct counters)) < 0)
		log_warn("metrics: unmapping the counters");
}
