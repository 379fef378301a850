/* Reading the gauges. The metrics service runs as postfix (the queue
 * directories are postfix's, mode 0700) with amavis's group when there is
 * one (the quarantine is amavis's, 0750): it reads, never writes, and
 * holds no key. A gauge it cannot read is left out of the scrape, not
 * reported as zero. */
#include "metrics/gauges.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "clamav/clamav.h"
#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "init/services.h"
#include "quarantine/quarantine.h"

#define QUEUE_DIR "/var/spool/postfix"

const char *const queue_names[QUEUE_COUNT] = {
	[Q_INCOMING] = "incoming", [Q_ACTIVE] = "active", [Q_DEFERRED] = "deferred", [Q_HOLD] = "hold"};

/* Regular files under dirfd, down to depth more levels (the deferred
 * queue is hashed one level deep; amavis's quarantine may be too). */
static long count_files_at(int dirfd, int depth)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -1;
	}
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_REG) {
			n++;
		} else if (e->d_type == DT_DIR && depth > 0) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			long m = sub < 0 ? -1 : count_files_at(sub, depth - 1);
			if (m > 0)
				n += m;
		}
	}
	closedir(d);
	return n;
}

static long count_files(const char *dir, int depth)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -1 : count_files_at(fd, depth);
}

void gauges_find_cert(char *path, size_t size)
{
	path[0] = '\0';
	char *argv[] = {"postconf", "-h", "smtpd_tls_chain_files", "smtpd_tls_cert_file", NULL};
	struct strbuf out;
	sb_init(&out);
	if (proc_run(argv, &out) == 0) {
		/* the first word of the first non-empty line: the chain file
		 * starts with the key or the certificate, PEM_read_X509 skips a key */
		const char *p = out.buf + strspn(out.buf, " \t\n,");
		size_t len = strcspn(p, " \t\n,");
		if (len > 0 && len < size) {
			memcpy(path, p, len);
			path[len] = '\0';
		}
	}
	sb_free(&out);
}

static double cert_not_after(const char *path)
{
	if (!*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return 0;
	struct tm tm;
	double when = 0;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		when = (double)timegm(&tm);
	X509_free(x);
	return when;
}

static bool is_signature_file(const char *name)
{
	static const char *const ext[] = {".cvd", ".cld", ".hdb", ".hsb", ".ndb", ".ldb", ".cdb"};
	size_t len = strlen(name);
	for (size_t i = 0; i < ARRAY_LEN(ext); i++)
		if (len > 4 && !strcmp(name + len - 4, ext[i]))
			return true;
	return false;
}

/* Since the newest signature file changed: freshclam replaces a file
 * whole when it updates, so its mtime is the update's time. */
static double clamav_age(void)
{
	if (!path_exists("/usr/sbin/clamd"))
		return -1;
	DIR *d = opendir(CLAMAV_DB_DIR);
	if (!d)
		return -1;
	time_t newest = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (is_signature_file(e->d_name) && fstatat(dirfd(d), e->d_name, &st, 0) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime > newest)
			newest = st.st_mtime;
	}
	closedir(d);
	if (!newest)
		return -1;
	double age = difftime(time(NULL), newest);
	return age < 0 ? 0 : age;
}

void gauges_parse_services(const char *text, struct gauges *g)
{
	g->services = 0;
	for (const char *line = text; *line && g->services < GAUGE_SERVICES_MAX;) {
		size_t len = strcspn(line, "\n");
		char buf[128], state[16];
		struct gauge_service *s = &g->service[g->services];
		int pid;
		unsigned long restarts = 0;
		if (len < sizeof buf) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			int n = sscanf(buf, "%31s %15s %d %lu", s->name, state, &pid, &restarts);
			if (n >= 3) {
				s->up = !strcmp(state, "up") || !strcmp(state, "done");
				s->restarts = n == 4 ? restarts : 0;
				g->services++;
			}
		}
		line += len + (line[len] == '\n');
	}
}

void gauges_read(const char *cert_path, struct gauges *g)
{
	char dir[64];
	for (int q = 0; q < QUEUE_COUNT; q++) {
		int n = snprintf(dir, sizeof dir, QUEUE_DIR "/%s", queue_names[q]);
		g->queue[q] = n < 0 || (size_t)n >= sizeof dir ? -1 : count_files(dir, 2);
	}
	if (path_exists(QUARANTINE_PATH))
		g->quarantine = count_files(QUARANTINE_PATH, 2);
	else /* rspamd's quarantine is the hold queue (src/quarantine/hold.c) */
		g->quarantine = path_exists("/usr/bin/rspamd") ? g->queue[Q_HOLD] : -1;
	g->cert_not_after = cert_not_after(cert_path);
	g->clamav_db_age = clamav_age();
	struct strbuf status;
	sb_init(&status);
	g->services = 0;
	if (file_read(STATUS_FILE, &status, 1 << 16) == 0)
		gauges_parse_services(status.buf, g);
	sb_free(&status);
}
