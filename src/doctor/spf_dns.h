/* A libspf2 DNS layer over the doctor's bounded resolver. */
#ifndef MTACTL_DOCTOR_SPF_DNS_H
#define MTACTL_DOCTOR_SPF_DNS_H

#include <spf2/spf.h>

/* For SPF_server_new_dns; the caller frees it with SPF_dns_free after
 * SPF_server_free (the server does not). */
SPF_dns_server_t *doctor_spf_dns_new(void);

#endif
