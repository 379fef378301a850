/* Tag=value lists of TXT records (see tags.h). */
#include "deliverability/tags.h"

#include <stdlib.h>

#include "common/common.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void tag_list_free(struct tag_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->item[i].name);
		free(l->item[i].value);
	}
	l->len = 0;
}

const char *tag_get(const struct tag_list *l, const char *name)
{
	for (size_t i = 0; i < l->len; i++)
		if (!strcmp(l->item[i].name, name))
			return l->item[i].value;
	return NULL;
}

static char *copy_without_wsp(const char *s, size_t len)
{
	struct strbuf b;
	sb_init(&b);
	for (size_t i = 0; i < len; i++)
		if (!is_wsp(s[i]))
			sb_addc(&b, s[i]);
	return sb_detach(&b);
}

bool tag_list_parse(const char *txt, struct tag_list *out)
{
	out->len = 0;
	const char *p = txt;
	for (;;) {
		while (is_wsp(*p))
			p++;
		if (!*p)
			return true;
		const char *name = p;
		while (is_tag_char(*p))
			p++;
		size_t name_len = (size_t)(p - name);
		while (is_wsp(*p))
			p++;
		if (name_len == 0 || *p != '=' || out->len == TAG_MAX)
			break;
		p++;
		const char *value = p;
		while (*p && *p != ';')
			p++;
		char *n = copy_without_wsp(name, name_len);
		if (tag_get(out, n)) {
			free(n);
			break;
		}
		out->item[out->len].name = n;
		out->item[out->len].value = copy_without_wsp(value, (size_t)(p - value));
		out->len++;
		if (*p == ';')
			p++;
	}
	tag_list_free(out);
	return false;
}

void txt_zone_strings(const char *text, struct strbuf *out)
{
	size_t len = strlen(text);
	if (len == 0)
		sb_adds(out, "\"\"");
	for (size_t i = 0; i < len; i += 255) {
		sb_adds(out, i ? " \"" : "\"");
		for (size_t j = i; j < len && j < i + 255; j++) {
			if (text[j] == '"' || text[j] == '\\')
				sb_addc(out, '\\');
			sb_addc(out, text[j]);
		}
		sb_addc(out, '"');
	}
}
