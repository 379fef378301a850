/* PROXY_PROTOCOL and the network LMTP: the four variables' validators and
 * cross checks, and what they render (master.cf, dovecot.conf, GATE_CONF). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dovecot.h"
#include "config/postfix.h"
#include "config/proxy.h"
#include "config/settings.h"
#include "fake_env.h"
#include "golden.h"

static const struct tls_setup self_signed = {.enabled = true, .cert = "/etc/ssl/postfix/cert.pem",
					     .key = "/etc/ssl/postfix/priv_key.pem"};

/* Loads env on the image; errors gets the refusal lines. */
static bool load(enum image image, struct fake_env *env, struct settings *s, struct strbuf *errors)
{
	struct strbuf w;
	sb_init(&w);
	sb_reset(errors);
	bool ok = settings_load(s, fake_env_get, env, "mx1.example.com", image, errors, &w);
	sb_free(&w);
	return ok;
}

/* Refused with exactly one line, which starts with want and contains also. */
static void assert_one_line(enum image image, struct fake_env *env, const char *want, const char *also)
{
	struct settings s;
	struct strbuf e;
	sb_init(&e);
	if (load(image, env, &s, &e))
		fail_msg("accepted, want \"%s\"", want);
	if (strncmp(e.buf, want, strlen(want)) != 0 || (also && !strstr(e.buf, also)))
		fail_msg("got \"%s\", want \"%s...%s\"", e.buf, want, also ? also : "");
	assert_ptr_equal(strchr(e.buf, '\n'), e.buf + e.len - 1);
	settings_free(&s);
	sb_free(&e);
}

static void assert_accepted(enum image image, struct fake_env *env)
{
	struct settings s;
	struct strbuf e;
	sb_init(&e);
	if (!load(image, env, &s, &e))
		fail_msg("refused: %s", e.buf);
	settings_free(&s);
	sb_free(&e);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		{"PROXY_PROTOCOL", "yes-please", "PROXY_PROTOCOL=\"yes-please\": expected empty or haproxy"},
		{"PROXY_PROTOCOL", "HAPROXY", "PROXY_PROTOCOL=\"HAPROXY\": expected empty or haproxy"},
		{"PROXY_TRUSTED_NETWORKS", "10.0.9.0/33", "PROXY_TRUSTED_NETWORKS=\"10.0.9.0/33\": expected "},
		{"PROXY_TRUSTED_NETWORKS", "lb.example.com", "PROXY_TRUSTED_NETWORKS=\"lb.example.com\": expected "},
		{"PROXY_TRUSTED_NETWORKS", "10.0.9.0/", "PROXY_TRUSTED_NETWORKS=\"10.0.9.0/\": expected "},
		{"PROXY_TRUSTED_NETWORKS", "fd00::/129", "PROXY_TRUSTED_NETWORKS=\"fd00::/129\": expected "},
		{"PROXY_TRUSTED_NETWORKS", " , ", "PROXY_TRUSTED_NETWORKS=\" , \": expected "},
		{"DOVECOT_LMTP_LISTEN", "24", "DOVECOT_LMTP_LISTEN=\"24\": expected "},
		{"DOVECOT_LMTP_LISTEN", "*:0", "DOVECOT_LMTP_LISTEN=\"*:0\": expected "},
		{"DOVECOT_LMTP_LISTEN", "*:65536", "DOVECOT_LMTP_LISTEN=\"*:65536\": expected "},
		{"DOVECOT_LMTP_LISTEN", "store:24", "DOVECOT_LMTP_LISTEN=\"store:24\": expected "},
		{"DOVECOT_LMTP_LISTEN", "::24", "DOVECOT_LMTP_LISTEN=\"::24\": expected "},
		{"DOVECOT_LMTP_LISTEN", "*:25", "DOVECOT_LMTP_LISTEN=\"*:25\": expected a port no other service"},
		{"DOVECOT_LMTP_LISTEN", "0.0.0.0:10124", "DOVECOT_LMTP_LISTEN=\"0.0.0.0:10124\": expected a port no other"},
		{"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.0.0/8;rm", "DOVECOT_LMTP_TRUSTED_NETWORKS=\"10.0.0.0/8;rm\": expected "},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_env env = {{{cases[i][0], cases[i][1]}, {NULL, NULL}}};
		assert_one_line(IMAGE_BASE, &env, cases[i][2], NULL);
	}
}

/* Each pair needs its other half, one clear line when it is missing. */
static void test_combinations(void **state)
{
	(void)state;
	struct fake_env alone = {{{"PROXY_PROTOCOL", "haproxy"}, {NULL, NULL}}};
	assert_one_line(IMAGE_MINI, &alone, "PROXY_TRUSTED_NETWORKS=\"\": expected the balancers'",
			"required with PROXY_PROTOCOL=haproxy");
	struct fake_env nets = {{{"PROXY_TRUSTED_NETWORKS", "10.0.9.0/24"}, {NULL, NULL}}};
	assert_one_line(IMAGE_MINI, &nets, "PROXY_TRUSTED_NETWORKS=\"10.0.9.0/24\": expected ",
			"PROXY_PROTOCOL=haproxy to be set");
	struct fake_env lmtp = {{{"DOVECOT_LMTP_LISTEN", "*:24"},
				 {"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"},
				 {NULL, NULL}}};
	assert_one_line(IMAGE_BASE, &lmtp, "DOVECOT_LMTP_TRUSTED_NETWORKS=\"\": expected ",
			"required with DOVECOT_LMTP_LISTEN");
	struct fake_env lmtp_nets = {{{"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.9.0/24"}, {NULL, NULL}}};
	assert_one_line(IMAGE_BASE, &lmtp_nets, "DOVECOT_LMTP_TRUSTED_NETWORKS=\"10.0.9.0/24\": expected ",
			"DOVECOT_LMTP_LISTEN to be set");
	/* Only where Dovecot keeps the mailboxes. */
	struct fake_env no_boxes = {{{"DOVECOT_LMTP_LISTEN", "*:24"},
				     {"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.9.0/24"},
				     {NULL, NULL}}};
	assert_one_line(IMAGE_RSPAMD, &no_boxes, "DOVECOT_LMTP_LISTEN=\"*:24\": expected ",
			"VIRTUAL_TRANSPORT=lmtp:unix:private/transport");
	struct fake_env mini = {{{"DOVECOT_LMTP_LISTEN", "*:24"}, {NULL, NULL}}};
	assert_one_line(IMAGE_MINI, &mini, "DOVECOT_LMTP_LISTEN=\"*:24\": expected ",
			"only in base, full, rspamd");

	struct fake_env good = {{{"PROXY_PROTOCOL", "haproxy"},
				 {"PROXY_TRUSTED_NETWORKS", "10.0.9.0/24, 192.0.2.7 fd00::/64,2001:db8::1"},
				 {"DOVECOT_LMTP_LISTEN", "[::]:24"},
				 {"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.9.0/24"},
				 {"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"},
				 {NULL, NULL}}};
	for (enum image i = IMAGE_BASE; i < IMAGE_COUNT; i++)
		assert_accepted(i, &good);
	static const char *const listens[] = {"*:24", "0.0.0.0:24", "10.0.9.5:2424", "[fd00::5]:24"};
	for (size_t i = 0; i < sizeof listens / sizeof listens[0]; i++) {
		good.pairs[2][1] = listens[i];
		assert_accepted(IMAGE_BASE, &good);
	}
	struct fake_env mini_proxy = {{{"PROXY_PROTOCOL", "haproxy"},
				       {"PROXY_TRUSTED_NETWORKS", "10.0.9.0/24"},
				       {NULL, NULL}}};
	assert_accepted(IMAGE_MINI, &mini_proxy);
}

struct rendered {
	struct strbuf master, gate, dovecot;
};

static void render(enum image image, struct fake_env *env, struct rendered *r)
{
	struct postfix_host host = {.uid = 100, .gid = 102, .ipv6 = true, .image = image,
				    .filters = image == IMAGE_FULL || image == IMAGE_RSPAMD,
				    .filter_children = 2, .rspamd = image == IMAGE_RSPAMD};
	struct settings s;
	struct strbuf e;
	sb_init(&e);
	if (!load(image, env, &s, &e))
		fail_msg("refused: %s", e.buf);
	sb_init(&r->master);
	sb_init(&r->gate);
	sb_init(&r->dovecot);
	postfix_master_render(&s, &host, &r->master);
	proxy_gate_render(&s, &r->gate);
	if (image != IMAGE_MINI && dovecot_wanted(&s)) {
		struct dovecot_files f;
		dovecot_render(&s, &host, &self_signed, "", &f);
		sb_adds(&r->dovecot, f.conf.buf);
		dovecot_files_free(&f);
	}
	settings_free(&s);
	sb_free(&e);
}

static void rendered_free(struct rendered *r)
{
	sb_free(&r->master);
	sb_free(&r->gate);
	sb_free(&r->dovecot);
}

/* The mx tier: full image, PROXY mode, submission users. The public
 * listeners are the gate's; Postfix's move to loopback with the upstream
 * PROXY protocol; amavis's and the SRS loop's listeners stay as they are. */
static void test_golden_mx(void **state)
{
	(void)state;
	struct fake_env env = {{{"MAIL_BOXES", "info@example.com"},
				{"SMTPD_SASL_CLIENTAUTH", "client1:{PLAIN}secret1"},
				{"PROXY_PROTOCOL", "haproxy"},
				{"PROXY_TRUSTED_NETWORKS", "10.0.9.0/24 fd00:9::/64"},
				{"VIRTUAL_TRANSPORT", "lmtp:store:24"},
				{NULL, NULL}}};
	struct rendered r;
	render(IMAGE_FULL, &env, &r);
	assert_golden("proxy-full-master.cf", r.master.buf);
	assert_string_equal(r.gate.buf,
			    "smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24,fd00:9::/64 PROXY_TRUSTED_NETWORKS\n"
			    "smtps *:465 127.0.0.1:10465 proxy 10.0.9.0/24,fd00:9::/64 PROXY_TRUSTED_NETWORKS\n"
			    "submission *:587 127.0.0.1:10587 proxy 10.0.9.0/24,fd00:9::/64 PROXY_TRUSTED_NETWORKS\n");
	/* no public smtpd left, every internal one takes the PROXY line */
	assert_null(strstr(r.master.buf, "\nsmtp       inet"));
	assert_null(strstr(r.master.buf, "\nsubmission inet"));
	assert_null(strstr(r.master.buf, "\nsmtps      inet"));
	int proxied = 0;
	for (const char *p = r.master.buf; (p = strstr(p, "smtpd_upstream_proxy_protocol=haproxy")); p++)
		proxied++;
	assert_int_equal(proxied, 3);
	assert_non_null(strstr(r.master.buf, "127.0.0.1:10025 inet n - n - - smtpd\n"));
	rendered_free(&r);

	/* rspamd, no SASL: only port 25 */
	struct fake_env bare = {{{"PROXY_PROTOCOL", "haproxy"}, {"PROXY_TRUSTED_NETWORKS", "10.0.9.7"},
				 {NULL, NULL}}};
	render(IMAGE_RSPAMD, &bare, &r);
	assert_string_equal(r.gate.buf, "smtp *:25 127.0.0.1:10125 proxy 10.0.9.7 PROXY_TRUSTED_NETWORKS\n");
	assert_non_null(strstr(r.master.buf, "127.0.0.1:10125 inet n - n - - smtpd\n"
					     "  -o smtpd_upstream_proxy_protocol=haproxy\n"));
	rendered_free(&r);
}

/* The store tier: base, mailboxes in Dovecot, IMAP/POP3 behind the
 * balancer, LMTP for the mx tier through the gate. */
static void test_golden_store(void **state)
{
	(void)state;
	struct fake_env env = {{{"MAIL_BOXES", "info@example.com"},
				{"SMTPD_SASL_CLIENTAUTH", "info@example.com:{PLAIN}secret1"},
				{"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"},
				{"PROXY_PROTOCOL", "haproxy"},
				{"PROXY_TRUSTED_NETWORKS", "10.0.9.0/24,10.0.8.2"},
				{"DOVECOT_LMTP_LISTEN", "*:24"},
				{"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.9.0/24"},
				{NULL, NULL}}};
	struct rendered r;
	render(IMAGE_BASE, &env, &r);
	assert_golden("proxy-base-dovecot.conf", r.dovecot.buf);
	assert_string_equal(r.gate.buf,
			    "smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24,10.0.8.2 PROXY_TRUSTED_NETWORKS\n"
			    "smtps *:465 127.0.0.1:10465 proxy 10.0.9.0/24,10.0.8.2 PROXY_TRUSTED_NETWORKS\n"
			    "submission *:587 127.0.0.1:10587 proxy 10.0.9.0/24,10.0.8.2 PROXY_TRUSTED_NETWORKS\n"
			    "lmtp *:24 127.0.0.1:10124 peer 10.0.9.0/24 DOVECOT_LMTP_TRUSTED_NETWORKS\n");
	assert_non_null(strstr(r.dovecot.buf, "haproxy_trusted_networks = 10.0.9.0/24 10.0.8.2 127.0.0.1/32\n"));
	int haproxy = 0;
	for (const char *p = r.dovecot.buf; (p = strstr(p, "haproxy = yes")); p++)
		haproxy++;
	assert_int_equal(haproxy, 5); /* imap imaps pop3 pop3s and the LMTP listener */
	rendered_free(&r);

	/* LMTP alone: no PROXY on IMAP, only loopback trusted, no SMTP in the gate. */
	struct fake_env lmtp = {{{"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"},
				 {"DOVECOT_LMTP_LISTEN", "0.0.0.0:2424"},
				 {"DOVECOT_LMTP_TRUSTED_NETWORKS", "10.0.9.5 10.0.9.6"},
				 {NULL, NULL}}};
	render(IMAGE_BASE, &lmtp, &r);
	assert_string_equal(r.gate.buf,
			    "lmtp 0.0.0.0:2424 127.0.0.1:10124 peer 10.0.9.5,10.0.9.6 DOVECOT_LMTP_TRUSTED_NETWORKS\n");
	assert_non_null(strstr(r.dovecot.buf, "haproxy_trusted_networks = 127.0.0.1/32\n"));
	assert_non_null(strstr(r.dovecot.buf, "  inet_listener lmtp {\n    address = 127.0.0.1\n"
					      "    port = 10124\n    haproxy = yes\n  }\n"));
	assert_null(strstr(r.dovecot.buf, "port = 143\n    haproxy"));
	assert_non_null(strstr(r.master.buf, "\nsmtp       inet"));
	rendered_free(&r);

	/* Off: nothing for the gate, nothing changed. */
	struct fake_env off = {{{"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"}, {NULL, NULL}}};
	render(IMAGE_BASE, &off, &r);
	assert_int_equal(r.gate.len, 0);
	assert_null(strstr(r.dovecot.buf, "haproxy"));
	assert_null(strstr(r.master.buf, "proxy_protocol"));
	rendered_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_golden_mx),
		cmocka_unit_test(test_golden_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
