/* File helpers with the guarantees the config engine needs: a file is
 * replaced whole or not at all (write temp, fsync, rename, fsync dir). */
#ifndef MTACTL_FILEIO_H
#define MTACTL_FILEIO_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/strbuf.h"

/* Writes all of data to fd (retrying short writes and EINTR); 0 or -1. */
int fd_write_all(int fd, const char *data, size_t len);
/* Returns 0, or -1 with errno set; the old file is untouched on failure. */
int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Appends the whole file to out; -1 with errno if unreadable or over max bytes (EFBIG). */
int file_read(const char *path, struct strbuf *out, size_t max);
/* mkdir -p; existing directories are fine. */
/* Sets a file's times 2 s back: Postfix's programs wait until main.cf is
 * a second old before reading it (a guard against half-saved edits), which
 * delays a start by up to 2 s after a complete file was just written. */
int file_backdate(const char *path);
int mkdir_p(const char *path, mode_t mode);
bool path_exists(const char *path);
/* Empties a directory (what is in it, recursively); the directory stays.
 * A missing directory is fine. */
int remove_tree_contents(const char *dir);
/* Copies a tree (cp -a semantics for regular files, dirs, symlinks). */
int copy_tree(const char *from, const char *to);

#endif
