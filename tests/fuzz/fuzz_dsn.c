/* A held message's header section, from the sender: read for X-Quarantine
 * (quarantine_parse, hold_parse_xquarantine, hold_reason) and embedded in
 * the DSN (dsn_compose), which must never carry a bare CR or a NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quarantine/dsn.h"
#include "quarantine/hold.h"
#include "quarantine/quarantine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quarantine_entry e;
	quarantine_parse((const char *)data, size, "", &e);
	char reason[256];
	hold_reason(e.xquarantine, reason, sizeof reason);
	struct xquarantine x;
	(void)hold_parse_xquarantine(e.xquarantine, &x);
	struct hold_msg m = {.id = "8737E2C2991", .arrival = 1796181266, .sender = "s@client.test"};
	strlist_init(&m.rcpts);
	strlist_add(&m.rcpts, "a@example.com", 13);
	struct dsn_input in = {.hostname = "mx1.example.com", .msg = &m, .why = &x,
			       .headers = (const char *)data, .headers_len = size, .now = 1796181300};
	struct strbuf out;
	sb_init(&out);
	dsn_compose(&in, &out);
	if (memchr(out.buf, '\r', out.len) || strlen(out.buf) != out.len)
		abort();
	sb_free(&out);
	strlist_free(&m.rcpts);
	return 0;
}
