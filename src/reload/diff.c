/* Counting what a reload changes, for its one log line: both renderings of
 * a table are split into entries, sorted by key and merged. Linear after
 * the sort, so 10,000 mailboxes cost a few milliseconds. Pure. */
#include "reload/reload.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"

struct entry {
	const char *line, *key;
	size_t line_len, key_len;
};

struct entries {
	struct entry *item;
	size_t len, cap;
};

static void entries_add(struct entries *e, const char *line, size_t len, char key_end)
{
	e->item = grow_array(e->item, &e->cap, e->len, sizeof *e->item);
	const char *end = key_end ? memchr(line, key_end, len) : NULL;
	e->item[e->len++] = (struct entry){
		.line = line, .line_len = len, .key = line, .key_len = end ? (size_t)(end - line) : len};
}

static void split(const char *text, char key_end, struct entries *out)
{
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len && line[len - 1] == '\r')
			len--;
		if (len && line[0] != '#')
			entries_add(out, line, len, key_end);
		line = nl ? nl + 1 : line + strlen(line);
	}
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = cmp_bytes(a->key, a->key_len, b->key, b->key_len);
	return c ? c : cmp_bytes(a->line, a->line_len, b->line, b->line_len);
}

void reload_diff_lines(const char *old_text, const char *new_text, char key_end, struct reload_diff *d)
{
	struct entries old = {0}, new = {0};
	split(old_text, key_end, &old);
	split(new_text, key_end, &new);
	if (old.len)
		qsort(old.item, old.len, sizeof *old.item, cmp_entry);
	if (new.len)
		qsort(new.item, new.len, sizeof *new.item, cmp_entry);
	*d = (struct reload_diff){.total = new.len};
	size_t i = 0, j = 0;
	while (i < old.len || j < new.len) {
		int c = i == old.len ? 1 : j == new.len ? -1
			: cmp_bytes(old.item[i].key, old.item[i].key_len, new.item[j].key, new.item[j].key_len);
		if (c < 0) {
			d->removed++;
			i++;
		} else if (c > 0) {
			d->added++;
			j++;
		} else {
			if (cmp_bytes(old.item[i].line, old.item[i].line_len, new.item[j].line, new.item[j].line_len))
				d->changed++;
			i++;
			j++;
		}
	}
	free(old.item);
	free(new.item);
}
