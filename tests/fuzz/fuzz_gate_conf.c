/* GATE_CONF lines: written by the configuration step from environment
 * values (the trusted lists), read by the gate at every start. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = strndup((const char *)data, size);
	if (!line)
		return 0;
	struct gate_listener_conf cf;
	struct strbuf why;
	sb_init(&why);
	int r = gate_conf_parse_line(line, &cf, &why);
	if ((r < 0) != (why.len > 0) || r > 1)
		abort();
	if (r == 1 && (cf.trusted.n == 0 || !cf.name[0] || (cf.mode != GATE_PROXY && cf.mode != GATE_PEER)))
		abort();
	sb_free(&why);
	free(line);
	return 0;
}
