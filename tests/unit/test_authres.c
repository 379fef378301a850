/* Inbound authentication's configuration (src/authres/): where the milter
 * sits in main.cf and master.cf, the milter's settings, amavis's and the
 * SPF policy's lines, and what AUTH_RESULTS=no and DMARC_ENFORCE=no leave out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "authres/authres.h"
#include "config/filters.h"
#include "config/params.h"
#include "config/postfix.h"
#include "config/settings.h"
#include "fake_env.h"

struct rendered {
	struct settings s;
	struct params main_cf;
	struct strbuf master, conf, checks, amavis, spf, services;
};

static void render(struct rendered *r, const char *name, const char *value, const char *name2,
		   const char *value2)
{
	struct fake_env env = {{
		{"MAIL_DOMAIN", "example.com other.org"},
		{"ARC_TRUSTED_SIGNERS", "lists.example.net fwd.example"},
		{name, value},
		{name2, value2},
		{NULL, NULL},
	}};
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	if (!settings_load(&r->s, fake_env_get, &env, "mx1.example.com", IMAGE_FULL, &e, &w))
		fail_msg("%s", e.buf);
	sb_free(&e);
	sb_free(&w);
	memset(&r->main_cf, 0, sizeof r->main_cf);
	authres_main_params(&r->s, &r->main_cf);
	sb_init(&r->master);
	authres_master_seal(&r->s, &r->master);
	authres_render(&r->s, &r->conf, &r->checks);
	sb_init(&r->amavis);
	authres_amavis(&r->s, &r->amavis);
	sb_init(&r->spf);
	authres_policyd_spf(&r->s, &r->spf);
	sb_init(&r->services);
	authres_services(&r->s, &r->services);
}

static void rendered_free(struct rendered *r)
{
	settings_free(&r->s);
	params_free(&r->main_cf);
	sb_free(&r->master);
	sb_free(&r->conf);
	sb_free(&r->checks);
	sb_free(&r->amavis);
	sb_free(&r->spf);
	sb_free(&r->services);
}

static void test_defaults(void **state)
{
	(void)state;
	struct rendered r;
	render(&r, "DKIM_SELECTOR", "s1", NULL, NULL);
	assert_string_equal(params_get(&r.main_cf, "smtpd_milters"), "unix:" AUTHMILTER_SOCKET);
	assert_string_equal(params_get(&r.main_cf, "milter_default_action"), "accept");
	assert_string_equal(params_get(&r.main_cf, "milter_header_checks"), "regexp:" AUTHRES_QUARANTINE_CHECKS);
	assert_non_null(strstr(r.master.buf, "-o smtpd_milters=unix:" AUTHMILTER_SOCKET "\n"));
	assert_non_null(strstr(r.master.buf, "-o milter_macro_daemon_name=arc-seal\n"));
	/* the loop's own overrides keep everything off but milters */
	assert_non_null(strstr(r.master.buf, "receive_override_options=no_header_body_checks,"
					     "no_unknown_recipient_checks\n"));
	assert_non_null(strstr(r.conf.buf, "authserv_id = mx1.example.com\n"));
	assert_non_null(strstr(r.conf.buf, "arc_trusted_signers = lists.example.net fwd.example\n"));
	assert_non_null(strstr(r.conf.buf, "dmarc_enforce = yes\narc_trusted_signers"));
	assert_non_null(strstr(r.conf.buf, "arc_seal = yes\nseal_domain = example.com\nseal_selector = s1\n"
					   "seal_key = /var/db/dkim/example.com.s1.privkey.pem\n"));
	/* no VIRTUAL_TRANSPORT: virtual(8) delivers */
	assert_non_null(strstr(r.conf.buf, "local_transports = virtual local\n"));
	assert_non_null(strstr(r.amavis.buf, "$policy_bank{'ORIGINATING'}{forward_method} = 'smtp:[127.0.0.1]:10026';"));
	assert_non_null(strstr(r.checks.buf, "/^X-Mtactl-DMARC-Quarantine:/ FILTER lmtp-amavis:unix:"
					     AMAVIS_DMARC_QUARANTINE_SOCKET "\n"));
	assert_non_null(strstr(r.amavis.buf, "$allowed_added_header_fields{lc('Authentication-Results')} = 0;"));
	assert_non_null(strstr(r.amavis.buf, "push @listen_sockets, '" AMAVIS_DMARC_QUARANTINE_SOCKET "';"));
	assert_string_equal(r.spf.buf, "Header_Type = None\n");
	assert_non_null(strstr(r.services.buf, "authmilter - /usr/bin/setpriv --reuid=amavis"));
	rendered_free(&r);
}

static void test_local_transport_of_virtual_transport(void **state)
{
	(void)state;
	struct rendered r;
	render(&r, "VIRTUAL_TRANSPORT", "lmtp:unix:private/transport", NULL, NULL);
	assert_non_null(strstr(r.conf.buf, "local_transports = lmtp local\n"));
	rendered_free(&r);
}

static void test_not_enforcing_not_sealing(void **state)
{
	(void)state;
	struct rendered r;
	render(&r, "DMARC_ENFORCE", "no", "ARC_SEAL", "no");
	assert_non_null(params_get(&r.main_cf, "smtpd_milters"));
	assert_null(params_get(&r.main_cf, "milter_header_checks"));
	assert_int_equal(r.master.len, 0);
	assert_int_equal(r.checks.len, 0);
	assert_non_null(strstr(r.conf.buf, "dmarc_enforce = no\n"));
	assert_non_null(strstr(r.conf.buf, "arc_seal = no\n"));
	assert_null(strstr(r.amavis.buf, "DMARC_QUARANTINE"));
	assert_non_null(strstr(r.amavis.buf, "Authentication-Results')} = 0"));
	rendered_free(&r);
}

static void test_off(void **state)
{
	(void)state;
	struct rendered r;
	render(&r, "AUTH_RESULTS", "no", NULL, NULL);
	assert_false(authres_enabled(&r.s));
	assert_int_equal(r.main_cf.len, 0);
	assert_int_equal(r.master.len + r.conf.len + r.checks.len + r.amavis.len + r.spf.len + r.services.len, 0);
	rendered_free(&r);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"DMARC_ENFORCE", "maybe"}, {"ARC_SEAL", "sometimes"}, {"AUTH_RESULTS", "x"},
		{"ARC_TRUSTED_SIGNERS", "not_a_domain!"}, {"ARC_TRUSTED_SIGNERS", "ok.example -bad.example"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fake_env env = {{{bad[i][0], bad[i][1]}, {NULL, NULL}}};
		struct settings s;
		struct strbuf e, w;
		sb_init(&e);
		sb_init(&w);
		bool ok = settings_load(&s, fake_env_get, &env, "mx1.example.com", IMAGE_FULL, &e, &w);
		if (ok)
			fail_msg("%s=%s accepted", bad[i][0], bad[i][1]);
		assert_non_null(strstr(e.buf, bad[i][0]));
		assert_non_null(strstr(e.buf, bad[i][1]));
		/* one line */
		assert_true(e.len > 0 && strchr(e.buf, '\n') == e.buf + e.len - 1);
		settings_free(&s);
		sb_free(&e);
		sb_free(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_local_transport_of_virtual_transport),
		cmocka_unit_test(test_not_enforcing_not_sealing),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
