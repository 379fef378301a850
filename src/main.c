/* mtactl: one multi-call program for the container. This file only
 * dispatches: `mtactl SUBCOMMAND ...`, or by the name it was called as. */
#include <stdio.h>
#include <string.h>

#include "acme/acme.h"
#include "backup/backup.h"
#include "clamav/clamav.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "config/engine.h"
#include "config/envlist.h"
#include "deliverability/records.h"
#include "dmarc/reports.h"
#include "dkim/dkim.h"
#include "doctor/doctor.h"
#include "gate/gate.h"
#include "health/health.h"
#include "init/init.h"
#include "init/socket_wait.h"
#include "learn/learn.h"
#include "metrics/metrics.h"
#include "quarantine/bounce_watch.h"
#include "quarantine/quarantine.h"
#include "queue/filter_watch.h"
#include "outbound/outbound.h"
#include "spamd/learn.h"
#include "syslog/syslog.h"
#include "tls/tls.h"

#ifndef MTACTL_VERSION
#define MTACTL_VERSION "unknown" /* built without src/c.mk, which reads VERSION */
#endif

static int version_main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl version | mtactl --version\n");
		return EXIT_USAGE;
	}
	if (printf("%s\n", MTACTL_VERSION) < 0 || fflush(stdout) == EOF)
		return EXIT_SYSTEM;
	return EXIT_OK;
}

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"amavis-ls", amavis_ls_main, "list the quarantine (the old image's name)"},
	{"acme", acme_main, "install this host's certificate from ACME_FILE (extract), or keep doing so (watch)"},
	{"backup", backup_main, "copy /srv online into DIR with a manifest (--verify DIR: check a backup)"},
	{"clamav-wait", clamav_wait_main, "run a program (clamd) once DIR holds a ClamAV database"},
	{"config", config_main, "write the configuration from the environment (--check: only validate; --reload: apply the list files again)"},
	{"dhparam", tls_dhparam_main, "make DH parameters for Postfix (default 2048 bits)"},
	{"dkim", dkim_main, "print the DKIM DNS record (txt) or make a new key (genkey)"},
	{"dmarc-reports", dmarc_reports_main, "send rspamd's DMARC aggregate reports daily (--now: at once)"},
	{"dns", dns_main, "print the DNS records to publish for every served domain (--zone: as zone-file lines)"},
	{"doctor", doctor_main, "check DNS, TLS and relaying from outside; exit 0 ok, 1 warnings, 2 failures"},
	{"env", envlist_main, "list the configuration variables (--markdown for the README)"},
	{"filter-watch", filter_watch_main, "deliver mail deferred while the content filter was down once it answers"},
	{"freshclam", freshclam_main, "update the ClamAV database now and then, one log line a run"},
	{"gate", gate_main, "relay trusted peers to Postfix/Dovecot with a PROXY v1 line naming the client (GATE_CONF)"},
	{"health", health_main, "probe services and the SMTP banner; exit 0 when healthy"},
	{"init", init_main, "PID 1: configure, run hooks, supervise the services"},
	{"learn", learn_main, "learn a message FILE as spam or ham (rspamc or sa-learn): learn spam|ham FILE"},
	{"metrics", metrics_main, "serve Prometheus metrics on METRICS_LISTEN (a service init starts)"},
	{"quarantine", quarantine_main, "ls: list the quarantine; release ID...: deliver it after all"},
	{"quarantine-bounce", quarantine_bounce_main, "send a DSN for each held message whose destiny is D_BOUNCE"},
	{"razor-register", razor_register_main, "register RAZOR_REGISTRATION's Razor identity once"},
	{"restore", restore_main, "restore a backup DIR into a fresh volume on /srv before its first start"},
	{"run", run_main, "the old image's utility: run update_postfix_dhparam [bits]"},
	{"socket-wait", socket_wait_main, "run a program once a UNIX socket accepts connections (bounded)"},
	{"spamd-learn", spamd_learn_main, "learn kopano-spamd's spam/ and ham/ files (as mtactl learn)"},
	{"syslog", syslog_main, "receive /dev/log and write it to stdout, filtered by SYSLOG_LEVEL"},
	{"tls-policy", tls_policy_main, "TLS policy socketmap: DANE where TLSA records exist, else MTA-STS"},
	{"version", version_main, "print the release (also --version)"},
};

static void usage(void)
{
	fprintf(stderr, "usage: mtactl SUBCOMMAND [ARGS]\n");
	for (size_t i = 0; i < ARRAY_LEN(subcommands); i++)
		fprintf(stderr, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(subcommands); i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *called = argc > 0 ? strrchr(argv[0], '/') : NULL;
	called = called ? called + 1 : (argc > 0 ? argv[0] : "mtactl");
	const struct subcommand *sc = find(called);
	if (sc)
		return sc->main(argc, argv);
	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	sc = find(strcmp(argv[1], "--version") ? argv[1] : "version");
	if (!sc) {
		fprintf(stderr, "mtactl: unknown subcommand \"%s\"\n", argv[1]);
		usage();
		return EXIT_USAGE;
	}
	return sc->main(argc - 1, argv + 1);
}
