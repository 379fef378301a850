/* A pretend environment for the config tests: NAME=value pairs. */
#ifndef TEST_FAKE_ENV_H
#define TEST_FAKE_ENV_H

#include <string.h>

struct fake_env {
	const char *pairs[32][2];
};

static inline const char *fake_env_get(const char *name, void *ctx)
{
	const struct fake_env *e = ctx;
	for (int i = 0; i < 32 && e->pairs[i][0]; i++)
		if (!strcmp(e->pairs[i][0], name))
			return e->pairs[i][1];
	return NULL;
}

#endif
