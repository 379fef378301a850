# One Dockerfile, three images: mini (Postfix), base (+ Dovecot), full (+ filters).
# BASE is made by scripts/base-image.sh when no registry is reachable.
ARG BASE=debian:bookworm-slim

# ---- builder: compiles mtactl; nothing from the host's build/ is copied.
FROM ${BASE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev make \
      libssl-dev libjansson-dev libspf2-dev libmicrohttpd-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY src/ src/
# The release that `mtactl --version` prints (src/c.mk reads it).
COPY VERSION ./
RUN make -f src/c.mk BUILD=/build/out mtactl

# ---- mini: Postfix, the control program, syslog to stdout, health check.
FROM ${BASE} AS mini
# policy-rc.d: no package may start a daemon while the image is built.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      postfix postfix-lmdb postfix-ldap postfix-mysql libsasl2-modules ca-certificates libjansson4 libspf2-2 libmicrohttpd12 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/share/locale/* \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && rm -f /usr/sbin/policy-rc.d
# Persistence: configuration under /srv/etc, run data under /srv/var; the
# usual paths are symlinks, so one volume on /srv keeps everything. The
# pristine package configuration stays in /usr/share/mtactl/dist for seeding
# an empty bind mount.
RUN set -e; mkdir -p /srv/etc /srv/var /usr/share/mtactl/dist; \
    for d in /etc/postfix /var/spool/postfix /var/mail /var/lib/postfix; do \
      mkdir -p "/srv$(dirname "$d")" "/usr/share/mtactl/dist$(dirname "$d")"; cp -a "$d" "/usr/share/mtactl/dist$d"; \
      mv "$d" "/srv$d"; ln -s "/srv$d" "$d"; \
    done; \
    chown postfix:postfix /srv/var/mail; chmod 2775 /srv/var/mail; \
    touch /srv/etc/.docker.unlock
COPY --from=builder /build/out/mtactl /usr/local/bin/mtactl
# The old image's utility name: `run update_postfix_dhparam`.
RUN ln -s /usr/local/bin/mtactl /usr/local/bin/run
EXPOSE 25
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["/usr/local/bin/mtactl", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mtactl", "init"]
LABEL mtactl.ready="1"

# ---- base: Dovecot (SASL, LMTP, IMAP, POP3), inbound TLS, ACME.
FROM mini AS base
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-ldap dovecot-mysql \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/share/locale/* \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && rm -f /usr/sbin/policy-rc.d
RUN set -e; for d in /etc/dovecot /var/lib/dovecot; do \
      mkdir -p "/srv$(dirname "$d")" "/usr/share/mtactl/dist$(dirname "$d")"; \
      cp -a "$d" "/usr/share/mtactl/dist$d"; mv "$d" "/srv$d"; ln -s "/srv$d" "$d"; \
    done; \
    mkdir -p /srv/etc/ssl/postfix; ln -s /srv/etc/ssl/postfix /etc/ssl/postfix; \
    touch /srv/etc/.docker.unlock
EXPOSE 465 587 143 993 110 995

# ---- full: amavis, SpamAssassin, Razor, ClamAV, DKIM, SPF, PostSRSd, quarantine,
# MTA-STS (mta-sts-daemon, its policy cache on the volume), unbound for DNS_RESOLVER=unbound,
# inbound SPF/DKIM/ARC/DMARC in one Authentication-Results header and ARC sealing
# (Debian's Python libraries, glued to Postfix by src/authmilter/).
# File::LibMagic lets amavis type the parts in-process (file(1) was a fork per
# message, 15% of its time); postfix joins group amavis for amavis's sockets.
FROM base AS full
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      amavisd-new spamassassin razor libmail-dkim-perl libnet-dns-perl libio-socket-ssl-perl \
      libfile-libmagic-perl \
      clamav clamav-daemon clamav-freshclam postsrsd postfix-policyd-spf-python \
      file unzip bzip2 xz-utils p7zip-full cabextract \
      postfix-mta-sts-resolver python3-aiosqlite unbound dns-root-data \
      python3-authheaders python3-milter python3-dkim python3-spf python3-dnspython python3-publicsuffix2 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/share/locale/* \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && rm -f /usr/sbin/policy-rc.d
COPY src/authmilter/authmilter.py /usr/local/lib/mtactl/authmilter.py
RUN set -e; \
    for d in /etc/amavis /var/lib/amavis /etc/clamav /var/lib/clamav /etc/spamassassin; do \
      mkdir -p "/srv$(dirname "$d")" "/usr/share/mtactl/dist$(dirname "$d")"; \
      cp -a "$d" "/usr/share/mtactl/dist$d"; mv "$d" "/srv$d"; ln -s "/srv$d" "$d"; \
    done; \
    for d in /var/amavis /var/db/dkim /etc/postsrsd; do \
      mkdir -p "/srv$d"; mkdir -p "$(dirname "$d")"; ln -s "/srv$d" "$d"; \
    done; \
    rm -rf /var/lib/mta-sts; mkdir -p /srv/var/lib/mta-sts; chown _mta-sts: /srv/var/lib/mta-sts; \
    ln -s /srv/var/lib/mta-sts /var/lib/mta-sts; \
    ln -s /usr/local/bin/mtactl /usr/local/bin/amavis-ls; \
    usermod -a -G amavis clamav; \
    usermod -a -G amavis postfix; \
    echo localhost >/etc/mailname; \
    touch /srv/etc/.docker.unlock

# ---- rspamd: the base image with rspamd as a before-queue milter instead of
# amavis/SpamAssassin: Bayes in redis (UNIX socket only), ClamAV, DKIM/ARC
# signing, SPF/DKIM/DMARC/ARC verification, PostSRSd, MTA-STS, unbound.
# _rspamd joins clamav (clamd's socket) and redis (redis's socket); postfix
# joins _rspamd for the milter socket in /run/rspamd.
FROM base AS rspamd
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      rspamd redis-server clamav-daemon clamav-freshclam postsrsd \
      postfix-mta-sts-resolver python3-aiosqlite unbound dns-root-data \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/share/locale/* \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && rm -f /usr/sbin/policy-rc.d
# rspamd compiles its hyperscan databases of the URL TLDs (43 MB), stop words and
# regexp maps in its main process at the first start: a minute of CPU, and a heap
# of some 200 MB that stays until rspamd restarts. Compiled here once (rspamd run
# as _rspamd until its scanners start) and kept gzipped (4 MB) outside /srv;
# `mtactl config` puts back in /var/lib/rspamd those it misses at every start. A
# CPU that cannot use them makes rspamd compile anew. The scanners' regexp
# databases (hs_helper, its own process, 45 MB of files) are left to run time.
# The controller's empty statistics: it complains at a first start without them.
RUN set -e; chown _rspamd:_rspamd /var/lib/rspamd; \
    setpriv --reuid=_rspamd --regid=_rspamd --init-groups /usr/bin/rspamd -f >/dev/null 2>&1 & pid=$!; \
    i=0; while [ $i -lt 300 ] && ! pgrep -f '^rspamd: normal' >/dev/null; do sleep 1; i=$((i+1)); done; \
    sleep 2; kill $pid; wait $pid || true; \
    mkdir -p /usr/share/mtactl/rspamd-hs; \
    for f in /var/lib/rspamd/*.hsmp /var/lib/rspamd/*.hsmc; do \
      [ -f "$f" ] && gzip -9c "$f" >"/usr/share/mtactl/rspamd-hs/${f##*/}.gz"; \
    done; \
    find /var/lib/rspamd -type f -delete; \
    printf '{}\n' >/var/lib/rspamd/stats.ucl; chown _rspamd:_rspamd /var/lib/rspamd/stats.ucl; \
    rm -rf /var/log/rspamd/*
RUN set -e; \
    for d in /etc/rspamd /var/lib/rspamd /etc/redis /var/lib/redis /etc/clamav /var/lib/clamav; do \
      mkdir -p "/srv$(dirname "$d")" "/usr/share/mtactl/dist$(dirname "$d")"; \
      cp -a "$d" "/usr/share/mtactl/dist$d"; mv "$d" "/srv$d"; ln -s "/srv$d" "$d"; \
    done; \
    for d in /var/db/dkim /etc/postsrsd; do \
      mkdir -p "/srv$d"; mkdir -p "$(dirname "$d")"; ln -s "/srv$d" "$d"; \
    done; \
    rm -rf /var/lib/mta-sts; mkdir -p /srv/var/lib/mta-sts; chown _mta-sts: /srv/var/lib/mta-sts; \
    ln -s /srv/var/lib/mta-sts /var/lib/mta-sts; \
    ln -s /usr/local/bin/mtactl /usr/local/bin/amavis-ls; \
    usermod -a -G clamav,redis _rspamd; \
    usermod -a -G _rspamd postfix; \
    echo localhost >/etc/mailname; \
    touch /srv/etc/.docker.unlock
