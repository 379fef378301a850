/* Which services this image runs, in start order (stopped in reverse), and
 * the status file through which `mtactl health` sees them. */
#ifndef MTACTL_INIT_SERVICES_H
#define MTACTL_INIT_SERVICES_H

#include <stddef.h>

#include "init/service.h"

#define SERVICES_MAX 24
#define STATUS_FILE "/run/mtactl/services"

/* Fills out with the services enabled on this image; returns how many. */
size_t services_enabled(struct service *out, size_t max, int devlog_fd);
/* Rewrites STATUS_FILE: one "name state pid restarts" line per service
 * (readers of the first three fields ignore the fourth). */
void services_write_status(const struct service *svc, size_t n);

#endif
