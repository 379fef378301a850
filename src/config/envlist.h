/* `mtactl env`: list every variable: name, stage, default, current value
 * (secrets hidden) and its one line of documentation. */
#ifndef MTACTL_CONFIG_ENVLIST_H
#define MTACTL_CONFIG_ENVLIST_H

#include "common/strbuf.h"

void envlist_markdown(struct strbuf *out);
int envlist_main(int argc, char **argv);

#endif
