/* Datagrams on /dev/log: any local process can send anything. */
#include <stddef.h>
#include <stdint.h>

#include "syslog/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_msg m;
	struct strbuf line;
	sb_init(&line);
	syslog_parse((const char *)data, size, &m);
	syslog_demote(&m);
	syslog_format(&m, &line);
	sb_free(&line);
	return 0;
}
