/* `mtactl tls-policy`: the TLS policy table of Postfix's smtp client (a
 * socketmap on 127.0.0.1:8462, socketmap_table(5)). RFC 8461 section 2:
 * where a domain has both, DANE wins over MTA-STS; mta-sts-daemon does not
 * look at TLSA, so this sits in front of it: a domain whose validated MX
 * hosts have validated TLSA records gets "dane", every other request is
 * passed to mta-sts-daemon (127.0.0.1:8461) and its answer passed back.
 * One child per Postfix connection (each smtp process keeps one open and
 * asks in turn); every DNS lookup is bounded by RES_OPTIONS, the wait for
 * mta-sts-daemon by a socket time-out. When mta-sts-daemon does not
 * answer, the reply is TEMP: the mail waits (as it did without this
 * front), it is never sent without its policy. Fatal: only a failed bind. */
#include "outbound/outbound.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"

#define MAX_MX 8
#define UPSTREAM_TIMEOUT_S 10 /* mta-sts-daemon: 2 s DNS + 2 s HTTPS, and margin */

static int query(const char *name, int type, unsigned char *answer, size_t size, int *herr)
{
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0)
		return -1;
	st.options |= RES_USE_DNSSEC | RES_USE_EDNS0 | RES_TRUSTAD;
	int n = res_nquery(&st, name, ns_c_in, type, answer, (int)size);
	*herr = st.res_h_errno;
	res_nclose(&st);
	return n;
}

/* RFC 7672 2.2: the MX RRset validated, and TLSA at _25._tcp.<host> of a
 * host validated too. A domain without MX records is its own host. */
static bool domain_has_dane(const char *domain)
{
	static unsigned char answer[NS_MAXMSG];
	char hosts[MAX_MX][NS_MAXDNAME];
	int herr = 0;
	int n = query(domain, ns_t_mx, answer, sizeof answer, &herr);
	int nhosts = n > 0 ? dane_mx_hosts(answer, (size_t)n, hosts, MAX_MX) : -1;
	if (nhosts == 0 || (n < 0 && herr == NO_DATA)) {
		snprintf(hosts[0], sizeof hosts[0], "%s", domain);
		nhosts = 1;
	}
	for (int i = 0; i < nhosts; i++) {
		char name[NS_MAXDNAME + 16];
		int len = snprintf(name, sizeof name, "_25._tcp.%s", hosts[i]);
		if (len < 0 || (size_t)len >= sizeof name)
			continue;
		n = query(name, 52 /* TLSA */, answer, sizeof answer, &herr);
		if (n > 0 && dane_tlsa_secure(answer, (size_t)n))
			return true;
	}
	return false;
}

static int upstream_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = UPSTREAM_TIMEOUT_S};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(MTA_STS_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one netstring from fd into buf (whose first *have bytes are
 * already read); returns its data length and sets *data, or -1. */
static ssize_t read_netstring(int fd, char *buf, size_t size, size_t *have, const char **data,
			      ssize_t *used)
{
	for (;;) {
		size_t dlen;
		ssize_t n = netstring_decode(buf, *have, data, &dlen);
		if (n < 0)
			return -1;
		if (n > 0) {
			*used = n;
			return (ssize_t)dlen;
		}
		if (*have == size)
			return -1;
		ssize_t r = read(fd, buf + *have, size - *have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
}

static char upstream_buf[POLICY_MAX_NETSTRING + 16];

/* mta-sts-daemon's answer to the same request, on a connection kept open. */
static void ask_upstream(int *up, const char *req, size_t len, struct strbuf *reply)
{
	struct strbuf out;
	sb_init(&out);
	netstring_encode(&out, req, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (*up < 0)
			*up = upstream_connect();
		size_t have = 0;
		const char *data;
		ssize_t used, dlen = -1;
		if (*up >= 0 && fd_write_all(*up, out.buf, out.len) == 0)
			dlen = read_netstring(*up, upstream_buf, sizeof upstream_buf, &have, &data, &used);
		if (dlen >= 0 && (size_t)used == have) {
			sb_add(reply, data, (size_t)dlen);
			sb_free(&out);
			return;
		}
		if (*up >= 0)
			close(*up);
		*up = -1; /* a daemon restarted since: one new connection */
	}
	sb_adds(reply, "TEMP the MTA-STS resolver (mta-sts-daemon) does not answer");
	sb_free(&out);
}

static char client_buf[POLICY_MAX_NETSTRING + 16];

static void serve(int fd)
{
	int up = -1;
	size_t have = 0;
	for (;;) {
		const char *data;
		ssize_t used;
		ssize_t dlen = read_netstring(fd, client_buf, sizeof client_buf, &have, &data, &used);
		if (dlen < 0)
			break; /* closed by Postfix, or not a netstring */
		char key[NS_MAXDNAME];
		struct strbuf reply, out;
		sb_init(&reply);
		sb_init(&out);
		if (!policy_request_key(data, (size_t)dlen, key, sizeof key))
			sb_adds(&reply, "PERM malformed request");
		else if (key[0] != '.' && key[0] != '[' && domain_has_dane(key))
			sb_adds(&reply, "OK dane");
		else
			ask_upstream(&up, data, (size_t)dlen, &reply);
		netstring_encode(&out, reply.buf, reply.len);
		int rc = fd_write_all(fd, out.buf, out.len);
		sb_free(&reply);
		sb_free(&out);
		if (rc < 0)
			break;
		memmove(client_buf, client_buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	if (up >= 0)
		close(up);
}

int tls_policy_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("tls-policy");
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl tls-policy\n");
		return EXIT_USAGE;
	}
	/* Children are not waited for; SIGPIPE: a write to a closed peer is an error. */
	if (signal(SIGCHLD, SIG_IGN) == SIG_ERR || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal(EXIT_SYSTEM, "signal");
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(TLS_POLICY_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0)
		fatal(EXIT_SYSTEM, "listening on 127.0.0.1:%d", TLS_POLICY_PORT);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			serve(fd);
			_exit(0);
		}
		if (pid < 0)
			log_warn("fork");
		close(fd);
	}
}
