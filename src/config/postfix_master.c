/* master.cf. Postfix's stock services, none chrooted: in a container the
 * chroot adds nothing but copies of resolv.conf and friends to keep fresh.
 * Later stages add their listeners here (submission, smtps, amavis). */
#include "config/postfix.h"

#include "common/common.h"

struct master_service {
	const char *name, *type, *private_, *unpriv, *chroot, *wakeup, *maxproc, *command;
};

static const struct master_service stock[] = {
	{"smtp", "inet", "n", "-", "n", "-", "-", "smtpd"},
	{"pickup", "unix", "n", "-", "n", "60", "1", "pickup"},
	{"cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"},
	{"qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"},
	{"tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"},
	{"rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"},
	{"bounce", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"defer", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"trace", "unix", "-", "-", "n", "-", "0", "bounce"},
	{"verify", "unix", "-", "-", "n", "-", "1", "verify"},
	{"flush", "unix", "n", "-", "n", "1000?", "0", "flush"},
	{"proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"},
	{"proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"},
	{"smtp", "unix", "-", "-", "n", "-", "-", "smtp"},
	{"relay", "unix", "-", "-", "n", "-", "-", "smtp\n  -o syslog_name=postfix/$service_name"},
	{"showq", "unix", "n", "-", "n", "-", "-", "showq"},
	{"error", "unix", "-", "-", "n", "-", "-", "error"},
	{"retry", "unix", "-", "-", "n", "-", "-", "error"},
	{"discard", "unix", "-", "-", "n", "-", "-", "discard"},
	{"local", "unix", "-", "n", "n", "-", "-", "local"},
	{"virtual", "unix", "-", "n", "n", "-", "-", "virtual"},
	{"lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"},
	{"anvil", "unix", "-", "-", "n", "-", "1", "anvil"},
	{"scache", "unix", "-", "-", "n", "-", "1", "scache"},
	{"postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"},
};

static void service_render(const struct master_service *m, struct strbuf *out)
{
	sb_addf(out, "%-10s %-10s %-7s %-7s %-7s %-7s %-7s %s\n", m->name, m->type, m->private_,
		m->unpriv, m->chroot, m->wakeup, m->maxproc, m->command);
}

void postfix_master_render(const struct settings *s, struct strbuf *out)
{
	(void)s; /* the mini stage has no optional services yet */
	sb_adds(out, "# Written by `mtactl config`; see master(5).\n"
		     "# service  type       private unpriv  chroot  wakeup  maxproc command\n");
	for (size_t i = 0; i < ARRAY_LEN(stock); i++)
		service_render(&stock[i], out);
}
