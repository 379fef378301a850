/* The byte-moving part of backup, verify and restore: a stream copied
 * from an open descriptor (so a rename of the source mid-copy is
 * harmless) while its SHA-256 is computed, and path joining with a
 * length check. */
#ifndef MTACTL_BACKUP_COPY_H
#define MTACTL_BACKUP_COPY_H

#include <stdbool.h>
#include <sys/types.h>

struct copy_result {
	unsigned long long size;
	char sha256[65];
	unsigned long long mbox_messages; /* lines starting "From " (count_from) */
};

/* Reads in to its end, writing to out (-1: only hash). count_from: also
 * count mbox message separators. 0, or -1 with errno. */
int copy_stream(int in, int out, bool count_from, struct copy_result *r);
/* "a/b" (either empty: the other); -1 with ENAMETOOLONG when it does not fit. */
int path_join(char *out, size_t size, const char *a, const char *b);
/* Creates the directories above path (mode for the new ones). */
int make_parents(const char *path, mode_t mode);

#endif
