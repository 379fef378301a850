/* The log classifier: which counters one syslog line (its "tag[pid]:
 * text" body) adds to. Pure, so unit tests and the fuzzer feed it any
 * bytes; the receiver applies the result to the shared counters. */
#ifndef MTACTL_METRICS_LOGCOUNT_H
#define MTACTL_METRICS_LOGCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/counters.h"

#define LOGCOUNT_HITS_MAX 2

struct logcount_hits {
	enum counter_id id[LOGCOUNT_HITS_MAX];
	size_t n;
	int64_t delay_ms; /* a final delivery's delay=, -1 when none */
};

void logcount_classify(const char *body, size_t len, struct logcount_hits *out);
/* Adds the hits (and the delay to the histogram) to m. */
void logcount_apply(struct counters *m, const struct logcount_hits *h);

#endif
