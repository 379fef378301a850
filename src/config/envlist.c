/* `mtactl env`: the variable table as a person reads it, or as the
 * Markdown reference in the README (--markdown), from the same table. */
#include "config/envlist.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "config/settings.h"

static const char *shown_default(const struct var_def *d)
{
	return d->def_doc ? d->def_doc : d->def;
}

static void print_text(void)
{
	struct strbuf line, value;
	sb_init(&line);
	sb_init(&value);
	for (int i = 0; i < VAR_COUNT; i++) {
		const struct var_def *d = &var_table[i];
		const char *v = getenv(d->name);
		sb_reset(&value);
		if (v)
			settings_show_value(d, v, &value);
		else
			sb_adds(&value, "(unset)");
		sb_reset(&line);
		sb_addf(&line, "%s\n    images: %s  default: %s  current: %s\n    %s\n", d->name,
			image_set_name(d->images), *shown_default(d) ? shown_default(d) : "(empty)",
			value.buf, d->doc);
		fputs(line.buf, stdout);
	}
	sb_free(&line);
	sb_free(&value);
}

void envlist_markdown(struct strbuf *out)
{
	sb_adds(out, "| Variable | Images | Default | Meaning |\n|---|---|---|---|\n");
	for (int i = 0; i < VAR_COUNT; i++) {
		const struct var_def *d = &var_table[i];
		const char *def = shown_default(d);
		sb_addf(out, "| `%s` | %s | %s%s%s | %s |\n", d->name, image_set_name(d->images),
			*def && !d->def_doc ? "`" : "", *def ? def : "", *def && !d->def_doc ? "`" : "",
			d->doc);
	}
}

int envlist_main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--markdown")) {
		struct strbuf md;
		sb_init(&md);
		envlist_markdown(&md);
		fputs(md.buf, stdout);
		sb_free(&md);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_SYSTEM;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: mtactl env [--markdown]\n");
		return EXIT_USAGE;
	}
	print_text();
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SYSTEM;
}
