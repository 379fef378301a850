/* Certificates and keys with OpenSSL: checking that a pair belongs
 * together, making a self-signed certificate, DH parameters. */
#ifndef MTACTL_TLS_TLS_H
#define MTACTL_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Both PEM files parse and the key is the certificate's. */
bool tls_check_pair(const char *cert_file, const char *key_file, struct strbuf *why);
/* The same for PEM text in memory (ACME). */
bool tls_check_pair_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
			struct strbuf *why);
/* Does the first certificate in the PEM text name host (CN or SAN, with
 * wildcards as RFC 6125 allows)? */
bool tls_pem_names_host(const char *cert_pem, size_t len, const char *host);
/* Writes a new RSA key (mode 0600) and a self-signed certificate for cn
 * (subjectAltName DNS:cn) valid for days. 0, or -1 with a logged reason. */
int tls_make_self_signed(const char *cert_file, const char *key_file, const char *cn, int days);
/* Writes DH parameters of bits (PEM). 0, or -1 with a logged reason. */
int tls_make_dhparam(const char *file, int bits);
/* `mtactl dhparam [bits]`, also `run update_postfix_dhparam [bits]`. */
int tls_dhparam_main(int argc, char **argv);
int run_main(int argc, char **argv);

#endif
