/* DNS answers to the DNSSEC probe: whatever the resolver (or anyone who
 * can spoof it) sends back. */
#include <stddef.h>
#include <stdint.h>

#include "outbound/outbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dnssec_verdict v = dnssec_answer_verdict(data, size);
	(void)dnssec_verdict_reason(v);
	return 0;
}
