/* What this host is, as the DNS should describe it: the host name and
 * served domains of the running configuration (postconf), its public
 * addresses, the DKIM keys on disk, the certificate port 25 serves. */
#ifndef MTACTL_DELIVERABILITY_LOCAL_H
#define MTACTL_DELIVERABILITY_LOCAL_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "common/strbuf.h"
#include "config/parse.h"

struct local_facts {
	char *hostname;           /* myhostname, lower-case */
	struct strlist domains;   /* virtual_mailbox_domains, primary first */
	struct strlist addresses; /* DOCTOR_PUBLIC_ADDRESSES, else the interfaces' (no loopback, no link-local) */
	bool addresses_given;     /* from DOCTOR_PUBLIC_ADDRESSES */
	X509 *cert;               /* served on 127.0.0.1:25 after STARTTLS; NULL: see cert_why */
	struct strbuf cert_why;
	char spki_sha256[65];     /* hex of the certificate's SubjectPublicKeyInfo, "" without cert */
};

/* The interfaces' addresses: no loopback, no link-local. False on error. */
bool local_interface_addresses(struct strlist *out);
/* Fills f; false with why when the configuration cannot be read (no
 * postconf, no host name). */
bool local_facts_load(struct local_facts *f, struct strbuf *why);
void local_facts_free(struct local_facts *f);

/* The DKIM key of domain on disk: selector and PEM text. False when none. */
bool local_dkim_key(const char *domain, struct strbuf *selector, struct strbuf *pem);

/* The hex SHA-256 (65 bytes with NUL) of the certificate's public key
 * (TLSA selector 1, RFC 6698 2.1.2) or of the whole certificate (0). */
bool tlsa_digest(X509 *cert, int selector, int mtype, char *hex, size_t size);


#endif
