/* master.cf. Postfix's stock services, none chrooted: in a container the
 * chroot adds nothing but copies of resolv.conf and friends to keep fresh.
 * Later images add their services to the table and their listeners here
 * (submission, smtps, amavis). The table is also the truth about which
 * transports exist (postfix_master.h): VIRTUAL_TRANSPORT is checked
 * against it. */
#include "config/postfix.h"
#include "config/postfix_master.h"

#include <stdio.h>

#include "authres/authres.h"
#include "common/common.h"
#include "config/filters.h"
#include "config/proxy.h"
#include "rspamd/rspamd.h"

/* One master.cf line (master(5)); `images`: the images that have it.
 * maxproc NULL: one process per amavis child (postfix_host.filter_children). */
struct master_service {
	const char *name, *type, *private_, *unpriv, *chroot, *wakeup, *maxproc, *command;
	unsigned images;
};

static const struct master_service services[] = {
	{"smtp", "inet", "n", "-", "n", "-", "-", "smtpd", IMAGES_ALL},
	{"pickup", "unix", "n", "-", "n", "60", "1", "pickup", IMAGES_ALL},
	{"cleanup", "unix", "n", "-", "n", "-", "0", "cleanup", IMAGES_ALL},
	{"qmgr", "unix", "n", "-", "n", "300", "1", "qmgr", IMAGES_ALL},
	{"tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr", IMAGES_ALL},
	{"rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite", IMAGES_ALL},
	{"bounce", "unix", "-", "-", "n", "-", "0", "bounce", IMAGES_ALL},
	{"defer", "unix", "-", "-", "n", "-", "0", "bounce", IMAGES_ALL},
	{"trace", "unix", "-", "-", "n", "-", "0", "bounce", IMAGES_ALL},
	{"verify", "unix", "-", "-", "n", "-", "1", "verify", IMAGES_ALL},
	{"flush", "unix", "n", "-", "n", "1000?", "0", "flush", IMAGES_ALL},
	{"proxymap", "unix", "-", "-", "n", "-", "-", "proxymap", IMAGES_ALL},
	{"proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap", IMAGES_ALL},
	{"smtp", "unix", "-", "-", "n", "-", "-", "smtp", IMAGES_ALL},
	{"relay", "unix", "-", "-", "n", "-", "-", "smtp\n  -o syslog_name=postfix/$service_name", IMAGES_ALL},
	{"showq", "unix", "n", "-", "n", "-", "-", "showq", IMAGES_ALL},
	{"error", "unix", "-", "-", "n", "-", "-", "error", IMAGES_ALL},
	{"retry", "unix", "-", "-", "n", "-", "-", "error", IMAGES_ALL},
	{"discard", "unix", "-", "-", "n", "-", "-", "discard", IMAGES_ALL},
	{"local", "unix", "-", "n", "n", "-", "-", "local", IMAGES_ALL},
	{"virtual", "unix", "-", "n", "n", "-", "-", "virtual", IMAGES_ALL},
	{"lmtp", "unix", "-", "-", "n", "-", "-", "lmtp", IMAGES_ALL},
	{"anvil", "unix", "-", "-", "n", "-", "1", "anvil", IMAGES_ALL},
	{"scache", "unix", "-", "-", "n", "-", "1", "scache", IMAGES_ALL},
	{"postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd", IMAGES_ALL},
	/* The client that hands mail to amavis (the amavis README's setup). */
	{"lmtp-amavis", "unix", "-", "-", "n", "-", NULL,
	 "lmtp\n"
	 "  -o syslog_name=postfix/amavis\n"
	 "  -o lmtp_data_done_timeout=1200\n"
	 "  -o lmtp_send_xforward_command=yes\n"
	 "  -o max_use=20\n"
	 "  -o lmtp_tls_security_level=none",
	 IMAGES_FULL},
};

/* Postfix's delivery agents (the programs of transport(5)'s transports):
 * a unix service running one of them is a transport. */
static bool is_transport(const struct master_service *m)
{
	static const char *const agents[] = {"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard"};
	if (strcmp(m->type, "unix") != 0)
		return false;
	size_t len = strcspn(m->command, " \n");
	for (size_t i = 0; i < ARRAY_LEN(agents); i++)
		if (strlen(agents[i]) == len && !memcmp(agents[i], m->command, len))
			return true;
	return false;
}

bool postfix_master_has_transport(enum image image, const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if ((services[i].images & IMAGE_BIT(image)) && is_transport(&services[i]) &&
		    strlen(services[i].name) == len && !memcmp(services[i].name, name, len))
			return true;
	return false;
}

void postfix_master_transports(enum image image, struct strbuf *out)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if ((services[i].images & IMAGE_BIT(image)) && is_transport(&services[i]))
			sb_addf(out, "%s%s", n++ ? ", " : "", services[i].name);
}

static void service_render(const struct master_service *m, const struct postfix_host *host,
			   struct strbuf *out)
{
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s ", m->name, m->type, m->private_, m->unpriv,
		m->chroot, m->wakeup);
	if (m->maxproc)
		sb_addf(out, "%-7s %s\n", m->maxproc, m->command);
	else
		sb_addf(out, "%-7d %s\n", host->filter_children, m->command);
}

/* Submission (587, STARTTLS) and SMTPS (465, implicit TLS): only with a
 * SASL method, TLS mandatory (1.2 or newer), AUTH only under TLS, and
 * nothing accepted from anyone who has not authenticated. */
static void submission_render(const char *name, bool wrapper, bool filters, int proxy_port,
			      struct strbuf *out)
{
	char listen[32];
	if (proxy_port)
		snprintf(listen, sizeof listen, PROXY_BACKEND_ADDR ":%d", proxy_port);
	else
		snprintf(listen, sizeof listen, "%s", name);
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", listen, "inet", "n", "-", "n", "-", "-",
		"smtpd");
	sb_addf(out, "  -o syslog_name=postfix/%s\n", name);
	if (proxy_port)
		sb_adds(out, "  -o smtpd_upstream_proxy_protocol=haproxy\n");
	if (wrapper)
		sb_adds(out, "  -o smtpd_tls_wrappermode=yes\n");
	sb_adds(out, "  -o smtpd_tls_security_level=encrypt\n"
		     "  -o smtpd_tls_protocols=>=TLSv1.2\n"
		     "  -o smtpd_tls_auth_only=yes\n"
		     "  -o smtpd_sasl_auth_enable=yes\n"
		     "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
		     "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
		     "  -o smtpd_reject_unlisted_recipient=no\n");
	if (filters) /* amavis's ORIGINATING door: DKIM-signed */
		sb_adds(out, "  -o content_filter=" AMAVIS_ORIGINATING_FILTER "\n");
}

/* A loopback listener for mail Postfix hands to itself: it trusts only
 * loopback and skips the checks already done on the way in. */
static void loopback_smtpd_render(int port, const char *name, const char *cleanup, struct strbuf *out)
{
	sb_addf(out, "127.0.0.1:%d inet n - n - - smtpd\n", port);
	sb_addf(out, "  -o syslog_name=postfix/%s\n", name);
	if (cleanup)
		sb_addf(out, "  -o cleanup_service_name=%s\n", cleanup);
	sb_adds(out, "  -o content_filter=\n"
		     "  -o receive_override_options=no_header_body_checks,no_unknown_recipient_checks,no_milters\n"
		     "  -o local_recipient_maps=\n"
		     "  -o relay_recipient_maps=\n"
		     "  -o smtpd_restriction_classes=\n"
		     "  -o smtpd_delay_reject=no\n"
		     "  -o smtpd_client_restrictions=permit_mynetworks,reject\n"
		     "  -o smtpd_helo_restrictions=\n"
		     "  -o smtpd_sender_restrictions=\n"
		     "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
		     "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
		     "  -o smtpd_data_restrictions=reject_unauth_pipelining\n"
		     "  -o smtpd_end_of_data_restrictions=\n"
		     "  -o mynetworks=127.0.0.0/8\n"
		     "  -o smtpd_error_sleep_time=0\n"
		     "  -o smtpd_soft_error_limit=1001\n"
		     "  -o smtpd_hard_error_limit=1000\n"
		     "  -o smtpd_client_connection_count_limit=0\n"
		     "  -o smtpd_client_connection_rate_limit=0\n"
		     "  -o smtpd_sasl_auth_enable=no\n"
		     "  -o smtpd_tls_security_level=none\n"
		     "  -o local_header_rewrite_clients=\n");
}

/* The listener that takes mail back from amavis (the amavis README's
 * Postfix setup; the client that hands it over is lmtp-amavis in the
 * table). Then the SRS loop: forwarded mail of outside senders leaves
 * through srs-forward to a listener whose cleanup asks PostSRSd for the
 * sender (and expands no alias again), so only mail leaving this host gets
 * an SRS0 sender; srs-forward is internal, not a transport to choose, so
 * it stays out of the table. Last, the SPF policy service. */
static void filters_render_master(const struct settings *s, const struct postfix_host *host,
				  struct strbuf *out)
{
	bool amavis = !host->rspamd;
	if (amavis) {
		loopback_smtpd_render(AMAVIS_REINJECT_PORT, "reinject", NULL, out);
		if (authres_enabled(s)) {
			loopback_smtpd_render(AMAVIS_OWN_REINJECT_PORT, "reinject", NULL, out);
			authres_master_reinject(out);
		}
	}
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "srs-forward", "unix", "-", "-", "n", "-",
		"-", "smtp");
	sb_adds(out, "  -o syslog_name=postfix/srs-forward\n"
		     "  -o smtp_tls_security_level=none\n"
		     "  -o smtp_tls_wrappermode=no\n"
		     "  -o smtp_sasl_auth_enable=no\n");
	loopback_smtpd_render(SRS_LOOP_PORT, "srs", "srs-cleanup", out);
	if (amavis)
		authres_master_seal(s, out);
	else if (!strcmp(s->value[V_ARC_SEAL], "yes") && !strcmp(s->value[V_AUTH_RESULTS], "yes"))
		/* rspamd seals on this pass (its settings.conf keys on the name). */
		sb_adds(out, "  -o receive_override_options=no_header_body_checks,no_unknown_recipient_checks\n"
			     "  -o smtpd_milters=unix:" RSPAMD_MILTER_SOCKET "\n"
			     "  -o milter_macro_daemon_name=arc-seal\n");
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "srs-cleanup", "unix", "n", "-", "n", "-", "0",
		"cleanup");
	sb_addf(out, "  -o sender_canonical_maps=regexp:" POSTFIX_DIR "/srs-keep,tcp:127.0.0.1:%d\n"
		     "  -o sender_canonical_classes=envelope_sender\n"
		     "  -o canonical_maps=\n"
		     "  -o recipient_canonical_maps=\n"
		     "  -o virtual_alias_maps=\n"
		     "  -o always_bcc=\n",
		SRS_FORWARD_PORT);
	if (!amavis)
		return; /* rspamd checks SPF */
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "policyd-spf", "unix", "-", "n", "n", "-", "0",
		"spawn");
	sb_adds(out, "  user=policyd-spf argv=/usr/bin/policyd-spf " POLICYD_SPF_CONF "\n");
}

void postfix_master_render(const struct settings *s, const struct postfix_host *host,
			   struct strbuf *out)
{
	sb_adds(out, "# Written by `mtactl config`; see master(5).\n"
		     "# service  type       private unpriv  chroot  wakeup  maxproc command\n");
	for (size_t i = 0; i < ARRAY_LEN(services); i++) {
		if (!(services[i].images & IMAGE_BIT(host->image)))
			continue;
		if (proxy_enabled(s) && !strcmp(services[i].name, "smtp") && !strcmp(services[i].type, "inet")) {
			/* PROXY mode: port 25 is the gate's, which passes each
			 * trusted connection on here with the client's address. */
			sb_addf(out, PROXY_BACKEND_ADDR ":%d inet n - n - - smtpd\n", PROXY_SMTP_PORT);
			sb_adds(out, "  -o smtpd_upstream_proxy_protocol=haproxy\n");
			continue;
		}
		service_render(&services[i], host, out);
		/* Mail submitted on this host (sendmail) is outgoing mail of ours:
		 * amavis's ORIGINATING door signs it. (XFORWARD carries no client
		 * address for it, so amavis's MYNETS bank would not see it.) */
		if (host->filters && !host->rspamd && !strcmp(services[i].name, "pickup"))
			sb_adds(out, "  -o content_filter=" AMAVIS_ORIGINATING_FILTER "\n");
	}
	if (settings_sasl_active(s)) {
		/* rspamd: the milter signs our users' mail on the way in */
		bool amavis = host->filters && !host->rspamd;
		bool proxy = proxy_enabled(s);
		submission_render("submission", false, amavis, proxy ? PROXY_SUBMISSION_PORT : 0, out);
		submission_render("smtps", true, amavis, proxy ? PROXY_SMTPS_PORT : 0, out);
	}
	if (host->filters)
		filters_render_master(s, host, out);
}
