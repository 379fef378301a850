/* `mtactl gate` as a process (gate_main in a forked child) between this
 * test, the client, and a backend socket the test holds, all on 127.0.0.1
 * with ephemeral ports: what the backend receives for v1, v2 and LOCAL
 * headers and for a peer listener, refusals (untrusted, no header, bad
 * header), half-close, the refusal log, the SIGTERM drain, a bad GATE_CONF
 * line. Every wait is bounded (poll, SO_RCVTIMEO, waitpid with a clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "gate/gate.h"

#define HEADER_TIMEOUT_MS 300

/* The gate of the running test, killed by the teardown if a check failed. */
static pid_t running_gate;

struct gate_run {
	pid_t pid;
	char conf[64], log[64];
	int backend;          /* listening socket the gate's lines lead to */
	unsigned short port[3]; /* trusted proxy, untrusted proxy, trusted peer */
};

static unsigned short port_of_fd(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static int listen_local(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* A port nobody listens on now (the kernel's choice; the gate binds it next). */
static unsigned short free_port(void)
{
	int fd = listen_local();
	unsigned short p = port_of_fd(fd);
	close(fd);
	return p;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
}

static int connect_port(unsigned short port, int *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_true(fd >= 0);
	set_timeouts(fd, 5000);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	*err = 0;
	return fd;
}

static int must_connect(unsigned short port)
{
	int err;
	int fd = connect_port(port, &err);
	if (fd < 0)
		fail_msg("connect to %u: %s", port, strerror(err));
	return fd;
}

/* The backend's next connection within ms, or -1. */
static int accept_within(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	if (poll(&p, 1, ms) != 1)
		return -1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	set_timeouts(fd, 5000);
	return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
	assert_int_equal(fd_write_all(fd, data, len), 0);
}

/* Reads exactly len bytes (bounded by SO_RCVTIMEO) and compares. */
static void expect_bytes(int fd, const void *want, size_t len)
{
	char buf[4096];
	assert_true(len <= sizeof buf);
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			fail_msg("after %zu of %zu bytes: %s", got, len, n == 0 ? "EOF" : strerror(errno));
		got += (size_t)n;
	}
	if (memcmp(buf, want, len))
		fail_msg("got \"%.*s\", expected \"%.*s\"", (int)len, buf, (int)len, (const char *)want);
}

static void expect_eof(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);
	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("expected the connection closed, got %zd (%s)", n, n < 0 ? strerror(errno) : "data");
}

static void start_gate(struct gate_run *r, const char *conf_text, const char *max_conns)
{
	snprintf(r->conf, sizeof r->conf, "/tmp/test_gate_conf.XXXXXX");
	snprintf(r->log, sizeof r->log, "/tmp/test_gate_log.XXXXXX");
	int cfd = mkstemp(r->conf), lfd = mkstemp(r->log);
	assert_true(cfd >= 0 && lfd >= 0);
	send_all(cfd, conf_text, strlen(conf_text));
	close(cfd);
	fflush(NULL);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		/* Only the log: the test's backend socket must close when the test closes it. */
		if (dup2(lfd, STDERR_FILENO) < 0 || close_range(3, ~0U, 0) < 0)
			_exit(99);
		char *argv[] = {"gate", "--conf", r->conf, "--header-timeout", "300", "--max-connections",
				(char *)max_conns, NULL};
		_exit(gate_main(max_conns ? 7 : 5, argv));
	}
	close(lfd);
	running_gate = r->pid;
}

/* Waits until the gate accepts on port (it binds after reading its file). */
static void wait_listening(unsigned short port)
{
	for (int i = 0; i < 200; i++) {
		int err, fd = connect_port(port, &err);
		if (fd >= 0) {
			close(fd);
			return;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fail_msg("gate not listening on %u within 2 s", port);
}

static void start_limited(struct gate_run *r, const char *max_conns)
{
	r->backend = listen_local();
	for (size_t i = 0; i < 3; i++)
		r->port[i] = free_port();
	char conf[1024];
	unsigned short b = port_of_fd(r->backend);
	snprintf(conf, sizeof conf,
		 "# name listen backend mode trusted variable\n"
		 "far 127.0.0.1:%u 127.0.0.1:%u proxy 10.0.9.0/24,::1 PROXY_TRUSTED_NETWORKS\n"
		 "\n"
		 "lmtp 127.0.0.1:%u 127.0.0.1:%u peer 127.0.0.1 DOVECOT_LMTP_TRUSTED_NETWORKS  # peer mode\n"
		 "smtp 127.0.0.1:%u 127.0.0.1:%u proxy 192.0.2.0/24,127.0.0.0/8 PROXY_TRUSTED_NETWORKS\n",
		 r->port[1], b, r->port[2], b, r->port[0], b);
	start_gate(r, conf, max_conns);
	/* smtp is bound last; its probes (connect, close: no bytes) leave no
	 * trace in the log and never reach the backend. */
	wait_listening(r->port[0]);
	assert_int_equal(accept_within(r->backend, 0), -1);
}

static void start_standard(struct gate_run *r)
{
	start_limited(r, NULL);
}

/* Exit status after SIGTERM (or by itself), waiting at most ms. */
static int wait_exit(pid_t pid, int ms)
{
	int64_t end = now_ms() + ms;
	while (now_ms() < end) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid && pid == running_gate)
			running_gate = 0;
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("gate %d still running after %d ms", (int)pid, ms);
	return -1;
}

static void read_log(const struct gate_run *r, struct strbuf *out)
{
	sb_reset(out);
	assert_int_equal(file_read(r->log, out, 1 << 20), 0);
}

static void stop_gate(struct gate_run *r, struct strbuf *log)
{
	assert_int_equal(kill(r->pid, SIGTERM), 0);
	assert_int_equal(wait_exit(r->pid, 3000), 0);
	read_log(r, log);
	unlink(r->conf);
	unlink(r->log);
	close(r->backend);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_relay_headers(void **state)
{
	(void)state;
	struct gate_run r;
	start_standard(&r);
	char want[256];

	/* v1: the client's bytes follow the header, possibly in the same segment. */
	int c = must_connect(r.port[0]);
	const char v1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO client\r\n";
	send_all(c, v1, sizeof v1 - 1);
	int b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	expect_bytes(b, v1, sizeof v1 - 1);
	/* Both ways, and half-close passed on each way. */
	send_all(b, "250 ok\r\n", 8);
	expect_bytes(c, "250 ok\r\n", 8);
	assert_int_equal(shutdown(c, SHUT_WR), 0);
	expect_eof(b);
	send_all(b, "221 bye\r\n", 9);
	expect_bytes(c, "221 bye\r\n", 9);
	close(b);
	expect_eof(c);
	close(c);

	/* v2 over IPv6 with a TLV, sent in pieces: the backend gets a v1 line. */
	static const uint8_t v2[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
				     0x21, 0x21, 0, 41,
				     0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
				     0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				     0x01, 0x02, 0, 25,
				     0x04, 0, 2, 'x', 'y'};
	c = must_connect(r.port[0]);
	send_all(c, v2, 10);
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	send_all(c, v2 + 10, sizeof v2 - 10);
	send_all(c, "QUIT\r\n", 6);
	b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	const char v2line[] = "PROXY TCP6 2001:db8::7 2001:db8::1 258 25\r\nQUIT\r\n";
	expect_bytes(b, v2line, sizeof v2line - 1);
	close(c);
	expect_eof(b);
	close(b);

	/* LOCAL (a health check) and v1 UNKNOWN: the client is the balancer itself. */
	static const uint8_t local[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0, 0};
	static const struct {
		const void *header;
		size_t len;
	} own[] = {{local, sizeof local}, {"PROXY UNKNOWN\r\n", 15}};
	for (size_t i = 0; i < ARRAY_LEN(own); i++) {
		c = must_connect(r.port[0]);
		send_all(c, own[i].header, own[i].len);
		b = accept_within(r.backend, 3000);
		assert_true(b >= 0);
		snprintf(want, sizeof want, "PROXY TCP4 127.0.0.1 127.0.0.1 %u %u\r\n", port_of_fd(c), r.port[0]);
		expect_bytes(b, want, strlen(want));
		close(c);
		close(b);
	}

	/* Peer mode: no header expected; the peer is the client. */
	c = must_connect(r.port[2]);
	b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	snprintf(want, sizeof want, "PROXY TCP4 127.0.0.1 127.0.0.1 %u %u\r\n", port_of_fd(c), r.port[2]);
	expect_bytes(b, want, strlen(want));
	send_all(b, "220 lmtp\r\n", 10);
	expect_bytes(c, "220 lmtp\r\n", 10);
	close(b);
	expect_eof(c);
	close(c);

	struct strbuf log;
	sb_init(&log);
	stop_gate(&r, &log);
	assert_null(strstr(log.buf, "refused 127.0.0.1: not a PROXY"));
	assert_non_null(strstr(log.buf, "drained, exiting"));
	sb_free(&log);
}

static void test_relay_refusals(void **state)
{
	(void)state;
	struct gate_run r;
	start_standard(&r);

	/* Untrusted (127.0.0.1 is not in far's list): closed at once, even
	 * with a valid header, and the backend never sees it; twice, but one
	 * log line in the minute. */
	for (int i = 0; i < 2; i++) {
		int err, c = connect_port(r.port[1], &err);
		assert_true(c >= 0);
		int64_t t0 = now_ms();
		(void)send(c, "PROXY UNKNOWN\r\n", 15, MSG_NOSIGNAL);
		expect_eof(c);
		assert_true(now_ms() - t0 < 1000);
		close(c);
	}
	assert_int_equal(accept_within(r.backend, 200), -1);

	/* No header: closed after the header time-out, not before. */
	int c = must_connect(r.port[0]);
	int64_t t0 = now_ms();
	expect_eof(c);
	int64_t took = now_ms() - t0;
	if (took < HEADER_TIMEOUT_MS - 50 || took > HEADER_TIMEOUT_MS + 2000)
		fail_msg("header-less connection closed after %lld ms", (long long)took);
	close(c);
	/* A partial header waits as long, then goes too. */
	c = must_connect(r.port[0]);
	send_all(c, "PROXY TCP4 192.0", 16);
	expect_eof(c);
	close(c);
	/* Not a header at all (a client talking SMTP): closed at once. */
	c = must_connect(r.port[0]);
	t0 = now_ms();
	send_all(c, "EHLO client\r\n", 13);
	expect_eof(c);
	assert_true(now_ms() - t0 < HEADER_TIMEOUT_MS);
	close(c);
	assert_int_equal(accept_within(r.backend, 200), -1);

	/* A backend that refuses: the client is closed, the gate lives on. */
	close(r.backend);
	c = must_connect(r.port[2]);
	expect_eof(c);
	close(c);
	r.backend = listen_local(); /* for stop_gate to close */

	struct strbuf log;
	sb_init(&log);
	stop_gate(&r, &log);
	assert_int_equal(count(log.buf, "far: refused 127.0.0.1: not in PROXY_TRUSTED_NETWORKS\n"), 1);
	/* The rest of the minute's count, at exit at the latest. */
	assert_non_null(strstr(log.buf, "far: refused 127.0.0.1 1 more time in the last minute: not in "
					"PROXY_TRUSTED_NETWORKS"));
	assert_non_null(strstr(log.buf, "smtp: refused 127.0.0.1: no PROXY header within 300 ms"));
	assert_non_null(strstr(log.buf, "smtp: refused 127.0.0.1: not a PROXY v1/v2 header"));
	assert_non_null(strstr(log.buf, "lmtp: refused 127.0.0.1: backend 127.0.0.1:"));
	assert_non_null(strstr(log.buf, "Connection refused"));
	sb_free(&log);
}

static void test_relay_drain(void **state)
{
	(void)state;
	struct gate_run r;
	start_standard(&r);
	int c = must_connect(r.port[0]);
	const char v1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	send_all(c, v1, sizeof v1 - 1);
	int b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	expect_bytes(b, v1, sizeof v1 - 1);

	assert_int_equal(kill(r.pid, SIGTERM), 0);
	/* The listeners close at once: a new connection is refused ... */
	int err = 0;
	for (int i = 0; i < 200; i++) {
		int fd = connect_port(r.port[0], &err);
		if (fd < 0)
			break;
		close(fd);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(err, ECONNREFUSED);
	/* ... while the open one is still relayed both ways until it ends. */
	send_all(c, "DATA\r\n", 6);
	expect_bytes(b, "DATA\r\n", 6);
	send_all(b, "354 go\r\n", 8);
	expect_bytes(c, "354 go\r\n", 8);
	close(c);
	expect_eof(b);
	close(b);
	int64_t t0 = now_ms();
	assert_int_equal(wait_exit(r.pid, 3000), 0);
	assert_true(now_ms() - t0 < 2000); /* at its end, not at the 5.5 s bound */

	struct strbuf log;
	sb_init(&log);
	read_log(&r, &log);
	assert_non_null(strstr(log.buf, "SIGTERM: listeners closed; relaying 1 open connection"));
	assert_non_null(strstr(log.buf, "drained, exiting"));
	unlink(r.conf);
	unlink(r.log);
	close(r.backend);

	/* A connection that does not end is closed at the drain's bound. */
	start_standard(&r);
	c = must_connect(r.port[2]);
	b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	assert_int_equal(kill(r.pid, SIGTERM), 0);
	t0 = now_ms();
	assert_int_equal(wait_exit(r.pid, 8000), 0);
	int64_t took = now_ms() - t0;
	if (took < 5000 || took > 6000)
		fail_msg("drain took %lld ms, expected about 5500", (long long)took);
	expect_eof(c);
	read_log(&r, &log);
	assert_non_null(strstr(log.buf, "drain time over: closing 1 connection"));
	close(c);
	close(b);
	unlink(r.conf);
	unlink(r.log);
	close(r.backend);
	sb_free(&log);
}

/* A peer-mode connection that reached the backend (tried up to 50 times:
 * a slot may still be held by a connection the gate is about to close). */
static int connect_relayed(struct gate_run *r, unsigned short port, int *b)
{
	for (int i = 0; i < 50; i++) {
		int c = must_connect(port);
		*b = accept_within(r->backend, 100);
		if (*b >= 0) {
			/* Its PROXY line, up to the LF. */
			char ch = 0;
			for (int n = 0; n < 200 && ch != '\n'; n++)
				assert_int_equal(recv(*b, &ch, 1, 0), 1);
			return c;
		}
		close(c);
	}
	fail_msg("no connection through port %u reached the backend", port);
	return -1;
}

static void test_relay_limit(void **state)
{
	(void)state;
	struct gate_run r;
	start_limited(&r, "1");
	/* One connection open (a peer one, relayed): the next is closed at once.
	 * (The first may meet the start-up probe still counted: tried again.) */
	int b1;
	int c1 = connect_relayed(&r, r.port[2], &b1);
	int c2 = must_connect(r.port[2]);
	expect_eof(c2);
	close(c2);
	assert_int_equal(accept_within(r.backend, 200), -1);
	/* Once it ends, there is room again. */
	close(c1);
	expect_eof(b1);
	close(b1);
	int b3;
	int c3 = connect_relayed(&r, r.port[2], &b3);
	close(c3);
	close(b3);
	struct strbuf log;
	sb_init(&log);
	stop_gate(&r, &log);
	assert_non_null(strstr(log.buf, "lmtp: refused 127.0.0.1: 1 connections open, the most allowed"));
	sb_free(&log);
}

/* An IPv6 listener ([::1], where the host has IPv6 loopback) next to an
 * IPv4 one: a LOCAL header gives a TCP6 line with the peer's IPv6 address
 * to the IPv4 backend. */
static void test_relay_ipv6(void **state)
{
	(void)state;
	int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	socklen_t len = sizeof sa;
	assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &len), 0);
	unsigned short p6 = ntohs(sa.sin6_port);
	close(probe);
	struct gate_run r;
	r.backend = listen_local();
	r.port[0] = free_port();
	char conf[512];
	snprintf(conf, sizeof conf,
		 "v4only 127.0.0.1:%u 127.0.0.1:%u proxy 127.0.0.0/8 PROXY_TRUSTED_NETWORKS\n"
		 "imap [::1]:%u 127.0.0.1:%u proxy 192.0.2.0/24,::1 PROXY_TRUSTED_NETWORKS\n",
		 r.port[0], port_of_fd(r.backend), p6, port_of_fd(r.backend));
	start_gate(&r, conf, NULL);
	int c = -1;
	for (int i = 0; i < 200 && c < 0; i++) {
		c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(c >= 0);
		set_timeouts(c, 5000);
		if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) {
			close(c);
			c = -1;
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	assert_true(c >= 0);
	static const uint8_t local[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0, 0};
	send_all(c, local, sizeof local);
	int b = accept_within(r.backend, 3000);
	assert_true(b >= 0);
	struct sockaddr_in6 me;
	len = sizeof me;
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &len), 0);
	char want[128];
	snprintf(want, sizeof want, "PROXY TCP6 ::1 ::1 %u %u\r\n", ntohs(me.sin6_port), p6);
	expect_bytes(b, want, strlen(want));
	close(c);
	close(b);
	struct strbuf log;
	sb_init(&log);
	stop_gate(&r, &log);
	assert_non_null(strstr(log.buf, "imap: [::1]:"));
	sb_free(&log);
}

static void expect_conf_error(const char *conf, const char *message)
{
	struct gate_run r;
	start_gate(&r, conf, NULL);
	assert_int_equal(wait_exit(r.pid, 3000), 100);
	struct strbuf log;
	sb_init(&log);
	read_log(&r, &log);
	if (!strstr(log.buf, message) || count(log.buf, "\n") != 1)
		fail_msg("log \"%s\" is not one line with \"%s\"", log.buf, message);
	unlink(r.conf);
	unlink(r.log);
	sb_free(&log);
}

static void test_relay_bad_conf(void **state)
{
	(void)state;
	expect_conf_error("smtp 127.0.0.1:1 127.0.0.1:2 proxy 10.0.0.0/8 V\nsmtp2 *:25 127.0.0.1:2 prox 10.0.0.0/8 V\n",
			  ":2: mode \"prox\": expected proxy or peer");
	expect_conf_error("smtp 127.0.0.1:1 127.0.0.1:2 proxy 10.0.0.0/33 V\n",
			  ":1: \"10.0.0.0/33\": expected a prefix length 0-32 after /");
	expect_conf_error("smtp *:25 *:26 proxy 10.0.0.0/8 V\n",
			  ":1: \"*:26\": expected IPV4:PORT or [IPV6]:PORT");
	expect_conf_error("smtp *:25 127.0.0.1:26 proxy 10.0.0.0/8\n", ":1: only 5 fields, expected NAME LISTEN BACKEND");
	expect_conf_error("# nothing\n\n", ": no listener in it");
	/* A missing file is the same kind of error. */
	struct gate_run r;
	snprintf(r.log, sizeof r.log, "/tmp/test_gate_log.XXXXXX");
	int lfd = mkstemp(r.log);
	assert_true(lfd >= 0);
	fflush(NULL);
	r.pid = fork();
	assert_true(r.pid >= 0);
	if (r.pid == 0) {
		if (dup2(lfd, STDERR_FILENO) < 0 || close_range(3, ~0U, 0) < 0)
			_exit(99);
		char *argv[] = {"gate", "--conf", "/nonexistent/gate.conf", NULL};
		_exit(gate_main(3, argv));
	}
	close(lfd);
	assert_int_equal(wait_exit(r.pid, 3000), 100);
	unlink(r.log);
}

static int kill_gate(void **state)
{
	(void)state;
	if (running_gate > 0) {
		kill(running_gate, SIGKILL);
		waitpid(running_gate, NULL, 0);
		running_gate = 0;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_relay_headers, kill_gate),
		cmocka_unit_test_teardown(test_relay_refusals, kill_gate),
		cmocka_unit_test_teardown(test_relay_drain, kill_gate),
		cmocka_unit_test_teardown(test_relay_limit, kill_gate),
		cmocka_unit_test_teardown(test_relay_ipv6, kill_gate),
		cmocka_unit_test_teardown(test_relay_bad_conf, kill_gate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
