/* Every start, before the services: with DNS_RESOLVER=unbound, an unbound
 * on 127.0.0.1 that recurses from the root with Debian's trust anchor
 * (dns-root-data) and is every service's resolver (/etc/resolv.conf);
 * then the outbound TLS level: dane when the resolver validates DNSSEC,
 * else may, unless SMTP_TLS_SECURITY_LEVEL or a hand edit of main.cf
 * fixed it. Failures here are warnings: mail still flows with may. */
#include "outbound/outbound.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/vars.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define MAIN_CF "/etc/postfix/main.cf"

static bool unbound_wanted(void)
{
	return !strcmp(var_env(V_DNS_RESOLVER), "unbound") && path_exists("/usr/sbin/unbound");
}

/* Docker bind-mounts /etc/resolv.conf: it is rewritten in place, since a
 * rename onto a mount point fails. */
static int write_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = fd_write_all(fd, text, strlen(text));
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

void outbound_resolver_prepare(void)
{
	if (!unbound_wanted())
		return;
	static const char conf[] =
		"# Written by mtactl init at every start (DNS_RESOLVER=unbound).\n"
		"server:\n"
		"    interface: 127.0.0.1\n    port: 53\n    do-ip6: no\n"
		"    access-control: 127.0.0.0/8 allow\n"
		"    username: \"unbound\"\n    chroot: \"\"\n    directory: \"/run/mtactl\"\n"
		"    pidfile: \"\"\n    use-syslog: yes\n    verbosity: 0\n    num-threads: 1\n"
		"    root-hints: \"/usr/share/dns/root.hints\"\n"
		"    trust-anchor-file: \"/usr/share/dns/root.key\"\n"
		"    module-config: \"validator iterator\"\n"
		"    qname-minimisation: yes\n    harden-dnssec-stripped: yes\n"
		"remote-control:\n    control-enable: no\n";
	if (mkdir_p("/run/mtactl", 0755) < 0 ||
	    file_write_atomic(UNBOUND_CONF, conf, sizeof conf - 1, 0644) < 0) {
		log_warn("writing %s", UNBOUND_CONF);
		return;
	}
	/* RES_OPTIONS here too, so that `docker exec` tools are bounded as the
	 * services are (they get it from init's environment). */
	struct strbuf text;
	sb_init(&text);
	const char *options = var_env(V_RES_OPTIONS);
	sb_addf(&text, "# DNS_RESOLVER=unbound: the validating resolver in this container.\n"
		       "nameserver 127.0.0.1\noptions %s edns0%s\n", options,
		strstr(options, "trust-ad") ? "" : " trust-ad");
	if (write_in_place(RESOLV_CONF, text.buf) < 0)
		log_warn("writing %s", RESOLV_CONF);
	sb_free(&text);
}

static void trim(struct strbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' '))
		sb->buf[--sb->len] = '\0';
}

static int postconf_get(const char *name, struct strbuf *out)
{
	char *argv[] = {"postconf", "-h", (char *)name, NULL};
	sb_reset(out);
	int rc = proc_run(argv, out);
	trim(out);
	return rc;
}

static const char how_to_get_dane[] =
	"for DANE run the container with a validating resolver (docker run --dns) or DNS_RESOLVER=unbound";

static void level_apply(enum dnssec_verdict verdict, bool unbound)
{
	struct strbuf level, current;
	sb_init(&level);
	sb_init(&current);
	const char *why = unbound ? "DNS_RESOLVER=unbound validates DNSSEC from the root trust anchor"
				  : dnssec_verdict_reason(verdict);
	if (postconf_get("smtp_tls_security_level", &level) != 0) {
		log_warnx("outbound TLS: postconf failed; the level stays as main.cf has it");
	} else if (strcmp(level.buf, "$" OUTBOUND_AUTO_PARAM) != 0) {
		/* Fixed by SMTP_TLS_SECURITY_LEVEL or by hand: say so, and warn
		 * when it asks for DANE that this resolver cannot give. */
		bool dane = !strncmp(level.buf, "dane", 4);
		if (dane && verdict != DNSSEC_VALIDATED)
			log_warnx("outbound TLS: %s, but %s: TLSA records are not used; %s", level.buf, why,
				  how_to_get_dane);
		else
			log_info("outbound TLS: %s (set by SMTP_TLS_SECURITY_LEVEL or main.cf)", level.buf);
	} else {
		const char *chosen = verdict == DNSSEC_VALIDATED ? "dane" : "may";
		if (postconf_get(OUTBOUND_AUTO_PARAM, &current) != 0 || strcmp(current.buf, chosen) != 0) {
			struct strbuf arg;
			sb_init(&arg);
			sb_addf(&arg, OUTBOUND_AUTO_PARAM "=%s", chosen);
			char *argv[] = {"postconf", "-e", arg.buf, NULL};
			if (proc_run(argv, NULL) != 0)
				log_warnx("outbound TLS: postconf -e %s failed", arg.buf);
			else if (file_backdate(MAIN_CF) < 0)
				log_warn("setting the time of %s", MAIN_CF);
			sb_free(&arg);
		}
		if (verdict == DNSSEC_VALIDATED)
			log_info("outbound TLS: dane, since %s: destinations with TLSA records get verified TLS, "
				 "the others opportunistic TLS", why);
		else
			log_info("outbound TLS: may (opportunistic), since %s; %s", why, how_to_get_dane);
	}
	sb_free(&level);
	sb_free(&current);
}

void outbound_level_start(struct outbound_level *l)
{
	int fds[2];
	l->pid = -1;
	l->go_fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("outbound TLS: pipe");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("outbound TLS: fork");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[1]);
		bool unbound = unbound_wanted(); /* it validates, by its configuration */
		enum dnssec_verdict verdict = unbound ? DNSSEC_VALIDATED : dnssec_probe();
		char go;
		ssize_t n;
		while ((n = read(fds[0], &go, 1)) < 0 && errno == EINTR)
			;
		if (n == 1) /* else init stopped before the services (bad input) */
			level_apply(verdict, unbound);
		_exit(0);
	}
	close(fds[0]);
	l->pid = pid;
	l->go_fd = fds[1];
}

void outbound_level_go(struct outbound_level *l)
{
	if (l->go_fd < 0)
		return;
	if (fd_write_all(l->go_fd, "1", 1) < 0)
		log_warn("outbound TLS: starting the level check");
	close(l->go_fd);
	l->go_fd = -1;
}
