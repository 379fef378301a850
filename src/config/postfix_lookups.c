/* LDAP and MySQL lookup tables for Postfix, from the LDAP_* and MYSQL_*
 * variables, as ldap_table(5) and mysql_table(5) describe them. */
#include "config/postfix.h"

#include "common/common.h"

static void ldap_common(const struct settings *s, struct strbuf *t, const char *base)
{
	sb_addf(t, "# Written by `mtactl config`; see ldap_table(5).\n"
		   "server_host = %s\n"
		   "search_base = %s\n"
		   "version = 3\n"
		   "scope = sub\n",
		s->ldap_uri, base);
	if (*s->value[V_LDAP_BIND_DN])
		sb_addf(t, "bind = yes\nbind_dn = %s\nbind_pw = %s\n", s->value[V_LDAP_BIND_DN],
			s->value[V_LDAP_BIND_PW]);
	else
		sb_adds(t, "bind = no\n");
}

/* The expand filter is given with %s, as in the old image's examples, but
 * what it receives is a group member's uid qualified with the primary
 * domain, so it matches on the local part (%u) and only in that domain. */
static void render_expand_filter(const char *filter, struct strbuf *t)
{
	for (const char *c = filter; *c; c++) {
		if (c[0] == '%' && c[1] == 's') {
			sb_adds(t, "%u");
			c++;
		} else {
			sb_addc(t, *c);
		}
	}
}

static void mysql_common(const struct settings *s, struct strbuf *t, const char *query)
{
	/* The examples end queries with ';', a delimiter of the mysql client,
	 * not part of a statement sent through the API. */
	size_t len = strlen(query);
	while (len && (query[len - 1] == ';' || query[len - 1] == ' '))
		len--;
	sb_addf(t, "# Written by `mtactl config`; see mysql_table(5).\n"
		   "hosts = inet:%s\n"
		   "dbname = %s\n"
		   "query = %.*s\n",
		s->value[V_MYSQL_HOST], s->value[V_MYSQL_DATABASE], (int)len, query);
	if (*s->value[V_MYSQL_USER])
		sb_addf(t, "user = %s\npassword = %s\n", s->value[V_MYSQL_USER], s->value[V_MYSQL_PASSWORD]);
}

void postfix_lookups_render(const struct settings *s, struct postfix_map maps[MAP_COUNT])
{
	const char *attrs = s->value[V_LDAP_QUERY_ATTRS_USER];
	if (s->ldap_lookup) {
		struct strbuf *t = &maps[MAP_LDAP_USERS].text;
		ldap_common(s, t, s->value[V_LDAP_USER_BASE]);
		sb_addf(t, "query_filter = %s\nresult_attribute = %s\n", s->value[V_LDAP_QUERY_FILTER_USER],
			attrs);
		if (*s->value[V_LDAP_QUERY_FILTER_ALIAS]) {
			t = &maps[MAP_LDAP_ALIASES].text;
			ldap_common(s, t, s->value[V_LDAP_USER_BASE]);
			sb_addf(t, "query_filter = %s\nresult_attribute = %s\n",
				s->value[V_LDAP_QUERY_FILTER_ALIAS], attrs);
		}
	}
	if (s->ldap_groups) {
		struct strbuf *t = &maps[MAP_LDAP_GROUPS].text;
		ldap_common(s, t, s->value[V_LDAP_GROUP_BASE]);
		sb_addf(t, "query_filter = %s\nresult_attribute = memberUid\nresult_format = %%s@%s\n",
			s->value[V_LDAP_QUERY_FILTER_GROUP], settings_primary_domain(s));
		t = &maps[MAP_LDAP_EXPAND].text;
		ldap_common(s, t, s->value[V_LDAP_USER_BASE]);
		sb_adds(t, "query_filter = ");
		render_expand_filter(s->value[V_LDAP_QUERY_FILTER_EXPAND], t);
		sb_addf(t, "\nresult_attribute = %s\ndomain = %s\n", attrs, settings_primary_domain(s));
	}
	if (s->mysql_lookup)
		mysql_common(s, &maps[MAP_MYSQL_USERS].text, s->value[V_MYSQL_QUERY_USER]);
	if (s->mysql_lookup && *s->value[V_MYSQL_QUERY_ALIAS])
		mysql_common(s, &maps[MAP_MYSQL_ALIASES].text, s->value[V_MYSQL_QUERY_ALIAS]);
}
