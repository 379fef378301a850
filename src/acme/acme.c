#include "acme/acme.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/log.h"
#include "tls/tls.h"

/* Base64 (Traefik stores the PEM files base64-encoded) to text. */
static bool decode_b64(const char *in, struct strbuf *out)
{
	struct strbuf clean;
	sb_init(&clean);
	for (const char *c = in; *c; c++)
		if (*c != '\n' && *c != '\r' && *c != ' ')
			sb_addc(&clean, *c);
	bool ok = clean.len > 0 && clean.len % 4 == 0 && clean.len < (1u << 24);
	if (ok) {
		unsigned char *buf = malloc(clean.len / 4 * 3 + 1);
		if (!buf)
			fatal(EXIT_SYSTEM, "out of memory");
		int n = EVP_DecodeBlock(buf, (const unsigned char *)clean.buf, (int)clean.len);
		ok = n >= 0;
		if (ok) {
			/* EVP_DecodeBlock counts the padding as zero bytes. */
			if (clean.buf[clean.len - 1] == '=')
				n--;
			if (clean.buf[clean.len - 2] == '=')
				n--;
			sb_add(out, (const char *)buf, (size_t)n);
		}
		free(buf);
	}
	sb_free(&clean);
	return ok;
}

/* RFC 6125 style: *.example.com covers mx.example.com, not a.b.example.com. */
static bool wildcard_covers(const char *pattern, const char *host)
{
	if (strncmp(pattern, "*.", 2) != 0)
		return false;
	const char *dot = strchr(host, '.');
	return dot && dot != host && !strcasecmp(dot + 1, pattern + 2);
}

/* How well an entry's names fit: 3 exact host, 2 wildcard, 1 domain, 0 none. */
static int entry_rank(json_t *domain_obj, const char *host, const char *domain)
{
	json_t *main_name = json_object_get(domain_obj, "main");
	if (!main_name)
		main_name = json_object_get(domain_obj, "Main");
	json_t *sans = json_object_get(domain_obj, "sans");
	if (!sans)
		sans = json_object_get(domain_obj, "SANs");
	int best = 0;
	size_t n = json_is_array(sans) ? json_array_size(sans) : 0;
	for (size_t i = 0; i <= n; i++) {
		json_t *v = i == 0 ? main_name : json_array_get(sans, i - 1);
		const char *name = json_string_value(v);
		if (!name)
			continue;
		int r = !strcasecmp(name, host) ? 3 : wildcard_covers(name, host) ? 2
			: (domain && !strcasecmp(name, domain)) ? 1 : 0;
		if (r > best)
			best = r;
	}
	return best;
}

static json_t *get2(json_t *obj, const char *a, const char *b)
{
	json_t *v = json_object_get(obj, a);
	return v ? v : json_object_get(obj, b);
}

/* Considers every entry of one "Certificates" array. */
static void scan_certificates(json_t *list, const char *host, const char *domain, json_t **best,
			      int *best_rank)
{
	size_t i;
	json_t *entry;
	json_array_foreach(list, i, entry) {
		json_t *d = get2(entry, "domain", "Domain");
		int r = json_is_object(d) ? entry_rank(d, host, domain) : 0;
		if (r > *best_rank) {
			*best_rank = r;
			*best = entry;
		}
	}
}

bool acme_pick(const char *json, size_t len, const char *host, const char *domain,
	       struct acme_pick *out, struct strbuf *why)
{
	sb_init(&out->cert);
	sb_init(&out->key);
	out->name[0] = '\0';
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		sb_addf(why, "not valid JSON (line %d: %s)", err.line, err.text);
		return false;
	}
	json_t *best = NULL;
	int rank = 0;
	json_t *v1 = json_object_get(root, "Certificates");
	if (json_is_array(v1)) {
		scan_certificates(v1, host, domain, &best, &rank);
	} else if (json_is_object(root)) {
		const char *resolver;
		json_t *r;
		json_object_foreach(root, resolver, r) {
			json_t *list = json_object_get(r, "Certificates");
			if (json_is_array(list))
				scan_certificates(list, host, domain, &best, &rank);
		}
	}
	bool ok = false;
	if (!best) {
		sb_addf(why, "no certificate for %s%s%s", host, domain ? " or " : "", domain ? domain : "");
	} else {
		json_t *d = get2(best, "domain", "Domain");
		snprintf(out->name, sizeof out->name, "%s",
			 json_string_value(get2(d, "main", "Main")) ? json_string_value(get2(d, "main", "Main")) : "?");
		const char *cert = json_string_value(get2(best, "certificate", "Certificate"));
		const char *key = json_string_value(get2(best, "key", "Key"));
		if (!cert || !key || !decode_b64(cert, &out->cert) || !decode_b64(key, &out->key))
			sb_addf(why, "the entry for %s has no base64 certificate and key", out->name);
		else
			ok = true;
	}
	json_decref(root);
	return ok;
}

void acme_pick_free(struct acme_pick *p)
{
	sb_free(&p->cert);
	sb_free(&p->key);
}

static bool same_file(const char *path, const struct strbuf *text)
{
	struct strbuf cur;
	sb_init(&cur);
	bool same = file_read(path, &cur, 1 << 20) == 0 && cur.len == text->len &&
		    !memcmp(cur.buf, text->buf, cur.len);
	sb_free(&cur);
	return same;
}

int acme_update(const char *file, const char *host, const char *domain)
{
	struct strbuf json, why;
	sb_init(&json);
	sb_init(&why);
	struct acme_pick pick;
	int rc = -1;
	if (file_read(file, &json, 16 << 20) < 0) {
		log_warn("ACME_FILE %s: cannot read it; keeping the current certificate", file);
	} else if (!acme_pick(json.buf, json.len, host, domain, &pick, &why)) {
		log_warnx("ACME_FILE %s: %s; keeping the current certificate", file, why.buf);
		acme_pick_free(&pick);
	} else {
		if (!tls_check_pair_pem(pick.cert.buf, pick.cert.len, pick.key.buf, pick.key.len, &why)) {
			log_warnx("ACME_FILE %s: the entry for %s is unusable: expected %s; keeping the current certificate",
				  file, pick.name, why.buf);
		} else if (same_file(ACME_CERT, &pick.cert) && same_file(ACME_KEY, &pick.key)) {
			rc = 0;
		} else if (mkdir_p(ACME_DIR, 0755) < 0 ||
			   file_write_atomic(ACME_KEY, pick.key.buf, pick.key.len, 0600) < 0 ||
			   file_write_atomic(ACME_CERT, pick.cert.buf, pick.cert.len, 0644) < 0) {
			log_warn("writing %s", ACME_DIR);
		} else {
			log_info("installed the certificate for %s from %s", pick.name, file);
			rc = 1;
		}
		acme_pick_free(&pick);
	}
	sb_free(&json);
	sb_free(&why);
	return rc;
}
