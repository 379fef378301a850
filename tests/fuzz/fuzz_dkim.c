/* DKIM_PRIVATEKEY as an operator may paste it, and the TXT record of
 * whatever key that yields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = strndup((const char *)data, size);
	if (!value)
		return 0;
	struct strbuf pem, why, txt;
	sb_init(&pem);
	sb_init(&why);
	sb_init(&txt);
	if (dkim_key_pem_from_value(value, &pem, &why))
		dkim_txt_record(pem.buf, "example.com", "default", &txt);
	sb_free(&pem);
	sb_free(&why);
	sb_free(&txt);
	free(value);
	return 0;
}
