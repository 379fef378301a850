/* PROXY protocol headers: the first bytes any peer of the gate sends. The
 * parser must not read past len, must agree with itself when fed the
 * header alone, and what it accepts must survive the v1 writer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/proxy_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	struct proxy_header h;
	ssize_t r = proxy_header_parse(copy, size, &h);
	if (r > (ssize_t)size || r < -1)
		abort();
	if (r > 0) {
		struct proxy_header again;
		if (proxy_header_parse(copy, (size_t)r, &again) != r || again.kind != h.kind)
			abort();
		if (h.kind == PROXY_TCP) {
			char line[PROXY_V1_MAX + 1];
			size_t n = proxy_v1_write(line, sizeof line, (struct sockaddr *)&h.src,
						  (struct sockaddr *)&h.dst);
			if (n == 0 || proxy_header_parse(line, n, &again) != (ssize_t)n || again.kind != PROXY_TCP)
				abort();
		}
	}
	free(copy);
	return 0;
}
