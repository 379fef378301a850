/* `mtactl dhparam [bits]` (also `run update_postfix_dhparam [bits]`, the
 * old image's name): makes DH parameters for Postfix's EDH ciphers and
 * points smtpd_tls_dh1024_param_file at them. */
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/parse.h"
#include "tls/tls.h"

#define DH_DIR "/etc/ssl/postfix"

int tls_dhparam_main(int argc, char **argv)
{
	log_set_name("dhparam");
	unsigned long bits = 2048;
	if (argc > 2 || (argc == 2 && (!is_uint(argv[1], 8192, &bits) || bits < 1024))) {
		log_warnx("usage: mtactl dhparam [bits from 1024 to 8192, default 2048]");
		return EXIT_USAGE;
	}
	char file[128], param[160];
	snprintf(file, sizeof file, DH_DIR "/dh%lu.pem", bits);
	snprintf(param, sizeof param, "smtpd_tls_dh1024_param_file=%s", file);
	if (mkdir_p(DH_DIR, 0755) < 0)
		fatal(EXIT_SYSTEM, "creating %s", DH_DIR);
	log_info("making %lu-bit DH parameters in %s (this can take a minute)", bits, file);
	if (tls_make_dhparam(file, (int)bits) < 0)
		return EXIT_SYSTEM;
	char *postconf[] = {"postconf", "-e", param, NULL};
	int rc = proc_run(postconf, NULL);
	if (rc != 0) {
		log_warnx("postconf -e %s failed (exit %d)", param, rc);
		return EXIT_SYSTEM;
	}
	log_info("%s written; Postfix uses it from its next reload", file);
	return EXIT_OK;
}

/* `run FUNCTION ARGS`: the old image's utility; the functions people used. */
int run_main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "update_postfix_dhparam") ||
			  !strcmp(argv[1], "postfix_update_dhparam")))
		return tls_dhparam_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: run update_postfix_dhparam [bits]\n");
	return EXIT_USAGE;
}
