/* OpenSSL 3 helpers. Every failure is reported with OpenSSL's own reason
 * (ERR_error_string_n), as "what failed: why". */
#include "tls/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"

static void ssl_reason(struct strbuf *why)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	if (e) {
		ERR_error_string_n(e, buf, sizeof buf);
		sb_addf(why, " (%s)", buf);
	}
	ERR_clear_error();
}

static X509 *cert_from_pem(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return NULL;
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static EVP_PKEY *key_from_pem(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return NULL;
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

bool tls_check_pair_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
			struct strbuf *why)
{
	if (cert_len > INT32_MAX || key_len > INT32_MAX) {
		sb_adds(why, "PEM data of a sensible size");
		return false;
	}
	X509 *x = cert_from_pem(cert_pem, cert_len);
	EVP_PKEY *k = x ? key_from_pem(key_pem, key_len) : NULL;
	bool ok = false;
	if (!x) {
		sb_adds(why, "a PEM certificate");
		ssl_reason(why);
	} else if (!k) {
		sb_adds(why, "an unencrypted PEM private key");
		ssl_reason(why);
	} else if (X509_check_private_key(x, k) != 1) {
		sb_adds(why, "the private key of the certificate (they do not match)");
		ERR_clear_error();
	} else {
		ok = true;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return ok;
}

bool tls_check_pair(const char *cert_file, const char *key_file, struct strbuf *why)
{
	struct strbuf cert, key;
	sb_init(&cert);
	sb_init(&key);
	bool ok = false;
	if (file_read(cert_file, &cert, 1 << 20) < 0)
		sb_addf(why, "a readable certificate file %s", cert_file);
	else if (file_read(key_file, &key, 1 << 20) < 0)
		sb_addf(why, "a readable key file");
	else
		ok = tls_check_pair_pem(cert.buf, cert.len, key.buf, key.len, why);
	sb_free(&cert);
	sb_free(&key);
	return ok;
}

bool tls_pem_names_host(const char *cert_pem, size_t len, const char *host)
{
	if (len > INT32_MAX)
		return false;
	X509 *x = cert_from_pem(cert_pem, len);
	if (!x) {
		ERR_clear_error();
		return false;
	}
	bool ok = X509_check_host(x, host, 0, 0, NULL) == 1;
	X509_free(x);
	ERR_clear_error();
	return ok;
}

static int write_pem(const char *path, mode_t mode, int (*emit)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || !emit(b, obj)) {
		BIO_free(b);
		return -1;
	}
	char *data;
	long len = BIO_get_mem_data(b, &data);
	int rc = file_write_atomic(path, data, (size_t)len, mode);
	BIO_free(b);
	return rc;
}

static int emit_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int emit_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int emit_dh(BIO *b, void *k)
{
	return PEM_write_bio_Parameters(b, k);
}

int tls_make_self_signed(const char *cert_file, const char *key_file, const char *cn, int days)
{
	int rc = -1;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509V3_CTX ctx;
	char san[300];
	snprintf(san, sizeof san, "DNS:%s", cn);
	if (!k || !x || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_int64(X509_get_serialNumber(x), (int64_t)time(NULL)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) || !X509_set_pubkey(x, k))
		goto out;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto out;
	}
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, k, EVP_sha256()))
		goto out;
	if (write_pem(key_file, 0600, emit_key, k) < 0 || write_pem(cert_file, 0644, emit_cert, x) < 0) {
		log_warn("writing %s", cert_file);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		struct strbuf why;
		sb_init(&why);
		ssl_reason(&why);
		log_warnx("making a self-signed certificate for %s failed%s", cn, why.buf);
		sb_free(&why);
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

int tls_make_dhparam(const char *file, int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *params = NULL;
	int rc = -1;
	if (ctx && EVP_PKEY_paramgen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_dh_paramgen_prime_len(ctx, bits) == 1 &&
	    EVP_PKEY_CTX_set_dh_paramgen_generator(ctx, 2) == 1 &&
	    EVP_PKEY_paramgen(ctx, &params) == 1)
		rc = write_pem(file, 0644, emit_dh, params);
	if (rc < 0) {
		struct strbuf why;
		sb_init(&why);
		ssl_reason(&why);
		log_warnx("making DH parameters in %s failed%s", file, why.buf);
		sb_free(&why);
	}
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
