/* What rspamc, sa-learn and rspamadm dmarc_report print, as mtactl learn,
 * spamd-learn and dmarc-reports read it (a learner's output carries the
 * message's own words: rspamc quotes its Message-ID). The first byte picks
 * the exit status. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/reports.h"
#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int status = size ? (int)data[0] % 3 : 0;
	for (int b = LEARN_NONE; b <= LEARN_SA_LEARN; b++) {
		enum learn_result r = learn_classify((enum learn_backend)b, status, text);
		if (r != LEARN_LEARNED && r != LEARN_ALREADY && r != LEARN_FAILED)
			abort();
		if (b == LEARN_NONE && r != LEARN_FAILED)
			abort();
	}
	struct dmarc_summary s;
	if (dmarc_parse_summary(text, &s) && (s.dates < 0 || s.reports < 0 || s.sent < 0 || s.failed < 0))
		abort();
	free(text);
	return 0;
}
