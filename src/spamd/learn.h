/* `mtactl spamd-learn`: the kopano-spamd integration. Files kopano drops in
 * KOPANO_SPAMD_LIB/spam and /ham are learned as spam / ham by the image's
 * filter (src/learn: rspamc in rspamd, sa-learn as amavis in full), then
 * removed, so no file is learned twice; one that fails is renamed
 * NAME.failed. */
#ifndef MTACTL_SPAMD_LEARN_H
#define MTACTL_SPAMD_LEARN_H

int spamd_learn_main(int argc, char **argv);
/* `mtactl razor-register` (razor.c): RAZOR_REGISTRATION, once. */
int razor_register_main(int argc, char **argv);

#endif
