/* The hold queue (rspamd image): `postqueue -j` lines, whose senders and
 * recipients come from whoever sent the mail, read by hold_parse_queue. */
#include <stddef.h>
#include <stdint.h>

#include "quarantine/hold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hold_list l;
	hold_list_init(&l);
	hold_parse_queue((const char *)data, size, &l);
	hold_list_free(&l);
	return 0;
}
