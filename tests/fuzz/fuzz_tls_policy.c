/* What `mtactl tls-policy` reads: Postfix's socketmap netstrings and the
 * resolver's answers to its MX and TLSA questions. */
#include <stddef.h>
#include <stdint.h>

#include "outbound/outbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *d;
	size_t len;
	char key[1025];
	for (size_t at = 0; at < size;) {
		ssize_t n = netstring_decode(s + at, size - at, &d, &len);
		if (n <= 0)
			break;
		(void)policy_request_key(d, len, key, sizeof key);
		at += (size_t)n;
	}
	char hosts[4][1025];
	(void)dane_mx_hosts(data, size, hosts, 4);
	(void)dane_tlsa_secure(data, size);
	return 0;
}
