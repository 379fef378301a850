/* Rendering a scrape. Every family has its HELP and TYPE line once, its
 * samples next to it; label values are fixed words of ours, except the
 * service names of init's status file, which are escaped as the format
 * asks (backslash, quote, newline). */
#include "metrics/render.h"

#include <stdbool.h>

#include "common/common.h"

struct family {
	const char *name, *type, *help, *label;
	enum counter_id first, last; /* the counters of the family, in order */
	const char *const *values;   /* the label value of each */
};

static const char *const ports[] = {"25", "465", "587", "local"};
static const char *const transports[] = {"smtp", "relay", "lmtp", "local", "virtual", "pipe", "discard", "other"};
static const char *const reject_classes[] = {"unknown_user", "relay_denied", "dmarc", "spam",
					     "virus", "size", "rate", "other"};
static const char *const verdicts[] = {"clean", "spam", "virus", "banned", "bad_header"};
static const char *const tls_versions[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other"};

static const struct family families[] = {
	{"mta_messages_received_total", "counter",
	 "Messages accepted into the queue, by the port they came in on (local: sendmail).", "port",
	 C_RECEIVED_25, C_RECEIVED_LOCAL, ports},
	{"mta_messages_delivered_total", "counter",
	 "Recipients delivered, by Postfix transport (hand-overs to the content filter left out).",
	 "transport", C_DELIVERED_SMTP, C_DELIVERED_OTHER, transports},
	{"mta_deliveries_deferred_total", "counter", "Delivery attempts deferred (status=deferred).",
	 NULL, C_DEFERRED, C_DEFERRED, NULL},
	{"mta_messages_bounced_total", "counter", "Recipients bounced or expired (status=bounced, expired).",
	 NULL, C_BOUNCED, C_BOUNCED, NULL},
	{"mta_smtp_rejected_total", "counter", "SMTP commands and messages rejected, by reason.", "class",
	 C_REJECT_UNKNOWN_USER, C_REJECT_OTHER, reject_classes},
	{"mta_filter_verdicts_total", "counter", "Content filter (amavis) verdicts, passed or blocked.",
	 "verdict", C_VERDICT_CLEAN, C_VERDICT_BAD_HEADER, verdicts},
	{"mta_sasl_auth_failures_total", "counter", "Failed SMTP AUTH attempts.", NULL, C_SASL_FAILED,
	 C_SASL_FAILED, NULL},
	{"mta_tls_inbound_sessions_total", "counter", "TLS sessions of SMTP clients, by protocol version.",
	 "version", C_TLS_IN_10, C_TLS_IN_OTHER, tls_versions},
	{"mta_tls_outbound_sessions_total", "counter", "TLS sessions to other servers, by protocol version.",
	 "version", C_TLS_OUT_10, C_TLS_OUT_OTHER, tls_versions},
};

static void header(struct strbuf *out, const char *name, const char *type, const char *help)
{
	sb_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_counters(const struct counters *c, struct strbuf *out)
{
	for (size_t f = 0; f < ARRAY_LEN(families); f++) {
		const struct family *fam = &families[f];
		header(out, fam->name, fam->type, fam->help);
		for (enum counter_id id = fam->first; id <= fam->last; id++) {
			unsigned long long v = (unsigned long long)counter_get(c, id);
			if (fam->label)
				sb_addf(out, "%s{%s=\"%s\"} %llu\n", fam->name, fam->label,
					fam->values[id - fam->first], v);
			else
				sb_addf(out, "%s %llu\n", fam->name, v);
		}
	}
	const char *h = "mta_delivery_delay_seconds";
	header(out, h, "histogram", "Time from arrival to delivery of each delivered recipient (Postfix's delay=).");
	unsigned long long cumulative = 0;
	for (int b = 0; b <= DELAY_BUCKETS; b++) {
		cumulative += (unsigned long long)counter_get(c, C_DELAY_BUCKET_FIRST + b);
		if (b < DELAY_BUCKETS)
			sb_addf(out, "%s_bucket{le=\"%g\"} %llu\n", h, delay_bucket_ms[b] / 1000.0, cumulative);
		else
			sb_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n", h, cumulative);
	}
	sb_addf(out, "%s_sum %.3f\n", h, (double)counter_get(c, C_DELAY_SUM_MS) / 1000.0);
	sb_addf(out, "%s_count %llu\n", h, cumulative);
}

static void add_label_value(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sb_addc(out, '\\');
		if (*v == '\n')
			sb_adds(out, "\\n");
		else
			sb_addc(out, *v);
	}
}

static void render_gauges(const struct gauges *g, struct strbuf *out)
{
	header(out, "mta_queue_messages", "gauge", "Messages in each Postfix queue.");
	for (int q = 0; q < QUEUE_COUNT; q++)
		if (g->queue[q] >= 0)
			sb_addf(out, "mta_queue_messages{queue=\"%s\"} %ld\n", queue_names[q], g->queue[q]);
	if (g->quarantine >= 0) {
		header(out, "mta_quarantine_messages", "gauge",
		       "Messages in the quarantine (amavis's directory; rspamd image: the hold queue).");
		sb_addf(out, "mta_quarantine_messages %ld\n", g->quarantine);
	}
	if (g->cert_not_after > 0) {
		header(out, "mta_tls_cert_not_after_timestamp_seconds", "gauge",
		       "Expiry (Unix time) of the certificate Postfix serves.");
		sb_addf(out, "mta_tls_cert_not_after_timestamp_seconds %.0f\n", g->cert_not_after);
	}
	if (g->clamav_db_age >= 0) {
		header(out, "mta_clamav_database_age_seconds", "gauge",
		       "Seconds since the newest ClamAV signature file changed.");
		sb_addf(out, "mta_clamav_database_age_seconds %.0f\n", g->clamav_db_age);
	}
	header(out, "mta_service_up", "gauge", "1 while the supervised service runs (or a start-up task is done).");
	for (size_t i = 0; i < g->services; i++) {
		sb_adds(out, "mta_service_up{service=\"");
		add_label_value(out, g->service[i].name);
		sb_addf(out, "\"} %d\n", g->service[i].up ? 1 : 0);
	}
	header(out, "mta_service_restarts_total", "counter", "Restarts of the service by init since the container started.");
	for (size_t i = 0; i < g->services; i++) {
		sb_adds(out, "mta_service_restarts_total{service=\"");
		add_label_value(out, g->service[i].name);
		sb_addf(out, "\"} %lu\n", g->service[i].restarts);
	}
}

void metrics_render(const struct counters *counters, const struct gauges *g, struct strbuf *out)
{
	if (counters)
		render_counters(counters, out);
	render_gauges(g, out);
}
