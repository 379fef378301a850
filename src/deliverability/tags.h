/* Tag lists of DNS TXT records, as DKIM (RFC 6376 3.2) and DMARC
 * (RFC 7489 6.3) write them: "v=DKIM1; k=rsa; p=MIIB...". Pure functions,
 * fed awkward input by the unit tests and the fuzzer. */
#ifndef MTACTL_DELIVERABILITY_TAGS_H
#define MTACTL_DELIVERABILITY_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

#define TAG_MAX 32

struct tag {
	char *name;   /* as written (tag names are case-sensitive) */
	char *value;  /* folding white space removed (RFC 6376 3.2 allows it inside values) */
};

struct tag_list {
	struct tag item[TAG_MAX];
	size_t len;
};

/* Parses txt; false (list emptied) when a tag is malformed, repeated, or
 * there are more than TAG_MAX. A trailing ';' is allowed. */
bool tag_list_parse(const char *txt, struct tag_list *out);
void tag_list_free(struct tag_list *l);
/* The value of tag name, NULL when absent. */
const char *tag_get(const struct tag_list *l, const char *name);

/* text as DNS character-strings for a zone file: "..." "..." of at most
 * 255 octets each (RFC 1035 3.3), '"' and '\' escaped. */
void txt_zone_strings(const char *text, struct strbuf *out);

#endif
