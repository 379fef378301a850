/* `mtactl metrics`: the Prometheus endpoint, a service init starts when
 * METRICS_LISTEN is set (README "Metrics"). */
#ifndef MTACTL_METRICS_METRICS_H
#define MTACTL_METRICS_METRICS_H

int metrics_main(int argc, char **argv);

#endif
