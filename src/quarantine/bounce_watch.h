/* `mtactl quarantine-bounce`: a DSN to the sender of every message held in
 * quarantine (Postfix's hold queue) with destiny D_BOUNCE, once. */
#ifndef MTACTL_QUARANTINE_BOUNCE_WATCH_H
#define MTACTL_QUARANTINE_BOUNCE_WATCH_H

int quarantine_bounce_main(int argc, char **argv);

#endif
