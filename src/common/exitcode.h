/* The exit codes of every mtactl subcommand: a written contract that
 * scripts and the health check rely on (after skarnet's convention). */
#ifndef MTACTL_EXITCODE_H
#define MTACTL_EXITCODE_H

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,      /* the probe or check said no (health) */
	EXIT_USAGE = 100,   /* bad command line or bad configuration input */
	EXIT_SYSTEM = 111,  /* a system call or a helper program failed */
	EXIT_SIGNAL = 128,  /* 128 + n: a supervised child died of signal n */
};

#endif
