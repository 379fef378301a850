/* `mtactl health`: the HEALTHCHECK probe. Healthy when every service init
 * started is up with a live process, Postfix answers on port 25 and, in
 * the full image, amavis answers on its LMTP socket and clamd its PING
 * (probe.h: each spoken to its end). */
#ifndef MTACTL_HEALTH_HEALTH_H
#define MTACTL_HEALTH_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Checks the status file text ("name state pid" lines); appends a reason
 * per service that is not up to why. */
bool health_services_ok(const char *status_text, struct strbuf *why);
int health_main(int argc, char **argv);

#endif
