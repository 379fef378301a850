/* `mtactl gate`: one epoll loop (edge-triggered; a signalfd for SIGTERM)
 * relaying TCP connections from trusted peers to local backends, each
 * preceded by one PROXY v1 line naming the real client. Fatal: a bad
 * GATE_CONF line (EXIT_USAGE) and a listener that cannot be bound
 * (EXIT_SYSTEM, the supervisor retries). Anything a peer does only ends
 * that peer's connection. Refusals are logged at most once a minute per
 * listener, address and reason, with a count of the rest. */
#include "gate/gate.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "gate/gate_conf.h"
#include "gate/proxy_header.h"

#define BUF_SIZE 16384          /* per direction and connection */
#define HEADER_MAX (BUF_SIZE - PROXY_V1_MAX - 1) /* room left for the v1 line */
#define CONNECT_TIMEOUT_MS 10000
/* Under init's STOP_GRACE_MS (6 s before SIGKILL), so the gate ends by itself. */
#define DRAIN_MS 5500
#define LOG_WINDOW_MS 60000
#define LOG_SLOTS 256
#define MAX_CONNS_DEFAULT 1000

enum tag_type { T_LISTENER, T_END, T_SIGNAL };

struct listener {
	enum tag_type type; /* first: epoll's data.ptr points here */
	int fd;
	struct gate_listener_conf conf;
};

struct pipe {
	char buf[BUF_SIZE];
	size_t off, len;
	bool eof;  /* the sending side is done */
	bool shut; /* and that was passed on (shutdown SHUT_WR) */
};

struct conn;

struct end {
	enum tag_type type;
	struct conn *c;
	int fd;
	bool readable, writable; /* edge-triggered: as last seen */
};

enum conn_state { C_HEADER, C_CONNECTING, C_RELAY };

struct conn {
	struct end client, backend;
	const struct listener *l;
	enum conn_state state;
	bool dead;
	bool pending; /* stopped to let others run: pump again without waiting */
	size_t slot;  /* in gate.conns */
	int64_t deadline;
	struct sockaddr_storage peer, local;
	struct pipe up, down; /* client -> backend, backend -> client */
	struct conn *next_dead;
};

enum refusal { R_UNTRUSTED, R_NO_HEADER, R_BAD_HEADER, R_FULL, R_BACKEND };

struct log_slot {
	bool used;
	const struct listener *l;
	enum refusal reason;
	uint8_t addr[16];
	int err;
	int64_t since;
	unsigned suppressed;
};

struct gate {
	int ep;
	struct listener listeners[GATE_LISTENERS_MAX];
	size_t nlisteners;
	struct conn **conns;
	size_t max_conns, nconns, npending;
	struct conn *dead;
	int64_t now, next_sweep;
	int header_timeout_ms, idle_timeout_ms;
	bool draining;
	int64_t drain_end;
	int64_t accept_resume; /* accepting paused (out of descriptors) until then; 0: not */
	struct log_slot log[LOG_SLOTS];
};

/* ---- refusal log ---------------------------------------------------- */

static void addr_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static void reason_text(const struct gate *g, const struct log_slot *s, char *buf, size_t cap)
{
	switch (s->reason) {
	case R_UNTRUSTED:
		snprintf(buf, cap, "not in %s", s->l->conf.variable);
		break;
	case R_NO_HEADER:
		if (g->header_timeout_ms % 1000 == 0)
			snprintf(buf, cap, "no PROXY header within %d s", g->header_timeout_ms / 1000);
		else
			snprintf(buf, cap, "no PROXY header within %d ms", g->header_timeout_ms);
		break;
	case R_BAD_HEADER:
		snprintf(buf, cap, "not a PROXY v1/v2 header");
		break;
	case R_FULL:
		snprintf(buf, cap, "%zu connections open, the most allowed", g->max_conns);
		break;
	case R_BACKEND:
		snprintf(buf, cap, "backend %s: %s", s->l->conf.backend_text, strerror(s->err));
		break;
	}
}

static void slot_addr_text(const struct log_slot *s, char *buf, size_t cap)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	memcpy(&sa.sin6_addr, s->addr, 16);
	proxy_addr_text((struct sockaddr *)&sa, buf, cap);
}

static void slot_flush(const struct gate *g, struct log_slot *s)
{
	if (s->used && s->suppressed) {
		char a[64], why[256];
		slot_addr_text(s, a, sizeof a);
		reason_text(g, s, why, sizeof why);
		log_info("%s: refused %s %u more time%s in the last minute: %s", s->l->conf.name, a,
			 s->suppressed, s->suppressed == 1 ? "" : "s", why);
	}
	s->suppressed = 0;
}

static void refused(struct gate *g, const struct listener *l, const struct sockaddr_storage *peer,
		    enum refusal reason, int err)
{
	uint8_t key[16];
	addr_key(peer, key);
	struct log_slot *slot = NULL, *oldest = &g->log[0];
	for (size_t i = 0; i < LOG_SLOTS; i++) {
		struct log_slot *s = &g->log[i];
		if (s->used && s->l == l && s->reason == reason && !memcmp(s->addr, key, 16)) {
			slot = s;
			break;
		}
		if (!s->used || (oldest->used && s->since < oldest->since))
			oldest = s;
	}
	if (slot && g->now - slot->since < LOG_WINDOW_MS) {
		slot->suppressed++;
		return;
	}
	/* A new window: the old one's count first (or the evicted slot's). */
	if (!slot)
		slot = oldest;
	slot_flush(g, slot);
	*slot = (struct log_slot){.used = true, .l = l, .reason = reason, .err = err, .since = g->now};
	memcpy(slot->addr, key, 16);
	char a[64], why[256];
	slot_addr_text(slot, a, sizeof a);
	reason_text(g, slot, why, sizeof why);
	log_info("%s: refused %s: %s", l->conf.name, a, why);
}

/* Logs the counts of windows that ended; returns when the next one ends. */
static int64_t log_tick(struct gate *g)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < LOG_SLOTS; i++) {
		struct log_slot *s = &g->log[i];
		if (!s->used)
			continue;
		if (g->now - s->since >= LOG_WINDOW_MS) {
			slot_flush(g, s);
			s->used = false;
		} else if (s->suppressed && s->since + LOG_WINDOW_MS < next) {
			next = s->since + LOG_WINDOW_MS;
		}
	}
	return next;
}

/* ---- connections ---------------------------------------------------- */

static void set_deadline(struct gate *g, struct conn *c, int64_t at)
{
	c->deadline = at;
	if (at < g->next_sweep)
		g->next_sweep = at;
}

static bool watch(struct gate *g, struct end *e)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = e};
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, e->fd, &ev) < 0) {
		log_warn("epoll_ctl add");
		return false;
	}
	return true;
}

/* Closes both sockets now (abort: with a reset, so the other side learns
 * the relay failed) and frees the connection after the current batch of
 * events, which may still name it. */
static void conn_close(struct gate *g, struct conn *c, bool abort_it)
{
	if (c->dead)
		return;
	struct end *ends[2] = {&c->client, &c->backend};
	for (size_t i = 0; i < 2; i++) {
		if (ends[i]->fd < 0)
			continue;
		if (abort_it) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			if (setsockopt(ends[i]->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
				log_warn("setsockopt SO_LINGER");
		}
		if (close(ends[i]->fd) < 0 && errno != ECONNRESET)
			log_warn("close");
		ends[i]->fd = -1;
	}
	c->dead = true;
	c->next_dead = g->dead;
	g->dead = c;
}

static void free_dead(struct gate *g)
{
	while (g->dead) {
		struct conn *c = g->dead;
		g->dead = c->next_dead;
		g->conns[c->slot] = NULL;
		if (c->pending)
			g->npending--;
		g->nconns--;
		free(c);
	}
}

static void start_backend(struct gate *g, struct conn *c)
{
	const struct gate_listener_conf *cf = &c->l->conf;
	int fd = socket(cf->backend.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		refused(g, c->l, &c->peer, R_BACKEND, errno);
		conn_close(g, c, true);
		return;
	}
	c->backend.fd = fd;
	if (connect(fd, (const struct sockaddr *)&cf->backend, cf->backend_len) < 0 && errno != EINPROGRESS) {
		refused(g, c->l, &c->peer, R_BACKEND, errno);
		conn_close(g, c, true);
		return;
	}
	if (!watch(g, &c->backend)) {
		conn_close(g, c, true);
		return;
	}
	c->state = C_CONNECTING;
	set_deadline(g, c, g->now + CONNECT_TIMEOUT_MS);
}

/* Puts the v1 line for src/dst at the front of the up pipe, before what
 * the client sent after its header (consumed: the header's length). */
static bool put_v1_line(struct conn *c, size_t consumed, const struct sockaddr *src, const struct sockaddr *dst)
{
	char line[PROXY_V1_MAX + 1];
	size_t n = proxy_v1_write(line, sizeof line, src, dst);
	struct pipe *p = &c->up;
	if (n == 0 || p->off != 0 || p->len < consumed || p->len - consumed + n > BUF_SIZE)
		return false;
	memmove(p->buf + n, p->buf + consumed, p->len - consumed);
	memcpy(p->buf, line, n);
	p->len = p->len - consumed + n;
	return true;
}

/* Header state: what arrived so far is in up; decides when it can. */
static void try_header(struct gate *g, struct conn *c)
{
	struct proxy_header h;
	ssize_t r = proxy_header_parse(c->up.buf, c->up.len, &h);
	if (r == 0 && c->up.len < HEADER_MAX && !c->up.eof)
		return;
	if (r <= 0) {
		/* A peer that connects and leaves without a byte (a plain TCP
		 * check) is not worth a line. */
		if (c->up.len > 0 || !c->up.eof)
			refused(g, c->l, &c->peer, R_BAD_HEADER, 0);
		conn_close(g, c, false);
		return;
	}
	/* LOCAL and UNKNOWN: the balancer's own connection; the client is the
	 * peer (its address, never 127.0.0.1 as the backend would see). */
	bool own = h.kind != PROXY_TCP;
	const struct sockaddr *src = own ? (struct sockaddr *)&c->peer : (struct sockaddr *)&h.src;
	const struct sockaddr *dst = own ? (struct sockaddr *)&c->local : (struct sockaddr *)&h.dst;
	if (!put_v1_line(c, (size_t)r, src, dst)) {
		refused(g, c->l, &c->peer, R_BAD_HEADER, 0);
		conn_close(g, c, false);
		return;
	}
	start_backend(g, c);
}

/* Moves what can be moved without blocking: reads into a pipe with room,
 * writes what a pipe holds, passes each EOF on once its pipe is empty.
 * Returns false when the connection failed (and closes it). */
static bool pump_pipe(struct gate *g, struct conn *c, struct pipe *p, struct end *from, struct end *to,
		      size_t fill)
{
	bool moved = false;
	int rounds;
	for (rounds = 0; rounds < 16; rounds++) {
		bool progress = false;
		if (!p->eof && from->readable && p->off + p->len < fill) {
			if (p->len == 0)
				p->off = 0;
			ssize_t n = recv(from->fd, p->buf + p->off + p->len, fill - p->off - p->len, 0);
			if (n > 0) {
				p->len += (size_t)n;
				progress = true;
			} else if (n == 0) {
				p->eof = true;
				progress = true;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				from->readable = false;
			} else if (errno != EINTR) {
				return false;
			}
		}
		if (p->len > 0 && to->writable && c->state == C_RELAY) {
			ssize_t n = send(to->fd, p->buf + p->off, p->len, MSG_NOSIGNAL);
			if (n > 0) {
				p->off += (size_t)n;
				p->len -= (size_t)n;
				if (p->len == 0)
					p->off = 0;
				progress = true;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				to->writable = false;
			} else if (n < 0 && errno != EINTR) {
				return false;
			}
		}
		/* A full buffer with its start consumed: make room at the end. */
		if (p->off > 0 && p->off + p->len == BUF_SIZE) {
			memmove(p->buf, p->buf + p->off, p->len);
			p->off = 0;
			progress = true;
		}
		if (!progress)
			break;
		moved = true;
	}
	/* Still flowing after its share: edge-triggered epoll will not say so
	 * again, so the loop comes back to it after the others. */
	if (rounds == 16 && !c->pending) {
		c->pending = true;
		g->npending++;
	}
	if (p->eof && p->len == 0 && !p->shut && c->state == C_RELAY) {
		if (shutdown(to->fd, SHUT_WR) < 0 && errno != ENOTCONN)
			return false;
		p->shut = true;
	}
	if (moved && c->state == C_RELAY)
		c->deadline = g->now + g->idle_timeout_ms; /* later than before: no sweep change */
	return true;
}

static void conn_pump(struct gate *g, struct conn *c)
{
	if (c->dead)
		return;
	if (c->state == C_HEADER) {
		if (!pump_pipe(g, c, &c->up, &c->client, &c->backend, HEADER_MAX)) {
			conn_close(g, c, true);
			return;
		}
		try_header(g, c);
		return;
	}
	if (c->state == C_CONNECTING) {
		if (!c->backend.writable)
			return;
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->backend.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			refused(g, c->l, &c->peer, R_BACKEND, err);
			conn_close(g, c, true);
			return;
		}
		c->state = C_RELAY;
		c->deadline = g->now + g->idle_timeout_ms;
	}
	if (!pump_pipe(g, c, &c->up, &c->client, &c->backend, BUF_SIZE) ||
	    !pump_pipe(g, c, &c->down, &c->backend, &c->client, BUF_SIZE)) {
		conn_close(g, c, true);
		return;
	}
	if (c->up.shut && c->down.shut)
		conn_close(g, c, false);
}

/* Out of descriptors or memory: the pending connection stays in the
 * backlog, so a level-triggered listener would wake the loop at once,
 * again and again. The listeners rest for a second instead. */
static void set_listening(struct gate *g, bool on)
{
	for (size_t i = 0; i < g->nlisteners; i++) {
		struct listener *l = &g->listeners[i];
		struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = l};
		if (l->fd >= 0 && epoll_ctl(g->ep, EPOLL_CTL_MOD, l->fd, &ev) < 0)
			log_warn("epoll_ctl listener");
	}
}

static void pause_accepting(struct gate *g)
{
	if (g->accept_resume)
		return;
	log_warn("accept: pausing the listeners for 1 s (%zu connections open)", g->nconns);
	set_listening(g, false);
	g->accept_resume = g->now + 1000;
}

static void on_accept(struct gate *g, struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(g);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept", l->conf.name);
			return;
		}
		if (!netlist_match(&l->conf.trusted, (struct sockaddr *)&peer)) {
			refused(g, l, &peer, R_UNTRUSTED, 0);
			close(fd);
			continue;
		}
		size_t slot = 0;
		while (slot < g->max_conns && g->conns[slot])
			slot++;
		struct conn *c = slot < g->max_conns ? malloc(sizeof *c) : NULL;
		if (!c) {
			refused(g, l, &peer, R_FULL, 0);
			close(fd);
			continue;
		}
		/* Not the buffers: 32 KiB of zeros nobody reads. */
		memset(c, 0, offsetof(struct conn, up));
		c->up.off = c->up.len = c->down.off = c->down.len = 0;
		c->up.eof = c->up.shut = c->down.eof = c->down.shut = false;
		c->next_dead = NULL;
		c->slot = slot;
		c->peer = peer;
		c->l = l;
		c->client = (struct end){.type = T_END, .c = c, .fd = fd};
		c->backend = (struct end){.type = T_END, .c = c, .fd = -1};
		socklen_t llen = sizeof c->local;
		if (getsockname(fd, (struct sockaddr *)&c->local, &llen) < 0) {
			log_warn("%s: getsockname", l->conf.name);
			close(fd);
			free(c);
			continue;
		}
		g->conns[slot] = c;
		g->nconns++;
		if (!watch(g, &c->client)) {
			conn_close(g, c, true);
			continue;
		}
		if (l->conf.mode == GATE_PROXY) {
			c->state = C_HEADER;
			set_deadline(g, c, g->now + g->header_timeout_ms);
		} else if (put_v1_line(c, 0, (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local)) {
			start_backend(g, c);
		} else {
			conn_close(g, c, true);
		}
	}
}

/* Ends connections whose time is up; returns when the next one is. */
static void sweep(struct gate *g)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < g->max_conns; i++) {
		struct conn *c = g->conns[i];
		if (!c || c->dead)
			continue;
		if (c->deadline <= g->now) {
			if (c->state == C_HEADER)
				refused(g, c->l, &c->peer, R_NO_HEADER, 0);
			else if (c->state == C_CONNECTING)
				refused(g, c->l, &c->peer, R_BACKEND, ETIMEDOUT);
			conn_close(g, c, c->state != C_HEADER);
		} else if (c->deadline < next) {
			next = c->deadline;
		}
	}
	g->next_sweep = next;
}

/* ---- listeners, signals, the loop ----------------------------------- */

static int bind_listener(const struct gate_listener_conf *cf)
{
	struct sockaddr_storage addr = cf->listen;
	socklen_t len = cf->listen_len;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1, zero = 0;
		bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
		if (ok && addr.ss_family == AF_INET6)
			ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, cf->listen_any ? &zero : &one, sizeof one) == 0;
		ok = ok && bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, SOMAXCONN) == 0;
		if (ok)
			return fd;
		int err = errno;
		if (fd >= 0)
			close(fd);
		/* "*" on a kernel without IPv6: IPv4 only. */
		if (attempt == 0 && cf->listen_any &&
		    (err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EPROTONOSUPPORT)) {
			struct sockaddr_in *in = (struct sockaddr_in *)&addr;
			in_port_t port = ((const struct sockaddr_in6 *)&cf->listen)->sin6_port;
			memset(&addr, 0, sizeof addr);
			in->sin_family = AF_INET;
			in->sin_addr.s_addr = htonl(INADDR_ANY);
			in->sin_port = port;
			len = sizeof *in;
			continue;
		}
		errno = err;
		return -1;
	}
	return -1;
}

static void read_conf(struct gate *g, const char *path)
{
	struct strbuf text, why;
	sb_init(&text);
	sb_init(&why);
	if (file_read(path, &text, 1 << 20) < 0)
		fatal(EXIT_USAGE, "reading %s", path);
	int lineno = 0;
	for (char *line = text.buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		struct gate_listener_conf cf;
		int r = gate_conf_parse_line(line, &cf, &why);
		if (r < 0)
			fatalx(EXIT_USAGE, "%s:%d: %s", path, lineno, why.buf);
		if (r == 0)
			continue;
		if (g->nlisteners == GATE_LISTENERS_MAX)
			fatalx(EXIT_USAGE, "%s:%d: more than %d listeners", path, lineno, GATE_LISTENERS_MAX);
		g->listeners[g->nlisteners++] = (struct listener){.type = T_LISTENER, .fd = -1, .conf = cf};
	}
	if (g->nlisteners == 0)
		fatalx(EXIT_USAGE, "%s: no listener in it", path);
	sb_free(&text);
	sb_free(&why);
}

static void start_drain(struct gate *g, int signo)
{
	for (size_t i = 0; i < g->nlisteners; i++) {
		if (g->listeners[i].fd >= 0 && close(g->listeners[i].fd) < 0)
			log_warn("close listener");
		g->listeners[i].fd = -1;
	}
	g->draining = true;
	g->drain_end = g->now + DRAIN_MS;
	size_t open = 0;
	for (size_t i = 0; i < g->max_conns; i++)
		open += g->conns[i] && !g->conns[i]->dead;
	log_info("%s: listeners closed; relaying %zu open connection%s for at most %d ms",
		 signo == SIGTERM ? "SIGTERM" : "SIGINT", open, open == 1 ? "" : "s", DRAIN_MS);
}

static size_t conn_limit(size_t wanted)
{
	/* Two descriptors a connection, and some for listeners, epoll, logs. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return wanted;
	size_t fit = rl.rlim_cur > 64 ? (size_t)(rl.rlim_cur - 64) / 2 : 1;
	if (fit < wanted)
		log_warnx("open files limited to %llu: at most %zu connections", (unsigned long long)rl.rlim_cur, fit);
	return fit < wanted ? fit : wanted;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !end || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int usage(void)
{
	log_warnx("usage: mtactl gate [--conf FILE] [--header-timeout MS] [--idle-timeout SECONDS] "
		  "[--max-connections N]");
	return EXIT_USAGE;
}

static int run(struct gate *g, int sfd);

int gate_main(int argc, char **argv)
{
	log_set_name("gate");
	static struct gate g; /* large (the log table); one per process */
	const char *path = GATE_CONF;
	long header_ms = 10000, idle_s = 900, max_conns = MAX_CONNS_DEFAULT;
	static const struct option opts[] = {
		{"conf", required_argument, NULL, 'c'},
		{"header-timeout", required_argument, NULL, 't'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"max-connections", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int o;
	optind = 1;
	opterr = 0; /* one usage line of ours instead of getopt's */
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'c')
			path = optarg;
		else if (o == 't' && parse_int(optarg, 100, 600000, &header_ms))
			continue;
		else if (o == 'i' && parse_int(optarg, 1, 86400, &idle_s))
			continue;
		else if (o == 'm' && parse_int(optarg, 1, 100000, &max_conns))
			continue;
		else
			return usage();
	}
	if (optind != argc)
		return usage();
	g.header_timeout_ms = (int)header_ms;
	g.idle_timeout_ms = (int)idle_s * 1000;
	read_conf(&g, path);
	g.max_conns = conn_limit((size_t)max_conns);
	g.conns = calloc(g.max_conns, sizeof *g.conns);
	if (!g.conns)
		fatal(EXIT_SYSTEM, "calloc");

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal(EXIT_SYSTEM, "sigprocmask");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal(EXIT_SYSTEM, "ignoring SIGPIPE");
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || g.ep < 0)
		fatal(EXIT_SYSTEM, "signalfd/epoll_create1");
	static enum tag_type signal_tag = T_SIGNAL;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &signal_tag};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		fatal(EXIT_SYSTEM, "epoll_ctl signalfd");
	for (size_t i = 0; i < g.nlisteners; i++) {
		struct listener *l = &g.listeners[i];
		l->fd = bind_listener(&l->conf);
		if (l->fd < 0)
			fatal(EXIT_SYSTEM, "%s: listening on %s", l->conf.name, l->conf.listen_text);
		ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = l};
		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, l->fd, &ev) < 0)
			fatal(EXIT_SYSTEM, "epoll_ctl listener");
		log_info("%s: %s -> %s, %s from %s (%s)", l->conf.name, l->conf.listen_text, l->conf.backend_text,
			 l->conf.mode == GATE_PROXY ? "PROXY header required" : "peer is the client",
			 l->conf.variable, l->conf.trusted_text);
	}
	/* Listening, nothing more needs root. */
	proc_drop_to_nobody();
	return run(&g, sfd);
}

static int run(struct gate *g, int sfd)
{
	g->next_sweep = INT64_MAX;
	int64_t next_log = INT64_MAX;
	for (;;) {
		g->now = now_ms();
		free_dead(g); /* before counting what is left */
		if (g->draining && (g->nconns == 0 || g->now >= g->drain_end)) {
			if (g->nconns)
				log_warnx("drain time over: closing %zu connection%s", g->nconns,
					  g->nconns == 1 ? "" : "s");
			for (size_t i = 0; i < g->max_conns; i++)
				if (g->conns[i])
					conn_close(g, g->conns[i], true);
			free_dead(g);
			for (size_t i = 0; i < LOG_SLOTS; i++)
				slot_flush(g, &g->log[i]);
			log_info("drained, exiting");
			return EXIT_OK;
		}
		if (g->now >= g->next_sweep)
			sweep(g);
		free_dead(g);
		if (g->accept_resume && g->now >= g->accept_resume) {
			g->accept_resume = 0;
			set_listening(g, true);
		}
		if (g->now >= next_log)
			next_log = log_tick(g);
		int64_t wake = g->next_sweep < next_log ? g->next_sweep : next_log;
		if (g->draining && g->drain_end < wake)
			wake = g->drain_end;
		if (g->accept_resume && g->accept_resume < wake)
			wake = g->accept_resume;
		int timeout = wake == INT64_MAX ? -1
			      : wake <= g->now	? 0
						: (int)(wake - g->now > 600000 ? 600000 : wake - g->now);
		if (g->npending)
			timeout = 0;
		struct epoll_event evs[64];
		int n = epoll_wait(g->ep, evs, (int)ARRAY_LEN(evs), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_SYSTEM, "epoll_wait");
		}
		g->now = now_ms();
		for (int i = 0; i < n; i++) {
			enum tag_type *tag = evs[i].data.ptr;
			if (*tag == T_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
					if (!g->draining)
						start_drain(g, (int)si.ssi_signo);
			} else if (*tag == T_LISTENER) {
				struct listener *l = (struct listener *)(void *)tag;
				if (l->fd >= 0)
					on_accept(g, l);
			} else {
				struct end *e = (struct end *)(void *)tag;
				if (e->c->dead)
					continue;
				uint32_t what = evs[i].events;
				if (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					e->readable = true;
				if (what & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					e->writable = true;
				conn_pump(g, e->c);
			}
		}
		for (size_t i = 0; g->npending && i < g->max_conns; i++) {
			struct conn *c = g->conns[i];
			if (c && c->pending && !c->dead) {
				c->pending = false;
				g->npending--;
				conn_pump(g, c);
			}
		}
		/* A count due within this minute: the tick must come. */
		for (size_t i = 0; i < LOG_SLOTS && next_log == INT64_MAX; i++)
			if (g->log[i].used && g->log[i].suppressed)
				next_log = g->log[i].since + LOG_WINDOW_MS;
	}
}
