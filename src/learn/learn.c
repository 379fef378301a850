/* Bayes learning through rspamc or sa-learn (see learn.h). */
#include "learn/learn.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"

/* A learner that takes longer than this is stuck (rspamd down, redis gone). */
#define LEARN_TIMEOUT_MS 60000
#define LEARN_OUTPUT_MAX 16384
#define WHY_MAX 200

enum learn_backend learn_backend(void)
{
	if (path_exists(RSPAMC_PATH))
		return LEARN_RSPAMC;
	if (path_exists(SA_LEARN_PATH))
		return LEARN_SA_LEARN;
	return LEARN_NONE;
}

const char *learn_backend_name(enum learn_backend b)
{
	switch (b) {
	case LEARN_RSPAMC:
		return "rspamc";
	case LEARN_SA_LEARN:
		return "sa-learn";
	case LEARN_NONE:
		break;
	}
	return "no learner";
}

static enum learn_result classify_sa_learn(int status, const char *output)
{
	if (status != 0)
		return LEARN_FAILED;
	const char *p = strstr(output, "Learned tokens from ");
	if (!p)
		return LEARN_FAILED;
	p += strlen("Learned tokens from ");
	unsigned long learned, examined;
	int used = 0;
	/* "N message(s) (M message(s) examined)"; M = 0: nothing it could read. */
	if (sscanf(p, "%lu message(s) (%lu message(s) examined)%n", &learned, &examined, &used) != 2 ||
	    used == 0 || examined == 0)
		return LEARN_FAILED;
	return learned > 0 ? LEARN_LEARNED : LEARN_ALREADY;
}

enum learn_result learn_classify(enum learn_backend b, int status, const char *output)
{
	switch (b) {
	case LEARN_RSPAMC:
		/* The controller answers 208 for a known message; rspamc's own exit
		 * status for it differs between versions, the text does not. */
		if (strstr(output, "already learned"))
			return LEARN_ALREADY;
		return status == 0 && strstr(output, "success = true") ? LEARN_LEARNED : LEARN_FAILED;
	case LEARN_SA_LEARN:
		return classify_sa_learn(status, output);
	case LEARN_NONE:
		break;
	}
	return LEARN_FAILED;
}

/* The learner's reason, printable, bounded: rspamc's `error = "...";`
 * line (it exits 0 even then: "contains less tokens than required"), else
 * the last non-empty line of the output. */
static void last_line(const char *output, struct strbuf *why)
{
	const char *err = strstr(output, "error = ");
	if (err) {
		const char *eol = strchr(err, '\n');
		output = err;
		if (eol) {
			size_t n = 0;
			for (const char *p = err; p < eol && n < WHY_MAX; p++, n++)
				sb_addc(why, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
			return;
		}
	}
	const char *end = output + strlen(output);
	while (end > output && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > output && start[-1] != '\n')
		start--;
	if (start == end) {
		sb_adds(why, "no output");
		return;
	}
	size_t n = 0;
	for (const char *p = start; p < end && n < WHY_MAX; p++, n++)
		sb_addc(why, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
}

static int run_learner(enum learn_backend b, const char *kind, int fd, struct strbuf *out)
{
	int64_t deadline = now_ms() + LEARN_TIMEOUT_MS;
	if (b == LEARN_RSPAMC) {
		char cmd[16];
		snprintf(cmd, sizeof cmd, "learn_%s", kind);
		char *argv[] = {RSPAMC_PATH, "-h", RSPAMD_CONTROLLER_SOCK, "-t", "30", cmd, NULL};
		return proc_run_capture_in(argv, fd, out, LEARN_OUTPUT_MAX, deadline);
	}
	/* sa-learn as amavis with amavis's home: the Bayes database amavis reads. */
	struct passwd *pw = getpwnam("amavis");
	if (!pw) {
		sb_adds(out, "no amavis user");
		return -1;
	}
	char home[512], opt[16];
	if (snprintf(home, sizeof home, "HOME=%s", pw->pw_dir) >= (int)sizeof home) {
		sb_adds(out, "amavis's home directory name is too long");
		return -1;
	}
	snprintf(opt, sizeof opt, "--%s", kind);
	char *argv[] = {"/usr/bin/setpriv", "--reuid=amavis", "--regid=amavis", "--clear-groups",
			"/usr/bin/env", home, SA_LEARN_PATH, opt, "-", NULL};
	return proc_run_capture_in(argv, fd, out, LEARN_OUTPUT_MAX, deadline);
}

enum learn_result learn_file(const char *kind, const char *path, struct strbuf *why)
{
	enum learn_backend b = learn_backend();
	if (b == LEARN_NONE) {
		sb_adds(why, "neither rspamc nor sa-learn is installed in this image");
		return LEARN_FAILED;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sb_addf(why, "cannot read %s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return LEARN_FAILED;
	}
	struct strbuf out;
	sb_init(&out);
	int rc = run_learner(b, kind, fd, &out);
	close(fd);
	enum learn_result r = learn_classify(b, rc, out.buf);
	if (r == LEARN_FAILED) {
		if (rc == PROC_TIMED_OUT)
			sb_addf(why, "%s gave no answer in %d s", learn_backend_name(b), LEARN_TIMEOUT_MS / 1000);
		else {
			sb_addf(why, "%s exit %d: ", learn_backend_name(b), rc);
			last_line(out.buf, why);
		}
	}
	sb_free(&out);
	return r;
}

int learn_main(int argc, char **argv)
{
	log_set_name("learn");
	if (argc != 3 || (strcmp(argv[1], "spam") && strcmp(argv[1], "ham"))) {
		fprintf(stderr, "usage: mtactl learn spam|ham FILE\n");
		return EXIT_USAGE;
	}
	const char *kind = argv[1], *path = argv[2];
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "mtactl learn: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "mtactl learn: %s: not a regular file\n", path);
		return EXIT_USAGE;
	}
	struct strbuf why;
	sb_init(&why);
	enum learn_result r = learn_file(kind, path, &why);
	int code = EXIT_OK;
	switch (r) {
	case LEARN_LEARNED:
		printf("learned %s as %s (%s)\n", path, kind, learn_backend_name(learn_backend()));
		break;
	case LEARN_ALREADY:
		printf("%s was already learned as %s (%s)\n", path, kind, learn_backend_name(learn_backend()));
		break;
	case LEARN_FAILED:
		fprintf(stderr, "mtactl learn: learning %s as %s failed: %s\n", path, kind, why.buf);
		code = EXIT_SYSTEM;
		break;
	}
	sb_free(&why);
	if (fflush(stdout) == EOF)
		return EXIT_SYSTEM;
	return code;
}
