/* Protocol probes of the mail daemons, shared by `mtactl health` and the
 * filter watch. Each speaks its protocol to the end: a probe that hangs
 * up after the greeting made amavis log "(!!)TROUBLE ... Broken pipe"
 * and restart a child at every health check. Every step has a deadline;
 * nothing here blocks longer than the time-out it was given. */
#include "health/probe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"

static int connect_until(const struct sockaddr *sa, socklen_t len, int64_t deadline,
			 struct strbuf *why, const char *what)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		sb_addf(why, "%s: socket: %s\n", what, strerror(errno));
		return -1;
	}
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - now_ms();
		int err = 0;
		socklen_t elen = sizeof err;
		if (left > 0 && poll(&p, 1, (int)left) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
			return fd;
		errno = err ? err : ETIMEDOUT;
	}
	sb_addf(why, "%s: %s\n", what, strerror(errno));
	close(fd);
	return -1;
}

/* Reads up to and including '\n' (or size - 1 bytes) before the deadline. */
static bool read_line_until(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t len = 0;
	while (len + 1 < size) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return false;
		ssize_t n = read(fd, buf + len, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return len > 0;
}

static bool write_all_until(int fd, const char *s, size_t len, int64_t deadline)
{
	while (len > 0) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return false;
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* One SMTP reply, all its lines; true when its code is `code`. */
static bool reply_is(int fd, const char *code, int64_t deadline, char *last, size_t size)
{
	for (int lines = 0; lines < 100; lines++) {
		if (!read_line_until(fd, last, size, deadline))
			return false;
		if (strlen(last) < 4 || last[3] != '-')
			return !strncmp(last, code, 3);
	}
	return false;
}

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

bool probe_smtp(const struct sockaddr *sa, socklen_t len, bool lmtp, int timeout_ms, const char *what,
		struct strbuf *why)
{
	return probe_smtp_proxied(sa, len, lmtp, NULL, timeout_ms, what, why);
}

bool probe_smtp_proxied(const struct sockaddr *sa, socklen_t len, bool lmtp, const char *proxy_header,
			int timeout_ms, const char *what, struct strbuf *why)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = connect_until(sa, len, deadline, why, what);
	if (fd < 0)
		return false;
	char line[512] = "";
	const char *step = "PROXY header";
	bool ok = !proxy_header || write_all_until(fd, proxy_header, strlen(proxy_header), deadline);
	if (ok) {
		step = "greeting";
		ok = reply_is(fd, "220", deadline, line, sizeof line);
	}
	if (ok) {
		step = lmtp ? "LHLO" : "EHLO";
		static const char lhlo[] = "LHLO localhost\r\n", ehlo[] = "EHLO localhost\r\n";
		ok = write_all_until(fd, lmtp ? lhlo : ehlo, sizeof lhlo - 1, deadline) &&
		     reply_is(fd, "250", deadline, line, sizeof line);
	}
	if (ok) {
		step = "QUIT";
		ok = write_all_until(fd, "QUIT\r\n", 6, deadline) &&
		     reply_is(fd, "221", deadline, line, sizeof line);
	}
	if (!ok) {
		chomp(line);
		sb_addf(why, "%s: no answer to the %s within %d ms (last line \"%.60s\")\n", what, step,
			timeout_ms, line);
	}
	close(fd);
	return ok;
}

static bool unix_address(const char *path, struct sockaddr_un *sa, struct strbuf *why)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (snprintf(sa->sun_path, sizeof sa->sun_path, "%s", path) < (int)sizeof sa->sun_path)
		return true;
	sb_addf(why, "%s: socket path too long\n", path);
	return false;
}

/* A connection to the UNIX socket path before the deadline, or -1 (why says). */
static int connect_unix_until(const char *path, int64_t deadline, struct strbuf *why)
{
	struct sockaddr_un sa;
	if (!unix_address(path, &sa, why))
		return -1;
	return connect_until((struct sockaddr *)&sa, sizeof sa, deadline, why, path);
}

bool probe_smtp_unix(const char *path, bool lmtp, int timeout_ms, struct strbuf *why)
{
	struct sockaddr_un sa;
	return unix_address(path, &sa, why) &&
	       probe_smtp((struct sockaddr *)&sa, sizeof sa, lmtp, timeout_ms, path, why);
}

/* clamd's own ping (clamd(8): "zPING" answered by "PONG", NUL-terminated). */
bool probe_clamd(const char *path, int timeout_ms, struct strbuf *why)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = connect_unix_until(path, deadline, why);
	if (fd < 0)
		return false;
	char reply[16];
	size_t got = 0;
	bool ok = write_all_until(fd, "zPING", sizeof "zPING", deadline);
	while (ok && got < sizeof reply - 1) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			ok = false;
			break;
		}
		ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(reply, '\0', got))
			break;
	}
	reply[got] = '\0';
	ok = ok && !strcmp(reply, "PONG");
	if (!ok)
		sb_addf(why, "%s: no PONG to clamd's PING within %d ms\n", path, timeout_ms);
	close(fd);
	return ok;
}

/* Reads exactly len bytes before the deadline. */
static bool read_all_until(int fd, unsigned char *buf, size_t len, int64_t deadline)
{
	size_t got = 0;
	while (got < len) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return false;
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* The milter protocol's option negotiation, as Postfix opens every
 * session (libmilter's SMFIC_OPTNEG: a 4-byte length, 'O', version 6,
 * actions, protocol steps), answered by an 'O' packet; then SMFIC_QUIT. */
bool probe_milter(const char *path, int timeout_ms, struct strbuf *why)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = connect_unix_until(path, deadline, why);
	if (fd < 0)
		return false;
	static const char optneg[] = "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff";
	static const char quit[] = "\0\0\0\x01Q";
	unsigned char head[5];
	bool ok = write_all_until(fd, optneg, sizeof optneg - 1, deadline) &&
		  read_all_until(fd, head, sizeof head, deadline) && head[4] == 'O';
	if (ok && !write_all_until(fd, quit, sizeof quit - 1, deadline))
		ok = false;
	if (!ok)
		sb_addf(why, "%s: no answer to the milter negotiation within %d ms\n", path, timeout_ms);
	close(fd);
	return ok;
}

/* rspamd's workers answer GET /ping with "pong" (rspamd's HTTP protocol). */
bool probe_rspamd_ping(const struct sockaddr *sa, socklen_t len, int timeout_ms, const char *what,
		       struct strbuf *why)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = connect_until(sa, len, deadline, why, what);
	if (fd < 0)
		return false;
	static const char req[] = "GET /ping HTTP/1.0\r\n\r\n";
	char reply[512];
	size_t got = 0;
	bool ok = write_all_until(fd, req, sizeof req - 1, deadline);
	while (ok && got < sizeof reply - 1) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	ok = ok && !strncmp(reply, "HTTP/1.", 7) && strstr(reply, " 200 ") && strstr(reply, "pong");
	if (!ok)
		sb_addf(why, "%s: no pong to GET /ping within %d ms\n", what, timeout_ms);
	close(fd);
	return ok;
}
