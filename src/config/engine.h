/* The configuration step: validate the environment, and when the volume is
 * unlocked (first start, FORCE_CONFIG, or an empty /srv) write Postfix's
 * files. Returns an exit code from common/exitcode.h; on EXIT_USAGE nothing
 * was written. */
#ifndef MTACTL_CONFIG_ENGINE_H
#define MTACTL_CONFIG_ENGINE_H

/* Optional services the configuration enabled, "name flags program args"
 * per line, read by init at every start (the configuration may be locked). */
#define SERVICES_DIR "/srv/etc/mtactl"
#define SERVICES_FILE SERVICES_DIR "/services"

int config_run(void);
int config_main(int argc, char **argv);

#endif
