/* `mtactl gate`: a small TCP relay in front of Postfix's and Dovecot's
 * internal listeners that lets only trusted peers in, takes the client's
 * address from their PROXY header (mode proxy) or from the connection
 * (mode peer), and hands it on as one PROXY v1 line (docs: design of
 * issue 14). Its listeners come from GATE_CONF, written by the
 * configuration step next to the services file (config/engine.h). */
#ifndef MTACTL_GATE_H
#define MTACTL_GATE_H

#include "config/engine.h"

/* One listener a line, fields separated by white space:
 *   NAME LISTEN BACKEND MODE TRUSTED VARIABLE
 *   smtp *:25 127.0.0.1:10125 proxy 10.0.9.0/24 PROXY_TRUSTED_NETWORKS
 * LISTEN is *:PORT (IPv6 dual-stack, else IPv4), IPV4:PORT or [IPV6]:PORT;
 * BACKEND the same without *; MODE proxy (a PROXY v1/v2 header is
 * expected) or peer (the peer is the client); TRUSTED the peers allowed
 * (gate/netlist.h: addresses and CIDRs separated by commas and/or spaces:
 * every field between MODE and the last); VARIABLE, the last field, the
 * setting they come from, named in the refusal log. Empty lines and
 * #comments are skipped. */
#define GATE_CONF SERVICES_DIR "/gate.conf"

int gate_main(int argc, char **argv);

#endif
