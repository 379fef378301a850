/* The variable table, loading settings from an environment, and the
 * Postfix files rendered from them (golden files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config/dovecot.h"
#include "config/envlist.h"
#include "config/postfix.h"
#include "config/postfix_master.h"
#include "config/settings.h"
#include "fake_env.h"
#include "golden.h"

static void test_table_sorted_and_documented(void **state)
{
	(void)state;
	for (int i = 0; i < VAR_COUNT; i++) {
		assert_non_null(var_table[i].name);
		assert_non_null(var_table[i].doc);
		assert_non_null(var_table[i].def);
		if (i > 0)
			assert_true(strcmp(var_table[i - 1].name, var_table[i].name) < 0);
		assert_ptr_equal(var_find(var_table[i].name), &var_table[i]);
	}
	assert_null(var_find("NOT_A_VARIABLE"));
	assert_null(var_find(""));
}

static bool load(struct fake_env *env, const char *hostname, struct settings *s, struct strbuf *errors,
		 struct strbuf *warnings)
{
	return settings_load(s, fake_env_get, env, hostname, IMAGE_FULL, errors, warnings);
}

static void test_defaults(void **state)
{
	(void)state;
	struct fake_env env = {{{NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_true(load(&env, "mx1.example.com", &s, &e, &w));
	assert_string_equal(s.value[V_MAIL_DOMAIN], "example.com");
	assert_string_equal(s.value[V_MESSAGE_SIZE_LIMIT], "10240000");
	assert_string_equal(s.value[V_SYSLOG_LEVEL], "5");
	assert_string_equal(settings_primary_domain(&s), "example.com");
	assert_int_equal(w.len, 0);
	settings_free(&s);

	/* A hostname with no domain: the old image's fallback, with a warning. */
	assert_true(load(&env, "a1b2c3d4", &s, &e, &w));
	assert_string_equal(s.value[V_MAIL_DOMAIN], "example.com");
	assert_non_null(strstr(w.buf, "MAIL_DOMAIN"));
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

/* Loads an environment of one variable on the image; errors gets
 * the refusal lines. */
static bool load_one(enum image image, const char *name, const char *value, struct strbuf *errors)
{
	struct fake_env env = {{{name, value}, {NULL, NULL}}};
	struct settings s;
	struct strbuf w;
	sb_init(&w);
	sb_reset(errors);
	bool ok = settings_load(&s, fake_env_get, &env, "mx1.example.com", image, errors, &w);
	settings_free(&s);
	sb_free(&w);
	return ok;
}

/* Refused with exactly one line naming the variable and the value, which
 * contains expected (when not NULL). */
static void assert_refused(enum image image, const char *name, const char *value, const char *expected)
{
	struct strbuf e;
	sb_init(&e);
	if (load_one(image, name, value, &e))
		fail_msg("%s=\"%s\" accepted", name, value);
	char want[160];
	snprintf(want, sizeof want, "%s=\"%s\": expected ", name, value);
	if (!strstr(e.buf, want) || (expected && !strstr(e.buf, expected)))
		fail_msg("got \"%s\", want \"%s...%s\"", e.buf, want, expected ? expected : "");
	assert_ptr_equal(strchr(e.buf, '\n'), e.buf + e.len - 1); /* one line */
	sb_free(&e);
}

/* Each bad value gives exactly one line naming the variable and the value. */
static void test_bad_values(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"MAIL_BOXES", "not-an-address"},
		{"MAIL_BOXES", "a@example.com:../etc"},
		{"MAIL_ALIASES", "noseparator"},
		{"MAIL_ALIASES", "x:"},
		{"MAIL_DOMAIN", "bad_domain!"},
		{"MESSAGE_SIZE_LIMIT", "abc"},
		{"MESSAGE_SIZE_LIMIT", "-5"},
		{"SYSLOG_LEVEL", "9"},
		{"SMTP_TLS_SECURITY_LEVEL", "sometimes"},
		{"SMTP_TLS_WRAPPERMODE", "maybe"},
		{"VIRTUAL_TRANSPORT", "nocolon"},
		{"REGEX_ALIAS", "/(unclosed/ x"},
		{"DOCKER_UNLOCK_FILE", "relative/path"},
		{"RES_OPTIONS", "timeout:0"},
		{"RES_OPTIONS", "timeout:99"},
		{"RES_OPTIONS", "timeout:1 atempts:2"},
		{"RES_OPTIONS", "rotate:3"},
		{"RES_OPTIONS", "attempts:"},
		{"RES_OPTIONS", "   "},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_refused(IMAGE_FULL, cases[i][0], cases[i][1], NULL);
}

static void test_combination_and_secret(void **state)
{
	(void)state;
	struct fake_env env = {{{"SMTP_TLS_WRAPPERMODE", "yes"},
				{"SMTP_TLS_SECURITY_LEVEL", "may"},
				{"SMTP_RELAY_HOSTAUTH", "relay user-without-colon"},
				{NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "SMTP_RELAY_HOSTAUTH=\"relay user-without-colon\""));
	settings_free(&s);

	env.pairs[2][1] = "relay: u:p";
	sb_reset(&e);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "SMTP_RELAY_HOSTAUTH=\"relay: u:***\""));
	assert_null(strstr(e.buf, "u:p")); /* the password is never shown */
	settings_free(&s);

	env.pairs[2][1] = "relay u:p";
	sb_reset(&e);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "SMTP_TLS_WRAPPERMODE=\"yes\": expected SMTP_TLS_SECURITY_LEVEL=encrypt"));
	settings_free(&s);

	env.pairs[1][1] = "encrypt";
	sb_reset(&e);
	assert_true(load(&env, "mx1.example.com", &s, &e, &w));
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

static void test_control_characters_escaped(void **state)
{
	(void)state;
	struct fake_env env = {{{"SYSLOG_LEVEL", "1\n2"}, {NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "SYSLOG_LEVEL=\"1\\x0a2\""));
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

static const struct postfix_host host = {.uid = 100, .gid = 102, .ipv6 = true};

static const struct tls_setup no_tls = {.enabled = false};
static const struct tls_setup self_signed = {.enabled = true, .cert = "/etc/ssl/postfix/cert.pem",
					     .key = "/etc/ssl/postfix/priv_key.pem"};

static void render_all(struct fake_env *env, const struct tls_setup *tls, struct strbuf *main_cf,
		       struct strbuf *master_cf, struct postfix_map maps[MAP_COUNT],
		       struct dovecot_files *dovecot)
{
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	if (!load(env, "mx1.example.com", &s, &e, &w))
		fail_msg("settings refused: %s", e.buf);
	postfix_maps_render(&s, &host, maps);
	struct params p = {0};
	postfix_main_params(&s, &host, maps, tls, &p);
	postfix_main_render(&p, main_cf);
	postfix_master_render(&s, &host, master_cf);
	if (dovecot)
		dovecot_render(&s, &host, tls, "mail_debug = yes\n", dovecot);
	params_free(&p);
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

static void test_golden_mini(void **state)
{
	(void)state;
	struct fake_env env = {{
		{"MAIL_DOMAIN", "example.com other.org"},
		{"MAIL_BOXES", "info@example.com sales@example.com:sales/inbox box@other.org:other/box/"},
		{"MAIL_ALIASES", "root:info postmaster:info,sales@example.com"},
		{"REGEX_ALIAS", "/^(.+)[+-].*@(.+)$/ $1@$2"},
		{"SMTP_RELAY_HOSTAUTH", "[relay.example.net]:587 relayuser:relay pass"},
		{"MESSAGE_SIZE_LIMIT", "20480000"},
		{NULL, NULL},
	}};
	struct strbuf main_cf, master_cf;
	sb_init(&main_cf);
	sb_init(&master_cf);
	struct postfix_map maps[MAP_COUNT];
	render_all(&env, &no_tls, &main_cf, &master_cf, maps, NULL);
	assert_golden("mini-main.cf", main_cf.buf);
	assert_golden("mini-master.cf", master_cf.buf);
	assert_golden("mini-virt-users", maps[MAP_USERS].text.buf);
	assert_golden("mini-virt-aliases", maps[MAP_ALIASES].text.buf);
	assert_string_equal(maps[MAP_REGEX_ALIASES].text.buf, "/^(.+)[+-].*@(.+)$/ $1@$2\n");
	assert_string_equal(maps[MAP_RELAY_PASSWORDS].text.buf,
			    "[relay.example.net]:587 relayuser:relay pass\n");
	assert_int_equal(maps[MAP_RELAY_PASSWORDS].mode, 0600);
	postfix_maps_free(maps);
	sb_free(&main_cf);
	sb_free(&master_cf);
}

static void test_lmtp_transport_and_no_maps(void **state)
{
	(void)state;
	struct fake_env env = {{{"VIRTUAL_TRANSPORT", "lmtp:app:2003"}, {NULL, NULL}}};
	struct strbuf main_cf, master_cf;
	sb_init(&main_cf);
	sb_init(&master_cf);
	struct postfix_map maps[MAP_COUNT];
	render_all(&env, &no_tls, &main_cf, &master_cf, maps, NULL);
	assert_non_null(strstr(main_cf.buf, "\nvirtual_transport = lmtp:app:2003\n"));
	assert_null(strstr(main_cf.buf, "virtual_mailbox_base"));
	assert_non_null(strstr(main_cf.buf, "\nvirtual_mailbox_maps =\n"));
	assert_null(strstr(main_cf.buf, "relayhost"));
	assert_null(strstr(main_cf.buf, "smtp_sasl_auth_enable"));
	postfix_maps_free(maps);
	sb_free(&main_cf);
	sb_free(&master_cf);
}

/* The virtual_alias_maps line of main.cf (without "virtual_alias_maps = "). */
static void alias_maps_line(const char *main_cf, char *out, size_t size)
{
	const char *line = strstr(main_cf, "\nvirtual_alias_maps =");
	assert_non_null(line);
	line += strlen("\nvirtual_alias_maps =");
	line += *line == ' ';
	size_t len = strcspn(line, "\n");
	assert_true(len < size);
	memcpy(out, line, len);
	out[len] = '\0';
}

/* A catch-all: the real mailboxes of its domain are found as themselves
 * first, in a table after every alias table; other domains are left alone. */
static void test_catch_all_identities(void **state)
{
	(void)state;
	struct fake_env env = {{
		{"MAIL_DOMAIN", "example.com other.org"},
		{"MAIL_BOXES", "info@example.com sales@example.com:sales/inbox box@other.org"},
		{"MAIL_ALIASES", "@example.com:info root:sales"},
		{"REGEX_ALIAS", "/^(.+)[+-].*@(.+)$/ $1@$2"},
		{NULL, NULL},
	}};
	struct strbuf main_cf, master_cf;
	sb_init(&main_cf);
	sb_init(&master_cf);
	struct postfix_map maps[MAP_COUNT];
	render_all(&env, &no_tls, &main_cf, &master_cf, maps, NULL);
	assert_string_equal(maps[MAP_ALIASES].text.buf,
			    "@example.com info@example.com\nroot@example.com sales@example.com\n");
	assert_string_equal(maps[MAP_USERS_IDENTITY].text.buf,
			    "info@example.com info@example.com\nsales@example.com sales@example.com\n");
	char line[512];
	alias_maps_line(main_cf.buf, line, sizeof line);
	assert_string_equal(line, "lmdb:/etc/postfix/virt-aliases regexp:/etc/postfix/regexp-aliases "
				  "lmdb:/etc/postfix/virt-users-identity");
	postfix_maps_free(maps);
	sb_reset(&main_cf);
	sb_reset(&master_cf);

	/* LDAP and MySQL mailboxes: their lookup tables answer as identities. */
	struct fake_env lookups = {{
		{"MAIL_ALIASES", "@example.com:info@example.com"},
		{"LDAP_HOST", "auth"},
		{"LDAP_USER_BASE", "ou=users,dc=example,dc=com"},
		{"LDAP_QUERY_FILTER_USER", "(&(objectclass=posixAccount)(mail=%s))"},
		{"LDAP_QUERY_FILTER_ALIAS", "(&(objectclass=posixAccount)(aliases=%s))"},
		{"MYSQL_HOST", "db"},
		{"MYSQL_DATABASE", "postfix"},
		{"MYSQL_QUERY_USER", "select mail from users where mail='%s'"},
		{NULL, NULL},
	}};
	render_all(&lookups, &no_tls, &main_cf, &master_cf, maps, NULL);
	assert_int_equal(maps[MAP_USERS_IDENTITY].text.len, 0); /* no MAIL_BOXES */
	alias_maps_line(main_cf.buf, line, sizeof line);
	assert_string_equal(line, "lmdb:/etc/postfix/virt-aliases ldap:/etc/postfix/ldap-aliases.cf "
				  "ldap:/etc/postfix/ldap-users.cf mysql:/etc/postfix/mysql-users.cf");
	assert_non_null(strstr(main_cf.buf, "\nvirtual_mailbox_maps = ldap:/etc/postfix/ldap-users.cf "
					    "mysql:/etc/postfix/mysql-users.cf\n"));
	postfix_maps_free(maps);
	sb_reset(&main_cf);
	sb_reset(&master_cf);

	/* Without a catch-all the mailbox tables stay out of virtual_alias_maps. */
	lookups.pairs[0][1] = "postmaster:info@example.com";
	render_all(&lookups, &no_tls, &main_cf, &master_cf, maps, NULL);
	alias_maps_line(main_cf.buf, line, sizeof line);
	assert_string_equal(line, "lmdb:/etc/postfix/virt-aliases ldap:/etc/postfix/ldap-aliases.cf");
	postfix_maps_free(maps);
	sb_free(&main_cf);
	sb_free(&master_cf);
}

/* A catch-all for a domain this server does not serve: one line naming it. */
static void test_catch_all_unserved_domain(void **state)
{
	(void)state;
	struct fake_env env = {{
		{"MAIL_DOMAIN", "example.com other.org"},
		{"MAIL_ALIASES", "root:info @other.org:info @foreign.test:info@example.com @x.test:info"},
		{NULL, NULL},
	}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_string_equal(e.buf, "MAIL_ALIASES=\"root:info @other.org:info @foreign.test:info@example.com "
				   "@x.test:info\": expected a catch-all @domain only for a domain of "
				   "MAIL_DOMAIN (example.com other.org), got \"@foreign.test\"\n");
	settings_free(&s);
	/* The default MAIL_DOMAIN, from the host name, counts too. */
	env.pairs[0][0] = "MAIL_DOMAIN_UNSET";
	env.pairs[1][1] = "@example.com:info";
	sb_reset(&e);
	assert_true(load(&env, "mx1.example.com", &s, &e, &w));
	assert_true(s.catch_all);
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

/* The transports come from master.cf's service table: the services of a
 * delivery agent on this image, nothing else. */
static void test_master_transports(void **state)
{
	(void)state;
	static const char *const mini[] = {"smtp", "relay", "error", "retry", "discard", "local",
					   "virtual", "lmtp"};
	for (size_t i = 0; i < sizeof mini / sizeof mini[0]; i++) {
		assert_true(postfix_master_has_transport(IMAGE_MINI, mini[i], strlen(mini[i])));
		assert_true(postfix_master_has_transport(IMAGE_FULL, mini[i], strlen(mini[i])));
	}
	static const char *const not_transports[] = {"pickup", "cleanup", "qmgr", "rewrite", "bounce",
						     "showq", "anvil", "postlog", "submission", "smtps",
						     "carrier-pigeon", "lmt", "lmtpx", "", "LMTP"};
	for (size_t i = 0; i < sizeof not_transports / sizeof not_transports[0]; i++)
		assert_false(postfix_master_has_transport(IMAGE_FULL, not_transports[i],
							  strlen(not_transports[i])));
	assert_false(postfix_master_has_transport(IMAGE_MINI, "lmtp-amavis", 11));
	assert_false(postfix_master_has_transport(IMAGE_BASE, "lmtp-amavis", 11));
	assert_true(postfix_master_has_transport(IMAGE_FULL, "lmtp-amavis", 11));
	assert_true(postfix_master_has_transport(IMAGE_MINI, "lmtp:app:24", 4)); /* len bounds the name */

	struct strbuf names;
	sb_init(&names);
	postfix_master_transports(IMAGE_MINI, &names);
	assert_string_equal(names.buf, "smtp, relay, error, retry, discard, local, virtual, lmtp");
	sb_reset(&names);
	postfix_master_transports(IMAGE_FULL, &names);
	assert_string_equal(names.buf, "smtp, relay, error, retry, discard, local, virtual, lmtp, lmtp-amavis");
	sb_free(&names);
}

/* VIRTUAL_TRANSPORT: transport:nexthop syntax, then a transport of this
 * image's master.cf; each refusal one line naming the value. */
static void test_virtual_transport_validation(void **state)
{
	(void)state;
	static const char *const good[] = {"lmtp:app:2003", "lmtp:unix:private/transport", "lmtp:[app]:24",
					   "lmtp:[10.0.0.5]:24", "lmtp:inet:app:24", "smtp:[relay.example.com]:587",
					   "relay:relay.example.com", "virtual:x", "error:mailbox_disabled",
					   "discard:silently"};
	static const struct {
		enum image image;
		const char *value, *expected;
	} bad[] = {
		{IMAGE_MINI, "carrier-pigeon:x",
		 "a transport that master.cf of the mini image defines for delivery (smtp, relay, error, "
		 "retry, discard, local, virtual, lmtp), got \"carrier-pigeon\""},
		{IMAGE_FULL, "pigeon:[app]:24",
		 "a transport that master.cf of the full image defines for delivery (smtp, relay, error, "
		 "retry, discard, local, virtual, lmtp, lmtp-amavis), got \"pigeon\""},
		{IMAGE_BASE, "lmtp-amavis:unix:/run/amavis/inbound.sock", "got \"lmtp-amavis\""},
		{IMAGE_MINI, "pickup:x", "got \"pickup\""},
		{IMAGE_MINI, "submission:x", "got \"submission\""},
		{IMAGE_MINI, "lmtp", "transport:nexthop"},
		{IMAGE_MINI, "lmtp:", "transport:nexthop"},
		{IMAGE_MINI, ":app:24", "transport:nexthop"},
		{IMAGE_MINI, "LMTP:app:24", "transport:nexthop"},
		{IMAGE_MINI, "lmtp:app 24", "transport:nexthop"},
	};
	struct strbuf e;
	sb_init(&e);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!load_one(IMAGE_MINI, "VIRTUAL_TRANSPORT", good[i], &e))
			fail_msg("%s refused: %s", good[i], e.buf);
	sb_free(&e);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_refused(bad[i].image, "VIRTUAL_TRANSPORT", bad[i].value, bad[i].expected);
}

/* The full image's master.cf: amavis's client from the service table,
 * sized to the amavis children, its listener and the SPF policy. */
static void test_golden_full_master(void **state)
{
	(void)state;
	static const struct postfix_host full = {.uid = 100, .gid = 102, .ipv6 = true, .image = IMAGE_FULL,
						 .filters = true, .filter_children = 3};
	struct fake_env env = {{{"MAIL_BOXES", "info@example.com"},
				{"SMTPD_SASL_CLIENTAUTH", "client1:{PLAIN}secret1"},
				{NULL, NULL}}};
	struct settings s;
	struct strbuf e, w, master_cf;
	sb_init(&e);
	sb_init(&w);
	sb_init(&master_cf);
	if (!load(&env, "mx1.example.com", &s, &e, &w))
		fail_msg("settings refused: %s", e.buf);
	postfix_master_render(&s, &full, &master_cf);
	assert_golden("full-master.cf", master_cf.buf);
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
	sb_free(&master_cf);
}

/* Every SASL method, LDAP and MySQL lookups, Dovecot mailboxes, TLS. */
static void test_golden_base(void **state)
{
	(void)state;
	struct fake_env env = {{
		{"MAIL_BOXES", "info@example.com"},
		{"VIRTUAL_TRANSPORT", "lmtp:unix:private/transport"},
		{"SMTPD_SASL_CLIENTAUTH", "client1:{PLAIN}secret1 client2:{CRYPT}$2y$05$abc"},
		{"SMTPD_SASL_IMAPHOST", "imap.example.com:993"},
		{"LDAP_HOST", "auth"},
		{"LDAP_USER_BASE", "ou=users,dc=example,dc=com"},
		{"LDAP_QUERY_FILTER_USER", "(&(objectclass=posixAccount)(mail=%s))"},
		{"LDAP_QUERY_FILTER_ALIAS", "(&(objectclass=posixAccount)(aliases=%s))"},
		{"LDAP_GROUP_BASE", "ou=groups,dc=example,dc=com"},
		{"LDAP_QUERY_FILTER_GROUP", "(&(objectclass=posixGroup)(mail=%s))"},
		{"LDAP_QUERY_FILTER_EXPAND", "(&(objectclass=posixAccount)(uid=%s))"},
		{"LDAP_QUERY_ATTRS_PASS", "uid=user"},
		{"LDAP_BIND_DN", "cn=admin,dc=example,dc=com"},
		{"LDAP_BIND_PW", "ldapsecret"},
		{"MYSQL_HOST", "db:3306"},
		{"MYSQL_DATABASE", "postfix"},
		{"MYSQL_USER", "admin"},
		{"MYSQL_PASSWORD", "dbsecret"},
		{"MYSQL_QUERY_USER", "select mail from users where mail='%s' limit 1;"},
		{"MYSQL_QUERY_ALIAS", "select target from aliases where alias='%s'"},
		{"MYSQL_QUERY_PASS", "select password, userid as user from users where userid = '%u'"},
		{"DOVECOT_AUTH_USERNAME_FORMAT", "%Ln"},
		{NULL, NULL},
	}};
	struct strbuf main_cf, master_cf;
	sb_init(&main_cf);
	sb_init(&master_cf);
	struct postfix_map maps[MAP_COUNT];
	struct dovecot_files dovecot;
	render_all(&env, &self_signed, &main_cf, &master_cf, maps, &dovecot);
	assert_golden("base-main.cf", main_cf.buf);
	assert_golden("base-master.cf", master_cf.buf);
	assert_golden("base-ldap-users.cf", maps[MAP_LDAP_USERS].text.buf);
	assert_golden("base-ldap-groups.cf", maps[MAP_LDAP_GROUPS].text.buf);
	assert_golden("base-ldap-groups-expand.cf", maps[MAP_LDAP_EXPAND].text.buf);
	assert_golden("base-mysql-users.cf", maps[MAP_MYSQL_USERS].text.buf);
	assert_golden("base-dovecot.conf", dovecot.conf.buf);
	assert_golden("base-ldap-passdb.conf.ext", dovecot.ldap_passdb.buf);
	assert_golden("base-sql-passdb.conf.ext", dovecot.sql_passdb.buf);
	assert_string_equal(dovecot.passwd.buf, "client1:{PLAIN}secret1\nclient2:{CRYPT}$2y$05$abc\n");
	/* The derived pass filter (the old image's rule). */
	assert_non_null(strstr(dovecot.ldap_passdb.buf, "pass_filter = (&(objectclass=posixAccount)(uid=%u))\n"));
	assert_int_equal(maps[MAP_LDAP_USERS].mode, 0640);
	assert_true(maps[MAP_LDAP_USERS].group_postfix);
	dovecot_files_free(&dovecot);
	postfix_maps_free(maps);
	sb_free(&main_cf);
	sb_free(&master_cf);
}

/* Variables that need each other, and one the image has not. */
static void test_incomplete_combinations(void **state)
{
	(void)state;
	static const char *const cases[][4] = {
		{"LDAP_HOST", "auth", NULL, "LDAP_USER_BASE to be set"},
		{"LDAP_USER_BASE", "ou=users,dc=x", NULL, "LDAP_HOST to be set"},
		{"MYSQL_HOST", "db", NULL, "MYSQL_DATABASE to be set"},
		{"MYSQL_QUERY_USER", "select 1", NULL, "MYSQL_HOST to be set"},
		{"LDAP_QUERY_FILTER_GROUP", "(a=%s)", NULL, "LDAP_GROUP_BASE to be set"},
		{"SMTPD_TLS_CERT_FILE", "/etc/hostname", NULL, "SMTPD_TLS_KEY_FILE to be set"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_env env = {{{cases[i][0], cases[i][1]}, {NULL, NULL}}};
		struct settings s;
		struct strbuf e, w;
		sb_init(&e);
		sb_init(&w);
		assert_false(load(&env, "mx1.example.com", &s, &e, &w));
		if (!strstr(e.buf, cases[i][3]))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.buf, cases[i][3]);
		settings_free(&s);
		sb_free(&e);
		sb_free(&w);
	}
	/* A base variable on the mini image. */
	struct fake_env env = {{{"SMTPD_SASL_CLIENTAUTH", "u:p"}, {NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_false(settings_load(&s, fake_env_get, &env, "mx1.example.com", IMAGE_MINI, &e, &w));
	assert_non_null(strstr(e.buf, "SMTPD_SASL_CLIENTAUTH=\"u:***\": expected no value in the mini image: "
				      "it has a meaning only in base, full, rspamd"));
	assert_null(strstr(e.buf, "u:p"));
	settings_free(&s);
	/* full and rspamd are siblings: what only one of them has is refused by the other. */
	assert_false(load_one(IMAGE_RSPAMD, "RAZOR_REGISTRATION", "u:p", &e));
	assert_non_null(strstr(e.buf, "RAZOR_REGISTRATION=\"u:***\": expected no value in the rspamd image: "
				      "it has a meaning only in full"));
	assert_refused(IMAGE_RSPAMD, "SA_DEBUG", "1", "in the rspamd image: it has a meaning only in full");
	assert_false(load_one(IMAGE_FULL, "RSPAMD_PASSWORD", "long-enough-pw", &e));
	assert_non_null(strstr(e.buf, "in the full image: it has a meaning only in rspamd"));
	assert_null(strstr(e.buf, "long-enough-pw"));
	assert_refused(IMAGE_BASE, "DMARC_REPORTS", "yes", "in the base image: it has a meaning only in rspamd");
	assert_true(load_one(IMAGE_RSPAMD, "FINAL_SPAM_DESTINY", "D_REJECT", &e));
	assert_true(load_one(IMAGE_RSPAMD, "RSPAMD_PASSWORD", "long-enough-pw", &e));
	assert_false(load_one(IMAGE_RSPAMD, "RSPAMD_PASSWORD", "short", &e));
	assert_non_null(strstr(e.buf, "8 to 256 printable characters"));
	assert_null(strstr(e.buf, "short"));
	assert_refused(IMAGE_RSPAMD, "DMARC_REPORTS_FROM", "not-an-address", "a mail address");
	sb_free(&e);
	sb_free(&w);
}

/* NAME_FILE: secrets (Docker secrets) and lists too long for the environment. */
static void test_values_from_files(void **state)
{
	(void)state;
	char secret[] = "/tmp/mtactl-unit-secret-XXXXXX", boxes[] = "/tmp/mtactl-unit-boxes-XXXXXX";
	int fd = mkstemp(secret);
	assert_true(fd >= 0 && write(fd, "relay.example.com u:p w\n", 24) == 24);
	close(fd);
	struct strbuf list;
	sb_init(&list);
	for (int i = 0; i < 10000; i++)
		sb_addf(&list, "user%05d@example.com%c", i, i % 10 ? ' ' : '\n');
	fd = mkstemp(boxes);
	assert_true(fd >= 0 && write(fd, list.buf, list.len) == (ssize_t)list.len);
	close(fd);
	struct fake_env env = {{{"SMTP_RELAY_HOSTAUTH_FILE", secret}, {"MAIL_BOXES_FILE", boxes}, {NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	assert_true(load(&env, "mx1.example.com", &s, &e, &w));
	assert_string_equal(s.relay.password, "p w");
	assert_int_equal(s.boxes.len, 10000);
	settings_free(&s);
	/* A duplicate deep in a long list is found and named. */
	fd = open(boxes, O_WRONLY | O_APPEND);
	assert_true(fd >= 0 && write(fd, " user04711@example.com", 22) == 22);
	close(fd);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "\"user04711@example.com\" twice"));
	settings_free(&s);
	/* An unreadable file is named, and its variable. */
	env.pairs[1][1] = "/nonexistent/boxes";
	sb_reset(&e);
	assert_false(load(&env, "mx1.example.com", &s, &e, &w));
	assert_non_null(strstr(e.buf, "MAIL_BOXES_FILE=\"/nonexistent/boxes\": expected"));
	settings_free(&s);
	unlink(secret);
	unlink(boxes);
	sb_free(&list);
	sb_free(&e);
	sb_free(&w);
}

/* The generic rule: upper-case names that are Postfix parameters. */
static void test_generic_rule(void **state)
{
	(void)state;
	struct strlist known;
	strlist_init(&known);
	const char *names[] = {"message_size_limit", "mynetworks", "relayhost", "smtpd_banner"};
	for (size_t i = 0; i < 4; i++)
		strlist_add(&known, names[i], strlen(names[i]));
	char *env[] = {"SMTPD_BANNER=$myhostname ESMTP Test", "MYNETWORKS=10.0.0.0/8",
		       "smtpd_banner=lower case is not the rule", "MESSAGE_SIZE_LIMIT=1",
		       "MAIL_BOXE=typo@example.com", "PATH=/bin", "HOSTNAME=x", "LC_ALL=C",
		       "DOVECOT_MAIL_LOCATION=x", "RELAYHOST=", "NOEQUALS", NULL};
	struct params p = {0};
	struct strbuf errors, unknown;
	sb_init(&errors);
	sb_init(&unknown);
	assert_true(postfix_generic_params(env, &known, &p, &errors, &unknown));
	assert_string_equal(params_get(&p, "smtpd_banner"), "$myhostname ESMTP Test");
	assert_string_equal(params_get(&p, "mynetworks"), "10.0.0.0/8");
	assert_string_equal(params_get(&p, "relayhost"), "");
	assert_null(params_get(&p, "message_size_limit")); /* the table owns it */
	assert_string_equal(unknown.buf, "MAIL_BOXE\n");
	params_free(&p);

	char *inject[] = {"SMTPD_BANNER=x\nrelayhost = evil", NULL};
	assert_false(postfix_generic_params(inject, &known, &p, &errors, &unknown));
	assert_non_null(strstr(errors.buf, "SMTPD_BANNER"));
	assert_null(params_get(&p, "smtpd_banner"));
	params_free(&p);
	strlist_free(&known);
	sb_free(&errors);
	sb_free(&unknown);
}

static void test_params_override_in_place(void **state)
{
	(void)state;
	struct params p = {0};
	params_set(&p, "a", "1");
	params_set(&p, "b", "2");
	params_set(&p, "a", "3");
	struct strbuf out;
	sb_init(&out);
	params_render(&p, &out);
	assert_string_equal(out.buf, "a = 3\nb = 2\n");
	params_free(&p);
	sb_free(&out);
}

static void test_markdown_lists_every_variable(void **state)
{
	(void)state;
	struct strbuf md;
	sb_init(&md);
	envlist_markdown(&md);
	for (int i = 0; i < VAR_COUNT; i++) {
		char cell[80];
		snprintf(cell, sizeof cell, "| `%s` |", var_table[i].name);
		assert_non_null(strstr(md.buf, cell));
	}
	sb_free(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_and_documented),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_combination_and_secret),
		cmocka_unit_test(test_control_characters_escaped),
		cmocka_unit_test(test_golden_mini),
		cmocka_unit_test(test_lmtp_transport_and_no_maps),
		cmocka_unit_test(test_golden_base),
		cmocka_unit_test(test_catch_all_identities),
		cmocka_unit_test(test_master_transports),
		cmocka_unit_test(test_virtual_transport_validation),
		cmocka_unit_test(test_golden_full_master),
		cmocka_unit_test(test_catch_all_unserved_domain),
		cmocka_unit_test(test_incomplete_combinations),
		cmocka_unit_test(test_values_from_files),
		cmocka_unit_test(test_generic_rule),
		cmocka_unit_test(test_params_override_in_place),
		cmocka_unit_test(test_markdown_lists_every_variable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
