#include "dkim/dkim.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/parse.h"

void dkim_key_path(const char *domain, const char *selector, char *out, size_t size)
{
	int n = snprintf(out, size, DKIM_DIR "/%s.%s.privkey.pem", domain, selector);
	if (n < 0 || (size_t)n >= size)
		fatalx(EXIT_SYSTEM, "DKIM key path too long");
}

static EVP_PKEY *key_from_der_b64(const char *value, struct strbuf *why)
{
	/* Drop white space; what is left is the armour and the base64 body. */
	struct strbuf b64;
	sb_init(&b64);
	for (const char *c = value; *c; c++)
		if (*c != ' ' && *c != '\t' && *c != '\r' && *c != '\n')
			sb_addc(&b64, *c);
	/* Cut every "-----BEGIN...-----" and "-----END...-----" out. */
	for (char *begin; (begin = strstr(b64.buf, "-----"));) {
		char *end = strstr(begin + 5, "-----");
		size_t cut = end ? (size_t)(end + 5 - begin) : strlen(begin);
		memmove(begin, begin + cut, strlen(begin + cut) + 1);
	}
	EVP_PKEY *k = NULL;
	size_t len = strlen(b64.buf);
	if (len == 0 || len % 4 != 0 || len > 65536) {
		sb_adds(why, "an RSA private key in PEM or its base64 body");
	} else {
		unsigned char *der = malloc(len / 4 * 3);
		if (!der)
			fatal(EXIT_SYSTEM, "out of memory");
		int n = EVP_DecodeBlock(der, (const unsigned char *)b64.buf, (int)len);
		if (n > 0) {
			n -= (b64.buf[len - 1] == '=') + (b64.buf[len - 2] == '=');
			const unsigned char *p = der;
			k = d2i_AutoPrivateKey(NULL, &p, n);
		}
		if (!k)
			sb_adds(why, "an RSA private key in PEM or its base64 body (it does not decode as a key)");
		free(der);
	}
	ERR_clear_error();
	sb_free(&b64);
	return k;
}

static bool key_to_pem(EVP_PKEY *k, struct strbuf *pem, struct strbuf *why)
{
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) < 1024) {
		sb_adds(why, "an RSA key of 1024 bits or more");
		return false;
	}
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	bool ok = b && PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
	if (ok) {
		long len = BIO_get_mem_data(b, &data);
		sb_add(pem, data, (size_t)len);
	} else {
		sb_adds(why, "a key OpenSSL can write");
	}
	BIO_free(b);
	return ok;
}

bool dkim_key_pem_from_value(const char *value, struct strbuf *pem, struct strbuf *why)
{
	EVP_PKEY *k = key_from_der_b64(value, why);
	bool ok = k && key_to_pem(k, pem, why);
	EVP_PKEY_free(k);
	return ok;
}

bool dkim_public_key_b64(const char *pem, struct strbuf *out)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	unsigned char *der = NULL;
	int n = k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? i2d_PUBKEY(k, &der) : -1;
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (n <= 0)
		return false;
	char *b64 = malloc((size_t)n / 3 * 4 + 8);
	if (!b64)
		fatal(EXIT_SYSTEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	sb_adds(out, b64);
	free(b64);
	return true;
}

bool dkim_txt_record(const char *pem, const char *domain, const char *selector, struct strbuf *out)
{
	struct strbuf b64;
	sb_init(&b64);
	if (!dkim_public_key_b64(pem, &b64)) {
		sb_free(&b64);
		return false;
	}
	sb_addf(out, "%s._domainkey.%s.\t3600\tTXT\t( \"v=DKIM1; k=rsa; \"", selector, domain);
	/* DNS character-strings hold at most 255 octets (RFC 1035 3.3). */
	for (size_t i = 0; i < b64.len; i += 250)
		sb_addf(out, "\n\t\"%s%.250s\"", i ? "" : "p=", b64.buf + i);
	sb_adds(out, " )\n");
	sb_free(&b64);
	return true;
}

/* The keys belong to the signer of this image: amavis in full, rspamd's
 * _rspamd in rspamd (the same files, so a volume can move between them). */
static int chown_signer(const char *path)
{
	struct passwd *pw = getpwnam("amavis");
	if (!pw)
		pw = getpwnam("_rspamd");
	return pw ? chown(path, pw->pw_uid, pw->pw_gid) : 0;
}

int dkim_install(const char *domain, const char *selector, int bits, const char *given_pem)
{
	char key[512], txt[600];
	dkim_key_path(domain, selector, key, sizeof key);
	snprintf(txt, sizeof txt, DKIM_DIR "/%s.%s._domainkey.txt", domain, selector);
	if (mkdir_p(DKIM_DIR, 0750) < 0 || chown_signer(DKIM_DIR) < 0) {
		log_warn("creating %s", DKIM_DIR);
		return -1;
	}
	struct strbuf pem;
	sb_init(&pem);
	if (given_pem) {
		sb_adds(&pem, given_pem);
	} else if (file_read(key, &pem, 1 << 16) < 0) {
		EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
		struct strbuf why;
		sb_init(&why);
		bool ok = k && key_to_pem(k, &pem, &why);
		EVP_PKEY_free(k);
		sb_free(&why);
		if (!ok) {
			log_warnx("making a %d-bit DKIM key failed", bits);
			sb_free(&pem);
			return -1;
		}
		log_info("made a %d-bit DKIM key %s", bits, key);
	}
	struct strbuf record;
	sb_init(&record);
	int rc = 0;
	if (!dkim_txt_record(pem.buf, domain, selector, &record)) {
		log_warnx("%s is not an RSA private key", key);
		rc = -1;
	} else if (file_write_atomic(key, pem.buf, pem.len, 0600) < 0 || chown_signer(key) < 0 ||
		   file_write_atomic(txt, record.buf, record.len, 0644) < 0) {
		log_warn("writing %s", key);
		rc = -1;
	}
	sb_free(&pem);
	sb_free(&record);
	return rc;
}

int dkim_main(int argc, char **argv)
{
	log_set_name("dkim");
	const char *selector = argc > 3 ? argv[3] : getenv("DKIM_SELECTOR");
	if (!selector || !*selector)
		selector = "default";
	char domain[256] = "";
	if (argc > 2) {
		snprintf(domain, sizeof domain, "%s", argv[2]);
	} else {
		const char *d = getenv("MAIL_DOMAIN");
		char host[256];
		if (d && *d) {
			snprintf(domain, sizeof domain, "%.*s", (int)strcspn(d, " \t,"), d);
		} else if (gethostname(host, sizeof host) == 0 && strchr(host, '.')) {
			host[sizeof host - 1] = '\0';
			snprintf(domain, sizeof domain, "%s", strchr(host, '.') + 1);
		}
	}
	if (argc < 2 || !*domain || argc > 5) {
		log_warnx("usage: mtactl dkim txt|genkey [DOMAIN [SELECTOR [BITS]]]");
		return EXIT_USAGE;
	}
	char key[512];
	dkim_key_path(domain, selector, key, sizeof key);
	if (!strcmp(argv[1], "txt")) {
		struct strbuf pem, record;
		sb_init(&pem);
		sb_init(&record);
		int rc = EXIT_OK;
		if (file_read(key, &pem, 1 << 16) < 0 || !dkim_txt_record(pem.buf, domain, selector, &record)) {
			log_warn("no usable DKIM key %s", key);
			rc = EXIT_FAIL;
		} else {
			fputs(record.buf, stdout);
		}
		sb_free(&pem);
		sb_free(&record);
		return rc;
	}
	if (!strcmp(argv[1], "genkey")) {
		unsigned long bits = 2048;
		if (argc > 4 && (!is_uint(argv[4], 4096, &bits) || bits < 1024)) {
			log_warnx("BITS: expected 1024 to 4096");
			return EXIT_USAGE;
		}
		if (unlink(key) < 0 && errno != ENOENT)
			fatal(EXIT_SYSTEM, "removing %s", key);
		return dkim_install(domain, selector, (int)bits, NULL) == 0 ? EXIT_OK : EXIT_SYSTEM;
	}
	log_warnx("usage: mtactl dkim txt|genkey [DOMAIN [SELECTOR [BITS]]]");
	return EXIT_USAGE;
}
