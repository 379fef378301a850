/* The rspamd image's filter: the files rspamd and redis read, the services
 * that run them, and the main.cf parameters that make Postfix use rspamd's
 * proxy worker as its milter. Pure: rendered from the settings; the engine
 * writes them. The variables keep their amavis meaning (see the README's
 * mapping table): FINAL_*_DESTINY become rspamd actions and force_actions
 * rules, SA_*_LEVEL_DEFLT the action thresholds and X-Spam-* headers. */
#ifndef MTACTL_RSPAMD_RSPAMD_H
#define MTACTL_RSPAMD_RSPAMD_H

#include <sys/types.h>

#include "config/params.h"
#include "config/settings.h"

#define RSPAMD_DIR "/etc/rspamd"
#define RSPAMD_LOCAL_DIR RSPAMD_DIR "/local.d"
#define RSPAMD_OVERRIDE_DIR RSPAMD_DIR "/override.d"
#define RSPAMD_RUN_DIR "/run/rspamd"
#define RSPAMD_MILTER_SOCKET RSPAMD_RUN_DIR "/milter.sock"
#define RSPAMD_CONTROLLER_SOCKET RSPAMD_RUN_DIR "/controller.sock"
#define RSPAMD_NORMAL_PORT 11333
#define RSPAMD_NORMAL_ADDR "127.0.0.1:11333"
#define RSPAMD_CONTROLLER_PORT 11334
#define REDIS_CONF "/etc/redis/mtactl.conf"
#define REDIS_RUN_DIR "/run/redis"
#define REDIS_SOCKET REDIS_RUN_DIR "/redis.sock"
#define REDIS_DATA_DIR "/var/lib/redis"
/* Every message rspamd holds carries this one header (see the design):
 * "X-Quarantine: <kind> <destiny> <detail>". */
#define RSPAMD_QUARANTINE_HEADER "X-Quarantine"

#define RSPAMD_FILES_MAX 24

struct rspamd_file {
	const char *path;
	struct strbuf text;
	mode_t mode;
};

struct rspamd_files {
	struct rspamd_file item[RSPAMD_FILES_MAX];
	size_t len;
};

/* All of rspamd's and redis's files. cores: normal workers (one each);
 * password_hash: the controller password as `rspamadm pw` encrypts it
 * (the engine hashes RSPAMD_PASSWORD, or a random one when it is unset:
 * then only the UNIX socket listens, and Debian's "q1" is gone either way). */
void rspamd_render(const struct settings *s, int cores, const char *password_hash,
		   struct rspamd_files *out);
void rspamd_files_free(struct rspamd_files *f);
/* The services file lines (config/engine.h) of redis and rspamd. */
void rspamd_services(const struct settings *s, struct strbuf *out);
/* main.cf: smtpd_milters and non_smtpd_milters to the proxy worker. */
void rspamd_postfix_params(const struct settings *s, struct params *p);

/* Parts of the rendering, one file each (render.c, modules.c, lua.c). */
struct rspamd_file *rspamd_file_add(struct rspamd_files *f, const char *path, mode_t mode);
void rspamd_render_modules(const struct settings *s, struct rspamd_files *out);
void rspamd_render_lua(const struct settings *s, struct strbuf *out);
void rspamd_render_headers(const struct settings *s, struct strbuf *out);
/* D_DISCARD and D_BOUNCE: the milter's quarantine action holds the mail. */
bool rspamd_destiny_holds(const char *destiny);

#endif
