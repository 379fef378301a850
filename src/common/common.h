/* Included by every module: feature macros, the unsafe string functions
 * poisoned, and the helpers every file uses. */
#ifndef MTACTL_COMMON_H
#define MTACTL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Poison after the system headers that may use them internally. */
#pragma GCC poison strcpy strcat sprintf vsprintf gets

#endif
