/* The lookup tables behind MAIL_BOXES, MAIL_ALIASES, REGEX_ALIAS and
 * SMTP_RELAY_HOSTAUTH, in postmap(1) "key value" form. */
#include "config/postfix.h"

#include "common/common.h"
#include "config/filters.h"

static void map_init(struct postfix_map *m, const char *name, const char *type, unsigned mode)
{
	m->name = name;
	m->type = type;
	m->mode = mode;
	m->group_postfix = false;
	sb_init(&m->text);
}

/* The full image: mail from a sender outside our domains that leaves for
 * another host (an alias forwarding it) is routed through PostSRSd's
 * loop first (master.cf: srs-forward, 127.0.0.1:SRS_LOOP_PORT); after it
 * the sender is SRS0=...@primary, one of ours, and takes the default
 * transport. Local deliveries keep their sender, and bounces (the null
 * sender, looked up as '""', without an @) take the default transport. */
static void srs_senders_render(const struct settings *s, struct strbuf *out)
{
	sb_adds(out, "# Written by `mtactl config`: senders whose forwarded mail gets an SRS address.\n"
		     "if /@/\n!/@(");
	for (size_t i = 0; i < s->domains.len; i++) {
		sb_adds(out, i ? "|" : "");
		for (const char *c = s->domains.item[i]; *c; c++) {
			if (*c == '.')
				sb_addc(out, '\\');
			sb_addc(out, *c);
		}
	}
	sb_addf(out, ")$/ srs-forward:[127.0.0.1]:%d\nendif\n", SRS_LOOP_PORT);
}

void postfix_maps_render(const struct settings *s, const struct postfix_host *host,
			 struct postfix_map maps[MAP_COUNT])
{
	map_init(&maps[MAP_USERS], "virt-users", "lmdb", 0644);
	map_init(&maps[MAP_ALIASES], "virt-aliases", "lmdb", 0644);
	map_init(&maps[MAP_USERS_IDENTITY], "virt-users-identity", "lmdb", 0644);
	map_init(&maps[MAP_REGEX_ALIASES], "regexp-aliases", "regexp", 0644);
	map_init(&maps[MAP_RELAY_PASSWORDS], "sasl-passwords", "lmdb", 0600);
	map_init(&maps[MAP_LDAP_USERS], "ldap-users.cf", "ldap", 0640);
	map_init(&maps[MAP_LDAP_ALIASES], "ldap-aliases.cf", "ldap", 0640);
	map_init(&maps[MAP_LDAP_GROUPS], "ldap-groups.cf", "ldap", 0640);
	map_init(&maps[MAP_LDAP_EXPAND], "ldap-groups-expand.cf", "ldap", 0640);
	map_init(&maps[MAP_MYSQL_USERS], "mysql-users.cf", "mysql", 0640);
	map_init(&maps[MAP_MYSQL_ALIASES], "mysql-aliases.cf", "mysql", 0640);
	map_init(&maps[MAP_SRS_SENDERS], "srs-senders", "regexp", 0644);
	map_init(&maps[MAP_SRS_KEEP], "srs-keep", "regexp", 0644);
	for (int i = MAP_LDAP_USERS; i < MAP_COUNT; i++)
		maps[i].group_postfix = maps[i].mode == 0640;
	postfix_lookups_render(s, maps);

	for (size_t i = 0; i < s->boxes.len; i++) {
		const char *address = s->boxes.item[i].address;
		sb_addf(&maps[MAP_USERS].text, "%s %s\n", address, s->boxes.item[i].path);
		if (s->catch_all && aliases_catch_all(&s->aliases, strrchr(address, '@') + 1))
			sb_addf(&maps[MAP_USERS_IDENTITY].text, "%s %s\n", address, address);
	}

	for (size_t i = 0; i < s->aliases.len; i++) {
		const struct alias *a = &s->aliases.item[i];
		sb_adds(&maps[MAP_ALIASES].text, a->address);
		for (size_t t = 0; t < a->targets.len; t++)
			sb_addf(&maps[MAP_ALIASES].text, "%s%s", t ? ", " : " ", a->targets.item[t]);
		sb_addc(&maps[MAP_ALIASES].text, '\n');
	}

	const char *regex = s->value[V_REGEX_ALIAS];
	if (*regex) {
		sb_adds(&maps[MAP_REGEX_ALIASES].text, regex);
		if (regex[strlen(regex) - 1] != '\n')
			sb_addc(&maps[MAP_REGEX_ALIASES].text, '\n');
	}

	if (host->filters) {
		srs_senders_render(s, &maps[MAP_SRS_SENDERS].text);
		/* Canonical lookups repeat on their own result: without an
		 * identity answer for SRS addresses PostSRSd was asked again for
		 * every one it made and logged "not rewritten" each time. */
		sb_adds(&maps[MAP_SRS_KEEP].text, "# Written by `mtactl config`: SRS addresses stay as they are.\n"
						  "/^(SRS[01][-=+].*)$/ ${1}\n");
	}

	/* The key must be the relayhost exactly as Postfix will look it up. */
	if (s->relay.host && s->relay.user)
		sb_addf(&maps[MAP_RELAY_PASSWORDS].text, "%s %s:%s\n", s->relay.host, s->relay.user,
			s->relay.password);
}

void postfix_maps_free(struct postfix_map maps[MAP_COUNT])
{
	for (int i = 0; i < MAP_COUNT; i++)
		sb_free(&maps[i].text);
}
