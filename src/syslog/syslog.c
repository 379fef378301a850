/* The syslog receiver. It reads datagrams from fd 3 when init passed it
 * the /dev/log socket there, or binds /dev/log itself when run by hand. */
#include "syslog/syslog.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/proc.h"
#include "config/vars.h"
#include "metrics/counters.h"
#include "metrics/logcount.h"

#define DEFAULT_LEVEL 5
#define INHERITED_FD 3

static const char *const facility_names[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
static const char *const severity_names[8] = {"emerg", "alert", "crit", "err",
					      "warning", "notice", "info", "debug"};

/* "Mmm dd hh:mm:ss " (RFC 3164 TIMESTAMP) at s? */
static bool is_timestamp(const char *s, size_t len)
{
	static const char shape[] = "Aaa dd dd:dd:dd ";
	if (len < sizeof shape - 1)
		return false;
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (shape[i]) {
		case 'A': if (!isupper(c)) return false; break;
		case 'a': if (!islower(c)) return false; break;
		case 'd': if (!isdigit(c) && !(i == 4 && c == ' ')) return false; break;
		default: if (c != (unsigned char)shape[i]) return false;
		}
	}
	return true;
}

void syslog_parse(const char *dgram, size_t len, struct syslog_msg *out)
{
	out->facility = 1;
	out->severity = 5;
	size_t i = 0;
	if (len > 2 && dgram[0] == '<') {
		int pri = 0;
		size_t j = 1;
		while (j < len && j < 5 && isdigit((unsigned char)dgram[j]))
			pri = pri * 10 + (dgram[j++] - '0');
		if (j > 1 && j < len && dgram[j] == '>' && pri <= 191) {
			out->facility = pri >> 3;
			out->severity = pri & 7;
			i = j + 1;
		}
	}
	if (is_timestamp(dgram + i, len - i))
		i += 16;
	while (len > i && (dgram[len - 1] == '\n' || dgram[len - 1] == '\0'))
		len--;
	out->body = dgram + i;
	out->body_len = len - i;
}

/* Start-up lines amavis logs at notice whatever its $log_level (its level
 * 0 means both "always" and notice), none telling an operator anything:
 * the Perl version and ids; Net::Server noting that it was given no user
 * and group (Debian's $daemon_user makes amavis drop privileges before it
 * binds, so it never passes them); altermime, used only for disclaimers,
 * not installed. No amavis setting silences them without silencing its
 * verdict lines too, and their sources are amavis's and Net::Server's
 * code, so the receiver is the one place left: it lowers them to info
 * (SYSLOG_LEVEL=6 shows them). Nothing else is rewritten here. */
static const struct {
	const char *tag;
	const char *prefix;
} amavis_chatter[] = {
	{"amavis", "perl="},
	{"amavis", "Net::Server: Group Not Defined."},
	{"amavis", "Net::Server: User Not Defined."},
	{"amavis", "No $altermime,"},
};

/* Does the body read "TAG[digits]: PREFIX..." or "TAG: PREFIX..."? */
static bool body_is(const struct syslog_msg *m, const char *tag, const char *prefix)
{
	size_t tlen = strlen(tag), plen = strlen(prefix), i = tlen;
	if (m->body_len < tlen || memcmp(m->body, tag, tlen) != 0)
		return false;
	if (i < m->body_len && m->body[i] == '[') {
		size_t digits = 0;
		for (i++; i < m->body_len && isdigit((unsigned char)m->body[i]); i++)
			digits++;
		if (!digits || i >= m->body_len || m->body[i] != ']')
			return false;
		i++;
	}
	if (m->body_len - i < 2 + plen || m->body[i] != ':' || m->body[i + 1] != ' ')
		return false;
	return memcmp(m->body + i + 2, prefix, plen) == 0;
}

void syslog_demote(struct syslog_msg *m)
{
	if (m->severity != 5)
		return;
	for (size_t i = 0; i < ARRAY_LEN(amavis_chatter); i++)
		if (body_is(m, amavis_chatter[i].tag, amavis_chatter[i].prefix)) {
			m->severity = 6;
			return;
		}
}

void syslog_format(const struct syslog_msg *m, struct strbuf *out)
{
	sb_addf(out, "%s.%s ", facility_names[m->facility], severity_names[m->severity]);
	for (size_t i = 0; i < m->body_len; i++) {
		unsigned char c = (unsigned char)m->body[i];
		if (c < 0x20 || c == 0x7f)
			sb_addf(out, "\\x%02x", c);
		else
			sb_addc(out, (char)c);
	}
	sb_addc(out, '\n');
}

static int bind_devlog(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal(EXIT_SYSTEM, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, "/dev/log", sizeof "/dev/log");
	if ((unlink(sa.sun_path) < 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(sa.sun_path, 0666) < 0)
		fatal(EXIT_SYSTEM, "binding /dev/log");
	return fd;
}


static int level_from_env(void)
{
	const char *v = getenv("SYSLOG_LEVEL");
	if (!v || !*v)
		return DEFAULT_LEVEL;
	if (v[0] >= '0' && v[0] <= '7' && !v[1])
		return v[0] - '0';
	log_warnx("SYSLOG_LEVEL=\"%.20s\": expected 0-7; using %d", v, DEFAULT_LEVEL);
	return DEFAULT_LEVEL;
}

int syslog_main(int argc, char **argv)
{
	(void)argv;
	log_set_name("syslog");
	if (argc != 1) {
		log_warnx("usage: mtactl syslog");
		return EXIT_USAGE;
	}
	int level = level_from_env();
	int type = 0;
	socklen_t tlen = sizeof type;
	bool inherited = getsockopt(INHERITED_FD, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
			 type == SOCK_DGRAM;
	int fd = inherited ? INHERITED_FD : bind_devlog();
	/* METRICS_LISTEN: every line is counted (before the level filter) into
	 * the shared file, made here while still root. Without it, or when it
	 * cannot be mapped, nothing is counted and logging goes on. */
	struct counters *counters = NULL;
	if (*var_env(V_METRICS_LISTEN) && mkdir_p("/run/mtactl", 0755) == 0)
		counters = counters_open_rw(COUNTERS_FILE);
	/* With the socket open and stdout inherited, nothing here needs root:
	 * a datagram from any local process is parsed as nobody. */
	proc_drop_to_nobody();
	char dgram[8192 + 1];
	struct strbuf line;
	sb_init(&line);
	for (;;) {
		ssize_t n = recv(fd, dgram, sizeof dgram - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_SYSTEM, "recv /dev/log");
		}
		struct syslog_msg m;
		syslog_parse(dgram, (size_t)n, &m);
		if (counters) {
			struct logcount_hits hits;
			logcount_classify(m.body, m.body_len, &hits);
			logcount_apply(counters, &hits);
		}
		syslog_demote(&m);
		if (m.severity > level)
			continue;
		sb_reset(&line);
		syslog_format(&m, &line);
		if (fd_write_all(STDOUT_FILENO, line.buf, line.len) < 0)
			fatal(EXIT_SYSTEM, "write stdout");
	}
}
