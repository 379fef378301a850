/* master.cf. Postfix's stock services, none chrooted: in a container the
 * chroot adds nothing but copies of resolv.conf and friends to keep fresh.
 * Later stages add their listeners here (submission, smtps, amavis). */
#include "config/postfix.h"

#include "common/common.h"
#include "config/filters.h"

struct master_service {
	const char *name, *type, *private_, *unpriv, *chroot, *wakeup, *maxproc, *command;
};

static const struct master_service stock[] = {
	{"smtp", "inet", "n", "-", "n", "-", "-", "smtpd"},
	{"pickup", "unix", "n", "-", "n", "60", "1", "pickup"},
	{"cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"},
	{"qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"},
	{"tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"},
	{"rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"},
	{"bounce", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"defer", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"trace", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"verify", "unix", "-", "-", "n", "-", "1", "verify"},
	{"flush", "unix", "n", "-", "n", "1000?", "0", "flush"},
	{"proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"},
	{"proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"},
	{"smtp", "unix", "-", "-", "n", "-", "-", "smtp"},
	{"relay", "unix", "-", "-", "n", "-", "-", "smtp\n  -o syslog_name=postfix/$service_name"},
	{"showq", "unix", "n", "-", "n", "-", "-", "showq"},
	{"error", "unix", "-", "-", "n", "-", "-", "error"},
	{"retry", "unix", "-", "-", "n", "-", "-", "error"},
	{"discard", "unix", "-", "-", "n", "-", "-", "discard"},
	{"local", "unix", "-", "n", "n", "-", "-", "local"},
	{"virtual", "unix", "-", "n", "n", "-", "-", "virtual"},
	{"lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"},
	{"anvil", "unix", "-", "-", "n", "-", "1", "anvil"},
	{"scache", "unix", "-", "-", "n", "-", "1", "scache"},
	{"postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"},
};

static void service_render(const struct master_service *m, struct strbuf *out)
{
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", m->name, m->type, m->private_,
		m->unpriv, m->chroot, m->wakeup, m->maxproc, m->command);
}

/* Submission (587, STARTTLS) and SMTPS (465, implicit TLS): only with a
 * SASL method, TLS mandatory (1.2 or newer), AUTH only under TLS, and
 * nothing accepted from anyone who has not authenticated. */
static void submission_render(const char *name, bool wrapper, bool filters, struct strbuf *out)
{
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", name, "inet", "n", "-", "n", "-", "-",
		"smtpd");
	sb_addf(out, "  -o syslog_name=postfix/%s\n", name);
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

/* amavis's two sides (the amavis README's Postfix setup): the client that
 * hands mail over, and the listener that takes it back. Then the SRS loop:
 * forwarded mail of outside senders leaves through srs-forward to a
 * listener whose cleanup asks PostSRSd for the sender (and expands no
 * alias again), so only mail leaving this host gets an SRS0 sender. */
static void filters_render_master(const struct postfix_host *host, struct strbuf *out)
{
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7d %s\n", "lmtp-amavis", "unix", "-", "-", "n", "-",
		host->filter_children, "lmtp");
	sb_adds(out, "  -o syslog_name=postfix/amavis\n"
		     "  -o lmtp_data_done_timeout=1200\n"
		     "  -o lmtp_send_xforward_command=yes\n"
		     "  -o max_use=20\n"
		     "  -o lmtp_tls_security_level=none\n");
	loopback_smtpd_render(AMAVIS_REINJECT_PORT, "reinject", NULL, out);
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "srs-forward", "unix", "-", "-", "n", "-",
		"-", "smtp");
	sb_adds(out, "  -o syslog_name=postfix/srs-forward\n"
		     "  -o smtp_tls_security_level=none\n"
		     "  -o smtp_tls_wrappermode=no\n"
		     "  -o smtp_sasl_auth_enable=no\n");
	loopback_smtpd_render(SRS_LOOP_PORT, "srs", "srs-cleanup", out);
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "srs-cleanup", "unix", "n", "-", "n", "-", "0",
		"cleanup");
	sb_addf(out, "  -o sender_canonical_maps=regexp:" POSTFIX_DIR "/srs-keep,tcp:127.0.0.1:%d\n"
		     "  -o sender_canonical_classes=envelope_sender\n"
		     "  -o canonical_maps=\n"
		     "  -o recipient_canonical_maps=\n"
		     "  -o virtual_alias_maps=\n"
		     "  -o always_bcc=\n",
		SRS_FORWARD_PORT);
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", "policyd-spf", "unix", "-", "n", "n", "-", "0",
		"spawn");
	sb_adds(out, "  user=policyd-spf argv=/usr/bin/policyd-spf " POLICYD_SPF_CONF "\n");
}

void postfix_master_render(const struct settings *s, const struct postfix_host *host,
			   struct strbuf *out)
{
	sb_adds(out, "# Written by `mtactl config`; see master(5).\n"
		     "# service  type       private unpriv  chroot  wakeup  maxproc command\n");
	for (size_t i = 0; i < ARRAY_LEN(stock); i++) {
		service_render(&stock[i], out);
		/* Mail submitted on this host (sendmail) is outgoing mail of ours:
		 * amavis's ORIGINATING door signs it. (XFORWARD carries no client
		 * address for it, so amavis's MYNETS bank would not see it.) */
		if (host->filters && !strcmp(stock[i].name, "pickup"))
			sb_adds(out, "  -o content_filter=" AMAVIS_ORIGINATING_FILTER "\n");
	}
	if (settings_sasl_active(s)) {
		submission_render("submission", false, host->filters, out);
		submission_render("smtps", true, host->filters, out);
	}
	if (host->filters)
		filters_render_master(host, out);
}
