/* The Prometheus text exposition format (version 0.0.4) of the counters
 * and the gauges. */
#ifndef MTACTL_METRICS_RENDER_H
#define MTACTL_METRICS_RENDER_H

#include "common/strbuf.h"
#include "metrics/counters.h"
#include "metrics/gauges.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* counters may be NULL (the receiver has not made the file yet): the
 * counter families are then left out. */
void metrics_render(const struct counters *counters, const struct gauges *g, struct strbuf *out);

#endif
