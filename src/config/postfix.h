/* Rendering Postfix's configuration from the settings: main.cf parameters,
 * master.cf, and the lookup tables. Pure: the engine does the I/O. */
#ifndef MTACTL_CONFIG_POSTFIX_H
#define MTACTL_CONFIG_POSTFIX_H

#include <sys/types.h>

#include "config/params.h"
#include "config/settings.h"

#define POSTFIX_DIR "/etc/postfix"
#define MAILBOX_BASE "/var/mail"

/* Facts about the machine that the configuration depends on. */
struct postfix_host {
	unsigned long uid, gid; /* the postfix user, owner of virtual mailboxes */
	bool ipv6;              /* the kernel has IPv6 (Docker can switch it off) */
};

/* A lookup table to write: file name under POSTFIX_DIR, its text, whether
 * it is compiled with postmap (lmdb) and whether it holds secrets. */
struct postfix_map {
	const char *name;
	const char *type;  /* "lmdb" (postmap) or "regexp" (read as text) */
	struct strbuf text;
	bool secret;
};

enum postfix_map_id { MAP_USERS, MAP_ALIASES, MAP_REGEX_ALIASES, MAP_RELAY_PASSWORDS, MAP_COUNT };

void postfix_maps_render(const struct settings *s, struct postfix_map maps[MAP_COUNT]);
void postfix_maps_free(struct postfix_map maps[MAP_COUNT]);

/* The parameters this image sets, before the generic rule. */
void postfix_main_params(const struct settings *s, const struct postfix_host *host,
			 const struct postfix_map maps[MAP_COUNT], struct params *out);

/* The generic rule: every upper-case variable in env (NAME=value strings)
 * whose lower-case name is in known (sorted postconf parameter names) sets
 * that parameter, unless the variable table handles it. A value with a
 * newline is an error (it would inject main.cf lines). Names that match
 * nothing are reported in unknown (one per line) unless ignorable. */
bool postfix_generic_params(char *const *env, const struct strlist *known, struct params *out,
			    struct strbuf *errors, struct strbuf *unknown);

void postfix_main_render(const struct params *p, struct strbuf *out);
void postfix_master_render(const struct settings *s, struct strbuf *out);

#endif
