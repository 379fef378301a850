/* `mtactl quarantine-bounce` (a supervised service of the rspamd image):
 * for every message held in quarantine with destiny D_BOUNCE, one DSN to
 * its envelope sender (dsn.c), never for a null sender (never bounce a
 * bounce).
 *
 * inotify on the hold directory says when something came or went; the
 * directory's file names are the queue ids (hold is not a hashed queue);
 * a marker file per examined id under MARK_DIR says it was dealt with, so
 * a restart (the markers are on the volume) sends nothing twice, and
 * markers of ids no longer held are removed. Only ids without a marker
 * cost a `postqueue -j` and a `postcat`. The marker is written before the
 * DSN is handed to sendmail and removed again if that fails: at most one
 * DSN per message even if we die in between. Failures are never fatal to
 * mail: the message stays held whatever happens here. */
#include "quarantine/bounce_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/inotify.h"
#include "common/log.h"
#include "common/proc.h"
#include "quarantine/dsn.h"
#include "quarantine/hold.h"
#include "quarantine/quarantine.h"
#include "queue/postqueue.h"

#define MARK_DIR "/srv/var/lib/mtactl/quarantine-bounced"
#define SCAN_GAP_MS 500      /* a burst of events makes one scan */
#define RETRY_FIRST_MS 2000  /* Postfix not up, or sendmail failed: again after 2 s ... */
#define RETRY_MAX_MS 60000   /* ... growing to a minute */
#define SEND_TIMEOUT_MS 60000

/* The file names in dir that are queue ids. */
static int list_ids(const char *dir, struct strlist *ids)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)))
		if (postqueue_id_ok(e->d_name))
			strlist_add(ids, e->d_name, strlen(e->d_name));
	closedir(d);
	return 0;
}

static bool in_list(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->len; i++)
		if (!strcmp(l->item[i], s))
			return true;
	return false;
}

static int mark_path(const char *id, char *path, size_t size)
{
	return snprintf(path, size, MARK_DIR "/%s", id) < (int)size ? 0 : -1;
}

/* Creates the marker; false if it exists or cannot be made. */
static bool mark(const char *id, const char *what)
{
	char path[PATH_MAX];
	if (mark_path(id, path, sizeof path) < 0)
		return false;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno != EEXIST)
			log_warn("%s", path);
		return false;
	}
	bool ok = fd_write_all(fd, what, strlen(what)) == 0 && fsync(fd) == 0;
	if (close(fd) < 0 || !ok) {
		log_warn("writing %s", path);
		(void)unlink(path);
		return false;
	}
	return true;
}

static void unmark(const char *id)
{
	char path[PATH_MAX];
	if (mark_path(id, path, sizeof path) == 0 && unlink(path) < 0 && errno != ENOENT)
		log_warn("removing %s", path);
}

/* sendmail -i -f '' -- SENDER with the DSN on stdin: the null envelope
 * sender, so a DSN that cannot be delivered is dropped, not bounced. */
static bool send_dsn(const char *to, const struct strbuf *msg)
{
	int fd = memfd_create("dsn", MFD_CLOEXEC);
	if (fd < 0) {
		log_warn("memfd_create");
		return false;
	}
	if (fd_write_all(fd, msg->buf, msg->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		log_warn("writing the DSN");
		close(fd);
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("fork");
		close(fd);
		return false;
	}
	if (pid == 0) {
		if (dup2(fd, STDIN_FILENO) < 0)
			_exit(127);
		char *argv[] = {"sendmail", "-i", "-f", "", "--", (char *)to, NULL};
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd);
	int rc = proc_wait_until(pid, now_ms() + SEND_TIMEOUT_MS);
	if (rc != 0)
		log_warnx("sendmail for the DSN to <%s> failed (status %d)", to, rc);
	return rc == 0;
}

/* Deals with one held message without a marker: true when done (marked),
 * false to try again later. */
static bool examine(const struct hold_msg *m, const char *hostname)
{
	struct strbuf headers;
	sb_init(&headers);
	if (hold_read_headers(m->id, &headers) < 0) {
		sb_free(&headers);
		return true; /* released or deleted meanwhile */
	}
	struct quarantine_entry e;
	struct xquarantine x;
	quarantine_parse(headers.buf, headers.len, "", &e);
	bool bounce = hold_parse_xquarantine(e.xquarantine, &x) && !strcmp(x.destiny, "D_BOUNCE");
	bool done = true;
	if (!bounce || !m->sender[0]) {
		/* held otherwise (D_DISCARD, by hand) or a bounce itself: nobody told */
		(void)mark(m->id, bounce ? "null sender: no DSN\n" : "not D_BOUNCE: no DSN\n");
	} else if (mark(m->id, "DSN sent\n")) {
		struct strbuf dsn;
		sb_init(&dsn);
		struct dsn_input in = {.hostname = hostname, .msg = m, .why = &x, .headers = headers.buf,
				       .headers_len = headers.len, .now = time(NULL)};
		dsn_compose(&in, &dsn);
		if (send_dsn(m->sender, &dsn)) {
			log_info("%s: quarantined (%s %s), DSN sent to <%s>", m->id, x.kind, x.detail, m->sender);
		} else {
			unmark(m->id);
			done = false;
		}
		sb_free(&dsn);
	}
	sb_free(&headers);
	return done;
}

/* One pass: DSNs for new D_BOUNCE messages, markers of gone ones removed.
 * 0 when everything was dealt with, -1 to come back later. */
static int scan(const char *hostname)
{
	struct strlist held, marked;
	strlist_init(&held);
	strlist_init(&marked);
	int rc = 0;
	if (list_ids(HOLD_DIR, &held) < 0 || list_ids(MARK_DIR, &marked) < 0) {
		log_warn("reading %s or %s", HOLD_DIR, MARK_DIR);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < marked.len; i++)
		if (!in_list(&held, marked.item[i]))
			unmark(marked.item[i]);
	bool fresh = false;
	for (size_t i = 0; i < held.len && !fresh; i++)
		fresh = !in_list(&marked, held.item[i]);
	if (!fresh)
		goto out;
	if (!postfix_up()) {
		rc = -1; /* postqueue needs the master; it is starting */
		goto out;
	}
	struct hold_list q;
	hold_list_init(&q);
	if (hold_read_queue(&q) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; i < q.len; i++)
			if (!in_list(&marked, q.msg[i].id) && !examine(&q.msg[i], hostname))
				rc = -1;
	}
	hold_list_free(&q);
out:
	strlist_free(&held);
	strlist_free(&marked);
	return rc;
}

/* myhostname, as Postfix's own bounces name it. */
static void get_hostname(char *dst, size_t size)
{
	char *argv[] = {"postconf", "-h", "myhostname", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, 1024, now_ms() + 30000);
	size_t n = strcspn(out.buf, "\r\n");
	if (rc == 0 && n > 0 && n < size && strcspn(out.buf, " \t") >= n) {
		snprintf(dst, size, "%.*s", (int)n, out.buf);
	} else if (gethostname(dst, size) < 0) {
		snprintf(dst, size, "localhost");
	}
	dst[size - 1] = '\0';
	sb_free(&out);
}

/* Any event is a reason to scan; an overflow too (events were lost). */
static void on_event(const struct inotify_event *ev, void *ctx)
{
	(void)ev;
	*(bool *)ctx = true;
}

int quarantine_bounce_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("quarantine-bounce");
	if (argc != 1) {
		log_warnx("usage: mtactl quarantine-bounce");
		return EXIT_USAGE;
	}
	if (mkdir_p(MARK_DIR, 0700) < 0)
		fatal(EXIT_SYSTEM, "making %s", MARK_DIR);
	char hostname[256];
	get_hostname(hostname, sizeof hostname);
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "inotify_init1");
	if (inotify_add_watch(fd, HOLD_DIR, IN_MOVED_TO | IN_CREATE | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0)
		fatal(EXIT_SYSTEM, "watching %s", HOLD_DIR);

	/* A scan at start: messages held while we were not running. */
	bool pending = true;
	int64_t next = now_ms();
	unsigned retry_gap = RETRY_FIRST_MS;
	for (;;) {
		int64_t now = now_ms();
		if (pending && now >= next) {
			if (scan(hostname) == 0) {
				pending = false;
				retry_gap = RETRY_FIRST_MS;
			} else {
				next = now + retry_gap;
				retry_gap = retry_gap * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_gap * 2;
			}
			continue;
		}
		int wait = pending ? (int)(next > now ? next - now : 0) : -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR)
			fatal(EXIT_SYSTEM, "poll");
		if (n <= 0)
			continue;
		bool changed = false;
		if (inotify_read_events(fd, on_event, &changed) < 0)
			fatal(EXIT_SYSTEM, "reading inotify events");
		if (changed && !pending) {
			pending = true;
			next = now_ms() + SCAN_GAP_MS;
		}
	}
}
