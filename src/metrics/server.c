/* The HTTP side of the metrics: libmicrohttpd serves GET /metrics (and /
 * for a person with a browser) on METRICS_LISTEN. As root it binds the
 * socket, reads METRICS_PASSWORD(_FILE) and asks postconf for the served
 * certificate; then it becomes postfix (see gauges.c) and only then
 * starts answering. Each scrape reads the shared counters and the gauges
 * afresh: nothing is cached, so two scrapers see the same truth. Fatal:
 * a bad METRICS_LISTEN (exit 100; init's configuration step refuses it
 * first), a socket that cannot be bound or privileges that cannot be
 * dropped (111, and init restarts the service). */
#include "metrics/metrics.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "config/vars.h"
#include "metrics/counters.h"
#include "metrics/gauges.h"
#include "metrics/listen.h"
#include "metrics/render.h"

#define MAX_CONNECTIONS 32
#define CONNECTION_TIMEOUT_S 10

static struct {
	char *password; /* NULL: no authentication */
	char cert[4096];
	const struct counters *counters;
} srv;

/* Any user name; the password compared in constant time. */
static bool authorized(struct MHD_Connection *conn)
{
	if (!srv.password)
		return true;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &pass);
	bool ok = pass && strlen(pass) == strlen(srv.password) &&
		  CRYPTO_memcmp(pass, srv.password, strlen(pass)) == 0;
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type, struct strbuf *body)
{
	size_t len = body->len;
	char *data = sb_detach(body);
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, free);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	enum MHD_Result rc = MHD_YES;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES)
		rc = MHD_NO;
	if (rc == MHD_YES) {
		if (code == MHD_HTTP_UNAUTHORIZED)
			rc = MHD_queue_basic_auth_fail_response(conn, "metrics", r);
		else
			rc = MHD_queue_response(conn, code, r);
	}
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	struct strbuf body;
	sb_init(&body);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		sb_adds(&body, "only GET\n");
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
	}
	if (!authorized(conn)) {
		sb_adds(&body, "authentication required\n");
		return reply(conn, MHD_HTTP_UNAUTHORIZED, "text/plain", &body);
	}
	if (!strcmp(url, "/")) {
		sb_adds(&body, "<html><body><a href=\"/metrics\">metrics</a></body></html>\n");
		return reply(conn, MHD_HTTP_OK, "text/html", &body);
	}
	if (strcmp(url, "/metrics") != 0) {
		sb_adds(&body, "not found: try /metrics\n");
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
	}
	/* the receiver makes the file at its start; until then, gauges only */
	if (!srv.counters)
		srv.counters = counters_open_ro(COUNTERS_FILE);
	struct gauges g;
	gauges_read(srv.cert, &g);
	metrics_render(srv.counters, &g, &body);
	return reply(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, &body);
}

static int listen_socket(const struct metrics_addr *a)
{
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && a->any && errno == EAFNOSUPPORT) {
		/* no IPv6 in this container: every IPv4 address then */
		struct metrics_addr v4 = {.len = sizeof(struct sockaddr_in)};
		struct sockaddr_in *sin = (struct sockaddr_in *)&v4.sa;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((uint16_t)a->port);
		return listen_socket(&v4);
	}
	if (fd < 0)
		fatal(EXIT_SYSTEM, "socket");
	int one = 1, zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (a->any && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0))
		fatal(EXIT_SYSTEM, "setsockopt");
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0)
		fatal(EXIT_SYSTEM, "binding METRICS_LISTEN=%s", var_env(V_METRICS_LISTEN));
	if (listen(fd, 64) < 0)
		fatal(EXIT_SYSTEM, "listen");
	return fd;
}

/* METRICS_PASSWORD, or the file METRICS_PASSWORD_FILE names (a Docker
 * secret, root's), one trailing newline dropped. */
static char *read_password(void)
{
	const char *file = getenv("METRICS_PASSWORD_FILE");
	if (file && *file) {
		struct strbuf text;
		sb_init(&text);
		if (file_read(file, &text, 4096) < 0)
			fatal(EXIT_SYSTEM, "reading METRICS_PASSWORD_FILE=%s", file);
		while (text.len && (text.buf[text.len - 1] == '\n' || text.buf[text.len - 1] == '\r'))
			text.buf[--text.len] = '\0';
		return sb_detach(&text);
	}
	const char *v = var_env(V_METRICS_PASSWORD);
	if (!*v)
		return NULL;
	char *copy = strdup(v);
	if (!copy)
		fatal(EXIT_SYSTEM, "strdup");
	return copy;
}

static void drop_to_postfix(void)
{
	if (getuid() != 0)
		return;
	struct passwd *pw = getpwnam("postfix");
	if (!pw)
		fatalx(EXIT_SYSTEM, "no user postfix to run as");
	gid_t groups[1];
	size_t n = 0;
	struct group *amavis = getgrnam("amavis");
	if (amavis)
		groups[n++] = amavis->gr_gid;
	if (setgroups(n, groups) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		fatal(EXIT_SYSTEM, "dropping privileges to postfix");
}

int metrics_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("metrics");
	if (argc != 1) {
		log_warnx("usage: mtactl metrics");
		return EXIT_USAGE;
	}
	const char *listen_at = var_env(V_METRICS_LISTEN);
	struct metrics_addr addr;
	struct strbuf why;
	sb_init(&why);
	if (!*listen_at || !metrics_listen_parse(listen_at, &addr, &why))
		fatalx(EXIT_USAGE, "METRICS_LISTEN=\"%.100s\": expected %s", listen_at,
		       *listen_at ? why.buf : "an address to listen on");
	sb_free(&why);
	int fd = listen_socket(&addr);
	srv.password = read_password();
	gauges_find_cert(srv.cert, sizeof srv.cert);
	drop_to_postfix();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* blocked before the server's thread starts, so it inherits the mask
	 * and the signals wait for sigwait below */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal(EXIT_SYSTEM, "sigprocmask");
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, answer, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!d)
		fatalx(EXIT_SYSTEM, "libmicrohttpd did not start on METRICS_LISTEN=%s", listen_at);
	log_info("serving /metrics on %s%s", listen_at, srv.password ? " (basic auth)" : "");
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	counters_close(srv.counters);
	return EXIT_OK;
}
