/* `mtactl doctor` (see doctor.h): runs the checks, prints one line per
 * finding or a JSON document (jansson), exits with the worst verdict.
 * Every lookup, libspf2's too, goes through resolve.c: bounded, and to
 * DOCTOR_RESOLVER when set. */
#include "doctor/doctor.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "config/settings.h"
#include "config/vars.h"
#include "deliverability/resolve.h"

/* a copy of s, "" for none */
static char *copy_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

void report_add(struct report *r, enum verdict v, const char *check, const char *subject, const char *fix,
		const char *fmt, ...)
{
	r->item = grow_array(r->item, &r->cap, r->len, sizeof *r->item);
	struct strbuf found;
	sb_init(&found);
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&found, fmt, ap);
	va_end(ap);
	/* One line each, and valid JSON strings: nothing from DNS (TXT data is
	 * any bytes) may break the output's lines or its UTF-8. */
	for (char *c = found.buf; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f)
			*c = '?';
	r->item[r->len++] = (struct finding){
		.verdict = v, .check = copy_or_empty(check), .subject = copy_or_empty(subject),
		.found = sb_detach(&found), .fix = copy_or_empty(v == VERDICT_OK ? "" : fix),
	};
	sb_free(&found);
}

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_OK:
		return "ok";
	case VERDICT_SKIP:
		return "skip";
	case VERDICT_WARN:
		return "warn";
	case VERDICT_FAIL:
		break;
	}
	return "fail";
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->len; i++) {
		free(r->item[i].check);
		free(r->item[i].subject);
		free(r->item[i].found);
		free(r->item[i].fix);
	}
	free(r->item);
}

static int print_text(const struct report *r)
{
	for (size_t i = 0; i < r->len; i++) {
		const struct finding *f = &r->item[i];
		if (printf("%-4s %s%s%s: %s%s%s\n", verdict_name(f->verdict), f->check, *f->subject ? " " : "",
			   f->subject, f->found, *f->fix ? ". Fix: " : "", f->fix) < 0)
			return -1;
	}
	return fflush(stdout) == EOF ? -1 : 0;
}

static int print_json(const struct report *r, enum verdict worst)
{
	json_t *checks = json_array();
	for (size_t i = 0; checks && i < r->len; i++) {
		const struct finding *f = &r->item[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "check", f->check, "subject", f->subject,
				      "verdict", verdict_name(f->verdict), "found", f->found, "fix", f->fix);
		if (!o || json_array_append_new(checks, o) < 0) {
			json_decref(checks);
			return -1;
		}
	}
	json_t *doc = checks ? json_pack("{s:s, s:o}", "verdict", verdict_name(worst), "checks", checks) : NULL;
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	int rc = text && puts(text) >= 0 && fflush(stdout) != EOF ? 0 : -1;
	free(text);
	return rc;
}

int doctor_main(int argc, char **argv)
{
	log_set_name("doctor");
	bool json = argc == 2 && !strcmp(argv[1], "--json");
	if (argc > 2 || (argc == 2 && !json)) {
		log_warnx("usage: mtactl doctor [--json]");
		return EXIT_USAGE;
	}
	/* docker exec does not carry init's environment: validate our own
	 * variables here too, with the same one line as at start. */
	struct strbuf errors;
	sb_init(&errors);
	enum var_id ours[] = {V_DOCTOR_DNSBL, V_DOCTOR_PUBLIC_ADDRESSES, V_DOCTOR_RESOLVER};
	for (size_t i = 0; i < ARRAY_LEN(ours); i++)
		if (*var_env(ours[i])) /* unset: the default, or none */
			(void)var_validate(&var_table[ours[i]], var_env(ours[i]), &errors);
	if (errors.len) {
		fprintf(stderr, "mtactl doctor: %s", errors.buf);
		sb_free(&errors);
		return EXIT_USAGE;
	}
	sb_free(&errors);
	if (!dns_use_resolver(var_env(V_DOCTOR_RESOLVER)))
		fatalx(EXIT_USAGE, "DOCTOR_RESOLVER: not an IPv4 address"); /* validated above */

	struct doctor_state st;
	memset(&st, 0, sizeof st);
	strlist_init(&st.mx_names);
	strlist_init(&st.spf_pass);
	strlist_init(&st.dkim_match);
	struct strbuf why;
	sb_init(&why);
	if (!local_facts_load(&st.facts, &why)) {
		log_warnx("%s", why.buf);
		sb_free(&why);
		local_facts_free(&st.facts);
		return EXIT_SYSTEM;
	}
	sb_free(&why);
	strlist_add(&st.mx_names, st.facts.hostname, strlen(st.facts.hostname));
	if (dns_resolver_is_dockers())
		report_add(&st.report, VERDICT_WARN, "resolver", "127.0.0.11", "set DOCTOR_RESOLVER to the "
			   "address of a resolver outside Docker for the view senders have",
			   "Docker's embedded DNS answers this container's own host name with its private "
			   "address, so the MX and reverse DNS checks may pass here and fail outside");
	void (*const checks[])(struct doctor_state *) = {
		doctor_mx, doctor_fcrdns, doctor_spf, doctor_dkim, doctor_dmarc,
		doctor_tlsa, doctor_certificate, doctor_open_relay, doctor_dnsbl,
	};
	for (size_t i = 0; i < ARRAY_LEN(checks); i++)
		checks[i](&st);
	enum verdict worst = VERDICT_OK;
	for (size_t i = 0; i < st.report.len; i++)
		if (st.report.item[i].verdict > worst)
			worst = st.report.item[i].verdict;
	int out = json ? print_json(&st.report, worst) : print_text(&st.report);
	report_free(&st.report);
	strlist_free(&st.mx_names);
	strlist_free(&st.spf_pass);
	strlist_free(&st.dkim_match);
	local_facts_free(&st.facts);
	if (out < 0)
		return EXIT_SYSTEM;
	return worst == VERDICT_FAIL ? 2 : worst == VERDICT_WARN ? 1 : 0;
}
