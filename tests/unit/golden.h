/* Golden-file comparison: rendered text must equal golden/NAME. Run with
 * UPDATE_GOLDEN=1 to rewrite the references (then review the diff). */
#ifndef TEST_GOLDEN_H
#define TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

static inline void assert_golden(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "golden/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		assert_int_equal(file_write_atomic(path, text, strlen(text), 0644), 0);
		return;
	}
	struct strbuf want;
	sb_init(&want);
	if (file_read(path, &want, 1 << 20) < 0)
		fail_msg("cannot read %s (UPDATE_GOLDEN=1 writes it)", path);
	if (strcmp(want.buf, text) != 0) {
		fprintf(stderr, "---- rendered %s:\n%s---- end\n", name, text);
		fail_msg("%s differs from the golden file", name);
	}
	sb_free(&want);
}

#endif
