/* The manifest of a backup (DIR/manifest): one line per file, directory
 * and symbolic link under /srv, with owner, mode and (for files) size,
 * mtime and SHA-256, plus the counts of what an operator checks (queue
 * messages, mailbox messages, quarantine items, DKIM keys). Text, one
 * record a line, parsed strictly: a backup DIR is outside input (it may
 * come from another host), and restore writes as root what it names. */
#ifndef MTACTL_BACKUP_MANIFEST_H
#define MTACTL_BACKUP_MANIFEST_H

#include <stddef.h>
#include <sys/types.h>

#include "common/strbuf.h"

#define MANIFEST_NAME "manifest"
/* Where the copies live inside a backup DIR. */
#define MANIFEST_DATA "data"

enum mf_kind { MF_FILE, MF_DIR, MF_LINK };

enum mf_count { MF_QUEUE, MF_MAILBOX, MF_QUARANTINE, MF_DKIM, MF_COUNTS };

struct mf_entry {
	enum mf_kind kind;
	unsigned mode;          /* permission bits (07777) */
	unsigned long uid, gid;
	unsigned long long size;
	long long mtime;        /* seconds since the epoch (files) */
	char sha256[65];        /* lower-case hex (files) */
	char *path;             /* relative to /srv, decoded */
	char *target;           /* links */
};

struct manifest {
	struct mf_entry *e;
	size_t n, cap;
	unsigned long long count[MF_COUNTS];
};

void manifest_init(struct manifest *m);
void manifest_free(struct manifest *m);
/* Takes copies of path and target. */
struct mf_entry *manifest_add(struct manifest *m, enum mf_kind kind, const char *path,
			      const char *target);
/* Sorts the entries by path; rendering and lookup need it. */
void manifest_sort(struct manifest *m);
/* Appends the manifest text (entries must be sorted). */
void manifest_render(const struct manifest *m, struct strbuf *out);
/* Parses text into m (initialised by the caller). 0, or -1 with "line N:
 * what is wrong" in why. Entries must come sorted and unique, paths
 * relative without "." or ".." parts, every parent directory listed. */
int manifest_parse(const char *text, size_t len, struct manifest *m, struct strbuf *why);
/* The entry of path, or NULL (bsearch on the sorted entries). */
const struct mf_entry *manifest_find(const struct manifest *m, const char *path);
/* The name of a count in the manifest and in messages ("queue", ...). */
const char *manifest_count_name(enum mf_count c);
/* True when path is relative, has no empty, "." or ".." component. */
int manifest_path_ok(const char *path);

#endif
