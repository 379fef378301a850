/* Bayes learning with whichever filter the image has: rspamd (rspamc
 * through the controller's UNIX socket, into redis) or amavis's
 * SpamAssassin (sa-learn as the amavis user, into its Bayes database).
 * `mtactl learn spam|ham FILE` (operators) and the kopano-spamd watcher
 * (src/spamd/learn.c) both come here, so the two images learn alike. */
#ifndef MTACTL_LEARN_H
#define MTACTL_LEARN_H

#include <stdbool.h>

#include "common/strbuf.h"

#define RSPAMC_PATH "/usr/bin/rspamc"
#define SA_LEARN_PATH "/usr/bin/sa-learn"
#define RSPAMD_CONTROLLER_SOCK "/run/rspamd/controller.sock"

enum learn_backend { LEARN_NONE, LEARN_RSPAMC, LEARN_SA_LEARN };

enum learn_result {
	LEARN_LEARNED,  /* the message's tokens went into the database */
	LEARN_ALREADY,  /* learned as this kind before: nothing to do */
	LEARN_FAILED,   /* the learner said no or could not run */
};

/* rspamc when installed (the rspamd image), else sa-learn, else none. */
enum learn_backend learn_backend(void);
const char *learn_backend_name(enum learn_backend b);

/* What the learner's exit status and output (stdout and stderr) mean.
 * rspamc prints "success = true;" when learned and `error = "<id> has been
 * already learned as spam, ignore it";` for a known message (exit 0 for
 * both, and for "contains less tokens than required"); sa-learn
 * prints "Learned tokens from N message(s) (M message(s) examined)",
 * N = 0 for a known one. */
enum learn_result learn_classify(enum learn_backend b, int status, const char *output);

/* Learns the message in the file as kind ("spam" or "ham"); root opens it
 * and the learner reads it on stdin, so its owner and mode do not matter.
 * why gets one line on failure (the learner's last line of output). */
enum learn_result learn_file(const char *kind, const char *path, struct strbuf *why);

/* `mtactl learn spam|ham FILE`: one line of output; exit 0 learned or
 * already known, 100 bad usage or no such file, 111 the learner failed. */
int learn_main(int argc, char **argv);

#endif
