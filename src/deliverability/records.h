/* `mtactl dns [--zone]`: the DNS records to publish for every served
 * domain, human-readable or as zone-file lines. */
#ifndef MTACTL_DELIVERABILITY_RECORDS_H
#define MTACTL_DELIVERABILITY_RECORDS_H

#include "common/strbuf.h"
#include "deliverability/local.h"

#define MTA_STS_MAX_AGE 604800 /* one week (RFC 8461 3.2 allows up to a year) */

/* The MTA-STS policy file text for mx (RFC 8461 3.2) and its id, which
 * changes whenever the text does (a digest of it). */
void mta_sts_policy(const char *mx, struct strbuf *text, char id[21]);
/* Appends every record for f to out, as zone lines when zone, else with a
 * heading per domain and a line of explanation per record. */
void dns_records_render(const struct local_facts *f, bool zone, struct strbuf *out);
int dns_main(int argc, char **argv);

#endif
