/* Does the resolver validate DNSSEC? The default outbound TLS level is
 * dane only when it does (RFC 7672 section 2.1.1: TLSA records count only
 * when validated), so at every start a child asks the resolver for the
 * root's DNSKEY with the DO bit and looks at the AD bit of the answer.
 * glibc passes AD on only with RES_TRUSTAD (trust-ad). The child is killed
 * when it has no answer within the budget: a resolver that drops every
 * query costs at most 2 s, and most of that overlaps the config step. */
#include "outbound/outbound.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"

#define PROBE_BUDGET_MS 2000

enum dnssec_verdict dnssec_answer_verdict(const unsigned char *msg, size_t len)
{
	ns_msg h;
	if (len > NS_MAXMSG || ns_initparse(msg, (int)len, &h) < 0)
		return DNSSEC_BAD_ANSWER;
	if (ns_msg_getflag(h, ns_f_rcode) != ns_r_noerror)
		return DNSSEC_ERROR_RCODE;
	bool dnskey = false;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return DNSSEC_BAD_ANSWER;
		const char *name = ns_rr_name(rr);
		bool root = !name[0] || (name[0] == '.' && !name[1]);
		if (ns_rr_type(rr) == ns_t_dnskey && ns_rr_class(rr) == ns_c_in && root)
			dnskey = true;
	}
	if (!dnskey)
		return DNSSEC_BAD_ANSWER;
	return ns_msg_getflag(h, ns_f_ad) ? DNSSEC_VALIDATED : DNSSEC_NOT_VALIDATED;
}

const char *dnssec_verdict_reason(enum dnssec_verdict v)
{
	switch (v) {
	case DNSSEC_VALIDATED:
		return "the resolver validates DNSSEC (\". DNSKEY\" came with the AD bit)";
	case DNSSEC_NOT_VALIDATED:
		return "the resolver does not validate DNSSEC (\". DNSKEY\" came without the AD bit)";
	case DNSSEC_NO_ANSWER:
		return "the resolver gave no answer to \". DNSKEY\" within 2 s";
	case DNSSEC_ERROR_RCODE:
		return "the resolver does not validate DNSSEC (it answered \". DNSKEY\" with an error)";
	case DNSSEC_BAD_ANSWER:
		break;
	}
	return "the resolver's answer to \". DNSKEY\" held no root DNSKEY";
}

static enum dnssec_verdict probe_now(void)
{
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0)
		return DNSSEC_NO_ANSWER;
	st.options |= RES_USE_DNSSEC | RES_USE_EDNS0 | RES_TRUSTAD;
	st.retrans = 1;
	st.retry = 2;
	unsigned char answer[NS_MAXMSG] = {0};
	int n = res_nquery(&st, ".", ns_c_in, ns_t_dnskey, answer, sizeof answer);
	res_nclose(&st);
	if (n < 0) {
		/* res_nquery fails on an error rcode or an empty answer too, and
		 * leaves the response in the buffer: a set QR bit tells that an
		 * answer came (and what it said) from a time-out. */
		const HEADER *h = (const HEADER *)answer;
		if (!h->qr)
			return DNSSEC_NO_ANSWER;
		return h->rcode != ns_r_noerror ? DNSSEC_ERROR_RCODE : DNSSEC_BAD_ANSWER;
	}
	return dnssec_answer_verdict(answer, (size_t)n > sizeof answer ? sizeof answer : (size_t)n);
}

void dnssec_probe_start(struct dnssec_probe *p)
{
	int fds[2];
	p->pid = -1;
	p->fd = -1;
	p->deadline_ms = now_ms() + PROBE_BUDGET_MS;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("pipe for the DNSSEC probe");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("fork for the DNSSEC probe");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		unsigned char verdict = (unsigned char)probe_now();
		_exit(write(fds[1], &verdict, 1) == 1 ? 0 : 1);
	}
	close(fds[1]);
	p->pid = pid;
	p->fd = fds[0];
}

enum dnssec_verdict dnssec_probe_finish(struct dnssec_probe *p)
{
	unsigned char verdict = DNSSEC_NO_ANSWER;
	if (p->fd < 0)
		return DNSSEC_NO_ANSWER;
	for (;;) {
		int64_t left = p->deadline_ms - now_ms();
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		int n = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && read(p->fd, &verdict, 1) != 1)
			verdict = DNSSEC_NO_ANSWER;
		break;
	}
	close(p->fd);
	p->fd = -1;
	if (kill(p->pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("stopping the DNSSEC probe");
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = -1;
	return verdict <= DNSSEC_BAD_ANSWER ? (enum dnssec_verdict)verdict : DNSSEC_NO_ANSWER;
}
