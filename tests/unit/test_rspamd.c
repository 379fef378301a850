/* The rspamd image's configuration (src/rspamd/): workers and the
 * controller's password, the destinies as actions and force_actions, the
 * levels, ClamAV on and off, signing, DMARC reports, redis, the services,
 * and Postfix's main.cf and master.cf without amavis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config/params.h"
#include "config/postfix.h"
#include "config/settings.h"
#include "fake_env.h"
#include "rspamd/rspamd.h"

#define HASH "$2$abc$def"

struct rendered {
	struct settings s;
	struct rspamd_files f;
	struct strbuf services;
	struct params main_cf;
};

static void render(struct rendered *r, const char *const pairs[][2])
{
	struct fake_env env = {{{"MAIL_DOMAIN", "example.com other.org"}}};
	for (int i = 0; pairs && pairs[i][0]; i++) {
		env.pairs[i + 1][0] = pairs[i][0];
		env.pairs[i + 1][1] = pairs[i][1];
	}
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	if (!settings_load(&r->s, fake_env_get, &env, "mx1.example.com", IMAGE_RSPAMD, &e, &w))
		fail_msg("%s", e.buf);
	sb_free(&e);
	sb_free(&w);
	rspamd_render(&r->s, 3, HASH, &r->f);
	sb_init(&r->services);
	rspamd_services(&r->s, &r->services);
	memset(&r->main_cf, 0, sizeof r->main_cf);
	rspamd_postfix_params(&r->s, &r->main_cf);
}

static const char *file(const struct rendered *r, const char *path)
{
	for (size_t i = 0; i < r->f.len; i++)
		if (!strcmp(r->f.item[i].path, path))
			return r->f.item[i].text.buf;
	fail_msg("no %s rendered", path);
	return NULL;
}

static void rendered_free(struct rendered *r)
{
	rspamd_files_free(&r->f);
	sb_free(&r->services);
	params_free(&r->main_cf);
	settings_free(&r->s);
}

#define HAS(text, needle) assert_non_null(strstr((text), (needle)))
#define HASNT(text, needle) assert_null(strstr((text), (needle)))

static void test_defaults(void **state)
{
	(void)state;
	struct rendered r;
	render(&r, NULL);
	const char *ctl = file(&r, RSPAMD_OVERRIDE_DIR "/worker-controller.inc");
	HAS(ctl, "bind_socket = \"" RSPAMD_CONTROLLER_SOCKET " mode=0600\";\n");
	HASNT(ctl, "11334"); /* no web interface without a password */
	HASNT(ctl, "\npassword = \"q1\"");
	HAS(ctl, "password = \"" HASH "\";\n");
	HAS(ctl, "enable_password = \"" HASH "\";\n");
	HAS(ctl, "\nsecure_ip = \"0.0.0.0/32\";\n");
	HASNT(ctl, "secure_ip = \"127");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/worker-normal.inc"), "count = 3;\n");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/worker-fuzzy.inc"), "count = -1;\n");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/worker-proxy.inc"), "milter = yes;\n");
	const char *opt = file(&r, RSPAMD_OVERRIDE_DIR "/options.inc");
	HAS(opt, "task_timeout = 4s;\n");
	HAS(opt, "soft_reject_on_timeout = true;\n");
	HAS(opt, "local_addrs = [\"127.0.0.0/8\", \"::1\"];\n");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/logging.inc"), "level = \"error\";\n");
	const char *act = file(&r, RSPAMD_OVERRIDE_DIR "/actions.conf");
	HAS(act, "rewrite_subject = 6.2;\n");
	HAS(act, "reject = null;\n"); /* D_PASS */
	HAS(act, "flags = [\"no_threshold\"];\n");
	const char *force = file(&r, RSPAMD_LOCAL_DIR "/force_actions.conf");
	HAS(force, "MTACTL_VIRUS {\n    expression = \"CLAM_VIRUS\";\n    action = \"quarantine\";\n");
	HAS(force, "MTACTL_BANNED {\n    expression = \"MTACTL_BANNED\";\n    action = \"quarantine\";\n");
	HASNT(force, "MTACTL_BAD_HEADER"); /* D_PASS */
	HAS(force, "expression = \"CLAM_VIRUS_FAIL\";\n    action = \"soft reject\";\n");
	HAS(force, "DMARC_POLICY_REJECT & !MTACTL_ARC_TRUSTED");
	HAS(file(&r, RSPAMD_LOCAL_DIR "/antivirus.conf"), "servers = \"/run/clamav/clamd.ctl\";\n");
	const char *dkim = file(&r, RSPAMD_LOCAL_DIR "/dkim_signing.conf");
	HAS(dkim, "\"example.com\" {\n    path = \"/var/db/dkim/example.com.default.privkey.pem\";\n"
		  "    selector = \"default\";\n");
	HAS(dkim, "\"other.org\" {\n    path = \"/var/db/dkim/other.org.default.privkey.pem\";\n");
	HAS(dkim, "sign_inbound = false;\n");
	HAS(file(&r, RSPAMD_LOCAL_DIR "/arc.conf"), "sign_local = true;\n");
	HASNT(file(&r, RSPAMD_LOCAL_DIR "/dmarc.conf"), "reporting");
	const char *hdr = file(&r, RSPAMD_LOCAL_DIR "/milter_headers.conf");
	HAS(hdr, "local tag, tag2 = 2.0, 6.2\n");
	HAS(hdr, "{'virus', 'D_DISCARD', {'CLAM_VIRUS',}},\n");
	HAS(hdr, "{'banned', 'D_DISCARD', {'MTACTL_BANNED',}},\n");
	HASNT(hdr, "'badh'");
	HAS(hdr, "\"authentication-results\"");
	const char *redis = file(&r, REDIS_CONF);
	HAS(redis, "port 0\n");
	HAS(redis, "unixsocket " REDIS_SOCKET "\n");
	HAS(redis, "dir /var/lib/redis\n");
	HAS(file(&r, RSPAMD_DIR "/rspamd.local.lua"), "-- Written by");
	HAS(r.services.buf, "redis quiet /usr/bin/setpriv --reuid=redis");
	HAS(r.services.buf, "rspamd - /usr/local/bin/mtactl socket-wait /run/redis/redis.sock 30 /usr/bin/setpriv --reuid=_rspamd");
	HAS(r.services.buf, "clamd quiet ");
	HAS(r.services.buf, "postsrsd - ");
	HAS(r.services.buf, "quarantine-bounce - /usr/local/bin/mtactl quarantine-bounce\n");
	HASNT(r.services.buf, "amavis");
	assert_string_equal(params_get(&r.main_cf, "smtpd_milters"), "unix:" RSPAMD_MILTER_SOCKET);
	assert_string_equal(params_get(&r.main_cf, "non_smtpd_milters"), "unix:" RSPAMD_MILTER_SOCKET);
	assert_string_equal(params_get(&r.main_cf, "milter_default_action"), "tempfail");
	assert_string_equal(params_get(&r.main_cf, "milter_protocol"), "6");
	HAS(params_get(&r.main_cf, "milter_mail_macros"), "{auth_authen}");
	rendered_free(&r);
}

static void test_destinies_and_options(void **state)
{
	(void)state;
	static const char *const env[][2] = {
		{"FINAL_SPAM_DESTINY", "D_REJECT"},  {"FINAL_VIRUS_DESTINY", "D_REJECT"},
		{"FINAL_BANNED_DESTINY", "D_PASS"},  {"FINAL_BAD_HEADER_DESTINY", "D_BOUNCE"},
		{"SA_KILL_LEVEL_DEFLT", "9.5"},      {"CLAMAV_DAEMON", "no"},
		{"LOG_LEVEL", "5"},                  {"RSPAMD_PASSWORD", "web-pass-1"},
		{"DMARC_REPORTS", "yes"},            {"DMARC_ENFORCE", "no"},
		{"ARC_SEAL", "no"},                  {"ARC_TRUSTED_SIGNERS", "Fwd.Example"},
		{NULL, NULL},
	};
	struct rendered r;
	render(&r, env);
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/worker-controller.inc"), "bind_socket = \"*:11334\";\n");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/actions.conf"), "reject = 9.5;\n");
	HAS(file(&r, RSPAMD_OVERRIDE_DIR "/logging.inc"), "level = \"debug\";\n");
	const char *force = file(&r, RSPAMD_LOCAL_DIR "/force_actions.conf");
	HASNT(force, "CLAM_VIRUS"); /* no clamd: no rule, and no tempfail */
	HASNT(force, "MTACTL_BANNED {");
	HAS(force, "MTACTL_BAD_HEADER {\n");
	HASNT(force, "DMARC");
	HAS(file(&r, RSPAMD_LOCAL_DIR "/antivirus.conf"), "CLAMAV_DAEMON=no");
	HAS(file(&r, RSPAMD_LOCAL_DIR "/arc.conf"), "sign_local = false;\n");
	const char *dmarc = file(&r, RSPAMD_LOCAL_DIR "/dmarc.conf");
	HAS(dmarc, "email = \"noreply-dmarc@example.com\";\n");
	HAS(dmarc, "smtp = \"127.0.0.1\";\n");
	HAS(file(&r, RSPAMD_LOCAL_DIR "/milter_headers.conf"), "{'badh', 'D_BOUNCE', {'BROKEN_HEADERS',");
	HAS(file(&r, RSPAMD_DIR "/rspamd.local.lua"), "local arc_trusted = { ['fwd.example'] = true, }\n");
	HASNT(r.services.buf, "clamd");
	rendered_free(&r);
}

/* master.cf of the rspamd image: PostSRSd's loop stays, amavis's parts go. */
static void test_master(void **state)
{
	(void)state;
	static const char *const env[][2] = {{"SMTPD_SASL_CLIENTAUTH", "a@example.com:{plain}x"},
					     {NULL, NULL}};
	struct rendered r;
	render(&r, env);
	const struct postfix_host host = {.uid = 100, .gid = 102, .filters = true, .filter_children = 2,
					  .image = IMAGE_RSPAMD, .rspamd = true};
	struct strbuf m;
	sb_init(&m);
	postfix_master_render(&r.s, &host, &m);
	HASNT(m.buf, "content_filter=lmtp-amavis");
	HASNT(m.buf, "lmtp-amavis ");
	HASNT(m.buf, "127.0.0.1:10025");
	HASNT(m.buf, "policyd-spf");
	HAS(m.buf, "127.0.0.1:10027 inet");
	HAS(m.buf, "srs-cleanup");
	HAS(m.buf, "-o milter_macro_daemon_name=arc-seal\n");
	HAS(m.buf, "submission inet");
	sb_free(&m);
	rendered_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_destinies_and_options),
		cmocka_unit_test(test_master),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
