/* The gate's configuration file (format in gate/gate.h): one line, one
 * listener. Pure parsing, so the unit tests and a fuzz target reach it. */
#ifndef MTACTL_GATE_CONF_H
#define MTACTL_GATE_CONF_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/strbuf.h"
#include "gate/netlist.h"

#define GATE_LISTENERS_MAX 16

enum gate_mode { GATE_PROXY, GATE_PEER };

struct gate_listener_conf {
	char name[32];
	char listen_text[64];  /* as written, for logs */
	char backend_text[64];
	char trusted_text[512];
	char variable[64];
	bool listen_any; /* "*": IPv6 dual-stack where the kernel has IPv6, else 0.0.0.0 */
	struct sockaddr_storage listen, backend;
	socklen_t listen_len, backend_len;
	enum gate_mode mode;
	struct netlist trusted;
};

/* Parses "ADDR:PORT" ("*" allowed when any is true; IPv6 in brackets) into
 * ss; on "*" sets *is_any and ss to [::]:PORT. */
bool gate_parse_hostport(const char *text, bool any, struct sockaddr_storage *ss, socklen_t *len,
			 bool *is_any, struct strbuf *why);

/* Parses one line. Returns 1 for a listener (in out), 0 for a blank or
 * comment line, -1 with the reason in why. */
int gate_conf_parse_line(const char *line, struct gate_listener_conf *out, struct strbuf *why);

#endif
