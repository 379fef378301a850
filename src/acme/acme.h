/* Certificates from Traefik's acme.json (v1: top-level "Certificates" with
 * "Domain"/"Certificate"/"Key"; v2: one object per resolver, each with
 * "Certificates" of "domain"/"certificate"/"key"). The one for this host is
 * written to ACME_CERT/ACME_KEY, checked first; a broken file or no match
 * leaves what was there in service. */
#ifndef MTACTL_ACME_ACME_H
#define MTACTL_ACME_ACME_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Not on the volume: taken anew from ACME_FILE at every start. */
#define ACME_DIR "/run/acme"
#define ACME_CERT ACME_DIR "/cert.pem"
#define ACME_KEY ACME_DIR "/key.pem"

/* A certificate picked from acme.json: PEM text of chain and key. */
struct acme_pick {
	struct strbuf cert, key;
	char name[256];  /* the main domain of the entry picked */
};

/* Parses JSON text and picks the entry for host (exact main or SAN first,
 * then a wildcard covering it, then the domain). false with a reason. */
bool acme_pick(const char *json, size_t len, const char *host, const char *domain,
	       struct acme_pick *out, struct strbuf *why);
void acme_pick_free(struct acme_pick *p);

/* Reads file, picks, checks the pair and installs it when it changed.
 * Returns 1 installed, 0 unchanged, -1 refused (reason logged). */
int acme_update(const char *file, const char *host, const char *domain);

/* `mtactl acme extract|watch`. */
int acme_main(int argc, char **argv);

#endif
