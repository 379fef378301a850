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

/* Whether the image of this stage has the transport name (len bytes). */
bool postfix_master_has_transport(enum var_stage stage, const char *name, size_t len);
/* Appends the image's transport names, comma-separated, in master.cf order. */
void postfix_master_transports(enum var_stage stage, struct strbuf *out);

#endif
