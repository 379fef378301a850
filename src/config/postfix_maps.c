/* The lookup tables behind MAIL_BOXES, MAIL_ALIASES, REGEX_ALIAS and
 * SMTP_RELAY_HOSTAUTH, in postmap(1) "key value" form. */
#include "config/postfix.h"

#include "common/common.h"

static void map_init(struct postfix_map *m, const char *name, const char *type, unsigned mode)
{
	m->name = name;
	m->type = type;
	m->mode = mode;
	m->group_postfix = false;
	sb_init(&m->text);
}

void postfix_maps_render(const struct settings *s, struct postfix_map maps[MAP_COUNT])
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
