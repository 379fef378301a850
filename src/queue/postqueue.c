/* See postqueue.h. */
#include "queue/postqueue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/strbuf.h"

#define MASTER_PID_FILE "/var/spool/postfix/pid/master.pid"

void postqueue_each(const char *json_lines, size_t len, postqueue_msg_fn *fn, void *ctx)
{
	for (size_t pos = 0; pos < len;) {
		const char *line = json_lines + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		json_error_t err;
		json_t *msg = json_loadb(line, n, JSON_REJECT_DUPLICATES, &err);
		if (!msg)
			continue;
		if (json_is_object(msg))
			fn(msg, ctx);
		json_decref(msg);
	}
}

bool postqueue_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return true;
}

/* Postfix's master runs (its pid file names a live "master"): postqueue
 * would otherwise read the queue directory itself and log "Mail system
 * is down" warnings. A pid file left by a killed container may name a
 * pid that another program has now, hence the look at its name. */
bool postfix_up(void)
{
	struct strbuf text;
	sb_init(&text);
	bool up = false;
	if (file_read(MASTER_PID_FILE, &text, 64) >= 0) {
		unsigned long pid;
		char *end;
		errno = 0;
		pid = strtoul(text.buf, &end, 10);
		char comm_path[64], comm[32] = "";
		if (!errno && pid > 0 && end != text.buf &&
		    snprintf(comm_path, sizeof comm_path, "/proc/%lu/comm", pid) < (int)sizeof comm_path) {
			FILE *f = fopen(comm_path, "re");
			if (f) {
				up = fgets(comm, sizeof comm, f) && !strcmp(comm, "master\n");
				fclose(f);
			}
		}
	}
	sb_free(&text);
	return up;
}
