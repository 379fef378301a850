/* The gauges read at each scrape: queue and quarantine sizes, the served
 * certificate's expiry, the ClamAV database's age, the services' states
 * from init's status file. */
#ifndef MTACTL_METRICS_GAUGES_H
#define MTACTL_METRICS_GAUGES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

enum queue_id { Q_INCOMING, Q_ACTIVE, Q_DEFERRED, Q_HOLD, QUEUE_COUNT };
extern const char *const queue_names[QUEUE_COUNT];

#define GAUGE_SERVICES_MAX 32

struct gauge_service {
	char name[32];
	bool up;
	unsigned long restarts;
};

struct gauges {
	long queue[QUEUE_COUNT];   /* -1: unreadable */
	long quarantine;           /* -1: none in this image */
	double cert_not_after;     /* Unix time; 0: no certificate */
	double clamav_db_age;      /* seconds; -1: no ClamAV database */
	struct gauge_service service[GAUGE_SERVICES_MAX];
	size_t services;
};

/* The certificate file Postfix serves, asked of postconf once at start
 * (as root, before the service drops privileges). Empty when none. */
void gauges_find_cert(char *path, size_t size);
void gauges_read(const char *cert_path, struct gauges *g);
/* Parses init's status text ("name state pid restarts" lines) into g. */
void gauges_parse_services(const char *text, struct gauges *g);

#endif
