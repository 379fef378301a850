/* Address lists: PROXY_TRUSTED_NETWORKS and DOVECOT_LMTP_TRUSTED_NETWORKS
 * come from the environment, and the gate's configuration repeats them. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/netlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	if (!text)
		return 0;
	struct netlist l;
	struct strbuf why;
	sb_init(&why);
	bool ok = netlist_parse(text, &l, &why);
	if (ok != (why.len == 0) || (ok && (l.n == 0 || l.n > NETLIST_MAX)))
		abort();
	if (ok) {
		/* Every entry's own network address matches its list. */
		for (size_t i = 0; i < l.n; i++) {
			struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
			memcpy(&sa.sin6_addr, l.entry[i].addr, 16);
			if (!netlist_match(&l, (struct sockaddr *)&sa))
				abort();
		}
	}
	sb_free(&why);
	free(text);
	return 0;
}
