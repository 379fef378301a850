/* The image carries rspamd's hyperscan databases of the URL TLDs, stop
 * words and regexp maps gzipped (the Dockerfile compiles them): without
 * them rspamd's main process compiles them at its first start, a minute of
 * CPU and some 200 MB of heap that it keeps until it restarts. They go to
 * /var/lib/rspamd (the volume) when missing there, at every start, so a new
 * or emptied volume gets them too. */
#include "rspamd/hscache.h"

#include <dirent.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/fileio.h"
#include "common/proc.h"

static bool join(char *out, size_t size, const char *dir, const char *name, size_t name_len)
{
	int n = snprintf(out, size, "%s/%.*s", dir, (int)name_len, name);
	return n > 0 && (size_t)n < size;
}

void rspamd_hs_cache_seed(void)
{
	DIR *d = opendir(RSPAMD_HS_SEED_DIR);
	if (!d)
		return; /* not the rspamd image */
	struct passwd *pw = getpwnam("_rspamd");
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len <= 3 || strcmp(e->d_name + len - 3, ".gz") != 0)
			continue;
		char src[PATH_MAX], dst[PATH_MAX];
		if (!join(src, sizeof src, RSPAMD_HS_SEED_DIR, e->d_name, len) ||
		    !join(dst, sizeof dst, RSPAMD_HS_CACHE_DIR, e->d_name, len - 3) || path_exists(dst))
			continue;
		struct strbuf data;
		sb_init(&data);
		char *argv[] = {"gzip", "-dc", src, NULL};
		if (proc_run(argv, &data) != 0 || file_write_atomic(dst, data.buf, data.len, 0644) < 0 ||
		    (pw && chown(dst, pw->pw_uid, pw->pw_gid) < 0))
			log_warnx("could not put back %s: rspamd compiles it at its start", dst);
		sb_free(&data);
	}
	closedir(d);
}
