/* `mtactl init`: PID 1 of the container. */
#ifndef MTACTL_INIT_INIT_H
#define MTACTL_INIT_INIT_H

int init_main(int argc, char **argv);

#endif
