/* rspamd's hyperscan databases compiled when the image was built (I/O). */
#ifndef MTACTL_RSPAMD_HSCACHE_H
#define MTACTL_RSPAMD_HSCACHE_H

#define RSPAMD_HS_SEED_DIR "/usr/share/mtactl/rspamd-hs"
#define RSPAMD_HS_CACHE_DIR "/var/lib/rspamd"

/* Puts back in RSPAMD_HS_CACHE_DIR every database of RSPAMD_HS_SEED_DIR
 * (NAME.gz) that is missing there, owned by _rspamd. Nothing to do on other
 * images; a failure only costs rspamd the compilation, so it is a warning. */
void rspamd_hs_cache_seed(void);

#endif
