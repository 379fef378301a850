/* A small SMTP client for looking at our own port 25 the way a sender
 * does: the served certificate after STARTTLS (RFC 3207), and replies to
 * relay attempts. Every step is bounded by one deadline for the session. */
#ifndef MTACTL_DELIVERABILITY_SMTP_H
#define MTACTL_DELIVERABILITY_SMTP_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/strbuf.h"

struct smtp_session {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int64_t deadline_ms; /* now_ms() time */
	struct strbuf in;    /* bytes read and not yet consumed */
};

/* Connects to addr:port (textual address) from the local address src (NULL:
 * the kernel's choice) and reads the greeting. False with why on failure. */
bool smtp_open(struct smtp_session *s, const char *addr, int port, const char *src, int timeout_ms,
	       struct strbuf *why);
/* Sends one command line (without CRLF; NULL: send nothing) and reads the
 * reply: its code, or -1 with why when the server did not answer in time.
 * text gets the last line of the reply when not NULL. */
int smtp_command(struct smtp_session *s, const char *line, struct strbuf *text, struct strbuf *why);
/* STARTTLS and the handshake (certificates not verified here: the caller
 * judges them). The peer's certificate (caller frees), NULL with why. */
X509 *smtp_starttls(struct smtp_session *s, const char *servername, struct strbuf *why);
/* The chain the server sent, valid until smtp_close. */
STACK_OF(X509) *smtp_peer_chain(struct smtp_session *s);
/* QUIT when possible, and frees everything. */
void smtp_close(struct smtp_session *s);

/* The served certificate of 127.0.0.1:25 (what STARTTLS gives a sender
 * asking for servername); NULL with why. */
X509 *smtp_served_certificate(const char *servername, int timeout_ms, struct strbuf *why);

#endif
