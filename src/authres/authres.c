/* The configuration of inbound authentication (see authres.h). Where the
 * milter sits: smtpd_milters on every smtpd that takes mail from outside
 * (port 25; on 465/587 it only removes forged headers, {auth_authen} set),
 * on the SRS loop listener, where forwarded mail passes once, to seal, and
 * on the loopback listener amavis hands our own users' mail back to, where
 * it gets the DKIM result of amavis's fresh signature. Mail from outside
 * comes back from amavis on the other loopback listener, which has none. */
#include "authres/authres.h"

#include "common/common.h"
#include "config/filters.h"
#include "dkim/dkim.h"

static bool yes(const struct settings *s, enum var_id v)
{
	return !strcmp(s->value[v], "yes");
}

bool authres_enabled(const struct settings *s)
{
	return yes(s, V_AUTH_RESULTS);
}

static bool sealing(const struct settings *s)
{
	/* The seal carries our verification results: nothing to seal without. */
	return authres_enabled(s) && yes(s, V_ARC_SEAL);
}

void authres_main_params(const struct settings *s, struct params *p)
{
	if (!authres_enabled(s))
		return;
	params_set(p, "smtpd_milters", "unix:" AUTHMILTER_SOCKET);
	/* A milter that is down or stuck never stops mail (it arrives without
	 * our header then); its DNS is bounded to about 4 s per message (authmilter.py), so
	 * 20 s is a dead milter, not a slow one. */
	params_set(p, "milter_default_action", "accept");
	params_set(p, "milter_connect_timeout", "5s");
	params_set(p, "milter_command_timeout", "10s");
	params_set(p, "milter_content_timeout", "20s");
	if (yes(s, V_DMARC_ENFORCE))
		params_set(p, "milter_header_checks", "regexp:" AUTHRES_QUARANTINE_CHECKS);
}

/* Later -o win: milters on for a loopback listener (its other checks stay
 * off); the daemon name tells the milter which job it does there. */
static void milter_on_loopback(const char *job, struct strbuf *out)
{
	sb_addf(out, "  -o receive_override_options=no_header_body_checks,no_unknown_recipient_checks\n"
		     "  -o smtpd_milters=unix:" AUTHMILTER_SOCKET "\n"
		     "  -o milter_macro_daemon_name=%s\n",
		job);
}

void authres_master_seal(const struct settings *s, struct strbuf *out)
{
	if (sealing(s))
		milter_on_loopback("arc-seal", out);
}

void authres_master_reinject(struct strbuf *out)
{
	milter_on_loopback("reinject", out);
}

void authres_amavis(const struct settings *s, struct strbuf *out)
{
	if (!authres_enabled(s))
		return;
	/* amavis still verifies DKIM for SpamAssassin's rules, but the one
	 * Authentication-Results header is the milter's (RFC 8601: one per
	 * authserv-id). */
	sb_adds(out, "\n# Inbound authentication results come from authmilter, not from amavis.\n"
		     "$allowed_added_header_fields{lc('Authentication-Results')} = 0;\n");
	/* Our users' mail (submission, and this host's own: MYNETS) goes back
	 * to the listener where authmilter adds the dkim= result of the
	 * signature just made; mail from outside keeps the plain way back. */
	sb_addf(out, "# Our users' signed mail back to the listener with authmilter (dkim= result).\n"
		     "$policy_bank{'ORIGINATING'}{forward_method} = 'smtp:[127.0.0.1]:%d';\n"
		     "$policy_bank{'MYNETS'}{forward_method} = 'smtp:[127.0.0.1]:%d';\n",
		AMAVIS_OWN_REINJECT_PORT, AMAVIS_OWN_REINJECT_PORT);
	if (!yes(s, V_DMARC_ENFORCE))
		return;
	/* p=quarantine: Postfix hands the message to this door instead of the
	 * inbound one; everything that arrives here counts as spam above the
	 * kill level and is blocked, so it lands in the quarantine (amavis-ls,
	 * amavisd-release) whatever FINAL_SPAM_DESTINY says. Virus checks stay. */
	sb_adds(out, "# DMARC p=quarantine (authmilter's marker, milter_header_checks).\n"
		     "push @listen_sockets, '" AMAVIS_DMARC_QUARANTINE_SOCKET "';\n"
		     "$interface_policy{'" AMAVIS_DMARC_QUARANTINE_SOCKET "'} = 'DMARC_QUARANTINE';\n"
		     "$policy_bank{'DMARC_QUARANTINE'} = { protocol => 'LMTP',\n"
		     "  bypass_spam_checks_maps => [0], spam_lovers_maps => [0],\n"
		     "  spam_tag2_level_maps => [-999], spam_kill_level_maps => [-999],\n"
		     "  final_spam_destiny => D_DISCARD };\n");
}

void authres_policyd_spf(const struct settings *s, struct strbuf *out)
{
	/* It still refuses SPF fail at RCPT; the result is in our header. */
	if (authres_enabled(s))
		sb_adds(out, "Header_Type = None\n");
}

void authres_render(const struct settings *s, struct strbuf *conf, struct strbuf *checks)
{
	sb_init(conf);
	sb_init(checks);
	if (!authres_enabled(s))
		return;
	const char *primary = settings_primary_domain(s);
	/* The transports of mail delivered here (the name before the ':' of
	 * VIRTUAL_TRANSPORT): the reinject pass adds its results only for these
	 * recipients. */
	const char *vt = *s->value[V_VIRTUAL_TRANSPORT] ? s->value[V_VIRTUAL_TRANSPORT] : "virtual";
	char key[512];
	dkim_key_path(primary, s->value[V_DKIM_SELECTOR], key, sizeof key);
	sb_addf(conf, "# Written by `mtactl config`; read by authmilter (src/authmilter/).\n"
		      "[authmilter]\n"
		      "socket = " AUTHMILTER_SOCKET "\n"
		      "authserv_id = %s\n"
		      "dmarc_enforce = %s\n"
		      "arc_trusted_signers = %s\n"
		      "arc_seal = %s\n"
		      "seal_domain = %s\n"
		      "seal_selector = %s\n"
		      "seal_key = %s\n"
		      "local_transports = %.*s local\n",
		s->hostname, s->value[V_DMARC_ENFORCE], s->value[V_ARC_TRUSTED_SIGNERS],
		sealing(s) ? "yes" : "no", primary, s->value[V_DKIM_SELECTOR], key, (int)strcspn(vt, ":"), vt);
	if (yes(s, V_DMARC_ENFORCE))
		sb_adds(checks, "# Written by `mtactl config`: DMARC p=quarantine mail to amavis's quarantine door.\n"
				"/^X-Mtactl-DMARC-Quarantine:/ FILTER lmtp-amavis:unix:" AMAVIS_DMARC_QUARANTINE_SOCKET "\n");
}

void authres_services(const struct settings *s, struct strbuf *out)
{
	if (!authres_enabled(s))
		return;
	/* As amavis: it reads the DKIM key to seal, and its socket is in
	 * amavis's run directory, which postfix's group may use. */
	sb_adds(out, "authmilter - /usr/bin/setpriv --reuid=amavis --regid=amavis --init-groups "
		     "/usr/bin/python3 /usr/local/lib/mtactl/authmilter.py " AUTHMILTER_CONF "\n");
}
