/* TXT record text from DNS: DKIM and DMARC tag lists, and the same text
 * written back as zone-file strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliverability/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	if (!text)
		return 0;
	struct tag_list t;
	if (tag_list_parse(text, &t)) {
		(void)tag_get(&t, "p");
		tag_list_free(&t);
	}
	struct strbuf sb;
	sb_init(&sb);
	txt_zone_strings(text, &sb);
	sb_free(&sb);
	free(text);
	return 0;
}
