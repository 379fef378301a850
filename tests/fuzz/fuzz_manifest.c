/* The backup manifest (backup/manifest.h): a backup DIR may come from
 * another host or have been edited, and restore writes as root what it
 * names. What parses must render back to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct strbuf why, again;
	manifest_init(&m);
	sb_init(&why);
	if (manifest_parse((const char *)data, size, &m, &why) == 0) {
		sb_init(&again);
		manifest_render(&m, &again);
		if (again.len != size || memcmp(again.buf, data, size))
			abort(); /* one text, one meaning */
		for (size_t i = 0; i < m.n; i++)
			if (!manifest_path_ok(m.e[i].path) || manifest_find(&m, m.e[i].path) != &m.e[i])
				abort();
		sb_free(&again);
	}
	sb_free(&why);
	manifest_free(&m);
	return 0;
}
