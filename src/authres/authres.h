/* Inbound mail authentication in the full image: one Authentication-Results
 * header (SPF, DKIM, ARC, DMARC), the DMARC policy, ARC sealing of
 * forwarded mail. The work is done by src/authmilter/authmilter.py (Debian's
 * authheaders, dkimpy, pyspf, pymilter); this part writes its settings and
 * the Postfix and amavis lines that put it in the mail's path. Pure: text
 * out of the settings, the engine writes the files. */
#ifndef MTACTL_AUTHRES_AUTHRES_H
#define MTACTL_AUTHRES_AUTHRES_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "config/params.h"
#include "config/settings.h"

#define AUTHMILTER_CONF "/etc/amavis/authmilter.conf"
#define AUTHMILTER_SOCKET "/run/amavis/authmilter.sock"
/* Postfix's milter_header_checks table: the marker header the milter adds
 * to p=quarantine mail sends it to amavis's quarantine door. */
#define AUTHRES_QUARANTINE_CHECKS "/etc/postfix/dmarc-quarantine"
#define AMAVIS_DMARC_QUARANTINE_SOCKET "/run/amavis/dmarc-quarantine.sock"

/* AUTH_RESULTS=yes: the milter runs and every inbound message gets its header. */
bool authres_enabled(const struct settings *s);
/* main.cf: smtpd_milters and friends (nothing when disabled). */
void authres_main_params(const struct settings *s, struct params *p);
/* master.cf -o lines for the SRS loop listener: the milter seals there. */
void authres_master_seal(const struct settings *s, struct strbuf *out);
/* master.cf -o lines of the listener amavis hands our users' mail back to
 * (there only with authres_enabled). */
void authres_master_reinject(struct strbuf *out);
/* amavis conf.d lines: no Authentication-Results of amavis's own, and the
 * quarantine door for p=quarantine. */
void authres_amavis(const struct settings *s, struct strbuf *out);
/* policyd-spf.conf lines: SPF is in our header, so no Received-SPF. */
void authres_policyd_spf(const struct settings *s, struct strbuf *out);
/* The milter's settings file and the milter_header_checks table (empty
 * when not needed), and its services line. */
void authres_render(const struct settings *s, struct strbuf *conf, struct strbuf *checks);
void authres_services(const struct settings *s, struct strbuf *out);

#endif
