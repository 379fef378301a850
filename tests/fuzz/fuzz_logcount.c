/* The metrics' log classifier: every datagram on /dev/log, from any local
 * process, goes through it (and METRICS_LISTEN's parser, an env value). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/listen.h"
#include "metrics/logcount.h"
#include "syslog/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_msg m;
	syslog_parse((const char *)data, size, &m);
	struct logcount_hits h;
	logcount_classify(m.body, m.body_len, &h);
	if (h.n > LOGCOUNT_HITS_MAX)
		abort();
	logcount_classify((const char *)data, size, &h);
	if (size < 256) {
		char v[256];
		memcpy(v, data, size);
		v[size] = '\0';
		struct metrics_addr a;
		struct strbuf why;
		sb_init(&why);
		metrics_listen_parse(v, &a, &why);
		sb_free(&why);
	}
	return 0;
}
