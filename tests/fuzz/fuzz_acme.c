/* acme.json as Traefik (or anyone able to write that file) leaves it. */
#include <stddef.h>
#include <stdint.h>

#include "acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_pick pick;
	struct strbuf why;
	sb_init(&why);
	acme_pick((const char *)data, size, "mx1.example.com", "example.com", &pick, &why);
	acme_pick_free(&pick);
	sb_free(&why);
	return 0;
}
