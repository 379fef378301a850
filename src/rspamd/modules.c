/* rspamd's modules: Bayes, ClamAV, the destinies (force_actions), DKIM and
 * ARC signing, DMARC, and the settings that keep our own mail from being
 * judged as inbound. */
#include "rspamd/rspamd.h"

#include <string.h>

#include "common/common.h"
#include "config/filters.h"
#include "dkim/dkim.h"

static bool yes(const struct settings *s, enum var_id v)
{
	return !strcmp(s->value[v], "yes");
}

static void render_bayes(struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/classifier-bayes.conf", 0644)->text;
	sb_adds(t, "# Bayes in redis (redis.conf); kopano's spam/ and ham/ and `mtactl learn`\n"
		   "# feed it through the controller socket.\n"
		   "backend = \"redis\";\n"
		   "# SpamAssassin's autolearn thresholds (bayes_auto_learn_threshold_*).\n"
		   "autolearn = [0.1, 12.0];\n");
	t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/greylist.conf", 0644)->text;
	sb_adds(t, "# No greylisting (actions.conf): the module would still keep data in redis.\n"
		   "enabled = false;\n");
}

/* Modules that ask servers on the Internet for every message or at start
 * (rspamd.com's ASN zone and fuzzy servers): off, so an offline host or a
 * resolver outage gives no error per message; their scores are small. */
static void render_offline(struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/asn.conf", 0644)->text;
	sb_adds(t, "enabled = false;\n");
	t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/fuzzy_check.conf", 0644)->text;
	sb_adds(t, "enabled = false;\n");
}

static void render_antivirus(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/antivirus.conf", 0644)->text;
	if (!yes(s, V_CLAMAV_DAEMON)) {
		sb_adds(t, "# CLAMAV_DAEMON=no: no virus scanning.\n");
		return;
	}
	sb_adds(t, "clamav {\n"
		   "  type = \"clamav\";\n"
		   "  servers = \"" CLAMD_SOCKET "\";\n"
		   "  symbol = \"CLAM_VIRUS\";\n"
		   "  # The whole message, once: clamd decodes MIME (ScanMail) and unpacks\n"
		   "  # archives (ScanArchive) itself, so EICAR in a zip is found too.\n"
		   "  scan_mime_parts = false;\n"
		   "  # Bounded below task_timeout; a failure is CLAM_VIRUS_FAIL, which\n"
		   "  # force_actions.conf turns into 4xx (never delivered unscanned).\n"
		   "  timeout = 3s;\n"
		   "  retransmits = 1;\n"
		   "  log_clean = false;\n"
		   "}\n");
}

/* One force_actions rule for a kind of blocked mail with its destiny. */
static void force_rule(struct strbuf *t, const char *name, const char *expression, const char *destiny,
		       const char *reason)
{
	if (!strcmp(destiny, "D_PASS"))
		return; /* delivered with the headers (milter_headers.conf) */
	sb_addf(t, "  %s {\n    expression = \"%s\";\n", name, expression);
	if (!strcmp(destiny, "D_REJECT"))
		sb_addf(t, "    action = \"reject\";\n    message = \"Message refused: %s\";\n", reason);
	else /* held in Postfix's hold queue; D_BOUNCE's DSN comes from mtactl */
		sb_adds(t, "    action = \"quarantine\";\n");
	sb_adds(t, "  }\n");
}

static void render_force_actions(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/force_actions.conf", 0644)->text;
	sb_adds(t, "# FINAL_*_DESTINY: D_REJECT is a 5xx at the end of DATA, D_DISCARD and\n"
		   "# D_BOUNCE hold the mail (the milter's quarantine), D_PASS has no rule.\n"
		   "rules {\n");
	if (yes(s, V_CLAMAV_DAEMON)) {
		force_rule(t, "MTACTL_VIRUS", "CLAM_VIRUS", s->value[V_FINAL_VIRUS_DESTINY], "virus found");
		sb_adds(t, "  # clamd down or stuck: the sender retries later.\n"
			   "  MTACTL_AV_FAIL {\n    expression = \"CLAM_VIRUS_FAIL\";\n"
			   "    action = \"soft reject\";\n"
			   "    message = \"Virus scanner unavailable, try again later\";\n  }\n");
	}
	force_rule(t, "MTACTL_BANNED", "MTACTL_BANNED", s->value[V_FINAL_BANNED_DESTINY],
		   "banned attachment");
	force_rule(t, "MTACTL_BAD_HEADER",
		   "BROKEN_HEADERS | MULTIPLE_UNIQUE_HEADERS | INVALID_FROM_8BIT | INVALID_RCPT_8BIT",
		   s->value[V_FINAL_BAD_HEADER_DESTINY], "bad header");
	if (yes(s, V_DMARC_ENFORCE) && yes(s, V_AUTH_RESULTS)) {
		sb_adds(t, "  # DMARC_ENFORCE: the sender domain's policy, unless a trusted\n"
			   "  # forwarder's valid ARC chain vouches for the mail (ARC_TRUSTED_SIGNERS).\n"
			   "  MTACTL_DMARC_REJECT {\n"
			   "    expression = \"DMARC_POLICY_REJECT & !MTACTL_ARC_TRUSTED\";\n"
			   "    action = \"reject\";\n"
			   "    message = \"Message refused: DMARC policy of the sender domain\";\n  }\n"
			   "  MTACTL_DMARC_QUARANTINE {\n"
			   "    expression = \"DMARC_POLICY_QUARANTINE & !MTACTL_ARC_TRUSTED\";\n"
			   "    action = \"quarantine\";\n  }\n");
	}
	sb_adds(t, "}\n");
}

/* Signing with the same key files as full (DOMAIN.SELECTOR.privkey.pem). */
static void signing_domains(const struct settings *s, struct strbuf *t)
{
	sb_adds(t, "# Only our domains, each with its key; others are not signed.\n"
		   "try_fallback = false;\n"
		   "domain {\n");
	for (size_t i = 0; i < s->domains.len; i++) {
		char key[512];
		dkim_key_path(s->domains.item[i], s->value[V_DKIM_SELECTOR], key, sizeof key);
		sb_addf(t, "  \"%s\" {\n    path = \"%s\";\n    selector = \"%s\";\n  }\n",
			s->domains.item[i], key, s->value[V_DKIM_SELECTOR]);
	}
	sb_adds(t, "}\n");
}

static void render_signing(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/dkim_signing.conf", 0644)->text;
	sb_adds(t, "# Our users' mail (SASL) and mail from this host (sendmail, pickup),\n"
		   "# never what arrives from outside.\n"
		   "sign_authenticated = true;\n"
		   "sign_local = true;\n"
		   "sign_inbound = false;\n"
		   "# The From: domain picks the key; users log in with names, not addresses.\n"
		   "use_domain = \"header\";\n"
		   "use_esld = false;\n"
		   "allow_username_mismatch = true;\n"
		   "allow_hdrfrom_mismatch = false;\n"
		   "# Offline hosts sign too: no DNS lookup of our own public key.\n"
		   "check_pubkey = false;\n");
	signing_domains(s, t);

	t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/arc.conf", 0644)->text;
	bool seal = yes(s, V_ARC_SEAL) && yes(s, V_AUTH_RESULTS);
	const char *primary = settings_primary_domain(s);
	char key[512];
	dkim_key_path(primary, s->value[V_DKIM_SELECTOR], key, sizeof key);
	sb_addf(t, "# ARC_SEAL=%s: mail forwarded off the host is sealed on its second pass\n"
		   "# (the SRS loop's milter; settings.conf keeps that pass to the seal and\n"
		   "# keeps ARC off our own mail), from the Authentication-Results that the\n"
		   "# first pass added.\n"
		   "sign_authenticated = false;\n"
		   "sign_local = %s;\n"
		   "sign_inbound = false;\n"
		   "reuse_auth_results = true;\n"
		   "# Forwarded mail keeps its outside sender: always the primary domain's key.\n"
		   "use_domain_custom = \"return function(task) return '%s' end\";\n"
		   "allow_hdrfrom_mismatch = true;\n"
		   "allow_hdrfrom_mismatch_local = true;\n"
		   "allow_username_mismatch = true;\n"
		   "allow_envfrom_empty = true;\n"
		   "use_esld = false;\n"
		   "check_pubkey = false;\n"
		   "try_fallback = false;\n"
		   "domain {\n  \"%s\" {\n    path = \"%s\";\n    selector = \"%s\";\n  }\n}\n",
		seal ? "yes" : "no", seal ? "true" : "false", primary, primary, key,
		s->value[V_DKIM_SELECTOR]);
}

static void render_dmarc(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/dmarc.conf", 0644)->text;
	sb_adds(t, "# Enforcement is in force_actions.conf (DMARC_ENFORCE, ARC_TRUSTED_SIGNERS).\n"
		   "actions {}\n");
	if (!yes(s, V_DMARC_REPORTS))
		return;
	const char *primary = settings_primary_domain(s);
	struct strbuf from;
	sb_init(&from);
	if (*s->value[V_DMARC_REPORTS_FROM])
		sb_adds(&from, s->value[V_DMARC_REPORTS_FROM]);
	else
		sb_addf(&from, "noreply-dmarc@%s", primary);
	sb_addf(t, "# DMARC_REPORTS=yes: what is received is recorded in redis, and\n"
		   "# `rspamadm dmarc_report` (the dmarc-reports service) mails the reports\n"
		   "# through our own Postfix, which signs them.\n"
		   "reporting {\n"
		   "  enabled = true;\n"
		   "  email = \"%s\";\n"
		   "  domain = \"%s\";\n"
		   "  org_name = \"%s\";\n"
		   "  from_name = \"DMARC reports\";\n"
		   "  helo = \"%s\";\n"
		   "  smtp = \"127.0.0.1\";\n"
		   "  smtp_port = 25;\n"
		   "  max_entries = 1k;\n"
		   "  keys_expire = 2d;\n"
		   "}\n",
		from.buf, primary, primary, s->hostname);
	sb_free(&from);
}

static void render_settings(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/settings.conf", 0644)->text;
	/* Thresholds far away instead of null: a null action in settings would
	 * also switch off the virus and banned force_actions that use it. */
	static const char originating[] =
		"  apply {\n"
		"    # ARC only on the SRS loop's pass (arc_seal below), DKIM is ours.\n"
		"    symbols_disabled = [\"ARC_SIGNED\"];\n"
		"    # (not \"policies\": DKIM signing is in it; SPF and DMARC skip our mail)\n"
		"    groups_disabled = [\"rbl\", \"surbl\", \"hfilter\", \"fuzzy\", \"phishing\",\n"
		"                       \"neural\"];\n"
		"    actions {\n"
		"      reject = 100000;\n"
		"      rewrite_subject = 100000;\n"
		"      quarantine = 100000;\n"
		"    }\n"
		"  }\n";
	sb_addf(t, "# Our users' mail and mail from this host: signed and virus-scanned, not\n"
		   "# spam-scored as inbound mail (no DNS lists, no spam actions).\n"
		   "originating_auth {\n  priority = medium;\n  authenticated = true;\n%s}\n"
		   "originating_local {\n  priority = medium;\n  local = true;\n%s}\n",
		originating, originating);
	if (yes(s, V_ARC_SEAL) && yes(s, V_AUTH_RESULTS))
		sb_adds(t, "# The SRS loop's second pass of forwarded mail (milter_macro_daemon_name\n"
			   "# arc-seal): only the ARC seal, the mail was scanned on arrival.\n"
			   "arc_seal {\n  priority = high;\n"
			   "  request_header = {\n    \"MTA-Name\" = \"arc-seal\";\n  }\n"
			   "  apply {\n    symbols_enabled = [\"ARC_SIGNED\", \"ARC_CHECK\", \"ARC_CALLBACK\"];\n"
			   "    actions {\n      reject = 100000;\n      rewrite_subject = 100000;\n"
			   "      quarantine = 100000;\n    }\n  }\n}\n");
}

static void render_headers(const struct settings *s, struct rspamd_files *out)
{
	struct strbuf *t = &rspamd_file_add(out, RSPAMD_LOCAL_DIR "/milter_headers.conf", 0644)->text;
	rspamd_render_headers(s, t);
}

void rspamd_render_modules(const struct settings *s, struct rspamd_files *out)
{
	render_bayes(out);
	render_offline(out);
	render_antivirus(s, out);
	render_force_actions(s, out);
	render_signing(s, out);
	render_dmarc(s, out);
	render_settings(s, out);
	render_headers(s, out);
}
