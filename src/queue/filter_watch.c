/* `mtactl filter-watch --reason TEXT PROBE...` (a supervised service of
 * the full image). Postfix accepts mail as soon as port 25 answers, while
 * amavis may still be loading SpamAssassin's rules or restarting after a
 * crash; such mail is deferred ("connect to ...[/run/amavis/inbound.sock]:
 * No such file or directory") and Postfix would try it again only after
 * minimal_backoff_time (300 s, longer with each failure). Accepting and
 * retrying beats refusing connections: a peer that finds port 25 closed
 * waits its own retry interval, often longer.
 *
 * So: inotify on the deferred queue says when something was deferred;
 * `postqueue -j` says which messages wait for the filter (a delay reason
 * containing TEXT); the probes (lmtp:SOCKET, clamd:SOCKET) say when the
 * filter answers; then `postqueue -i ID` delivers each at once. Nothing is
 * polled while nothing waits. Failures here are never fatal to mail: at
 * worst Postfix's own schedule applies. */
#include "queue/filter_watch.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/inotify.h"
#include "common/log.h"
#include "common/proc.h"
#include "health/probe.h"
#include "queue/postqueue.h"

#define DEFERRED_DIR "/var/spool/postfix/deferred"
#define PROBE_TIMEOUT_MS 3000
#define SCAN_GAP_MS 1000        /* at most one queue scan a second */
#define PROBE_FIRST_MS 1000     /* filter not answering: probe again after 1 s ... */
#define PROBE_MAX_MS 10000      /* ... growing to 10 s */
#define RETRY_FIRST_MS 5000     /* the same mail deferred again: wait 5 s ... */
#define RETRY_MAX_MS 300000     /* ... growing to Postfix's own minimal backoff */
#define QUIET_MS 60000          /* the filter silent this long is worth a warning */
#define FLUSH_ABOVE 200         /* more waiting than this: one postqueue -f */
#define QUEUE_LISTING_MAX (64u << 20) /* bytes of postqueue -j read; a larger queue is read in part */
#define MAX_PROBES 8

static bool reason_matches(json_t *recipients, const char *const *matches, size_t nmatch)
{
	size_t i;
	json_t *r;
	json_array_foreach(recipients, i, r) {
		const char *reason = json_string_value(json_object_get(r, "delay_reason"));
		for (size_t m = 0; reason && m < nmatch; m++)
			if (*matches[m] && strstr(reason, matches[m]))
				return true;
	}
	return false;
}

struct waiting {
	const char *const *matches;
	size_t nmatch;
	struct strlist *ids;
	size_t added;
};

static void on_msg(json_t *msg, void *ctx)
{
	struct waiting *w = ctx;
	const char *queue = json_string_value(json_object_get(msg, "queue_name"));
	const char *id = json_string_value(json_object_get(msg, "queue_id"));
	json_t *rcpts = json_object_get(msg, "recipients");
	if (queue && id && !strcmp(queue, "deferred") && postqueue_id_ok(id) && json_is_array(rcpts) &&
	    reason_matches(rcpts, w->matches, w->nmatch)) {
		strlist_add(w->ids, id, strlen(id));
		w->added++;
	}
}

size_t queue_waiting_for(const char *json_lines, size_t len, const char *const *matches,
			 size_t nmatch, struct strlist *ids)
{
	struct waiting w = {.matches = matches, .nmatch = nmatch, .ids = ids, .added = 0};
	postqueue_each(json_lines, len, on_msg, &w);
	return w.added;
}

struct probe {
	bool clamd; /* else LMTP */
	const char *path;
};

static bool filter_answers(const struct probe *probes, size_t n, struct strbuf *why)
{
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++)
		ok = probes[i].clamd ? probe_clamd(probes[i].path, PROBE_TIMEOUT_MS, why)
				     : probe_smtp_unix(probes[i].path, true, PROBE_TIMEOUT_MS, why);
	return ok;
}

/* Any file in the deferred queue (DIR/X/ID, hash_queue_depth 1)? Looking
 * costs no process: postqueue -j would start Postfix's showq, which then
 * idles for 100 s, 7 MB, after every look at an empty queue. */
static bool deferred_queue_empty(void)
{
	DIR *top = opendir(DEFERRED_DIR);
	if (!top)
		return false; /* let postqueue say what is wrong */
	bool empty = true;
	struct dirent *e;
	while (empty && (e = readdir(top))) {
		char sub[PATH_MAX];
		if (e->d_name[0] == '.' ||
		    snprintf(sub, sizeof sub, DEFERRED_DIR "/%s", e->d_name) >= (int)sizeof sub)
			continue;
		DIR *d = opendir(sub);
		if (!d) {
			if (errno == ENOTDIR)
				empty = false; /* a message file right here */
			continue;
		}
		struct dirent *f;
		while (empty && (f = readdir(d)))
			empty = f->d_name[0] == '.';
		closedir(d);
	}
	closedir(top);
	return empty;
}

/* Which messages wait for the filter; false when the queue cannot be read
 * (Postfix not up yet). */
static bool scan(const char *const *matches, size_t nmatch, struct strlist *ids)
{
	if (deferred_queue_empty())
		return true;
	if (!postfix_up())
		return false;
	char *argv[] = {"postqueue", "-j", NULL};
	struct strbuf out;
	sb_init(&out);
	/* stderr too: a warning line is no JSON and is skipped. */
	int rc = proc_run_capture(argv, &out, QUEUE_LISTING_MAX, now_ms() + 30000);
	if (rc == 0)
		queue_waiting_for(out.buf, out.len, matches, nmatch, ids);
	sb_free(&out);
	return rc == 0;
}

static void retry(const struct strlist *ids)
{
	log_info("%zu message%s waited for the content filter, which answers now: delivering %s",
		 ids->len, ids->len == 1 ? "" : "s", ids->len == 1 ? "it" : "them");
	struct strbuf out;
	sb_init(&out);
	if (ids->len > FLUSH_ABOVE) {
		char *argv[] = {"postqueue", "-f", NULL};
		if (proc_run_capture(argv, &out, 4096, now_ms() + 30000) != 0)
			log_warnx("postqueue -f failed: %.200s", out.buf);
	} else {
		for (size_t i = 0; i < ids->len; i++) {
			char *argv[] = {"postqueue", "-i", ids->item[i], NULL};
			sb_reset(&out);
			/* A message delivered meanwhile is gone: not worth a word. */
			(void)proc_run_capture(argv, &out, 4096, now_ms() + 10000);
		}
	}
	sb_free(&out);
}

/* Watches the hash subdirectories of the deferred queue (Postfix makes
 * them when first needed; the caller watches the directory itself and
 * scans after every change, so mail that landed before a watch is seen).
 * Adding a watch that exists is harmless: inotify returns the same one. */
static void watch_subdirs(int fd)
{
	for (int i = 0; i < 16; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, DEFERRED_DIR "/%X", i);
		(void)inotify_add_watch(fd, dir, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR); /* -1: not made yet */
	}
}

struct deferred_events {
	int top;
	bool *created;
};

/* A directory made or gone, or events lost: the subdirectory watches are
 * looked at again. Every event means a scan (the caller's). */
static void on_deferred_event(const struct inotify_event *ev, void *ctx)
{
	struct deferred_events *d = ctx;
	if ((ev->mask & (IN_IGNORED | IN_Q_OVERFLOW)) || (ev->wd == d->top && (ev->mask & IN_CREATE)))
		*d->created = true;
}

static int watch_loop(const char *const *matches, size_t nmatch, const struct probe *probes,
		      size_t nprobes)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "inotify_init1");
	int top = inotify_add_watch(fd, DEFERRED_DIR, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
	if (top < 0)
		fatal(EXIT_SYSTEM, "watching %s", DEFERRED_DIR);
	watch_subdirs(fd);

	/* Start with a scan: mail may have been deferred before a restart. */
	bool pending = true;
	int64_t next = now_ms();
	unsigned probe_gap = PROBE_FIRST_MS, retry_gap = RETRY_FIRST_MS;
	int64_t silent_since = -1;
	bool warned = false;
	for (;;) {
		int64_t now = now_ms();
		if (pending && now >= next) {
			struct strlist ids;
			strlist_init(&ids);
			if (!scan(matches, nmatch, &ids)) {
				next = now + 2000; /* Postfix is starting */
			} else if (ids.len == 0) {
				pending = false;
				retry_gap = RETRY_FIRST_MS;
				probe_gap = PROBE_FIRST_MS;
				silent_since = -1;
				warned = false;
			} else {
				struct strbuf why;
				sb_init(&why);
				if (filter_answers(probes, nprobes, &why)) {
					retry(&ids);
					if (warned)
						log_info("the content filter answers again");
					/* Deferred again at once means the filter answers
					 * the probe but not the mail: back off. */
					next = now_ms() + retry_gap;
					retry_gap = retry_gap * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_gap * 2;
					probe_gap = PROBE_FIRST_MS;
					silent_since = -1;
					warned = false;
					pending = false;
				} else {
					if (silent_since < 0)
						silent_since = now;
					if (!warned && now - silent_since >= QUIET_MS) {
						log_warnx("%zu message%s wait in the queue for the content filter, "
							  "silent for %d s: %.*s", ids.len, ids.len == 1 ? "" : "s",
							  QUIET_MS / 1000, (int)strcspn(why.buf, "\n"), why.buf);
						warned = true;
					}
					next = now + probe_gap;
					probe_gap = probe_gap * 2 > PROBE_MAX_MS ? PROBE_MAX_MS : probe_gap * 2;
				}
				sb_free(&why);
			}
			strlist_free(&ids);
			continue;
		}
		int wait = -1;
		if (pending)
			wait = next > now ? (int)(next - now) : 0;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR)
			fatal(EXIT_SYSTEM, "poll");
		if (n <= 0)
			continue;
		bool created = false;
		struct deferred_events dev = {.top = top, .created = &created};
		if (inotify_read_events(fd, on_deferred_event, &dev) < 0)
			fatal(EXIT_SYSTEM, "reading inotify events");
		if (created)
			watch_subdirs(fd);
		if (!pending) {
			pending = true;
			/* Let a burst of deferrals settle into one scan. */
			int64_t earliest = now_ms() + SCAN_GAP_MS;
			next = next > earliest ? next : earliest;
		}
	}
}

int filter_watch_main(int argc, char **argv)
{
	log_set_name("filter-watch");
	const char *matches[MAX_PROBES];
	size_t nmatch = 0;
	struct probe probes[MAX_PROBES];
	size_t nprobes = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reason") && i + 1 < argc && nmatch < MAX_PROBES) {
			matches[nmatch++] = argv[++i];
		} else if (!strncmp(argv[i], "lmtp:", 5) && argv[i][5] && nprobes < MAX_PROBES) {
			probes[nprobes++] = (struct probe){.clamd = false, .path = argv[i] + 5};
		} else if (!strncmp(argv[i], "clamd:", 6) && argv[i][6] && nprobes < MAX_PROBES) {
			probes[nprobes++] = (struct probe){.clamd = true, .path = argv[i] + 6};
		} else {
			nprobes = 0;
			break;
		}
	}
	if (nmatch == 0 || nprobes == 0) {
		log_warnx("usage: mtactl filter-watch --reason TEXT lmtp:SOCKET|clamd:SOCKET ...");
		return EXIT_USAGE;
	}
	return watch_loop(matches, nmatch, probes, nprobes);
}
