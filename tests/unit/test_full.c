/* DKIM key import and TXT records, ACME certificate selection, quarantine
 * header parsing, the amavis configuration (golden file) and PostSRSd's
 * place in main.cf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "config/filters.h"
#include "config/params.h"
#include "config/postfix.h"
#include "config/settings.h"
#include "dkim/dkim.h"
#include "fake_env.h"
#include "golden.h"
#include "quarantine/quarantine.h"

static char *pem_of_new_key(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
	BIO *b = BIO_new(BIO_s_mem());
	assert_non_null(k);
	assert_true(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL));
	char *data;
	long len = BIO_get_mem_data(b, &data);
	char *copy = strndup(data, (size_t)len);
	BIO_free(b);
	EVP_PKEY_free(k);
	return copy;
}

static void test_dkim_key_forms(void **state)
{
	(void)state;
	char *pem = pem_of_new_key(1024);
	struct strbuf out, why;
	sb_init(&out);
	sb_init(&why);
	/* PEM as is. */
	assert_true(dkim_key_pem_from_value(pem, &out, &why));
	assert_string_equal(out.buf, pem);
	/* The body alone, on one line (the old image's convenience). */
	struct strbuf body;
	sb_init(&body);
	for (const char *c = pem; *c; c++) {
		if (!strncmp(c, "-----", 5)) {
			c = strchr(c, '\n');
			if (!c)
				break;
			continue;
		}
		if (*c != '\n')
			sb_addc(&body, *c);
	}
	sb_reset(&out);
	assert_true(dkim_key_pem_from_value(body.buf, &out, &why));
	assert_string_equal(out.buf, pem);
	/* PEM with spaces for newlines, as a shell may pass it. */
	char *spaced = strdup(pem);
	for (char *c = spaced; *c; c++)
		if (*c == '\n')
			*c = ' ';
	sb_reset(&out);
	assert_true(dkim_key_pem_from_value(spaced, &out, &why));
	assert_string_equal(out.buf, pem);
	/* Garbage, truncated, empty. */
	const char *bad[] = {"garbage", "", "MIIE", "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		sb_reset(&out);
		assert_false(dkim_key_pem_from_value(bad[i], &out, &why));
		assert_true(why.len > 0);
	}
	body.buf[body.len / 2] = '\0';
	assert_false(dkim_key_pem_from_value(body.buf, &out, &why));
	free(spaced);
	free(pem);
	sb_free(&body);
	sb_free(&out);
	sb_free(&why);
}

static void test_dkim_txt(void **state)
{
	(void)state;
	char *pem = pem_of_new_key(2048);
	struct strbuf txt;
	sb_init(&txt);
	assert_true(dkim_txt_record(pem, "example.com", "default", &txt));
	assert_true(strncmp(txt.buf, "default._domainkey.example.com.\t3600\tTXT\t( \"v=DKIM1; k=rsa; \"", 59) == 0);
	assert_non_null(strstr(txt.buf, "\"p=MIIBIjAN"));
	/* No DNS character-string over 255 octets. */
	for (const char *q = strchr(txt.buf, '"'); q; q = strchr(q + 1, '"')) {
		const char *close = strchr(q + 1, '"');
		assert_non_null(close);
		assert_true(close - q - 1 <= 255);
		q = close;
	}
	sb_reset(&txt);
	assert_false(dkim_txt_record("not a key", "example.com", "default", &txt));
	free(pem);
	sb_free(&txt);
}

static void make_cert(const char *cn, const char *san, struct strbuf *cert_pem, struct strbuf *key_pem)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, k, EVP_sha256());
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	PEM_write_bio_X509(b, x);
	long len = BIO_get_mem_data(b, &data);
	sb_add(cert_pem, data, (size_t)len);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(b, &data);
	sb_add(key_pem, data, (size_t)len);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
}

static char *b64(const struct strbuf *s)
{
	char *out = malloc(s->len / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s->buf, (int)s->len);
	return out;
}

static void test_acme_pick(void **state)
{
	(void)state;
	struct strbuf c1, k1, c2, k2;
	sb_init(&c1); sb_init(&k1); sb_init(&c2); sb_init(&k2);
	make_cert("example.com", "DNS:example.com", &c1, &k1);
	make_cert("mx1.example.com", "DNS:mx1.example.com", &c2, &k2);
	char *bc1 = b64(&c1), *bk1 = b64(&k1), *bc2 = b64(&c2), *bk2 = b64(&k2);
	struct strbuf json, why;
	sb_init(&json);
	sb_init(&why);
	/* v1: the host's own entry wins over the domain's. */
	sb_addf(&json, "{\"Account\":{\"Email\":\"a@b\"},\"Certificates\":["
		       "{\"Domain\":{\"Main\":\"example.com\",\"SANs\":null},\"Certificate\":\"%s\",\"Key\":\"%s\"},"
		       "{\"Domain\":{\"Main\":\"www.other.org\",\"SANs\":[\"mx1.example.com\"]},\"Certificate\":\"%s\",\"Key\":\"%s\"}]}",
		bc1, bk1, bc2, bk2);
	struct acme_pick pick;
	assert_true(acme_pick(json.buf, json.len, "mx1.example.com", "example.com", &pick, &why));
	assert_string_equal(pick.name, "www.other.org");
	assert_int_equal(pick.cert.len, c2.len);
	assert_memory_equal(pick.cert.buf, c2.buf, c2.len);
	acme_pick_free(&pick);
	/* Only the domain matches. */
	assert_true(acme_pick(json.buf, json.len, "mail.example.com", "example.com", &pick, &why));
	assert_string_equal(pick.name, "example.com");
	acme_pick_free(&pick);
	/* v2: resolvers, lower-case keys, a wildcard. */
	sb_reset(&json);
	sb_addf(&json, "{\"le\":{\"Account\":{},\"Certificates\":[{\"domain\":{\"main\":\"*.example.com\"},"
		       "\"certificate\":\"%s\",\"key\":\"%s\",\"Store\":\"default\"}]},\"other\":{\"Certificates\":null}}",
		bc2, bk2);
	assert_true(acme_pick(json.buf, json.len, "mx1.example.com", "example.com", &pick, &why));
	assert_string_equal(pick.name, "*.example.com");
	acme_pick_free(&pick);
	/* No match, broken JSON, missing fields, bad base64. */
	assert_false(acme_pick(json.buf, json.len, "mx1.other.org", "other.org", &pick, &why));
	assert_non_null(strstr(why.buf, "no certificate for mx1.other.org"));
	acme_pick_free(&pick);
	const char *bad[] = {"{", "[]", "{\"Certificates\":[{\"Domain\":{\"Main\":\"mx1.example.com\"}}]}",
			     "{\"Certificates\":[{\"Domain\":{\"Main\":\"mx1.example.com\"},\"Certificate\":\"!!!\",\"Key\":\"x\"}]}",
			     "{\"Certificates\":[{\"Domain\":\"mx1.example.com\"}]}", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sb_reset(&why);
		assert_false(acme_pick(bad[i], strlen(bad[i]), "mx1.example.com", "example.com", &pick, &why));
		assert_true(why.len > 0);
		acme_pick_free(&pick);
	}
	free(bc1); free(bk1); free(bc2); free(bk2);
	sb_free(&c1); sb_free(&k1); sb_free(&c2); sb_free(&k2);
	sb_free(&json);
	sb_free(&why);
}

static void test_quarantine_parse(void **state)
{
	(void)state;
	const char msg[] = "X-Envelope-From: <x@foreign.test>\n"
			   "X-Envelope-To: <info@example.com>,\n <sales@example.com>\n"
			   "X-Envelope-To-Blocked: <info@example.com>\n"
			   "X-Quarantine-ID: <VtG8FVp-CqDL>\n"
			   "X-Amavis-Alert: INFECTED, message contains virus:\n\tEicar-Signature\n"
			   "Subject: =?UTF-8?Q?caf=C3=A9?= \x1b[31mred\n"
			   "Date: Wed, 25 Nov 2026 16:03:24 +0000\n"
			   "\n"
			   "Subject: not a header, the body\n";
	struct quarantine_entry e;
	quarantine_parse(msg, sizeof msg - 1, "virus-VtG8FVp-CqDL", &e);
	assert_string_equal(e.sender, "<x@foreign.test>");
	assert_string_equal(e.recipients, "<info@example.com>");
	assert_string_equal(e.reason, "INFECTED, message contains virus: Eicar-Signature");
	assert_string_equal(e.subject, "=?UTF-8?Q?caf=C3=A9?= [31mred");
	assert_string_equal(e.date, "Wed, 25 Nov 2026 16:03:24 +0000");

	/* No alert: the kind comes from the file name; no blocked list: all. */
	const char spam[] = "X-Envelope-To: <a@example.com>\r\nSubject: gtube\r\n\r\nbody";
	quarantine_parse(spam, sizeof spam - 1, "spam-abc", &e);
	assert_string_equal(e.reason, "spam");
	assert_string_equal(e.recipients, "<a@example.com>");
	assert_string_equal(e.subject, "gtube");

	/* Empty, no colon, no blank line, overlong value. */
	quarantine_parse("", 0, "x", &e);
	assert_string_equal(e.sender, "");
	quarantine_parse("garbage without colon", 21, "banned-1", &e);
	assert_string_equal(e.reason, "banned");
	static char big[100000];
	memset(big, 'a', sizeof big);
	memcpy(big, "Subject: ", 9);
	quarantine_parse(big, sizeof big, "badh-1", &e);
	assert_int_equal(strlen(e.subject), sizeof e.subject - 1);
}

static void test_golden_amavis(void **state)
{
	(void)state;
	struct fake_env env = {{
		{"MAIL_DOMAIN", "example.com other.org"},
		{"FINAL_SPAM_DESTINY", "D_DISCARD"},
		{"SA_TAG_LEVEL_DEFLT", "-99"},
		{"LOG_LEVEL", "2"},
		{"DKIM_SELECTOR", "mail2026"},
		{NULL, NULL},
	}};
	struct settings s;
	struct strbuf e, w, services;
	sb_init(&e);
	sb_init(&w);
	sb_init(&services);
	if (!settings_load(&s, fake_env_get, &env, "mx1.example.com", IMAGE_FULL, &e, &w))
		fail_msg("%s", e.buf);
	struct filter_files f;
	filters_render(&s, 2, &f);
	assert_golden("full-amavis.conf", f.amavis.buf);
	filters_services(&s, &services);
	assert_golden("full-services", services.buf);
	filter_files_free(&f);
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
	sb_free(&services);
}

/* PostSRSd rewrites only forwarded mail: the senders table routes mail of
 * outside senders (with an @, so not bounces) through the srs-forward loop;
 * no sender is rewritten globally; SRS addresses map to themselves in the
 * loop's cleanup, so PostSRSd is asked about each sender once. */
static void test_srs_maps(void **state)
{
	(void)state;
	struct fake_env env = {{{"MAIL_DOMAIN", "mail.example.com other.org"}, {NULL, NULL}}};
	struct settings s;
	struct strbuf e, w;
	sb_init(&e);
	sb_init(&w);
	if (!settings_load(&s, fake_env_get, &env, "mx1.example.com", IMAGE_FULL, &e, &w))
		fail_msg("%s", e.buf);
	const struct postfix_host host = {.uid = 100, .gid = 102, .filters = true, .filter_children = 2,
					  .image = IMAGE_FULL};
	struct postfix_map maps[MAP_COUNT];
	postfix_maps_render(&s, &host, maps);
	assert_non_null(strstr(maps[MAP_SRS_SENDERS].text.buf,
			       "if /@/\n!/@(mail\\.example\\.com|other\\.org)$/ srs-forward:[127.0.0.1]:10027\nendif\n"));
	assert_non_null(strstr(maps[MAP_SRS_KEEP].text.buf, "/^(SRS[01][-=+].*)$/ ${1}\n"));
	const struct tls_setup tls = {.enabled = false};
	struct params p = {0};
	postfix_main_params(&s, &host, maps, &tls, &p);
	assert_string_equal(params_get(&p, "sender_dependent_default_transport_maps"),
			    "regexp:/etc/postfix/srs-senders");
	assert_null(params_get(&p, "sender_canonical_maps"));
	assert_string_equal(params_get(&p, "recipient_canonical_maps"), "tcp:127.0.0.1:10002");
	params_free(&p);
	postfix_maps_free(maps);
	/* smaller images have no PostSRSd, so no table */
	const struct postfix_host mini = {.uid = 100, .gid = 102, .image = IMAGE_MINI};
	postfix_maps_render(&s, &mini, maps);
	assert_int_equal(maps[MAP_SRS_SENDERS].text.len, 0);
	postfix_maps_free(maps);
	settings_free(&s);
	sb_free(&e);
	sb_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dkim_key_forms),
		cmocka_unit_test(test_dkim_txt),
		cmocka_unit_test(test_acme_pick),
		cmocka_unit_test(test_quarantine_parse),
		cmocka_unit_test(test_golden_amavis),
		cmocka_unit_test(test_srs_maps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
