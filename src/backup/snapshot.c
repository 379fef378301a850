/* Consistent database files before the copy (see snapshot.h). Every
 * helper runs bounded in time; nothing here is fatal. */
#include "backup/snapshot.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backup/copy.h"
#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "rspamd/rspamd.h"

#define SA_SYNC_TIMEOUT_MS 120000
#define REDIS_CLI "/usr/bin/redis-cli"
#define REDIS_CALL_MS 10000
#define REDIS_SAVE_WAIT_MS 60000
#define OUTPUT_MAX 2048

/* SpamAssassin's Bayes database in amavis's home, as amavis (the files
 * stay amavis's). */
static void bayes_sync(const char *srv)
{
	char toks[PATH_MAX];
	if (path_join(toks, sizeof toks, srv, "var/lib/amavis/.spamassassin/bayes_toks") < 0 ||
	    !path_exists(toks) || !path_exists("/usr/bin/sa-learn"))
		return;
	char *argv[] = {"/usr/bin/setpriv", "--reuid=amavis", "--regid=amavis", "--clear-groups",
			"/usr/bin/env", "HOME=/var/lib/amavis", "/usr/bin/sa-learn", "--sync", NULL};
	struct strbuf out;
	sb_init(&out);
	int rc = proc_run_capture(argv, &out, OUTPUT_MAX, now_ms() + SA_SYNC_TIMEOUT_MS);
	if (rc != 0)
		log_warnx("sa-learn --sync failed (%d): %s; copying the Bayes files as they are", rc, out.buf);
	sb_free(&out);
}

/* One redis command on its socket; its reply in out. True on exit 0. */
static bool redis_call(const char *cmd, struct strbuf *out)
{
	char *argv[] = {REDIS_CLI, "-s", REDIS_SOCKET, (char *)cmd, NULL};
	sb_reset(out);
	return proc_run_capture(argv, out, OUTPUT_MAX, now_ms() + REDIS_CALL_MS) == 0;
}

static bool lastsave(struct strbuf *out, long long *t)
{
	if (!redis_call("LASTSAVE", out))
		return false;
	char *end;
	*t = strtoll(out->buf, &end, 10);
	return end != out->buf && (*end == '\n' || *end == '\0');
}

/* BGSAVE writes dump.rdb to a temporary file and renames it: waiting for
 * LASTSAVE to move makes the copy hold what redis had now. */
static void redis_save(const char *srv)
{
	char data[PATH_MAX];
	if (path_join(data, sizeof data, srv, "var/lib/redis") < 0 || !path_exists(data) ||
	    !path_exists(REDIS_SOCKET) || !path_exists(REDIS_CLI))
		return;
	struct strbuf out;
	sb_init(&out);
	long long before, now;
	if (!lastsave(&out, &before) || !redis_call("BGSAVE", &out)) {
		log_warnx("redis BGSAVE failed: %s; copying dump.rdb as it is", out.buf);
		sb_free(&out);
		return;
	}
	int64_t until = now_ms() + REDIS_SAVE_WAIT_MS;
	bool saved = false;
	while (!saved && now_ms() < until) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		saved = lastsave(&out, &now) && now != before;
	}
	if (!saved)
		log_warnx("redis did not finish BGSAVE within %d s; copying dump.rdb as it is",
			  REDIS_SAVE_WAIT_MS / 1000);
	sb_free(&out);
}

void snapshot_databases(const char *srv)
{
	bayes_sync(srv);
	redis_save(srv);
}
