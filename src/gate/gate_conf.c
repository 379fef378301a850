/* Reading GATE_CONF's lines. The file is written by the configuration step
 * from validated variables, so an error here is a bug or a hand edit: the
 * caller names the file and line and stops. */
#include "gate/gate_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

static bool parse_port(const char *s, in_port_t *out)
{
	unsigned long v;
	if (!netlist_decimal(s, 65535, &v) || v == 0)
		return false;
	*out = htons((uint16_t)v);
	return true;
}

bool gate_parse_hostport(const char *text, bool any, struct sockaddr_storage *ss, socklen_t *len,
			 bool *is_any, struct strbuf *why)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	memset(ss, 0, sizeof *ss);
	if (is_any)
		*is_any = false;
	if (!colon || colon == text || (size_t)(colon - text) >= sizeof host) {
		sb_addf(why, "\"%s\": expected ADDRESS:PORT", text);
		return false;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	in_port_t port;
	if (!parse_port(colon + 1, &port)) {
		sb_addf(why, "\"%s\": expected a port 1-65535 after the last colon", text);
		return false;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	size_t hl = strlen(host);
	if (any && !strcmp(host, "*")) {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = port;
		*len = sizeof *in6;
		if (is_any)
			*is_any = true;
		return true;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = port;
		*len = sizeof *in;
		return true;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = port;
			*len = sizeof *in6;
			return true;
		}
	}
	sb_addf(why, "\"%s\": expected %sIPV4:PORT or [IPV6]:PORT", text, any ? "*:PORT, " : "");
	return false;
}

static bool copy_field(char *dst, size_t cap, const char *src, const char *what, struct strbuf *why)
{
	if (snprintf(dst, cap, "%s", src) >= (int)cap) {
		sb_addf(why, "%s \"%.40s...\": longer than %zu characters", what, src, cap - 1);
		return false;
	}
	return true;
}

static bool valid_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

int gate_conf_parse_line(const char *line, struct gate_listener_conf *out, struct strbuf *why)
{
	char copy[1024];
	if (snprintf(copy, sizeof copy, "%s", line) >= (int)sizeof copy) {
		sb_addf(why, "line longer than %zu characters", sizeof copy - 1);
		return -1;
	}
	char *hash = strchr(copy, '#');
	if (hash)
		*hash = '\0';
	/* The trusted list is every field between the mode and the last, so a
	 * variable's value may be written as it is, spaces and all. */
	char *field[5 + NETLIST_MAX];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == ARRAY_LEN(field)) {
			sb_addf(why, "more than %zu fields", ARRAY_LEN(field));
			return -1;
		}
		field[n++] = t;
	}
	if (n == 0)
		return 0;
	if (n < 6) {
		sb_addf(why, "only %zu fields, expected NAME LISTEN BACKEND proxy|peer TRUSTED... VARIABLE", n);
		return -1;
	}
	memset(out, 0, sizeof *out);
	const char *variable = field[n - 1];
	if (!valid_name(field[0]) || !valid_name(variable)) {
		sb_addf(why, "\"%s\"/\"%s\": expected names of letters, digits, _ and -", field[0], variable);
		return -1;
	}
	if (!copy_field(out->name, sizeof out->name, field[0], "name", why) ||
	    !copy_field(out->listen_text, sizeof out->listen_text, field[1], "listen address", why) ||
	    !copy_field(out->backend_text, sizeof out->backend_text, field[2], "backend address", why) ||
	    !copy_field(out->variable, sizeof out->variable, variable, "variable", why))
		return -1;
	size_t tl = 0;
	for (size_t i = 4; i < n - 1; i++) {
		int w = snprintf(out->trusted_text + tl, sizeof out->trusted_text - tl, "%s%s", i > 4 ? " " : "",
				 field[i]);
		if (w < 0 || (size_t)w >= sizeof out->trusted_text - tl) {
			sb_addf(why, "trusted list longer than %zu characters", sizeof out->trusted_text - 1);
			return -1;
		}
		tl += (size_t)w;
	}
	if (!gate_parse_hostport(field[1], true, &out->listen, &out->listen_len, &out->listen_any, why) ||
	    !gate_parse_hostport(field[2], false, &out->backend, &out->backend_len, NULL, why))
		return -1;
	if (!strcmp(field[3], "proxy")) {
		out->mode = GATE_PROXY;
	} else if (!strcmp(field[3], "peer")) {
		out->mode = GATE_PEER;
	} else {
		sb_addf(why, "mode \"%s\": expected proxy or peer", field[3]);
		return -1;
	}
	if (!netlist_parse(out->trusted_text, &out->trusted, why))
		return -1;
	return 1;
}
