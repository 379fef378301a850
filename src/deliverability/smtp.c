/* SMTP client of the deliverability checks (see smtp.h). The socket is
 * blocking with SO_RCVTIMEO/SO_SNDTIMEO set to what is left of the
 * session's deadline before each step, so no step outlives it. */
#include "deliverability/smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"

#define REPLY_MAX 65536

static bool arm(struct smtp_session *s)
{
	int64_t left = s->deadline_ms - now_ms();
	if (left <= 0)
		return false;
	struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
	return setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
	       setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
}

static bool sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
		return true;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
		return true;
	}
	return false;
}

static int io_read(struct smtp_session *s, char *buf, int size)
{
	if (!arm(s))
		return -1;
	if (s->ssl) {
		int n = SSL_read(s->ssl, buf, size);
		return n > 0 ? n : -1;
	}
	ssize_t n = read(s->fd, buf, (size_t)size);
	return n > 0 ? (int)n : -1;
}

static bool io_write(struct smtp_session *s, const char *buf, size_t len)
{
	while (len) {
		if (!arm(s))
			return false;
		int n;
		if (s->ssl) {
			n = SSL_write(s->ssl, buf, (int)len);
		} else {
			ssize_t w = write(s->fd, buf, len);
			n = w > 0 ? (int)w : -1;
		}
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* One line from the buffer (CRLF or LF cut off) into line; false at EOF,
 * error or timeout. */
static bool read_line(struct smtp_session *s, struct strbuf *line)
{
	for (;;) {
		char *nl = memchr(s->in.buf, '\n', s->in.len);
		if (nl) {
			size_t n = (size_t)(nl - s->in.buf);
			sb_reset(line);
			sb_add(line, s->in.buf, n && nl[-1] == '\r' ? n - 1 : n);
			memmove(s->in.buf, nl + 1, s->in.len - n - 1);
			s->in.len -= n + 1;
			s->in.buf[s->in.len] = '\0';
			return true;
		}
		if (s->in.len > REPLY_MAX)
			return false;
		char buf[4096];
		int got = io_read(s, buf, sizeof buf);
		if (got <= 0)
			return false;
		sb_add(&s->in, buf, (size_t)got);
	}
}

static int read_reply(struct smtp_session *s, struct strbuf *text, struct strbuf *why)
{
	struct strbuf line;
	sb_init(&line);
	int code = -1;
	for (int lines = 0; lines < 100; lines++) {
		if (!read_line(s, &line)) {
			sb_adds(why, errno == EAGAIN ? "no reply in time" : "connection closed without a reply");
			break;
		}
		if (line.len < 3 || line.buf[0] < '1' || line.buf[0] > '5' || line.buf[1] < '0' ||
		    line.buf[1] > '9' || line.buf[2] < '0' || line.buf[2] > '9') {
			sb_addf(why, "not an SMTP reply: %.80s", line.buf);
			break;
		}
		if (line.len == 3 || line.buf[3] == ' ') {
			code = (line.buf[0] - '0') * 100 + (line.buf[1] - '0') * 10 + (line.buf[2] - '0');
			if (text) {
				sb_reset(text);
				sb_adds(text, line.buf);
			}
			break;
		}
	}
	sb_free(&line);
	return code;
}

bool smtp_open(struct smtp_session *s, const char *addr, int port, const char *src, int timeout_ms,
	       struct strbuf *why)
{
	memset(s, 0, sizeof *s);
	sb_init(&s->in);
	s->fd = -1;
	s->deadline_ms = now_ms() + timeout_ms;
	struct sockaddr_storage peer, local;
	socklen_t peer_len, local_len;
	if (!sockaddr_of(addr, port, &peer, &peer_len) || (src && !sockaddr_of(src, 0, &local, &local_len))) {
		sb_addf(why, "not an IP address: %s", addr);
		return false;
	}
	s->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || !arm(s) || (src && bind(s->fd, (struct sockaddr *)&local, local_len) < 0) ||
	    connect(s->fd, (struct sockaddr *)&peer, peer_len) < 0) {
		sb_addf(why, "connecting to %s port %d: %s", addr, port, strerror(errno));
		return false;
	}
	struct strbuf text;
	sb_init(&text);
	int code = read_reply(s, &text, why);
	if (code != 220 && code > 0)
		sb_addf(why, "greeting: %.100s", text.buf);
	sb_free(&text);
	return code == 220;
}

int smtp_command(struct smtp_session *s, const char *line, struct strbuf *text, struct strbuf *why)
{
	if (line) {
		struct strbuf out;
		sb_init(&out);
		sb_addf(&out, "%s\r\n", line);
		bool ok = io_write(s, out.buf, out.len);
		sb_free(&out);
		if (!ok) {
			sb_addf(why, "sending %.20s failed", line);
			return -1;
		}
	}
	return read_reply(s, text, why);
}

X509 *smtp_starttls(struct smtp_session *s, const char *servername, struct strbuf *why)
{
	if (smtp_command(s, "STARTTLS", NULL, why) != 220) {
		if (!why->len)
			sb_adds(why, "STARTTLS refused");
		return NULL;
	}
	s->ctx = SSL_CTX_new(TLS_client_method());
	s->ssl = s->ctx ? SSL_new(s->ctx) : NULL;
	if (!s->ssl || !SSL_set_fd(s->ssl, s->fd) ||
	    (servername && !SSL_set_tlsext_host_name(s->ssl, servername)) || !arm(s) ||
	    SSL_connect(s->ssl) != 1) {
		unsigned long e = ERR_get_error();
		sb_addf(why, "TLS handshake failed: %s", e ? ERR_reason_error_string(e) : "timeout");
		ERR_clear_error();
		SSL_free(s->ssl);
		s->ssl = NULL;
		return NULL;
	}
	X509 *cert = SSL_get1_peer_certificate(s->ssl);
	if (!cert)
		sb_adds(why, "the server sent no certificate");
	return cert;
}

STACK_OF(X509) *smtp_peer_chain(struct smtp_session *s)
{
	return s->ssl ? SSL_get_peer_cert_chain(s->ssl) : NULL;
}

void smtp_close(struct smtp_session *s)
{
	if (s->fd >= 0 && s->deadline_ms > now_ms()) {
		struct strbuf ignore;
		sb_init(&ignore);
		(void)smtp_command(s, "QUIT", NULL, &ignore);
		sb_free(&ignore);
	}
	if (s->ssl) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	ERR_clear_error();
	if (s->fd >= 0)
		(void)close(s->fd);
	s->fd = -1;
	s->ssl = NULL;
	s->ctx = NULL;
	sb_free(&s->in);
}

X509 *smtp_served_certificate(const char *servername, int timeout_ms, struct strbuf *why)
{
	struct smtp_session s;
	X509 *cert = NULL;
	if (smtp_open(&s, "127.0.0.1", 25, NULL, timeout_ms, why)) {
		struct strbuf text;
		sb_init(&text);
		if (smtp_command(&s, "EHLO localhost", &text, why) == 250)
			cert = smtp_starttls(&s, servername, why);
		sb_free(&text);
	}
	smtp_close(&s);
	return cert;
}
