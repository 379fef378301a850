/* freshclam's output (its messages carry curl's and the mirror's words)
 * and freshclam.conf (hand-edited on the volume), as `mtactl freshclam`
 * reads them. The first byte also picks the exit status. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clamav/freshclam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char cause[160], list[256], small[7];
	freshclam_cause(size ? (int)data[0] - 2 : 0, text, size, cause, sizeof cause);
	struct freshclam_report r;
	freshclam_report_parse(text, size, &r);
	freshclam_report_list(&r, false, list, sizeof list);
	freshclam_report_list(&r, true, small, sizeof small);
	unsigned interval = freshclam_interval_s(text, size);
	/* What the log line is made of: never empty, always a sane interval. */
	if (!*cause || r.n > FRESHCLAM_DB_MAX || interval < 24 * 3600 / 50 || interval > 24 * 3600)
		abort();
	return 0;
}
