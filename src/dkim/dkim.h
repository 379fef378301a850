/* DKIM keys: import (DKIM_PRIVATEKEY), creation, and the DNS TXT record of
 * the public key (RFC 6376 3.6.1), for amavis to sign with. */
#ifndef MTACTL_DKIM_DKIM_H
#define MTACTL_DKIM_DKIM_H

#include <stdbool.h>

#include "common/strbuf.h"

#define DKIM_DIR "/var/db/dkim"

/* DKIM_PRIVATEKEY as given (PEM, or its base64 body without the armour
 * lines, PKCS#1 or PKCS#8) to a PKCS#1 PEM RSA key of 1024 bits or more. */
bool dkim_key_pem_from_value(const char *value, struct strbuf *pem, struct strbuf *why);
/* The TXT record for the key in pem, BIND style, strings of at most 255
 * characters; false when pem is not an RSA key. */
bool dkim_txt_record(const char *pem, const char *domain, const char *selector, struct strbuf *out);
/* Makes sure DKIM_DIR/DOMAIN.SELECTOR.privkey.pem exists (given_pem, else
 * the existing file, else a new key of bits) and writes the TXT record next
 * to it. 0, or -1 after logging why. */
int dkim_install(const char *domain, const char *selector, int bits, const char *given_pem);
/* The base64 of the public key (SubjectPublicKeyInfo DER) of the RSA
 * private key in pem: the p= of the DKIM record. False when not RSA. */
bool dkim_public_key_b64(const char *pem, struct strbuf *out);
void dkim_key_path(const char *domain, const char *selector, char *out, size_t size);

/* `mtactl dkim txt|genkey [DOMAIN [SELECTOR [BITS]]]`. */
int dkim_main(int argc, char **argv);

#endif
