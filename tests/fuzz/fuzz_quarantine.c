/* Quarantined messages: their headers come from whoever sent the mail. */
#include <stddef.h>
#include <stdint.h>

#include "quarantine/quarantine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quarantine_entry e;
	quarantine_parse((const char *)data, size, "spam-fuzz", &e);
	return 0;
}
