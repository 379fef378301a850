/* The full image's filters: amavis (SpamAssassin, ClamAV, DKIM signing and
 * verification, quarantine), clamd and freshclam, and the optional
 * services the configuration turns on, from the settings. Pure. */
#ifndef MTACTL_CONFIG_FILTERS_H
#define MTACTL_CONFIG_FILTERS_H

#include "config/settings.h"

#define AMAVIS_CONF "/etc/amavis/conf.d/60-mtactl"
#define SPAMASSASSIN_CONF "/etc/spamassassin/60-mtactl.cf"
#define CLAMD_CONF "/etc/clamav/clamd.conf"
#define FRESHCLAM_CONF "/etc/clamav/freshclam.conf"
#define POLICYD_SPF_CONF "/etc/postfix/policyd-spf.conf"
#define POSTSRSD_SECRET "/etc/postsrsd/postsrsd.secret"
#define CLAMD_SOCKET "/run/clamav/clamd.ctl"
#define QUARANTINE_DIR "/var/amavis/quarantine"
/* Postfix hands mail to amavis by LMTP over UNIX sockets: over loopback TCP
 * each 4 KB message waited 40 ms for a delayed ACK (Nagle), a quarter of
 * amavis's time per message. Two doors, two policy banks. */
#define AMAVIS_INBOUND_SOCKET "/run/amavis/inbound.sock"         /* mail from outside */
#define AMAVIS_ORIGINATING_SOCKET "/run/amavis/originating.sock" /* ours: DKIM-signed */
#define AMAVIS_INBOUND_FILTER "lmtp-amavis:unix:" AMAVIS_INBOUND_SOCKET
#define AMAVIS_ORIGINATING_FILTER "lmtp-amavis:unix:" AMAVIS_ORIGINATING_SOCKET
#define AMAVIS_REINJECT_PORT 10025
/* Where amavis hands back our own users' mail (AUTH_RESULTS=yes): the
 * listener with authmilter, which adds the dkim= result of the signature. */
#define AMAVIS_OWN_REINJECT_PORT 10026
#define SRS_FORWARD_PORT 10001
#define SRS_REVERSE_PORT 10002
/* Forwarded mail passes this loopback listener, whose cleanup asks PostSRSd. */
#define SRS_LOOP_PORT 10027

struct filter_files {
	struct strbuf amavis, spamassassin, clamd, freshclam, policyd_spf;
};

/* amavis children and Postfix's lmtp-amavis maxproc, sized to the cores. */
int filters_amavis_children(void);
void filters_render(const struct settings *s, int children, struct filter_files *out);
void filter_files_free(struct filter_files *f);
/* The services file lines (see config/engine.h) for the filters:
 * "name program args..." each. */
void filters_services(const struct settings *s, struct strbuf *out);
/* The parts that the rspamd image shares: clamd and freshclam, PostSRSd. */
void filters_clamav_services(const struct settings *s, struct strbuf *out);
void filters_srs_service(const struct settings *s, struct strbuf *out);

#endif
