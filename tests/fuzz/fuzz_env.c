/* Environment values: the first byte picks a variable of the table, the
 * rest is its value; the whole settings load (validators, parsers,
 * combination rules, masking of secrets) must neither crash nor leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"

struct one_var {
	const char *name, *value;
};

static const char *get_one(const char *name, void *ctx)
{
	const struct one_var *v = ctx;
	return !strcmp(name, v->name) ? v->value : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *value = strndup((const char *)data + 1, size - 1);
	if (!value)
		return 0;
	struct one_var v = {var_table[data[0] % VAR_COUNT].name, value};
	struct settings s;
	struct strbuf errors, warnings;
	sb_init(&errors);
	sb_init(&warnings);
	settings_load(&s, get_one, &v, "mx1.example.com", IMAGE_FULL, &errors, &warnings);
	settings_free(&s);
	sb_free(&errors);
	sb_free(&warnings);
	free(value);
	return 0;
}
