/* `postqueue -j` output: senders, recipients and delay reasons come from
 * whoever sent the mail and whatever the remote hosts answered. */
#include <stddef.h>
#include <stdint.h>

#include "queue/filter_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const matches[] = {"/run/amavis/", ""};
	struct strlist ids;
	strlist_init(&ids);
	queue_waiting_for((const char *)data, size, matches, 2, &ids);
	strlist_free(&ids);
	return 0;
}
