/* DNS responses as a resolver (or anyone spoofing one) may send them,
 * parsed for every record type the doctor asks for. */
#include <arpa/nameser.h>
#include <stddef.h>
#include <stdint.h>

#include "deliverability/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = {ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr, ns_t_txt, ns_t_tlsa, ns_t_cname};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct dns_answer a;
		strlist_init(&a.rr);
		(void)dns_parse_answer(data, size, types[i], &a);
		dns_answer_free(&a);
	}
	return 0;
}
