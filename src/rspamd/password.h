/* The rspamd controller's password hash (I/O: runs rspamadm). */
#ifndef MTACTL_RSPAMD_PASSWORD_H
#define MTACTL_RSPAMD_PASSWORD_H

#include <stdbool.h>

#include "common/strbuf.h"

/* plain "" hashes a random password. Returns false when rspamadm failed. */
bool rspamd_password_hash(const char *plain, struct strbuf *hash);

#endif
