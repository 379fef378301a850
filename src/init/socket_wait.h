/* `mtactl socket-wait PATH SECONDS PROGRAM [ARGS...]`: execs PROGRAM once
 * the UNIX socket PATH accepts a connection, or after SECONDS (with a
 * warning). For a service that reads what another one serves at its own
 * start: rspamd loads its redis scripts once, when its workers start, and
 * a redis that was not listening yet left DMARC reporting off for good. */
#ifndef MTACTL_INIT_SOCKET_WAIT_H
#define MTACTL_INIT_SOCKET_WAIT_H

int socket_wait_main(int argc, char **argv);

#endif
