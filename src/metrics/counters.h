/* The counters of the log stream, in a small file in /run/mtactl that the
 * syslog receiver maps read-write and the metrics service read-only. It
 * lives outside both processes, so either can restart without the counts
 * going back to zero (only a new container starts them at zero, which
 * Prometheus's rate() takes as a counter reset). */
#ifndef MTACTL_METRICS_COUNTERS_H
#define MTACTL_METRICS_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#define COUNTERS_FILE "/run/mtactl/counters"

/* Upper bounds of the delivery delay histogram, in milliseconds. */
#define DELAY_BUCKETS 14
extern const uint32_t delay_bucket_ms[DELAY_BUCKETS];

enum counter_id {
	C_RECEIVED_25, C_RECEIVED_465, C_RECEIVED_587, C_RECEIVED_LOCAL,
	C_DELIVERED_SMTP, C_DELIVERED_RELAY, C_DELIVERED_LMTP, C_DELIVERED_LOCAL,
	C_DELIVERED_VIRTUAL, C_DELIVERED_PIPE, C_DELIVERED_DISCARD, C_DELIVERED_OTHER,
	C_DEFERRED, C_BOUNCED,
	C_REJECT_UNKNOWN_USER, C_REJECT_RELAY_DENIED, C_REJECT_DMARC, C_REJECT_SPAM,
	C_REJECT_VIRUS, C_REJECT_SIZE, C_REJECT_RATE, C_REJECT_OTHER,
	C_VERDICT_CLEAN, C_VERDICT_SPAM, C_VERDICT_VIRUS, C_VERDICT_BANNED, C_VERDICT_BAD_HEADER,
	C_SASL_FAILED,
	C_TLS_IN_10, C_TLS_IN_11, C_TLS_IN_12, C_TLS_IN_13, C_TLS_IN_OTHER,
	C_TLS_OUT_10, C_TLS_OUT_11, C_TLS_OUT_12, C_TLS_OUT_13, C_TLS_OUT_OTHER,
	/* the histogram: one count per bucket (not cumulative), +Inf last */
	C_DELAY_BUCKET_FIRST,
	C_DELAY_BUCKET_INF = C_DELAY_BUCKET_FIRST + DELAY_BUCKETS,
	C_DELAY_COUNT,
	C_DELAY_SUM_MS,
	COUNTER_COUNT
};

/* The file's fixed layout; the magic changes with it, and a file of
 * another layout (an older binary's) is started again from zero. */
#define COUNTERS_MAGIC (0x6d746163u + COUNTER_COUNT)
struct counters {
	uint32_t magic;
	uint32_t count;
	_Atomic uint64_t c[COUNTER_COUNT];
};

/* Maps COUNTERS_FILE (path for tests), creating or resetting it when it
 * is missing or of another layout. NULL with a logged reason. */
struct counters *counters_open_rw(const char *path);
/* Maps it read-only; NULL (errno set) while the receiver has not made it. */
const struct counters *counters_open_ro(const char *path);
void counters_close(const struct counters *m);

static inline void counter_add(struct counters *m, enum counter_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&m->c[id], n, memory_order_relaxed);
}

static inline uint64_t counter_get(const struct counters *m, enum counter_id id)
{
	return atomic_load_explicit(&((struct counters *)m)->c[id], memory_order_relaxed);
}

#endif
