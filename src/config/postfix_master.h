/* What the validators ask of master.cf: which transports (services of a
 * Postfix delivery agent) the master.cf written for an image defines. The
 * answer comes from the service table that renders master.cf
 * (postfix_master.c), so the two cannot disagree. Pure. */
#ifndef MTACTL_CONFIG_POSTFIX_MASTER_H
#define MTACTL_CONFIG_POSTFIX_MASTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"
#include "config/vars.h"

/* Whether the image has the transport name (len bytes). */
bool postfix_master_has_transport(enum image image, const char *name, size_t len);
/* Appends the image's transport names, comma-separated, in master.cf order. */
void postfix_master_transports(enum image image, struct strbuf *out);

#endif
